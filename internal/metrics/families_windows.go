package metrics

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The families beyond the default set on Windows:
//
//	cpu        NtQuerySystemInformation(SystemProcessorPerformanceInformation): each
//	           processor's idle, kernel, user, DPC and interrupt time (windowsCPURaw); the
//	           total is their sum. Processors of the first processor group only (64).
//	net        GetIfTable2Ex: every hardware interface (MIB_IF_ROW2's HardwareInterface
//	           flag), or those resources name by alias ("Ethernet 2"); the loopback and
//	           filter pseudo-interfaces only when named (ifCounters).
//	procstat   a Toolhelp process snapshot; exe matches the image name ("nginx.exe"),
//	           pattern the command line (NtQueryInformationProcess), both as WMI LIKE
//	           patterns as the CloudWatch agent takes them on Windows (likeRegexp);
//	           GetProcessTimes, K32GetProcessMemoryInfo (memory_rss = working set,
//	           memory_vms = pagefile usage, as gopsutil reports them) and
//	           GetProcessIoCounters (read_bytes, write_bytes: transfer counts).
//
//	diskio     IOCTL_DISK_PERFORMANCE on \\.\PhysicalDrive0 to 31 (name PhysicalDriveN),
//	           diskPerfCounters.
//	netstat    GetExtendedTcpTable for IPv4 and IPv6, by state (windowsTCPState), and
//	           GetExtendedUdpTable's number of sockets.
//	processes  a Toolhelp process snapshot: total and total_threads only (Windows keeps
//	           no run state per process); the other processes figures are not sent.

// matchLike is true: procstat's exe and pattern are WMI LIKE patterns on Windows.
const matchLike = true

var (
	procK32GetProcessMemoryInfo = kernel32.NewProc("K32GetProcessMemoryInfo")
	procGetProcessIoCounters    = kernel32.NewProc("GetProcessIoCounters")

	iphlpapi                = windows.NewLazySystemDLL("iphlpapi.dll")
	procGetExtendedTcpTable = iphlpapi.NewProc("GetExtendedTcpTable")
	procGetExtendedUdpTable = iphlpapi.NewProc("GetExtendedUdpTable")
)

// ioctlDiskPerformance is IOCTL_DISK_PERFORMANCE (ntdddisk.h).
const ioctlDiskPerformance = 0x70020

// diskPerformance is DISK_PERFORMANCE (ntdddisk.h).
type diskPerformance struct {
	bytesRead, bytesWritten, readTime, writeTime, idleTime int64
	readCount, writeCount, queueDepth, splitCount          uint32
	queryTime                                              int64
	storageDeviceNumber                                    uint32
	storageManagerName                                     [8]uint16
}

// The table classes asked of GetExtendedTcpTable and GetExtendedUdpTable (iprtrmib.h):
// the owner-pid ones, the only ones both IPv4 and IPv6 answer.
const (
	tcpTableOwnerPIDAll = 5
	udpTableOwnerPID    = 1
	// tcpRowSize4 and tcpRowSize6 are MIB_TCPROW_OWNER_PID and MIB_TCP6ROW_OWNER_PID; the
	// state is the first field of the first and at byte 48 of the second.
	tcpRowSize4, tcpRowSize6 = 24, 56
	tcpStateAt4, tcpStateAt6 = 0, 48
	errorInsufficientBuffer  = 122
	maxPhysicalDrives        = 32
	diskNotFound             = windows.ERROR_FILE_NOT_FOUND
)

// processMemoryCounters is PROCESS_MEMORY_COUNTERS (psapi.h).
type processMemoryCounters struct {
	cb                         uint32
	pageFaultCount             uint32
	peakWorkingSetSize         uintptr
	workingSetSize             uintptr
	quotaPeakPagedPoolUsage    uintptr
	quotaPagedPoolUsage        uintptr
	quotaPeakNonPagedPoolUsage uintptr
	quotaNonPagedPoolUsage     uintptr
	pagefileUsage              uintptr
	peakPagefileUsage          uintptr
}

