package metrics

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The metric families beyond memory, swap, disk and the total cpu_usage_active, with the
// CloudWatch agent's names, units and dimensions as "Metrics collected by the CloudWatch
// agent" lists them (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
// metrics-collected-by-CloudWatch-agent.html) and, for procstat, "Collect process metrics
// with the procstat plugin" (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
// CloudWatch-Agent-procstat-process-metrics.html).
//
// Counters. diskio and net figures are cumulative in the kernel; the CloudWatch agent sends
// their difference since its previous collection, not the running total and not a rate per
// second (its translator puts a cumulative-to-delta processor on every diskio and net
// metric but diskio_iops_in_progress, which is a gauge). stackhand does the same per
// collection cycle; the statistic set of an interval then has Sum = the bytes (reads,
// packets, ...) of the whole interval, the figure the agent's own datum carries. A counter
// that went backwards since the previous cycle (a device re-attached, a driver reset, a
// 32-bit wrap) gives no sample of its device or interface for that cycle, never a
// negative value or one near 2^64; the next cycle counts from the new figures.

// UnitMilliseconds is CloudWatch's StandardUnit for diskio's *_time metrics.
const UnitMilliseconds = "Milliseconds"

// Measurement selects one metric of a family and says how it is published, as an entry
// of the CloudWatch agent's "measurement" list does.
type Measurement struct {
	// Name is the field ("usage_idle") or the metric's full name ("cpu_usage_idle").
	Name string
	// Rename is the name to publish under; empty keeps the metric's own.
	Rename string
	// Unit is the CloudWatch unit to publish with; empty keeps the metric's own. The value
	// is not converted, as in the CloudWatch agent.
	Unit string
}

// CPUOptions turns on the cpu family in full: every usage_* figure, per core and in total.
type CPUOptions struct {
	Measurements []Measurement // empty: all of cpuFields
	PerCore      bool          // the agent's resources ["*"]: one series per core, cpu=cpuN
	TotalCPU     bool          // the agent's totalcpu: one series with cpu=cpu-total
}

// DiskIOOptions turns on diskio, one series per block device (dimension name).
type DiskIOOptions struct {
	Measurements []Measurement // empty: all of diskioFields
	// Devices lists the devices to report ("nvme0n1"); empty or "*" reports every one.
	Devices []string
}

// NetOptions turns on net, one series per network interface (dimension interface).
type NetOptions struct {
	Measurements []Measurement // empty: all of netFields
	// Interfaces lists the interfaces to report; empty or "*" means every one but lo, as
	// the CloudWatch agent leaves the loopback interface out. Naming lo here reports it.
	Interfaces []string
}

// NetstatOptions turns on netstat: TCP connections by state and UDP sockets.
type NetstatOptions struct {
	Measurements []Measurement // empty: all of netstatFields
}

// ProcessesOptions turns on processes: processes by state.
type ProcessesOptions struct {
	Measurements []Measurement // empty: all of processesFields
}

// ProcstatOptions watches the processes one of PidFile, Exe or Pattern finds (the first
// set, in that order, as the CloudWatch agent uses only one).
type ProcstatOptions struct {
	PidFile string // a file holding one process id
	Exe     string // a regular expression the process name must contain a match of
	Pattern string // a regular expression the command line must contain a match of
	// Measurements are procstat's fields; empty means cpu_usage, memory_rss, memory_vms,
	// read_bytes, write_bytes and pid_count.
	Measurements []Measurement
}

// field is one metric of a family as the CloudWatch agent publishes it.
type field struct{ name, unit string }

// cpuFields are the cpu family's figures, in the order cpuPercents computes them.
var cpuFields = []field{
	{"usage_active", UnitPercent}, {"usage_idle", UnitPercent}, {"usage_iowait", UnitPercent},
	{"usage_system", UnitPercent}, {"usage_user", UnitPercent}, {"usage_nice", UnitPercent},
	{"usage_irq", UnitPercent}, {"usage_softirq", UnitPercent}, {"usage_steal", UnitPercent},
	{"usage_guest", UnitPercent}, {"usage_guest_nice", UnitPercent},
}

