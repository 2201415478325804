package metrics

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Where the families beyond the default set read on Linux:
//
//	cpu        /proc/stat's cpu and cpuN lines.
//	diskio     /proc/diskstats.
//	net        /proc/net/dev.
//	netstat    /proc/net/tcp and tcp6 (sockets by state), /proc/net/udp and udp6 (one line a
//	           socket), as gopsutil's net.Connections, which the agent's netstat input uses.
//	processes  /proc/<pid>/stat of every process: its state letter and thread count, as
//	           telegraf's processes input counts them on Linux (R running, S sleeping, D
//	           blocked, Z zombies, T/t stopped, I idle, X dead, W paging).
//	procstat   /proc/<pid>/stat (CPU time, rss, vsize, process name = comm), /proc/<pid>/io
//	           (read_bytes, write_bytes: cumulative, as the agent sends them), /proc/<pid>/
//	           cmdline for pattern (NULs read as spaces, the first 32 KiB).
//
// One walk of /proc serves processes and every exe and pattern entry of procstat, and it
// opens each /proc/<pid>/stat with openat(2) on a reused buffer, so that a cycle allocates
// nothing for a process seen before.

// famState is the Linux state of the families beyond the default set.
type famState struct {
	rootZ     []byte // procRoot, NUL-terminated
	dirBuf    []byte // getdents64 buffer
	pathBuf   []byte // "<pid>/stat\x00"
	small     []byte // one /proc/<pid>/stat
	ioBuf     []byte // one /proc/<pid>/io
	cmdline   []byte
	pageSize  uint64
	matchMemo map[*procMatcher]map[int32]patternMemo
	scanErr   error // the first problem of this cycle's walk
	scanBad   int   // how many processes it concerned
	procRead  procReading
	curStat   pidStat
	paths     map[string][]byte // "diskstats" -> procRoot/diskstats, NUL-terminated
}

// patternMemo remembers whether a process's command line matched a pattern entry, so
// that a long-lived process's cmdline is read once, not every cycle.
type patternMemo struct {
	start   uint64
	matched bool
	gen     uint32
}

const maxCmdline = 32 << 10

func (c *Collector) initFamiliesOS() {
	c.rootZ = append([]byte(c.procRoot), 0)
	c.pageSize = uint64(os.Getpagesize())
	c.paths = map[string][]byte{}
	for _, f := range [...]string{"diskstats", "net/dev", "net/tcp", "net/tcp6", "net/udp", "net/udp6", "net/sockstat", "net/sockstat6"} {
		c.paths[f] = append([]byte(c.procRoot+"/"+f), 0)
	}
	c.matchMemo = map[*procMatcher]map[int32]patternMemo{}
	for _, m := range c.procs {
		if m.kind == "pattern" {
			c.matchMemo[m] = map[int32]patternMemo{}
		}
	}
}

// collectFamilies appends the samples of the families beyond the default set.
func (c *Collector) collectFamilies(dst []Sample) []Sample {
	if c.diskio != nil {
		dst = c.collectCounters(dst, "diskio", c.diskio, c.diskioOuts, "diskstats")
	}
	if c.net != nil {
		dst = c.collectCounters(dst, "net", c.net, c.netOuts, "net/dev")
	}
	if c.netstat != nil {
		dst = c.collectNetstat(dst)
	}
	if c.processes != nil || len(c.procs) > 0 {
		dst = c.collectProcs(dst)
	}
	return dst
}

// collectCPUFamily appends the cpu family's samples from /proc/stat's contents.
func (c *Collector) collectCPUFamily(dst []Sample, data []byte) []Sample {
	f := c.cpu
	for i := range f.cores {
		f.cores[i].seen = false
	}
	for len(data) > 0 {
		var line []byte
		line, data = cutLine(data)
		n, raw, isCPU, err := parseCPULine(line)
		if !isCPU {
			continue
		}
		if err != nil {
			c.fail(fmt.Errorf("cpu: %s: %w: its cpu metrics skipped", c.statPath, err))
			continue
		}
		if (n < 0 && !f.total) || (n >= 0 && !f.perCore) {
			continue
		}
		var err2 error
		dst, err2 = f.appendCPUState(dst, f.core(n), &raw)
		if err2 != nil {
			c.fail(err2)
		}
	}
	// A CPU taken offline starts afresh when it comes back.
	for i := range f.cores {
		if !f.cores[i].seen {
			f.cores[i].valid = false
		}
	}
	return dst
}

