// Package metrics collects the machine's memory, swap, disk and CPU figures under the names,
// units and default dimensions the Amazon CloudWatch agent uses on Linux (and, when
// Options turn them on, its cpu per core, diskio, net, netstat, processes and procstat
// families: families.go), and folds the
// samples of several collection cycles into CloudWatch statistic sets (aggregate.go). There is
// no AWS code here: a publisher turns Stats into PutMetricData calls.
//
// The CloudWatch agent gathers these with telegraf's mem, swap, disk and cpu inputs over
// gopsutil, and names a metric <input>_<field> (docs.aws.amazon.com/AmazonCloudWatch/latest/
// monitoring/metrics-collected-by-CloudWatch-agent.html). stackhand computes each the way
// those inputs do, from the same kernel figures:
//
//	mem_total             Bytes    MemTotal.
//	mem_used              Bytes    MemTotal - MemFree - Buffers - Cached - SReclaimable: gopsutil's
//	                               VirtualMemory "Used" (mem/mem_linux.go adds SReclaimable to
//	                               Cached, then Used = Total - Free - Buffers - Cached), which
//	                               telegraf's mem input reports as "used". It is NOT Total -
//	                               MemAvailable: telegraf's README example (used=3335778304 with
//	                               total, free, buffered and cached beside it) checks out only
//	                               with the first formula.
//	mem_used_percent      Percent  100 * mem_used / MemTotal (telegraf plugins/inputs/mem/mem.go).
//	mem_available_percent Percent  100 * MemAvailable / MemTotal. Kernels before 3.14 have no
//	                               MemAvailable; there it is MemFree + Buffers + Cached +
//	                               SReclaimable, so that it is 100 - mem_used_percent.
//	swap_used_percent     Percent  100 * (SwapTotal - SwapFree) / SwapTotal, and 0 on a machine
//	                               without swap, as gopsutil's SwapMemory reports (so an alarm
//	                               on it keeps getting data points).
//	disk_used_percent     Percent  100 * used / (used + avail) with used = (f_blocks - f_bfree)
//	                               and avail = f_bavail, in f_frsize units: telegraf
//	                               plugins/inputs/disk/disk.go, so the root-reserved blocks
//	                               count as neither.
//	disk_free             Bytes    f_bavail * f_frsize: what an unprivileged user can still write.
//	disk_inodes_free      Count    f_ffree (Linux only).
//	cpu_usage_active      Percent  100 * (Δtotal - Δidle) / Δtotal over the first line of
//	                               /proc/stat between two Collect calls, total = user + nice +
//	                               system + idle + iowait + irq + softirq + steal (guest and
//	                               guest_nice are already inside user and nice). As in telegraf
//	                               plugins/inputs/cpu/cpu.go (activeCPUTime = total - idle),
//	                               iowait counts as active.
//
// Dimensions are the CloudWatch agent's defaults: disk metrics carry device, fstype and path
// (telegraf's "mode" tag is one the agent drops, translator ruleDropTags.go), the device
// without "/dev/" (telegraf: strings.ReplaceAll(device, "/dev/", "")); cpu_usage_active
// carries cpu=cpu-total (the agent's "totalcpu": true); memory and swap carry none. The
// instance's own dimensions (InstanceId, ...) are the publisher's to add. Samples' dimensions
// are sorted by name.
//
// On Windows the CloudWatch agent reports performance counters under their own names
// ("Memory % Committed Bytes In Use", "LogicalDisk % Free Space", "Processor % Processor
// Time"); stackhand reports the Linux names on both systems, from the closest Win32 figures,
// so that one dashboard and one alarm definition serve a mixed fleet (collect_windows.go).
package metrics

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Units as CloudWatch's StandardUnit spells them.
const (
	UnitPercent = "Percent"
	UnitBytes   = "Bytes"
	UnitCount   = "Count"
)