// diskioFields are diskio's figures, in the order of diskioCounters.
var diskioFields = []field{
	{"reads", UnitCount}, {"writes", UnitCount}, {"read_bytes", UnitBytes}, {"write_bytes", UnitBytes},
	{"read_time", UnitMilliseconds}, {"write_time", UnitMilliseconds}, {"io_time", UnitMilliseconds},
	{"iops_in_progress", UnitCount},
}

// diskioCounters are one disk's figures, in diskioFields' order.
type diskioCounters [8]uint64

// netCounters are one interface's figures, in netFields' order.
type netCounters [8]uint64

// ifCounters is what Windows' MIB_IF_ROW2 counts of one interface, in netFields' terms:
// packets are unicast plus non-unicast ones, drops are discards.
func ifCounters(inOctets, outOctets, inUcast, inNUcast, outUcast, outNUcast, inErrors, outErrors, inDiscards, outDiscards uint64) netCounters {
	return netCounters{outOctets, inOctets, outUcast + outNUcast, inUcast + inNUcast, inErrors, outErrors, inDiscards, outDiscards}
}

// diskioGauge is the index of the one diskio figure sent as read, not as a difference.
const diskioGauge = 7

// netFields are net's figures, in the order of netCounters.
var netFields = []field{
	{"bytes_sent", UnitBytes}, {"bytes_recv", UnitBytes}, {"packets_sent", UnitCount}, {"packets_recv", UnitCount},
	{"err_in", UnitCount}, {"err_out", UnitCount}, {"drop_in", UnitCount}, {"drop_out", UnitCount},
}

// netstatFields are netstat's figures: the TCP states indexed by their kernel number - 1
// (include/net/tcp_states.h: ESTABLISHED = 1 ... CLOSING = 11), then tcp_none for a state
// not among them, then udp_socket.
var netstatFields = []field{
	{"tcp_established", UnitCount}, {"tcp_syn_sent", UnitCount}, {"tcp_syn_recv", UnitCount},
	{"tcp_fin_wait1", UnitCount}, {"tcp_fin_wait2", UnitCount}, {"tcp_time_wait", UnitCount},
	{"tcp_close", UnitCount}, {"tcp_close_wait", UnitCount}, {"tcp_last_ack", UnitCount},
	{"tcp_listen", UnitCount}, {"tcp_closing", UnitCount}, {"tcp_none", UnitCount}, {"udp_socket", UnitCount},
}

// The netstat figures after the TCP states, as indexes of netstatFields.
const (
	netstatNone = 11
	netstatUDP  = 12
)

// windowsTCPState is the netstatFields index of a Windows MIB_TCP_STATE (tcpmib.h: CLOSED
// = 1, LISTEN, SYN_SENT, SYN_RCVD, ESTAB, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, CLOSING,
// LAST_ACK, TIME_WAIT, DELETE_TCB = 12); DELETE_TCB and anything else count as tcp_none.
func windowsTCPState(state uint32) int {
	switch state {
	case 1:
		return 6 // tcp_close
	case 2:
		return 9 // tcp_listen
	case 3:
		return 1 // tcp_syn_sent
	case 4:
		return 2 // tcp_syn_recv
	case 5:
		return 0 // tcp_established
	case 6:
		return 3 // tcp_fin_wait1
	case 7:
		return 4 // tcp_fin_wait2
	case 8:
		return 7 // tcp_close_wait
	case 9:
		return 10 // tcp_closing
	case 10:
		return 8 // tcp_last_ack
	case 11:
		return 5 // tcp_time_wait
	}
	return netstatNone
}