// collectCounters reads /proc/<file> (diskstats or net/dev) into the series of set.
func (c *Collector) collectCounters(dst []Sample, family string, set *seriesSet, outs []output, file string) []Sample {
	pathZ := c.paths[file]
	path := pathZ[:len(pathZ)-1]
	data, err := c.readZ(pathZ)
	if err != nil {
		c.fail(fmt.Errorf("%s: %w: %s metrics skipped", family, err, family))
		return dst
	}
	set.begin()
	for lineNo := 1; len(data) > 0; lineNo++ {
		var line []byte
		line, data = cutLine(data)
		var name []byte
		var why string
		var cur []uint64
		if family == "diskio" {
			var v diskioCounters
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			name, v, why = parseDiskstatsLine(line)
			cur = v[:]
		} else {
			var v netCounters
			var isIface bool
			name, v, isIface, why = parseNetDevLine(line)
			if !isIface {
				continue
			}
			cur = v[:]
		}
		if why != "" {
			c.fail(fmt.Errorf("%s: %s line %d: %s: line skipped", family, path, lineNo, why))
			continue
		}
		if !set.wanted(name) {
			continue
		}
		gauge := -1
		if family == "diskio" {
			gauge = diskioGauge
		}
		dst = appendCounters(dst, set.get(name), cur, outs, gauge)
	}
	set.prune()
	return dst
}

// collectNetstat counts sockets. Reading /proc/net/tcp6 costs as much as /proc/net/tcp,
// however few sockets it lists: the kernel walks its whole connection hash table (262,144
// buckets on a 24 GiB machine: about 0.7 ms) for each. So when /proc/net/sockstat6 says
// no TCPv6 socket is open, tcp6 is not read: it can then list only TIME_WAIT sockets, and
// those are counted as sockstat's tw (both families) less the IPv4 ones tcp listed.
func (c *Collector) collectNetstat(dst []Sample) []Sample {
	var counts [13]uint64
	skip6 := false
	if data, err := c.readZ(c.paths["net/sockstat6"]); err == nil {
		if n, ok := sockstatField(data, "TCP6:", "inuse"); ok && n == 0 {
			skip6 = true
		}
	}
	for _, file := range [...]string{"net/tcp", "net/tcp6", "net/udp", "net/udp6"} {
		pathZ := c.paths[file]
		path := pathZ[:len(pathZ)-1]
		if file == "net/tcp6" && skip6 {
			if data, err := c.readZ(c.paths["net/sockstat"]); err == nil {
				if tw, ok := sockstatField(data, "TCP:", "tw"); ok && tw > counts[5] {
					counts[5] = tw
				}
			}
			continue
		}
		data, err := c.readZ(pathZ)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && (file == "net/tcp6" || file == "net/udp6") {
				continue // IPv6 disabled
			}
			c.fail(fmt.Errorf("netstat: %w: netstat metrics skipped", err))
			return dst
		}
		if file == "net/udp" || file == "net/udp6" {
			counts[netstatUDP] += countSockets(data)
		} else if bad := countTCPStates(data, &counts); bad > 0 {
			c.fail(fmt.Errorf("netstat: %s: %d lines without a hex state in column 4: not counted", path, bad))
		}
	}
	for i, o := range c.netstat {
		if o.name != "" {
			dst = append(dst, Sample{Name: o.name, Unit: o.unit, Value: float64(counts[i])})
		}
	}
	return dst
}