// processorTimes is SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION (winternl.h), in 100 ns units.
type processorTimes struct {
	idle, kernel, user, dpc, interrupt int64
	interruptCount                     uint32
	_                                  uint32
}

// hardwareInterface is MIB_IF_ROW2's HardwareInterface flag (netioapi.h).
const hardwareInterface = 0x1

// famState is the Windows state of the families beyond the default set.
type famState struct {
	cpuBuf  [64]processorTimes
	name    []byte // an interface alias or image name as UTF-8
	cmdBuf  []byte
	cmdMemo map[*procMatcher]map[uint32]patternMemo
	tcpBuf  []byte // GetExtendedTcpTable's answer, kept across cycles
}

// patternMemo remembers whether a process's command line matched a pattern entry.
type patternMemo struct {
	start   uint64
	matched bool
	gen     uint32
}

func (c *Collector) initFamiliesOS() {
	c.cmdMemo = map[*procMatcher]map[uint32]patternMemo{}
	for _, m := range c.procs {
		if m.kind == "pattern" {
			c.cmdMemo[m] = map[uint32]patternMemo{}
		}
	}
}

func (c *Collector) collectFamilies(dst []Sample) []Sample {
	if c.cpu != nil {
		dst = c.collectCPUFamily(dst)
	}
	if c.net != nil {
		dst = c.collectNet(dst)
	}
	if len(c.procs) > 0 {
		dst = c.collectProcstat(dst)
	}
	if c.diskio != nil {
		dst = c.collectDiskIO(dst)
	}
	if c.netstat != nil {
		dst = c.collectNetstat(dst)
	}
	if c.processes != nil {
		dst = c.collectProcesses(dst)
	}
	return dst
}