// diskPerfCounters puts one Windows disk's DISK_PERFORMANCE (IOCTL_DISK_PERFORMANCE;
// times in 100 ns units) in diskioFields' order. io_time is the time the disk was not
// idle: the query's system time less the idle time, a running total from an arbitrary
// start, which is all a figure sent as a difference needs. The read and write counts
// are 32 bits and wrap: counterDelta skips the cycle they do.
func diskPerfCounters(bytesRead, bytesWritten, readTime, writeTime, idleTime, queryTime int64, readCount, writeCount, queueDepth uint32) diskioCounters {
	const per = 10_000 // 100 ns units in a millisecond
	pos := func(v int64) uint64 { return uint64(max(v, 0)) }
	return diskioCounters{uint64(readCount), uint64(writeCount), pos(bytesRead), pos(bytesWritten),
		pos(readTime) / per, pos(writeTime) / per, pos(queryTime-idleTime) / per, uint64(queueDepth)}
}

// processesFields are processes' figures, indexed like processCounts.
var processesFields = []field{
	{"running", UnitCount}, {"blocked", UnitCount}, {"zombies", UnitCount}, {"stopped", UnitCount},
	{"sleeping", UnitCount}, {"total", UnitCount}, {"total_threads", UnitCount}, {"idle", UnitCount},
	{"dead", UnitCount}, {"paging", UnitCount},
}

const (
	psRunning = iota
	psBlocked
	psZombies
	psStopped
	psSleeping
	psTotal
	psTotalThreads
	psIdle
	psDead
	psPaging
)

// procstatFields are procstat's figures. pid_count is published as procstat_lookup_pid_count
// (telegraf's procstat_lookup measurement), the others as procstat_<field>.
var procstatFields = []field{
	{"cpu_usage", UnitPercent}, {"memory_rss", UnitBytes}, {"memory_vms", UnitBytes},
	{"read_bytes", UnitBytes}, {"write_bytes", UnitBytes}, {"pid_count", UnitCount},
}

const (
	pcCPU = iota
	pcRSS
	pcVMS
	pcReadBytes
	pcWriteBytes
	pcPidCount
)

// Measurements lists the fields of a family ("cpu", "diskio", "net", "netstat", "processes",
// "procstat") that a measurement list may name, with or without the family's prefix; nil
// for a family it does not know.
func Measurements(family string) []string {
	var fields []field
	switch family {
	case "cpu":
		fields = cpuFields
	case "diskio":
		fields = diskioFields
	case "net":
		fields = netFields
	case "netstat":
		fields = netstatFields
	case "processes":
		fields = processesFields
	case "procstat":
		fields = procstatFields
	}
	var names []string
	for _, f := range fields {
		names = append(names, f.name)
	}
	return names
}

// output is how one field of a family is published; name "" means not at all.
type output struct{ name, unit string }

// outputs resolves a family's measurement list against its fields: the result is indexed
// like fields. An empty list publishes every field under its own name and unit.
func outputs(prefix string, fields []field, ms []Measurement) ([]output, error) {
	out := make([]output, len(fields))
	if len(ms) == 0 {
		for i, f := range fields {
			out[i] = output{prefix + "_" + f.name, f.unit}
		}
		return out, nil
	}
	var bad []string
	for _, m := range ms {
		name := strings.TrimPrefix(m.Name, prefix+"_")
		i := slices.IndexFunc(fields, func(f field) bool { return f.name == name })
		if i < 0 {
			bad = append(bad, fmt.Sprintf("%q", m.Name))
			continue
		}
		o := output{prefix + "_" + fields[i].name, fields[i].unit}
		if m.Rename != "" {
			o.name = m.Rename
		}
		if m.Unit != "" {
			o.unit = m.Unit
		}
		out[i] = o
	}
	if bad != nil {
		known := make([]string, len(fields))
		for i, f := range fields {
			known[i] = f.name
		}
		return out, fmt.Errorf("%s: unknown measurement %s: known are %s", prefix, strings.Join(bad, ", "), strings.Join(known, ", "))
	}
	return out, nil
}