// collectProcs walks /proc once for processes and the exe and pattern entries of procstat,
// and reads the pid files of the others.
func (c *Collector) collectProcs(dst []Sample) []Sample {
	now := c.now().UnixNano()
	for _, m := range c.procs {
		m.begin()
	}
	walk := c.processes != nil
	for _, m := range c.procs {
		if m.kind == "pidfile" {
			dst = c.collectPidFile(dst, m, now)
		} else {
			walk = true
		}
	}
	if walk {
		var counts processCounts
		c.scanErr, c.scanBad = nil, 0
		if err := c.walkProcs(func(pid int32, ps *pidStat) {
			counts.countState(ps.state, ps.threads)
			for _, m := range c.procs {
				if m.kind != "pidfile" && c.matches(m, pid, ps) {
					dst = m.appendProc(dst, c.reading(pid, ps, m), now)
				}
			}
		}); err != nil {
			c.fail(fmt.Errorf("processes: %w: processes and procstat exe/pattern metrics skipped", err))
			return dst
		}
		if c.scanErr != nil {
			c.fail(fmt.Errorf("processes: %d processes not counted, the first: %w", c.scanBad, c.scanErr))
		}
		for i, o := range c.processes {
			if o.name != "" {
				dst = append(dst, Sample{Name: o.name, Unit: o.unit, Value: float64(counts[i])})
			}
		}
		for m, memo := range c.matchMemo {
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
	data, err := c.read(m.value)
	if err != nil {
		c.fail(fmt.Errorf("procstat pidfile %q: %w: no process to watch", m.value, err))
		return dst
	}
	pid, ok := parsePidFile(data)
	if !ok {
		c.fail(fmt.Errorf("procstat pidfile %q: %q is not a process id: no process to watch", m.value, bytes.TrimSpace(data[:min(len(data), 40)])))
		return dst
	}
	dirfd, err := openZ(unix.AT_FDCWD, c.rootZ, unix.O_DIRECTORY)
	if err != nil {
		c.fail(fmt.Errorf("procstat pidfile %q: open %s: %w", m.value, c.procRoot, err))
		return dst
	}
	defer unix.Close(dirfd)
	ps, err := c.readPidStat(dirfd, pid)
	if err != nil {
		c.fail(fmt.Errorf("procstat pidfile %q: process %d: %w", m.value, pid, err))
		return dst
	}
	return m.appendProc(dst, c.reading(pid, &ps, m), now)
}

// reading completes what procstat publishes of process pid.
func (c *Collector) reading(pid int32, ps *pidStat, m *procMatcher) *procReading {
	r := &c.procRead
	*r = procReading{pid: pid, name: ps.comm, start: ps.start, ticks: ps.utime + ps.stime, rss: ps.rssPgs * c.pageSize, vms: ps.vsize}
	if m.outs[pcReadBytes].name != "" || m.outs[pcWriteBytes].name != "" {
		if data, err := c.readPidFile(unix.AT_FDCWD, pid, "io", c.ioBuf[:0]); err == nil {
			c.ioBuf = data[:0]
			r.read, r.write, r.haveIO = parsePidIO(data)
		}
	}
	return r
}

// matches reports whether process pid is one of m's.
func (c *Collector) matches(m *procMatcher, pid int32, ps *pidStat) bool {
	if m.kind == "exe" {
		return m.re.Match(ps.comm)
	}
	memo := c.matchMemo[m]
	if e, ok := memo[pid]; ok && e.start == ps.start {
		e.gen = m.gen
		memo[pid] = e
		return e.matched
	}
	data, err := c.readPidFile(unix.AT_FDCWD, pid, "cmdline", c.cmdline[:0])
	if err != nil {
		return false // gone
	}
	c.cmdline = data[:0]
	data = bytes.TrimRight(data, "\x00")
	for i, b := range data {
		if b == 0 {
			data[i] = ' '
		}
	}
	ok := m.re.Match(data)
	memo[pid] = patternMemo{start: ps.start, matched: ok, gen: m.gen}
	return ok
}

// walkProcs calls fn for every process of procRoot with its parsed stat file. A process
// that ends during the walk is left out; one whose stat does not parse is counted in
// scanBad.
func (c *Collector) walkProcs(fn func(pid int32, ps *pidStat)) error {
	dirfd, err := openZ(unix.AT_FDCWD, c.rootZ, unix.O_DIRECTORY)
	if err != nil {
		return fmt.Errorf("open %s: %w", c.procRoot, err)
	}
	defer unix.Close(dirfd)
	if c.dirBuf == nil {
		c.dirBuf = make([]byte, 32<<10)
	}
	for {
		n, err := unix.Getdents(dirfd, c.dirBuf)
		if err != nil {
			return fmt.Errorf("read %s: %w", c.procRoot, err)
		}
		if n <= 0 {
			return nil
		}
		for b := c.dirBuf[:n]; len(b) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < 19 || reclen > len(b) {
				return fmt.Errorf("read %s: bad directory entry", c.procRoot)
			}
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			b = b[reclen:]
			v, ok := parseUint(name)
			if !ok || v == 0 || v > 1<<22 {
				continue
			}
			pid := int32(v)
			var err error
			c.curStat, err = c.readPidStat(dirfd, pid)
			if err != nil {
				if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ESRCH) {
					c.scanBad++
					if c.scanErr == nil {
						c.scanErr = fmt.Errorf("%s/%d/stat: %w", c.procRoot, pid, err)
					}
				}
				continue
			}
			fn(pid, &c.curStat) // a field, not a local: a pointer to a local handed to fn escapes
		}
	}
}

