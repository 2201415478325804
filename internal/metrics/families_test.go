package metrics

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The families' OS-neutral logic: what the Linux and the Windows collectors share.

func TestCounterDelta(t *testing.T) {
	for _, tc := range []struct {
		prev, cur, want uint64
		ok              bool
	}{
		{10, 15, 5, true}, {10, 10, 0, true}, {10, 9, 0, false},
		{math.MaxUint32, 3, 0, false}, // a 32-bit counter wrapped: unknown, not 2^32 - ...
		{math.MaxUint64 - 1, math.MaxUint64, 1, true},
		{math.MaxUint64, 0, 0, false},
	} {
		got, ok := counterDelta(tc.prev, tc.cur)
		if got != tc.want || ok != tc.ok {
			t.Errorf("counterDelta(%d, %d) = %d, %v, want %d, %v", tc.prev, tc.cur, got, ok, tc.want, tc.ok)
		}
	}
}

// TestAppendCounters: differences from the second reading on; none for a whole series in
// the cycle one of its counters goes backwards (even for those that went up), then
// differences from the new figures; the gauge field as read every time.
func TestAppendCounters(t *testing.T) {
	outs, err := outputs("diskio", diskioFields, nil)
	if err != nil {
		t.Fatal(err)
	}
	set := newSeriesSet("name", nil, "")
	set.begin()
	e := set.get([]byte("xvda"))
	for i, tc := range []struct {
		cur  diskioCounters
		want []float64 // per field; -1 no sample
	}{
		{diskioCounters{10, 20, 512, 1024, 1, 2, 3, 4}, []float64{-1, -1, -1, -1, -1, -1, -1, 4}},
		{diskioCounters{15, 20, 1024, 1024, 1, 2, 5, 0}, []float64{5, 0, 512, 0, 0, 0, 2, 0}},
		{diskioCounters{3, 25, 1024, 2048, 1, 2, 9, 1}, []float64{-1, -1, -1, -1, -1, -1, -1, 1}}, // reads went back
		{diskioCounters{4, 26, 1536, 2048, 1, 2, 9, 7}, []float64{1, 1, 512, 0, 0, 0, 0, 7}},      // from the new figures
		{diskioCounters{math.MaxUint64, 26, 1536, 2048, 1, 2, 9, 0}, []float64{math.MaxUint64 - 4, 0, 0, 0, 0, 0, 0, 0}},
		{diskioCounters{1, 26, 1536, 2048, 1, 2, 9, 0}, []float64{-1, -1, -1, -1, -1, -1, -1, 0}}, // 64-bit wrap
	} {
		got := appendCounters(nil, e, tc.cur[:], outs, diskioGauge)
		var want []Sample
		for f, v := range tc.want {
			if v >= 0 {
				want = append(want, Sample{Name: outs[f].name, Unit: outs[f].unit, Value: v, Dims: []Dim{{"name", "xvda"}}})
			}
		}
		if !slices.EqualFunc(got, want, func(a, b Sample) bool {
			return a.Name == b.Name && a.Unit == b.Unit && a.Value == b.Value && slices.Equal(a.Dims, b.Dims)
		}) {
			t.Errorf("reading %d: %v, want %v", i, got, want)
		}
	}
}

func TestSeriesSet(t *testing.T) {
	set := newSeriesSet("interface", nil, "lo")
	if set.wanted([]byte("lo")) || !set.wanted([]byte("eth0")) {
		t.Error("default: want every interface but lo")
	}
	only := newSeriesSet("interface", []string{"lo", "eth1"}, "lo")
	if !only.wanted([]byte("lo")) || only.wanted([]byte("eth0")) {
		t.Error("resources [lo eth1]: want lo and eth1 only")
	}
	if star := newSeriesSet("name", []string{"*"}, ""); !star.wanted([]byte("sda")) {
		t.Error(`resources ["*"]: want every device`)
	}
	set.begin()
	a, b := set.get([]byte("a")), set.get([]byte("b"))
	set.prune()
	set.begin()
	if set.get([]byte("a")) != a {
		t.Error("a series is not kept between cycles")
	}
	set.prune()
	set.begin()
	if got := set.get([]byte("b")); got == b || got.valid {
		t.Error("a series that missed a cycle is not made afresh")
	}
	set.prune()
	if len(set.list) != 1 || len(set.idx) != 1 || set.list[0].name != "b" {
		t.Errorf("after prune: %v", set.list)
	}
}