// counterDelta is cur - prev, or false when the counter went backwards: reset or wrapped,
// so that the difference over this cycle is unknown.
func counterDelta(prev, cur uint64) (uint64, bool) {
	if cur < prev {
		return 0, false
	}
	return cur - prev, true
}

// maxCounters is the most counters one series of a counter family keeps.
const maxCounters = 8

// series is one device's or interface's counters between cycles.
type series struct {
	name  string
	dims  []Dim
	prev  [maxCounters]uint64
	valid bool // prev holds a reading
	gen   uint32
}

// seriesSet keeps the series of one counter family by name. A name not seen in a cycle is
// dropped at the end of it (prune), so a device that comes back starts afresh.
type seriesSet struct {
	dim  string // the dimension's name: "name", "interface"
	list []*series
	idx  map[string]*series
	gen  uint32
	all  bool                // report every name
	only map[string]struct{} // else these
	skip string              // a name left out when all (lo for net)
}

func newSeriesSet(dim string, resources []string, skip string) *seriesSet {
	s := &seriesSet{dim: dim, idx: map[string]*series{}, all: len(resources) == 0 || slices.Contains(resources, "*"), skip: skip}
	if !s.all {
		s.only = map[string]struct{}{}
		for _, r := range resources {
			s.only[r] = struct{}{}
		}
	}
	return s
}

// wanted reports whether name is among the resources to report.
func (s *seriesSet) wanted(name []byte) bool {
	if s.all {
		return string(name) != s.skip
	}
	_, ok := s.only[string(name)]
	return ok
}

// get returns the series of name, made on first sight, marked seen this cycle.
func (s *seriesSet) get(name []byte) *series {
	e, ok := s.idx[string(name)]
	if !ok {
		n := string(name)
		e = &series{name: n, dims: []Dim{{Name: s.dim, Value: n}}}
		s.idx[n] = e
		s.list = append(s.list, e)
	}
	e.gen = s.gen
	return e
}

// begin starts a cycle; prune ends it.
func (s *seriesSet) begin() { s.gen++ }

func (s *seriesSet) prune() {
	if len(s.list) == len(s.idx) && !slices.ContainsFunc(s.list, func(e *series) bool { return e.gen != s.gen }) {
		return
	}
	s.list = slices.DeleteFunc(s.list, func(e *series) bool {
		if e.gen != s.gen {
			delete(s.idx, e.name)
			return true
		}
		return false
	})
}

// appendCounters appends the samples of e for this cycle's readings cur: the difference
// since the previous reading for each counter, the reading itself for the field at gauge
// (-1: none). There are no differences on the first reading, nor when any counter of e
// went backwards: the device was reset or re-made, so every counter of it restarted and a
// difference from the old figures would be wrong even where it comes out positive.
func appendCounters(dst []Sample, e *series, cur []uint64, outs []output, gauge int) []Sample {
	deltas := e.valid
	for i, v := range cur {
		if i != gauge && v < e.prev[i] {
			deltas = false
		}
	}
	for i, v := range cur {
		o := outs[i]
		prev := e.prev[i]
		e.prev[i] = v
		switch {
		case o.name == "":
		case i == gauge:
			dst = append(dst, Sample{Name: o.name, Unit: o.unit, Value: float64(v), Dims: e.dims})
		case deltas:
			dst = append(dst, Sample{Name: o.name, Unit: o.unit, Value: float64(v - prev), Dims: e.dims})
		}
	}
	e.valid = true
	return dst
}

// cpuRaw are one CPU's cumulative times, in /proc/stat's column order: user nice system
// idle iowait irq softirq steal guest guest_nice. guest is inside user, guest_nice inside
// nice (proc(5)).
type cpuRaw [10]uint64

const (
	crUser = iota
	crNice
	crSystem
	crIdle
	crIowait
	crIrq
	crSoftirq
	crSteal
	crGuest
	crGuestNice
)

// total is the time that passed on this CPU: every column but the guest ones, which user
// and nice include already.
func (r *cpuRaw) total() uint64 {
	var t uint64
	for _, v := range r[:crGuest] {
		t += v
	}
	return t
}