// readPidStat reads and parses <dirfd>/<pid>/stat; ps.comm points into c.small.
func (c *Collector) readPidStat(dirfd int, pid int32) (pidStat, error) {
	data, err := c.readPidFile(dirfd, pid, "stat", c.small[:0])
	if err != nil {
		return pidStat{}, err
	}
	c.small = data[:0]
	ps, why := parsePidStat(data)
	if why != "" {
		return ps, errors.New(why)
	}
	return ps, nil
}

// readPidFile reads <dirfd>/<pid>/<file> (relative to procRoot when dirfd is AT_FDCWD)
// appended to buf, up to maxCmdline bytes.
func (c *Collector) readPidFile(dirfd int, pid int32, file string, buf []byte) ([]byte, error) {
	p := c.pathBuf[:0]
	if dirfd == unix.AT_FDCWD {
		p = append(p, c.rootZ[:len(c.rootZ)-1]...)
		p = append(p, '/')
	}
	p = strconv.AppendInt(p, int64(pid), 10)
	p = append(p, '/')
	p = append(p, file...)
	p = append(p, 0)
	c.pathBuf = p
	fd, err := openZ(dirfd, p, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if cap(buf) < 1024 {
		buf = make([]byte, 0, 1024)
	}
	for len(buf) < maxCmdline {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		short := len(buf)+n < cap(buf)
		buf = buf[:len(buf)+n]
		if short && file != "cmdline" {
			// stat and io are made whole on the first read: a short read is all of it,
			// and asking again for the end costs a system call per process.
			break
		}
	}
	return buf, nil
}

// readZ is read for a NUL-terminated path, without the allocations of os.Open: the
// contents are in c.buf, valid until the next read.
func (c *Collector) readZ(pathZ []byte) ([]byte, error) {
	path := pathZ[:len(pathZ)-1]
	fd, err := openZ(unix.AT_FDCWD, pathZ, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: string(path), Err: err}
	}
	defer unix.Close(fd)
	b := c.buf[:0]
	for {
		if len(b) == cap(b) {
			if len(b) >= maxProcFile {
				return nil, fmt.Errorf("read %s: longer than %d bytes", path, maxProcFile)
			}
			b = append(b, 0)[:len(b)]
		}
		n, err := unix.Read(fd, b[len(b):cap(b)])
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if n == 0 {
			break
		}
		b = b[:len(b)+n]
	}
	c.buf = b
	return b, nil
}

// openZ is openat(2) of the NUL-terminated path, read-only, without the allocation of
// converting a string.
func openZ(dirfd int, path []byte, flags int) (int, error) {
	fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])),
		uintptr(unix.O_RDONLY|unix.O_CLOEXEC|flags), 0, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}
