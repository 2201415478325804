package metrics

import (
	"fmt"
	"slices"
	"unsafe"

	"golang.org/x/sys/windows"
)

// On Windows the CloudWatch agent reports performance counters under "<Object> <Counter>"
// names ("Memory % Committed Bytes In Use", "LogicalDisk % Free Space", "Processor %
// Processor Time"). stackhand reports the Linux names instead, from these Win32 figures:
//
//	mem_*              GlobalMemoryStatusEx: total = ullTotalPhys, available = ullAvailPhys,
//	                   used = total - available (what gopsutil's VirtualMemory does on Windows).
//	swap_used_percent  Windows has no swap partition; the page files extend the commit limit.
//	                   swap total = ullTotalPageFile - ullTotalPhys (the commit limit beyond
//	                   RAM), swap used = (ullTotalPageFile - ullAvailPageFile) - (ullTotalPhys -
//	                   ullAvailPhys) (the commit charge beyond the RAM in use), clamped to
//	                   [0, total]; gopsutil's SwapMemory makes the same estimate from
//	                   GetPerformanceInfo. It measures commit pressure, not the page file's
//	                   occupancy ("Paging File % Usage"), and is 0 without a page file.
//	disk_*             every fixed drive (GetLogicalDriveStringsW, GetDriveTypeW ==
//	                   DRIVE_FIXED): GetDiskFreeSpaceExW's total, total free and free-to-caller
//	                   bytes stand in for f_blocks, f_bfree and f_bavail; fstype is
//	                   GetVolumeInformationW's file system name ("NTFS"), path the root ("C:\"),
//	                   device the drive ("C:"). No disk_inodes_free.
//	cpu_usage_active   GetSystemTimes: total = kernel + user (kernel time includes idle),
//	                   active = total - idle.
var (
	kernel32                 = windows.NewLazySystemDLL("kernel32.dll")
	procGlobalMemoryStatusEx = kernel32.NewProc("GlobalMemoryStatusEx")
	procGetSystemTimes       = kernel32.NewProc("GetSystemTimes")
)

// memoryStatusEx is MEMORYSTATUSEX (sysinfoapi.h).
type memoryStatusEx struct {
	length               uint32
	memoryLoad           uint32
	totalPhys            uint64
	availPhys            uint64
	totalPageFile        uint64
	availPageFile        uint64
	totalVirtual         uint64
	availVirtual         uint64
	availExtendedVirtual uint64
}

type osState struct {
	driveBuf    []uint16 // GetLogicalDriveStringsW's answer
	driveRaw    []uint16 // the answer drives was built from
	drivesValid bool
	drives      []mount
	roots       []*uint16 // drives[i]'s root, for GetDiskFreeSpaceExW
	driveErrs   []error

	famState
}

// initOS leaves c.statfs nil without Options.Statfs: collectDisks then asks
// GetDiskFreeSpaceExW about each drive's root, kept as UTF-16 so that no cycle converts it.
func (c *Collector) initOS(bool) {
	c.driveBuf = make([]uint16, 256)
}

// diskFree reports on the volume whose root is root.
func diskFree(root *uint16) (FSStats, error) {
	var availToCaller, total, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(root, &availToCaller, &total, &totalFree); err != nil {
		return FSStats{}, fmt.Errorf("GetDiskFreeSpaceExW: %w", err)
	}
	return FSStats{BlockSize: 1, Blocks: total, BlocksFree: totalFree, BlocksAvail: availToCaller}, nil
}

func (c *Collector) collect(dst []Sample) []Sample {
	dst = c.collectMem(dst)
	if c.cpu == nil { // else the cpu family reports cpu_usage_active with the rest
		dst = c.collectCPU(dst)
	}
	dst = c.collectDisks(dst)
	return c.collectFamilies(dst)
}