// windowsCPURaw puts one processor's SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION times (100 ns
// units) in cpuRaw's columns: kernel time includes idle, interrupt and DPC time, so system
// is kernel less those three, irq is interrupt time and softirq DPC time (deferred
// procedure calls are Windows' bottom halves). Windows has no nice, iowait, steal or guest
// time.
func windowsCPURaw(idle, kernel, user, dpc, interrupt uint64) cpuRaw {
	var r cpuRaw
	r[crIdle] = min(idle, kernel)
	rest := kernel - r[crIdle]
	r[crIrq] = min(interrupt, rest)
	rest -= r[crIrq]
	r[crSoftirq] = min(dpc, rest)
	r[crSystem] = rest - r[crSoftirq]
	r[crUser] = user
	return r
}

// cpuPercents turns two readings of one CPU into cpuFields' percentages, computed as
// telegraf's cpu input does (active = total - idle, so iowait counts as active; user and
// nice without their guest parts). ok is false when no time passed; backwards is true
// when the total went backwards (the CPU went offline and back, or a counter reset), and
// then there is no figure for this cycle either. A column that went backwards on its own
// (Linux's idle and iowait may, proc(5)) counts as 0.
func cpuPercents(prev, cur *cpuRaw) (pct [11]float64, ok, backwards bool) {
	pt, ct := prev.total(), cur.total()
	if ct < pt {
		return pct, false, true
	}
	dt := ct - pt
	if dt == 0 {
		return pct, false, false
	}
	var d cpuRaw
	for i := range d {
		d[i], _ = counterDelta(prev[i], cur[i])
		d[i] = min(d[i], dt)
	}
	f := 100 / float64(dt)
	pct[0] = f * float64(dt-d[crIdle])
	pct[1] = f * float64(d[crIdle])
	pct[2] = f * float64(d[crIowait])
	pct[3] = f * float64(d[crSystem])
	pct[4] = f * float64(d[crUser]-min(d[crGuest], d[crUser]))
	pct[5] = f * float64(d[crNice]-min(d[crGuestNice], d[crNice]))
	pct[6] = f * float64(d[crIrq])
	pct[7] = f * float64(d[crSoftirq])
	pct[8] = f * float64(d[crSteal])
	pct[9] = f * float64(d[crGuest])
	pct[10] = f * float64(d[crGuestNice])
	return pct, true, false
}

// cpuState is one CPU's previous reading.
type cpuState struct {
	raw   cpuRaw
	valid bool
	seen  bool
	dims  []Dim
}

// cpuFamily is the cpu family's state: per core (by number) and total.
type cpuFamily struct {
	outs    []output
	perCore bool
	total   bool
	cores   []cpuState
	all     cpuState
}

func newCPUFamily(o *CPUOptions) (*cpuFamily, error) {
	outs, err := outputs("cpu", cpuFields, o.Measurements)
	return &cpuFamily{outs: outs, perCore: o.PerCore, total: o.TotalCPU, all: cpuState{dims: cpuTotalDims}}, err
}

// core returns the state of CPU n (>= 0), or of the total for n < 0.
func (f *cpuFamily) core(n int) *cpuState {
	if n < 0 {
		return &f.all
	}
	for len(f.cores) <= n {
		f.cores = append(f.cores, cpuState{dims: []Dim{{Name: "cpu", Value: fmt.Sprintf("cpu%d", len(f.cores))}}})
	}
	return &f.cores[n]
}