// The metric names Collect reports: the CloudWatch agent's.
const (
	MemUsedPercent      = "mem_used_percent"
	MemAvailablePercent = "mem_available_percent"
	MemUsed             = "mem_used"
	MemTotal            = "mem_total"
	SwapUsedPercent     = "swap_used_percent"
	DiskUsedPercent     = "disk_used_percent"
	DiskFree            = "disk_free"
	DiskInodesFree      = "disk_inodes_free"
	CPUUsageActive      = "cpu_usage_active"
)

// Dim is one CloudWatch dimension.
type Dim struct{ Name, Value string }

// Sample is one metric's value from one Collect cycle. The Dims slices Collect hands out are
// shared between samples and cycles: read them, never modify them.
type Sample struct {
	Name, Unit string
	Value      float64
	Dims       []Dim
}

// FSStats is what Collect needs to know about one mounted file system: statfs(2)'s counts,
// each block count in units of BlockSize (f_frsize).
type FSStats struct {
	BlockSize   uint64
	Blocks      uint64 // f_blocks: size of the file system
	BlocksFree  uint64 // f_bfree: free blocks, including those reserved for root
	BlocksAvail uint64 // f_bavail: free blocks an unprivileged user may use
	Files       uint64 // f_files: inodes
	FilesFree   uint64 // f_ffree: free inodes
}

// Options configures a Collector. The zero value collects from the running system.
type Options struct {
	// IgnoreFSTypes lists the file system types whose mounts get no disk metrics. Nil means
	// defaultIgnoreFSTypes; an empty, non-nil slice ignores nothing. autofs is always
	// ignored: statfs on an automount point would mount it (telegraf does the same).
	IgnoreFSTypes []string
	// ProcRoot is where procfs is mounted (Linux): "/proc" unless a test points it at
	// fixtures.
	ProcRoot string
	// Statfs reports on the file system mounted at path; nil means the statfs(2) system call
	// (GetDiskFreeSpaceExW on Windows).
	Statfs func(path string) (FSStats, error)

	// The families beyond the default set (families.go); nil or empty leaves each off. CPU
	// replaces the default total cpu_usage_active with the figures it selects.
	CPU       *CPUOptions
	DiskIO    *DiskIOOptions
	Net       *NetOptions
	Netstat   *NetstatOptions
	Processes *ProcessesOptions
	Procstat  []ProcstatOptions

	// Now is the clock procstat's cpu_usage divides by; nil means time.Now.
	Now func() time.Time
}

// defaultIgnoreFSTypes are pseudo and virtual file systems that have no disk space to run out
// of, plus overlay and squashfs (container layers and snap images: read-only or a view of a
// disk reported under its own mount). The CloudWatch agent itself sets no default
// ignore_file_system_types (translator ruleIgnoreFs.go: "no default set") and telegraf
// reports every mount with a non-zero size, so tmpfs (/run, /dev/shm, /tmp) is reported as
// the CloudWatch agent does: a full /run breaks a machine as surely as a full /.
var defaultIgnoreFSTypes = []string{
	"autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts",
	"devtmpfs", "efivarfs", "fusectl", "hugetlbfs", "mqueue", "nsfs", "overlay", "proc",
	"pstore", "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tracefs",
}

// Collector takes one sample set of the machine per Collect call. It keeps what it can
// between calls (buffers, the parsed mount list, the previous CPU counters), so make one and
// call it every cycle; Collect must not be called concurrently.
type Collector struct {
	ignore   map[string]struct{}
	procRoot string
	statfs   func(path string) (FSStats, error)

	cpuPrev  cpuTimes
	cpuValid bool

	now        func() time.Time
	cpu        *cpuFamily // nil: the total cpu_usage_active only
	diskio     *seriesSet
	diskioOuts []output
	net        *seriesSet
	netOuts    []output
	netstat    []output // nil: off
	processes  []output // nil: off
	procs      []*procMatcher
	setupErrs  []error // what New found wrong in the options, reported every cycle

	errs []error // this cycle's partial failures

	osState
}