func (c *Collector) collectMem(dst []Sample) []Sample {
	ms := memoryStatusEx{length: uint32(unsafe.Sizeof(memoryStatusEx{}))}
	if r, _, err := procGlobalMemoryStatusEx.Call(uintptr(unsafe.Pointer(&ms))); r == 0 {
		c.fail(fmt.Errorf("memory: GlobalMemoryStatusEx: %w: memory and swap metrics skipped", err))
		return dst
	}
	availPhys := min(ms.availPhys, ms.totalPhys)
	usedPhys := ms.totalPhys - availPhys
	m := memStats{
		total: float64(ms.totalPhys), used: float64(usedPhys), available: float64(availPhys),
		haveUsed: true, haveAvail: true, haveSwap: true,
	}
	if ms.totalPageFile > ms.totalPhys {
		swapTotal := ms.totalPageFile - ms.totalPhys
		committed := ms.totalPageFile - min(ms.availPageFile, ms.totalPageFile)
		swapUsed := min(committed-min(usedPhys, committed), swapTotal)
		m.swapTotal, m.swapFree = float64(swapTotal), float64(swapTotal-swapUsed)
	}
	return appendMem(dst, m)
}

func (c *Collector) collectCPU(dst []Sample) []Sample {
	var idle, kernel, user windows.Filetime
	r, _, err := procGetSystemTimes.Call(
		uintptr(unsafe.Pointer(&idle)), uintptr(unsafe.Pointer(&kernel)), uintptr(unsafe.Pointer(&user)))
	if r == 0 {
		c.fail(fmt.Errorf("cpu: GetSystemTimes: %w: cpu_usage_active skipped", err))
		return dst
	}
	return c.appendCPU(dst, cpuTimes{total: filetime(kernel) + filetime(user), idle: filetime(idle)})
}

// filetime is f in 100 ns units.
func filetime(f windows.Filetime) uint64 { return uint64(f.HighDateTime)<<32 | uint64(f.LowDateTime) }

func (c *Collector) collectDisks(dst []Sample) []Sample {
	n, err := windows.GetLogicalDriveStrings(uint32(len(c.driveBuf)), &c.driveBuf[0])
	if err == nil && int(n) > len(c.driveBuf) {
		c.driveBuf = make([]uint16, n+1)
		n, err = windows.GetLogicalDriveStrings(uint32(len(c.driveBuf)), &c.driveBuf[0])
	}
	if err != nil || int(n) > len(c.driveBuf) {
		c.fail(fmt.Errorf("disk: GetLogicalDriveStringsW: %v: disk metrics skipped", err))
		return dst
	}
	c.refreshDrives(c.driveBuf[:n])
	c.errs = append(c.errs, c.driveErrs...)
	for i := range c.drives {
		m := &c.drives[i]
		var st FSStats
		if c.statfs == nil {
			st, err = diskFree(c.roots[i])
		} else {
			st, err = c.statfs(m.path)
		}
		if err != nil {
			c.fail(statfsError(m, err))
			continue
		}
		dst = appendDisk(dst, m, st, false)
	}
	return dst
}

// refreshDrives rebuilds the drive list when the drive letters changed, or when a drive
// could not be inspected last time (a drive that was not ready may be now).
func (c *Collector) refreshDrives(raw []uint16) {
	if c.drivesValid && len(c.driveErrs) == 0 && slices.Equal(raw, c.driveRaw) {
		return
	}
	c.driveRaw = append(c.driveRaw[:0], raw...)
	c.drivesValid = true
	c.drives, c.roots, c.driveErrs = c.drives[:0], c.roots[:0], c.driveErrs[:0]
	var fsName [windows.MAX_PATH + 1]uint16
	for len(raw) > 0 {
		end := slices.Index(raw, 0)
		if end < 0 {
			end = len(raw)
		}
		name := raw[:end]
		raw = raw[min(end+1, len(raw)):]
		if len(name) == 0 {
			continue
		}
		root := append(slices.Clone(name), 0)
		if windows.GetDriveType(&root[0]) != windows.DRIVE_FIXED {
			continue
		}
		path := windows.UTF16ToString(name)
		if err := windows.GetVolumeInformation(&root[0], nil, 0, nil, nil, nil, &fsName[0], uint32(len(fsName))); err != nil {
			c.driveErrs = append(c.driveErrs, fmt.Errorf("disk: %s: GetVolumeInformationW: %w: disk metrics of this drive skipped", path, err))
			continue
		}
		fstype := windows.UTF16ToString(fsName[:])
		if _, skip := c.ignore[fstype]; skip {
			continue
		}
		device := path
		if len(device) >= 2 && device[1] == ':' {
			device = device[:2]
		}
		c.drives = append(c.drives, newMount(path, device, fstype))
		c.roots = append(c.roots, &root[0])
	}
}