// appendCPUState appends one CPU's samples for its reading cur; the error says that its
// time went backwards.
func (f *cpuFamily) appendCPUState(dst []Sample, st *cpuState, cur *cpuRaw) ([]Sample, error) {
	prev, valid := st.raw, st.valid
	st.raw, st.valid, st.seen = *cur, true, true
	if !valid {
		return dst, nil
	}
	pct, ok, backwards := cpuPercents(&prev, cur)
	if backwards {
		return dst, fmt.Errorf("cpu: %s CPU time went backwards (%d -> %d): its cpu metrics skipped this cycle", st.dims[0].Value, prev.total(), cur.total())
	}
	if !ok {
		return dst, nil
	}
	for i, v := range pct {
		if o := f.outs[i]; o.name != "" {
			dst = append(dst, Sample{Name: o.name, Unit: o.unit, Value: v, Dims: st.dims})
		}
	}
	return dst, nil
}

// processCounts are the processes family's figures, indexed like processesFields.
type processCounts [10]uint64

// countState adds one process in state (proc(5)'s one-letter state) with threads threads.
func (p *processCounts) countState(state byte, threads uint64) {
	p[psTotal]++
	p[psTotalThreads] += threads
	switch state {
	case 'R':
		p[psRunning]++
	case 'S':
		p[psSleeping]++
	case 'D':
		p[psBlocked]++
	case 'Z':
		p[psZombies]++
	case 'T', 't':
		p[psStopped]++
	case 'I':
		p[psIdle]++
	case 'X', 'x':
		p[psDead]++
	case 'W':
		p[psPaging]++
	}
}

// procMatcher is one procstat entry.
type procMatcher struct {
	kind, value string // "pidfile", "exe" or "pattern", and what
	re          *regexp.Regexp
	outs        []output
	lookupDims  []Dim            // for procstat_lookup_pid_count
	nameDims    map[string][]Dim // process_name -> the procstat_* dims
	prev        map[int32]procPrev
	gen         uint32
	count       int
	err         error // set up once (bad regexp, bad measurement): reported every cycle
}

// procPrev is a watched process's CPU time at the previous cycle.
type procPrev struct {
	start uint64 // its start time: a pid reused by another process starts over
	ticks uint64 // utime + stime
	at    int64  // when, in ns of the Collector's clock
	gen   uint32
}