// New returns a Collector configured by o.
func New(o Options) *Collector {
	c := &Collector{procRoot: o.ProcRoot, statfs: o.Statfs, now: o.Now}
	if c.now == nil {
		c.now = time.Now
	}
	c.initFamilies(o)
	if c.procRoot == "" {
		c.procRoot = "/proc"
	}
	ignore := o.IgnoreFSTypes
	if ignore == nil {
		ignore = defaultIgnoreFSTypes
	}
	c.ignore = make(map[string]struct{}, len(ignore)+1)
	for _, t := range ignore {
		c.ignore[t] = struct{}{}
	}
	c.ignore["autofs"] = struct{}{}
	c.initOS(o.Statfs == nil)
	c.initFamiliesOS()
	return c
}

// Collect appends this cycle's samples to dst and returns it. The first call has no CPU
// sample: cpu_usage_active needs two readings. What cannot be read (a missing or garbled
// field, a mount gone between listing and statfs) skips only the metrics that need it and is
// described in the returned error, one line per problem; the other samples are still
// appended. The same persistent problem is reported on every call.
func (c *Collector) Collect(dst []Sample) ([]Sample, error) {
	c.errs = append(c.errs[:0], c.setupErrs...)
	dst = c.collect(dst)
	if len(c.errs) == 0 {
		return dst, nil
	}
	err := errors.Join(c.errs...)
	clear(c.errs)
	c.errs = c.errs[:0]
	return dst, err
}

func (c *Collector) fail(err error) { c.errs = append(c.errs, err) }

// Check reports what New would find wrong with o's families: measurement names it does
// not know, procstat entries without a way to find processes or with a regular expression
// that does not compile. A Collector made from such options reports the same on every
// Collect and collects the rest.
func (o Options) Check() []error {
	var c Collector
	c.initFamilies(o)
	return c.setupErrs
}

// initFamilies sets up the families o turns on; what is wrong with o is kept in setupErrs.
func (c *Collector) initFamilies(o Options) {
	keep := func(err error) {
		if err != nil {
			c.setupErrs = append(c.setupErrs, err)
		}
	}
	var err error
	if o.CPU != nil {
		c.cpu, err = newCPUFamily(o.CPU)
		keep(err)
	}
	if o.DiskIO != nil {
		c.diskio = newSeriesSet("name", o.DiskIO.Devices, "")
		c.diskioOuts, err = outputs("diskio", diskioFields, o.DiskIO.Measurements)
		keep(err)
	}
	if o.Net != nil {
		c.net = newSeriesSet("interface", o.Net.Interfaces, "lo")
		c.netOuts, err = outputs("net", netFields, o.Net.Measurements)
		keep(err)
	}
	if o.Netstat != nil {
		c.netstat, err = outputs("netstat", netstatFields, o.Netstat.Measurements)
		keep(err)
	}
	if o.Processes != nil {
		c.processes, err = outputs("processes", processesFields, o.Processes.Measurements)
		keep(err)
	}
	for _, p := range o.Procstat {
		m := newProcMatcher(p)
		keep(m.err)
		if m.err == nil {
			c.procs = append(c.procs, m)
		}
	}
}

// memStats is one reading of memory and swap in bytes, from whichever source the OS has.
type memStats struct {
	total, used, available float64
	haveUsed, haveAvail    bool
	swapTotal, swapFree    float64
	haveSwap               bool
}

// appendMem appends the memory and swap samples m has the figures for; m.total must be > 0
// for the memory ones.
func appendMem(dst []Sample, m memStats) []Sample {
	if m.total > 0 {
		if m.haveUsed {
			dst = append(dst,
				Sample{Name: MemUsedPercent, Unit: UnitPercent, Value: 100 * m.used / m.total},
				Sample{Name: MemUsed, Unit: UnitBytes, Value: m.used})
		}
		if m.haveAvail {
			dst = append(dst, Sample{Name: MemAvailablePercent, Unit: UnitPercent, Value: 100 * m.available / m.total})
		}
		dst = append(dst, Sample{Name: MemTotal, Unit: UnitBytes, Value: m.total})
	}
	if m.haveSwap {
		pct := 0.0
		if m.swapTotal > 0 {
			pct = 100 * (m.swapTotal - m.swapFree) / m.swapTotal
		}
		dst = append(dst, Sample{Name: SwapUsedPercent, Unit: UnitPercent, Value: pct})
	}
	return dst
}