func (c *Collector) collectDiskIO(dst []Sample) []Sample {
	set := c.diskio
	set.begin()
	for n := range maxPhysicalDrives {
		c.name = fmt.Appendf(c.name[:0], "PhysicalDrive%d", n)
		if !set.wanted(c.name) {
			continue
		}
		path, _ := windows.UTF16PtrFromString(`\\.\` + string(c.name))
		h, err := windows.CreateFile(path, 0, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
		if err != nil {
			if !errors.Is(err, diskNotFound) {
				c.fail(fmt.Errorf("diskio: open %s: %w: its metrics skipped", c.name, err))
			}
			continue
		}
		var p diskPerformance
		var got uint32
		err = windows.DeviceIoControl(h, ioctlDiskPerformance, nil, 0, (*byte)(unsafe.Pointer(&p)), uint32(unsafe.Sizeof(p)), &got, nil)
		windows.CloseHandle(h)
		if err != nil {
			c.fail(fmt.Errorf("diskio: %s: IOCTL_DISK_PERFORMANCE: %w: its metrics skipped", c.name, err))
			continue
		}
		v := diskPerfCounters(p.bytesRead, p.bytesWritten, p.readTime, p.writeTime, p.idleTime, p.queryTime, p.readCount, p.writeCount, p.queueDepth)
		dst = appendCounters(dst, set.get(c.name), v[:], c.diskioOuts, diskioGauge)
	}
	set.prune()
	return dst
}

func (c *Collector) collectNetstat(dst []Sample) []Sample {
	var counts [13]uint64
	for _, af := range [...]struct {
		family        uint32
		rowSize, stAt int
	}{{windows.AF_INET, tcpRowSize4, tcpStateAt4}, {windows.AF_INET6, tcpRowSize6, tcpStateAt6}} {
		buf, err := c.ipTable(procGetExtendedTcpTable, af.family, tcpTableOwnerPIDAll)
		if err != nil {
			c.fail(fmt.Errorf("netstat: GetExtendedTcpTable: %w: netstat metrics skipped", err))
			return dst
		}
		n := int(binary.LittleEndian.Uint32(buf))
		for i := range n {
			at := 4 + i*af.rowSize + af.stAt
			if at+4 > len(buf) {
				break
			}
			counts[windowsTCPState(binary.LittleEndian.Uint32(buf[at:]))]++
		}
		buf, err = c.ipTable(procGetExtendedUdpTable, af.family, udpTableOwnerPID)
		if err != nil {
			c.fail(fmt.Errorf("netstat: GetExtendedUdpTable: %w: netstat metrics skipped", err))
			return dst
		}
		counts[netstatUDP] += uint64(binary.LittleEndian.Uint32(buf))
	}
	for i, o := range c.netstat {
		if o.name != "" {
			dst = append(dst, Sample{Name: o.name, Unit: o.unit, Value: float64(counts[i])})
		}
	}
	return dst
}

// ipTable calls GetExtendedTcpTable or GetExtendedUdpTable (proc) for one address family
// and table class, growing c.tcpBuf until the table fits; the answer starts with the
// number of rows.
func (c *Collector) ipTable(proc *windows.LazyProc, family, class uint32) ([]byte, error) {
	if len(c.tcpBuf) < 4096 {
		c.tcpBuf = make([]byte, 4096)
	}
	for range 4 {
		size := uint32(len(c.tcpBuf))
		r, _, _ := proc.Call(uintptr(unsafe.Pointer(&c.tcpBuf[0])), uintptr(unsafe.Pointer(&size)), 0, uintptr(family), uintptr(class), 0)
		switch r {
		case 0:
			if size < 4 {
				return nil, errors.New("answer shorter than its row count")
			}
			return c.tcpBuf[:size], nil
		case errorInsufficientBuffer:
			c.tcpBuf = make([]byte, size+size/4)
		default:
			return nil, windows.Errno(r)
		}
	}
	return nil, errors.New("the table kept growing")
}

func (c *Collector) collectProcesses(dst []Sample) []Sample {
	var counts processCounts
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		c.fail(fmt.Errorf("processes: CreateToolhelp32Snapshot: %w: processes metrics skipped", err))
		return dst
	}
	defer windows.CloseHandle(snap)
	var pe windows.ProcessEntry32
	pe.Size = uint32(unsafe.Sizeof(pe))
	for err = windows.Process32First(snap, &pe); err == nil; err = windows.Process32Next(snap, &pe) {
		counts[psTotal]++
		counts[psTotalThreads] += uint64(pe.Threads)
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		c.fail(fmt.Errorf("processes: Process32Next: %w: processes metrics skipped", err))
		return dst
	}
	for i, o := range c.processes {
		if o.name != "" && (i == psTotal || i == psTotalThreads) {
			dst = append(dst, Sample{Name: o.name, Unit: o.unit, Value: float64(counts[i])})
		}
	}
	return dst
}

func (c *Collector) collectCPUFamily(dst []Sample) []Sample {
	size := uint32(unsafe.Sizeof(c.cpuBuf[0]))
	var n uint32
	if err := windows.NtQuerySystemInformation(windows.SystemProcessorPerformanceInformation,
		unsafe.Pointer(&c.cpuBuf[0]), size*uint32(len(c.cpuBuf)), &n); err != nil {
		c.fail(fmt.Errorf("cpu: NtQuerySystemInformation: %w: cpu metrics skipped", err))
		return dst
	}
	f := c.cpu
	var total cpuRaw
	for i := range min(int(n/size), len(c.cpuBuf)) {
		t := &c.cpuBuf[i]
		r := windowsCPURaw(uint64(t.idle), uint64(t.kernel), uint64(t.user), uint64(t.dpc), uint64(t.interrupt))
		for j := range total {
			total[j] += r[j]
		}
		if f.perCore {
			var err error
			if dst, err = f.appendCPUState(dst, f.core(i), &r); err != nil {
				c.fail(err)
			}
		}
	}
	if f.total {
		var err error
		if dst, err = f.appendCPUState(dst, f.core(-1), &total); err != nil {
			c.fail(err)
		}
	}
	return dst
}

func (c *Collector) collectNet(dst []Sample) []Sample {
	var table *windows.MibIfTable2
	if err := windows.GetIfTable2Ex(windows.MibIfTableNormal, &table); err != nil {
		c.fail(fmt.Errorf("net: GetIfTable2Ex: %w: net metrics skipped", err))
		return dst
	}
	defer windows.FreeMibTable(unsafe.Pointer(table))
	rows := unsafe.Slice(&table.Table[0], table.NumEntries)
	set := c.net
	set.begin()
	for i := range rows {
		r := &rows[i]
		c.name = appendUTF16(c.name[:0], r.Alias[:])
		if set.all {
			if r.Type == windows.IF_TYPE_SOFTWARE_LOOPBACK || r.InterfaceAndOperStatusFlags&hardwareInterface == 0 {
				continue
			}
		} else if !set.wanted(c.name) {
			continue
		}
		v := ifCounters(r.InOctets, r.OutOctets, r.InUcastPkts, r.InNUcastPkts, r.OutUcastPkts, r.OutNUcastPkts,
			r.InErrors, r.OutErrors, r.InDiscards, r.OutDiscards)
		dst = appendCounters(dst, set.get(c.name), v[:], c.netOuts, -1)
	}
	set.prune()
	return dst
}

func (c *Collector) collectProcstat(dst []Sample) []Sample {
	now := c.now().UnixNano()
	snapshot := false
	for _, m := range c.procs {
		m.begin()
		if m.kind == "pidfile" {
			dst = c.collectPidFile(dst, m, now)
		} else {
			snapshot = true
		}
	}
	if snapshot {
		if err := c.walkSnapshot(func(pid uint32, name []byte) {
			var h windows.Handle
			var r procReading
			for _, m := range c.procs {
				if m.kind == "pidfile" || (m.kind == "exe" && !m.re.Match(name)) {
					continue
				}
				if h == 0 {
					var ok bool
					if h, r, ok = openProc(pid, name); !ok {
						return // gone, or not ours to look at (System, protected processes)
					}
					defer windows.CloseHandle(h)
				}
				if m.kind == "pattern" && !c.cmdlineMatches(m, h, pid, r.start) {
					continue
				}
				dst = m.appendProc(dst, &r, now)
			}
		}); err != nil {
			c.fail(fmt.Errorf("procstat: %w: procstat exe/pattern metrics skipped", err))
		}
		for m, memo := range c.cmdMemo {
			for pid, e := range memo {
				if e.gen != m.gen {
					delete(memo, pid)
				}
			}
		}
	}
	return c.endProcs(dst)
}

func (c *Collector) collectPidFile(dst []Sample, m *procMatcher, now int64) []Sample {
	data, err := os.ReadFile(m.value)
	if err != nil {
		c.fail(fmt.Errorf("procstat pidfile %q: %w: no process to watch", m.value, err))
		return dst
	}
	v, ok := parseUint(bytes.TrimSpace(data))
	if !ok || v == 0 || v > 1<<32-1 {
		c.fail(fmt.Errorf("procstat pidfile %q: %q is not a process id: no process to watch", m.value, bytes.TrimSpace(data[:min(len(data), 40)])))
		return dst
	}
	h, r, ok := openProc(uint32(v), nil)
	if !ok {
		c.fail(fmt.Errorf("procstat pidfile %q: process %d is gone or cannot be opened", m.value, v))
		return dst
	}
	defer windows.CloseHandle(h)
	var name [windows.MAX_PATH]uint16
	size := uint32(len(name))
	if windows.QueryFullProcessImageName(h, 0, &name[0], &size) == nil {
		c.name = appendUTF16(c.name[:0], name[:size])
		if i := bytes.LastIndexByte(c.name, '\\'); i >= 0 {
			c.name = c.name[i+1:]
		}
		r.name = c.name
	}
	return m.appendProc(dst, &r, now)
}

// walkSnapshot calls fn for every process of a Toolhelp snapshot with its image name.
func (c *Collector) walkSnapshot(fn func(pid uint32, name []byte)) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return fmt.Errorf("CreateToolhelp32Snapshot: %w", err)
	}
	defer windows.CloseHandle(snap)
	var pe windows.ProcessEntry32
	pe.Size = uint32(unsafe.Sizeof(pe))
	for err = windows.Process32First(snap, &pe); err == nil; err = windows.Process32Next(snap, &pe) {
		c.name = appendUTF16(c.name[:0], pe.ExeFile[:])
		fn(pe.ProcessID, c.name)
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return fmt.Errorf("Process32Next: %w", err)
	}
	return nil
}

// openProc opens process pid for querying and reads what procstat publishes of it.
func openProc(pid uint32, name []byte) (windows.Handle, procReading, bool) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return 0, procReading{}, false
	}
	var creation, exit, kernel, user windows.Filetime
	if windows.GetProcessTimes(h, &creation, &exit, &kernel, &user) != nil {
		windows.CloseHandle(h)
		return 0, procReading{}, false
	}
	r := procReading{pid: int32(pid), name: name, start: filetime(creation),
		ticks: (filetime(kernel) + filetime(user)) / (1e7 / userHZ)}
	mc := processMemoryCounters{cb: uint32(unsafe.Sizeof(processMemoryCounters{}))}
	if ok, _, _ := procK32GetProcessMemoryInfo.Call(uintptr(h), uintptr(unsafe.Pointer(&mc)), uintptr(mc.cb)); ok != 0 {
		r.rss, r.vms = uint64(mc.workingSetSize), uint64(mc.pagefileUsage)
	}
	var io windows.IO_COUNTERS
	if ok, _, _ := procGetProcessIoCounters.Call(uintptr(h), uintptr(unsafe.Pointer(&io))); ok != 0 {
		r.read, r.write, r.haveIO = io.ReadTransferCount, io.WriteTransferCount, true
	}
	return h, r, true
}

// cmdlineMatches reports whether the command line of process pid (open as h, started at
// start) matches pattern entry m, reading it once per process.
func (c *Collector) cmdlineMatches(m *procMatcher, h windows.Handle, pid uint32, start uint64) bool {
	memo := c.cmdMemo[m]
	if e, ok := memo[pid]; ok && e.start == start {
		e.gen = m.gen
		memo[pid] = e
		return e.matched
	}
	var buf [4096]uint64 // UNICODE_STRING and the text after it; aligned for its pointer
	var n uint32
	if err := windows.NtQueryInformationProcess(h, windows.ProcessCommandLineInformation,
		unsafe.Pointer(&buf[0]), uint32(len(buf)*8), &n); err != nil {
		return false
	}
	us := (*windows.NTUnicodeString)(unsafe.Pointer(&buf[0]))
	c.cmdBuf = c.cmdBuf[:0]
	if us.Buffer != nil && us.Length > 0 {
		c.cmdBuf = appendUTF16(c.cmdBuf, unsafe.Slice(us.Buffer, us.Length/2))
	}
	ok := m.re.Match(c.cmdBuf)
	memo[pid] = patternMemo{start: start, matched: ok, gen: m.gen}
	return ok
}

// appendUTF16 appends the UTF-8 of s up to its first NUL to dst.
func appendUTF16(dst []byte, s []uint16) []byte {
	for i := 0; i < len(s) && s[i] != 0; i++ {
		r := rune(s[i])
		if utf16.IsSurrogate(r) && i+1 < len(s) {
			if d := utf16.DecodeRune(r, rune(s[i+1])); d != utf8.RuneError {
				r = d
				i++
			}
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}