// likeRegexp is the regular expression of a WMI LIKE pattern, which is what the CloudWatch
// agent makes of procstat's exe and pattern on Windows ("%apache%"): % is any run of
// characters, _ any one, [abc] and [a-c] and [^abc] as in a regular expression; the whole
// name must match, without regard to case.
func likeRegexp(like string) string {
	var b strings.Builder
	b.WriteString("(?is)^")
	for i := 0; i < len(like); i++ {
		switch ch := like[i]; ch {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		case '[':
			end := strings.IndexByte(like[i+1:], ']')
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			set := like[i+1 : i+1+end]
			b.WriteByte('[')
			if strings.HasPrefix(set, "^") {
				b.WriteByte('^')
				set = set[1:]
			}
			b.WriteString(strings.NewReplacer(`\`, `\\`, "[", `\[`).Replace(set))
			b.WriteByte(']')
			i += end + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(ch)))
		}
	}
	b.WriteString("$")
	return b.String()
}

func newProcMatcher(o ProcstatOptions) *procMatcher {
	m := &procMatcher{nameDims: map[string][]Dim{}, prev: map[int32]procPrev{}}
	switch {
	case o.PidFile != "":
		m.kind, m.value = "pidfile", o.PidFile
	case o.Exe != "":
		m.kind, m.value = "exe", o.Exe
	case o.Pattern != "":
		m.kind, m.value = "pattern", o.Pattern
	default:
		m.err = fmt.Errorf("procstat: an entry with none of pid_file, exe or pattern: it watches nothing")
		return m
	}
	if m.kind != "pidfile" {
		expr := m.value
		if matchLike {
			expr = likeRegexp(expr)
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			m.err = fmt.Errorf("procstat %s %q: %w: this entry watches nothing", m.kind, m.value, err)
		}
		m.re = re
	}
	outs, err := outputs("procstat", procstatFields, o.Measurements)
	if err != nil && m.err == nil {
		m.err = err
	}
	m.outs = outs
	if o := &m.outs[pcPidCount]; o.name == "procstat_pid_count" {
		o.name = "procstat_lookup_pid_count"
	}
	m.lookupDims = []Dim{{Name: m.kind, Value: m.value}, {Name: "pid_finder", Value: "native"}}
	slices.SortFunc(m.lookupDims, func(a, b Dim) int { return strings.Compare(a.Name, b.Name) })
	return m
}

// dimsFor returns the procstat_* dimensions of a process named name.
func (m *procMatcher) dimsFor(name []byte) []Dim {
	if d, ok := m.nameDims[string(name)]; ok {
		return d
	}
	if len(m.nameDims) > 1000 { // names churn (a pattern matching short-lived workers): start over
		clear(m.nameDims)
	}
	n := string(name)
	d := []Dim{{Name: m.kind, Value: m.value}, {Name: "process_name", Value: n}}
	m.nameDims[n] = d
	return d
}

// procReading is what procstat publishes of one process this cycle.
type procReading struct {
	pid         int32
	name        []byte
	start       uint64 // start time, in clock ticks since boot
	ticks       uint64 // utime + stime, in clock ticks
	rss, vms    uint64 // bytes
	read, write uint64 // bytes, cumulative
	haveIO      bool
}

// userHZ is the unit of /proc's clock ticks: USER_HZ, 100 on every Linux architecture
// stackhand builds for.
const userHZ = 100

// appendProc appends one matched process's samples; now is the clock in ns. cpu_usage is
// the share of one CPU the process used since the previous cycle, in percent (over 100
// for a process on several cores), as telegraf's procstat computes it; none on the first
// sight of a process.
func (m *procMatcher) appendProc(dst []Sample, r *procReading, now int64) []Sample {
	m.count++
	dims := m.dimsFor(r.name)
	p, seen := m.prev[r.pid]
	m.prev[r.pid] = procPrev{start: r.start, ticks: r.ticks, at: now, gen: m.gen}
	add := func(i int, v float64) {
		if o := m.outs[i]; o.name != "" {
			dst = append(dst, Sample{Name: o.name, Unit: o.unit, Value: v, Dims: dims})
		}
	}
	if seen && p.start == r.start && now > p.at {
		if d, ok := counterDelta(p.ticks, r.ticks); ok {
			add(pcCPU, 100*float64(d)/userHZ/(float64(now-p.at)/1e9))
		}
	}
	add(pcRSS, float64(r.rss))
	add(pcVMS, float64(r.vms))
	if r.haveIO {
		add(pcReadBytes, float64(r.read))
		add(pcWriteBytes, float64(r.write))
	}
	return dst
}

// begin starts a cycle of m; end appends procstat_lookup_pid_count, forgets processes that
// are gone, and says when nothing matched.
func (m *procMatcher) begin() {
	m.gen++
	m.count = 0
}

func (m *procMatcher) end(dst []Sample) ([]Sample, error) {
	for pid, p := range m.prev {
		if p.gen != m.gen {
			delete(m.prev, pid)
		}
	}
	// The CloudWatch agent sends pid_count 0 when nothing matches, and alarms on
	// procstat_lookup_pid_count < 1 rely on it; the per-process metrics have no series then.
	if o := m.outs[pcPidCount]; o.name != "" {
		dst = append(dst, Sample{Name: o.name, Unit: o.unit, Value: float64(m.count), Dims: m.lookupDims})
	}
	if m.count == 0 {
		return dst, fmt.Errorf("procstat %s %q matches no process", m.kind, m.value)
	}
	return dst, nil
}

// endProcs ends the cycle of every procstat entry: the pid counts, and each entry's
// problem told (a pid file's was told as it was found).
func (c *Collector) endProcs(dst []Sample) []Sample {
	for _, m := range c.procs {
		var err error
		dst, err = m.end(dst)
		if err != nil && m.kind != "pidfile" {
			c.fail(err)
		}
	}
	return dst
}

// parseUint parses a decimal number without allocating.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		d := uint64(ch - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}