// cpuTimes are cumulative CPU times in any one unit (ticks, 100 ns).
type cpuTimes struct{ total, idle uint64 }

var cpuTotalDims = []Dim{{Name: "cpu", Value: "cpu-total"}}

// appendCPU appends cpu_usage_active for the time since the previous reading, if there is one.
func (c *Collector) appendCPU(dst []Sample, cur cpuTimes) []Sample {
	prev, valid := c.cpuPrev, c.cpuValid
	c.cpuPrev, c.cpuValid = cur, true
	if !valid {
		return dst
	}
	if cur.total < prev.total {
		c.fail(fmt.Errorf("cpu: total CPU time went backwards (%d -> %d): cpu_usage_active skipped this cycle", prev.total, cur.total))
		return dst
	}
	dTotal := cur.total - prev.total
	if dTotal == 0 {
		return dst // no time passed: no figure rather than a made-up one
	}
	// Linux's idle and iowait may step back a little (proc(5)); a negative idle delta is 0.
	var dIdle uint64
	if cur.idle > prev.idle {
		dIdle = min(cur.idle-prev.idle, dTotal)
	}
	return append(dst, Sample{
		Name: CPUUsageActive, Unit: UnitPercent,
		Value: 100 * float64(dTotal-dIdle) / float64(dTotal),
		Dims:  cpuTotalDims,
	})
}

// mount is one file system Collect reports on. dims lives as long as the mount does, so
// that samples of successive cycles share it.
type mount struct {
	path   string
	source string // as the mount table has it, before deviceName
	fstype string
	dims   []Dim
}

func newMount(path, source, fstype string) mount {
	return mount{
		path: path, source: source, fstype: fstype,
		dims: []Dim{{Name: "device", Value: deviceName(source)}, {Name: "fstype", Value: fstype}, {Name: "path", Value: path}},
	}
}

// deviceName is the device dimension's value: the mount source without "/dev/", as the
// CloudWatch agent's disk input tags it ("/dev/nvme0n1p1" -> "nvme0n1p1",
// "/dev/mapper/vg-root" -> "mapper/vg-root").
func deviceName(source string) string { return strings.ReplaceAll(source, "/dev/", "") }

// appendDisk appends the disk samples of m from st. A file system of size 0 (a pseudo file
// system not on the ignore list) is skipped silently, as telegraf does.
func appendDisk(dst []Sample, m *mount, st FSStats, inodes bool) []Sample {
	if st.Blocks == 0 {
		return dst
	}
	bs := float64(st.BlockSize)
	usedBlocks := st.Blocks - min(st.BlocksFree, st.Blocks)
	used := float64(usedBlocks) * bs
	avail := float64(st.BlocksAvail) * bs
	pct := 0.0
	if used+avail > 0 {
		pct = 100 * used / (used + avail)
	}
	dst = append(dst,
		Sample{Name: DiskUsedPercent, Unit: UnitPercent, Value: pct, Dims: m.dims},
		Sample{Name: DiskFree, Unit: UnitBytes, Value: avail, Dims: m.dims})
	if inodes {
		dst = append(dst, Sample{Name: DiskInodesFree, Unit: UnitCount, Value: float64(st.FilesFree), Dims: m.dims})
	}
	return dst
}

// statfsError describes a mount Collect could not report on.
func statfsError(m *mount, err error) error {
	return fmt.Errorf("disk: %s (%s on %s): %w: disk metrics of this mount skipped this cycle", m.path, m.fstype, m.source, err)
}

// finite reports whether v is a value CloudWatch accepts.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