func TestOutputs(t *testing.T) {
	outs, err := outputs("net", netFields, []Measurement{{Name: "bytes_sent"}, {Name: "net_bytes_recv", Rename: "In", Unit: "Megabytes"}})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]output, len(netFields))
	want[0] = output{"net_bytes_sent", UnitBytes}
	want[1] = output{"In", "Megabytes"}
	if !slices.Equal(outs, want) {
		t.Errorf("outputs = %v, want %v", outs, want)
	}
	_, err = outputs("net", netFields, []Measurement{{Name: "bytes_out"}, {Name: "cpu_usage_idle"}})
	if err == nil || !strings.Contains(err.Error(), `net: unknown measurement "bytes_out", "cpu_usage_idle": known are bytes_sent, bytes_recv`) {
		t.Errorf("error = %v", err)
	}
}

// TestCPUPercents: the figures of two readings of one CPU, and the cases without any.
func TestCPUPercents(t *testing.T) {
	prev := cpuRaw{1000, 100, 500, 8000, 200, 10, 40, 50, 300, 20}
	cur := cpuRaw{1600, 150, 700, 8950, 300, 10, 90, 100, 600, 40} // 2000 ticks in all
	pct, ok, back := cpuPercents(&prev, &cur)
	want := [11]float64{52.5, 47.5, 5, 10, 15, 1.5, 0, 2.5, 2.5, 15, 1}
	if !ok || back || !slices.EqualFunc(pct[:], want[:], near) {
		t.Errorf("cpuPercents = %v, %v, %v, want %v", pct, ok, back, want)
	}
	var sum float64
	for _, i := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10} { // every part of the total once
		sum += pct[i]
	}
	if math.Abs(sum-100) > 1e-9 {
		t.Errorf("parts add up to %v, want 100", sum)
	}
	if _, ok, back := cpuPercents(&cur, &cur); ok || back {
		t.Error("no time passed: want no figures and no error")
	}
	if _, ok, back := cpuPercents(&cur, &prev); ok || !back {
		t.Error("total went backwards: want no figures and backwards")
	}
	// idle stepped back (proc(5) allows it) while the total went on: counted as 0 idle.
	odd := cur
	odd[crIdle] = prev[crIdle] - 1
	odd[crUser] += 1001
	if pct, ok, _ := cpuPercents(&prev, &odd); !ok || pct[1] != 0 || pct[0] != 100 {
		t.Errorf("idle back: %v", pct)
	}
	// guest larger than user (counters read at different moments): user 0, not negative.
	g := prev
	g[crUser] += 10
	g[crGuest] += 50
	g[crIdle] += 90
	if pct, ok, _ := cpuPercents(&prev, &g); !ok || pct[4] != 0 {
		t.Errorf("guest > user: usage_user %v", pct[4])
	}
}

