package agent

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// trimCode unmaps the agent's own code and read-only data pages from its resident set
// and asks the kernel to map them back one by one as they are used, not 64 KiB around
// each (fault-around). Start-up touches most of the binary once — the SDK clients'
// service descriptions are built from it — and an agent that then idles for days needs
// only a small part of it. Only the read-only, file-backed mappings of the executable
// are touched: they are the file's pages, read again from the page cache on use, never
// data. It returns how many bytes of mappings it advised.
func trimCode() int64 {
	exe, err := os.Executable()
	if err != nil {
		return 0
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0
	}
	defer f.Close()
	var total int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00abf000 r-xp 00000000 fd:01 1234 /usr/bin/stackhand
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 || fs[5] != exe || (fs[1] != "r-xp" && fs[1] != "r--p") {
			continue
		}
		lo, hi, ok := strings.Cut(fs[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			continue
		}
		size := uintptr(end - start)
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, uintptr(start), size, unix.MADV_RANDOM); e != 0 {
			continue
		}
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, uintptr(start), size, unix.MADV_DONTNEED); e == 0 {
			total += int64(size)
		}
	}
	return total
}