func TestCPUFamilyCores(t *testing.T) {
	f, err := newCPUFamily(&CPUOptions{PerCore: true, TotalCPU: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := f.core(3).dims; !slices.Equal(d, []Dim{{"cpu", "cpu3"}}) || len(f.cores) != 4 {
		t.Errorf("core 3 dims %v, %d cores", d, len(f.cores))
	}
	if d := f.core(-1).dims; !slices.Equal(d, []Dim{{"cpu", "cpu-total"}}) {
		t.Errorf("total dims %v", d)
	}
	st := f.core(0)
	a, b := cpuRaw{0, 0, 0, 100}, cpuRaw{50, 0, 0, 150}
	if got, err := f.appendCPUState(nil, st, &a); len(got) != 0 || err != nil {
		t.Errorf("first reading: %v %v", got, err)
	}
	got, err := f.appendCPUState(nil, st, &b)
	if err != nil || len(got) != 11 || got[0].Name != CPUUsageActive || got[0].Value != 50 {
		t.Errorf("second reading: %v %v", got, err)
	}
	if got, err := f.appendCPUState(nil, st, &a); len(got) != 0 || err == nil || !strings.Contains(err.Error(), "cpu0 CPU time went backwards (200 -> 100)") {
		t.Errorf("backwards: %v %v", got, err)
	}
}

func TestProcessCounts(t *testing.T) {
	var p processCounts
	for _, s := range "RSSDZTtIXxWK" {
		p.countState(byte(s), 2)
	}
	want := processCounts{psRunning: 1, psSleeping: 2, psBlocked: 1, psZombies: 1, psStopped: 2, psIdle: 1, psDead: 2, psPaging: 1, psTotal: 12, psTotalThreads: 24}
	if p != want {
		t.Errorf("counts %v, want %v", p, want)
	}
}

// TestProcMatcher: cpu_usage from two readings over the clock's time, none for a reused
// pid or a clock that did not move, pid_count every cycle (0 with an error when nothing
// matched), dims sorted by name.
func TestProcMatcher(t *testing.T) {
	m := newProcMatcher(ProcstatOptions{Exe: "httpd"})
	if m.err != nil {
		t.Fatal(m.err)
	}
	sec := int64(time.Second)
	r := procReading{pid: 7, name: []byte("httpd"), start: 100, ticks: 1000, rss: 4096, vms: 8192, read: 1, write: 2, haveIO: true}
	m.begin()
	got := m.appendProc(nil, &r, 10*sec)
	got, err := m.end(got)
	if err != nil || len(find(got, "procstat_cpu_usage", "", "")) != 0 || len(got) != 5 {
		t.Errorf("first cycle: %v %v, want rss, vms, read, write, pid_count", got, err)
	}
	wantDims := []Dim{{"exe", "httpd"}, {"process_name", "httpd"}}
	if !slices.Equal(got[0].Dims, wantDims) {
		t.Errorf("dims %v, want %v", got[0].Dims, wantDims)
	}
	m.begin()
	r.ticks = 1250 // 2.5 s of CPU in 5 s
	got, _ = m.end(m.appendProc(nil, &r, 15*sec))
	if s := find(got, "procstat_cpu_usage", "", ""); len(s) != 1 || s[0].Value != 50 || s[0].Unit != UnitPercent {
		t.Errorf("cpu_usage %v, want 50", s)
	}
	m.begin()
	got, _ = m.end(m.appendProc(nil, &r, 15*sec)) // the clock did not move
	if s := find(got, "procstat_cpu_usage", "", ""); len(s) != 0 {
		t.Errorf("same instant: cpu_usage %v, want none", s)
	}
	m.begin()
	r.start, r.ticks = 900, 5 // another process with the same pid
	got, _ = m.end(m.appendProc(nil, &r, 20*sec))
	if s := find(got, "procstat_cpu_usage", "", ""); len(s) != 0 {
		t.Errorf("reused pid: cpu_usage %v, want none", s)
	}
	m.begin()
	got, err = m.end(nil)
	if err == nil || err.Error() != `procstat exe "httpd" matches no process` || len(got) != 1 || got[0].Name != "procstat_lookup_pid_count" || got[0].Value != 0 {
		t.Errorf("nothing matched: %v %v", got, err)
	}
	if len(m.prev) != 0 {
		t.Errorf("a process gone is remembered: %v", m.prev)
	}
	if !slices.Equal(got[0].Dims, []Dim{{"exe", "httpd"}, {"pid_finder", "native"}}) {
		t.Errorf("lookup dims %v", got[0].Dims)
	}
	pf := newProcMatcher(ProcstatOptions{PidFile: "/run/x.pid", Measurements: []Measurement{{Name: "pid_count", Rename: "up"}}})
	if got, _ := pf.end(nil); len(got) != 1 || got[0].Name != "up" || !slices.Equal(got[0].Dims, []Dim{{"pid_finder", "native"}, {"pidfile", "/run/x.pid"}}) {
		t.Errorf("pidfile lookup: %v", got)
	}
}

// TestWindowsCPURaw: kernel time splits into idle, interrupt, DPC and the rest, so that
// the columns add up to kernel + user, even when the parts exceed the whole.
func TestWindowsCPURaw(t *testing.T) {
	r := windowsCPURaw(600, 1000, 500, 50, 30)
	if want := (cpuRaw{crUser: 500, crSystem: 320, crIdle: 600, crIrq: 30, crSoftirq: 50}); r != want {
		t.Errorf("raw %v, want %v", r, want)
	}
	if r.total() != 1500 {
		t.Errorf("total %d, want kernel + user = 1500", r.total())
	}
	odd := windowsCPURaw(900, 1000, 0, 80, 50) // idle + dpc + interrupt > kernel
	if odd.total() != 1000 || odd[crSystem] != 0 || odd[crIrq] != 50 || odd[crSoftirq] != 50 {
		t.Errorf("parts over the whole: %v", odd)
	}
	prev, cur := windowsCPURaw(600, 1000, 500, 50, 30), windowsCPURaw(1100, 1600, 900, 60, 40)
	pct, ok, _ := cpuPercents(&prev, &cur) // 1000 ticks: idle 500, user 400, irq 10, dpc 10, system 80
	if want := [11]float64{50, 50, 0, 8, 40, 0, 1, 1, 0, 0, 0}; !ok || !slices.EqualFunc(pct[:], want[:], near) {
		t.Errorf("percents %v, want %v", pct, want)
	}
}

func TestIfCounters(t *testing.T) {
	got := ifCounters(1000, 2000, 10, 1, 20, 2, 3, 4, 5, 6)
	if want := (netCounters{2000, 1000, 22, 11, 3, 4, 5, 6}); got != want {
		t.Errorf("counters %v, want %v (bytes_sent, bytes_recv, packets_sent, packets_recv, err_in, err_out, drop_in, drop_out)", got, want)
	}
}

// TestLikeRegexp: the WMI LIKE patterns the CloudWatch agent takes for procstat on Windows.
func TestLikeRegexp(t *testing.T) {
	for _, tc := range []struct {
		like  string
		match []string
		miss  []string
	}{
		{"%apache%", []string{"httpd-apache.exe", "APACHE"}, []string{"apach"}},
		{"nginx.exe", []string{"nginx.exe", "NGINX.EXE"}, []string{"nginxXexe", "nginx.exe.bak"}},
		{"w3wp_.exe", []string{"w3wp1.exe"}, []string{"w3wp.exe", "w3wp12.exe"}},
		{"[a-c]%", []string{"bash"}, []string{"dash"}},
		{"[^a-c]%", []string{"dash"}, []string{"bash"}},
		{"a[b", []string{"a[b"}, []string{"ab"}},
		{`C:\Program Files\%`, []string{`c:\program files\app\app.exe`}, []string{`D:\Program Files\x`}},
	} {
		re, err := regexp.Compile(likeRegexp(tc.like))
		if err != nil {
			t.Errorf("%q: %v", tc.like, err)
			continue
		}
		for _, s := range tc.match {
			if !re.MatchString(s) {
				t.Errorf("%q (%s) does not match %q", tc.like, re, s)
			}
		}
		for _, s := range tc.miss {
			if re.MatchString(s) {
				t.Errorf("%q (%s) matches %q", tc.like, re, s)
			}
		}
	}
}

// TestWindowsTCPState: every MIB_TCP_STATE lands on the netstat figure of the same name,
// each on its own; DELETE_TCB and unknown states are tcp_none.
func TestWindowsTCPState(t *testing.T) {
	want := map[uint32]string{1: "tcp_close", 2: "tcp_listen", 3: "tcp_syn_sent", 4: "tcp_syn_recv", 5: "tcp_established",
		6: "tcp_fin_wait1", 7: "tcp_fin_wait2", 8: "tcp_close_wait", 9: "tcp_closing", 10: "tcp_last_ack", 11: "tcp_time_wait",
		12: "tcp_none", 0: "tcp_none", 99: "tcp_none"}
	seen := map[int]uint32{}
	for state, name := range want {
		i := windowsTCPState(state)
		if got := netstatFields[i].name; got != name {
			t.Errorf("state %d: %s, want %s", state, got, name)
		}
		if prev, ok := seen[i]; ok && name != "tcp_none" {
			t.Errorf("states %d and %d both count as %s", prev, state, name)
		}
		seen[i] = state
	}
}

// TestDiskPerfCounters: DISK_PERFORMANCE's 100 ns times become milliseconds, and io_time
// grows by the time the disk was busy between two readings.
func TestDiskPerfCounters(t *testing.T) {
	const ms = 10_000
	a := diskPerfCounters(1<<20, 2<<20, 30*ms, 40*ms, 1_000_000*ms, 1_000_500*ms, 7, 9, 2)
	if want := (diskioCounters{7, 9, 1 << 20, 2 << 20, 30, 40, 500, 2}); a != want {
		t.Errorf("counters %v, want %v", a, want)
	}
	// 1 s later, the disk busy for 250 ms of it.
	b := diskPerfCounters(1<<20, 2<<20, 30*ms, 40*ms, 1_000_750*ms, 1_001_500*ms, 7, 9, 0)
	if d, ok := counterDelta(a[6], b[6]); !ok || d != 250 {
		t.Errorf("io_time grew by %d (%v), want 250", d, ok)
	}
	if z := diskPerfCounters(-1, -1, -1, -1, 5, 1, 0, 0, 0); z != (diskioCounters{}) {
		t.Errorf("negative figures %v, want zeros", z)
	}
}
