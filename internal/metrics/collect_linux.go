package metrics

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// maxProcFile bounds what Collect reads of one /proc file; a mount table of a busy container
// host is a few hundred kB.
const maxProcFile = 16 << 20

type osState struct {
	meminfoPath, statPath, mountinfoPath string

	buf []byte // read buffer, reused by every file of every cycle

	// The mount list and what it was parsed from: parsed again only when the mount table
	// changes, and then mounts that stay keep their entries (and their dims).
	mountRaw    []byte
	mountsValid bool
	mounts      []mount
	mountIdx    map[string]int // path -> index in mounts
	spare       []mount        // the previous list's backing array, reused by the next parse
	spareIdx    map[string]int
	mountErrs   []error // problems of the current mount table, reported every cycle
	unesc       [2][]byte

	famState
}

func (c *Collector) initOS(realStatfs bool) {
	c.meminfoPath = filepath.Join(c.procRoot, "meminfo")
	c.statPath = filepath.Join(c.procRoot, "stat")
	c.mountinfoPath = filepath.Join(c.procRoot, "self", "mountinfo")
	c.buf = make([]byte, 0, 32<<10)
	c.mountIdx = map[string]int{}
	c.spareIdx = map[string]int{}
	if realStatfs {
		c.statfs = statfs
	}
}

// statfs is statfs(2). Block counts are in f_frsize units; Bsize stands in on kernels that
// leave f_frsize 0.
func statfs(path string) (FSStats, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return FSStats{}, err
	}
	bs := uint64(st.Frsize)
	if bs == 0 {
		bs = uint64(st.Bsize)
	}
	return FSStats{
		BlockSize: bs, Blocks: st.Blocks, BlocksFree: st.Bfree, BlocksAvail: st.Bavail,
		Files: st.Files, FilesFree: st.Ffree,
	}, nil
}

func (c *Collector) collect(dst []Sample) []Sample {
	if data, err := c.read(c.meminfoPath); err != nil {
		c.fail(fmt.Errorf("memory: %w: memory and swap metrics skipped", err))
	} else {
		dst = c.appendMeminfo(dst, data)
	}
	if data, err := c.read(c.statPath); err != nil {
		c.fail(fmt.Errorf("cpu: %w: cpu_usage_active skipped", err))
	} else if c.cpu != nil {
		dst = c.collectCPUFamily(dst, data)
	} else if t, err := parseStat(data); err != nil {
		c.fail(fmt.Errorf("cpu: %s: %w: cpu_usage_active skipped", c.statPath, err))
	} else {
		dst = c.appendCPU(dst, t)
	}
	if data, err := c.read(c.mountinfoPath); err != nil {
		c.fail(fmt.Errorf("disk: %w: disk metrics skipped", err))
	} else {
		c.refreshMounts(data)
		c.errs = append(c.errs, c.mountErrs...)
		for i := range c.mounts {
			m := &c.mounts[i]
			st, err := c.statfs(m.path)
			if err != nil {
				c.fail(statfsError(m, err))
				continue
			}
			dst = appendDisk(dst, m, st, true)
		}
	}
	return c.collectFamilies(dst)
}

// read returns the contents of the file at path in c.buf, valid until the next read.
func (c *Collector) read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := c.buf[:0]
	for {
		if len(b) == cap(b) {
			if len(b) >= maxProcFile {
				return nil, fmt.Errorf("read %s: longer than %d bytes", path, maxProcFile)
			}
			b = append(b, 0)[:len(b)]
		}
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	c.buf = b
	return b, nil
}

// The /proc/meminfo fields Collect uses, as indexes of meminfoNames and meminfo.v.
const (
	miTotal = iota
	miFree
	miAvailable
	miBuffers
	miCached
	miSReclaimable
	miSwapTotal
	miSwapFree
)

var meminfoNames = [...]string{"MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SReclaimable", "SwapTotal", "SwapFree"}

// meminfo holds /proc/meminfo's fields in bytes, indexed like meminfoNames.
type meminfo struct {
	v    [len(meminfoNames)]uint64
	have int
}

func (m *meminfo) has(i int) bool { return m.have&(1<<i) != 0 }

// missing names those of the fields fields that m lacks, or returns "".
func (m *meminfo) missing(fields ...int) string {
	var names string
	for _, i := range fields {
		if !m.has(i) {
			if names != "" {
				names += ", "
			}
			names += meminfoNames[i]
		}
	}
	return names
}

// parseMeminfo reads the fields Collect uses from /proc/meminfo ("Name:   123 kB" lines). A
// field whose value is not a number is left out and reported in bad (field names, in order
// of appearance, for the caller's error); lines without a colon are ignored.
func parseMeminfo(data []byte) (m meminfo, bad []string) {
	for len(data) > 0 {
		var line []byte
		line, data = cutLine(data)
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		idx := meminfoIndex(line[:colon])
		if idx < 0 {
			continue
		}
		v, ok := parseMeminfoValue(line[colon+1:])
		if !ok {
			bad = append(bad, meminfoNames[idx])
			continue
		}
		m.v[idx] = v
		m.have |= 1 << idx
	}
	return m, bad
}

func meminfoIndex(name []byte) int {
	switch string(name) {
	case "MemTotal":
		return miTotal
	case "MemFree":
		return miFree
	case "MemAvailable":
		return miAvailable
	case "Buffers":
		return miBuffers
	case "Cached":
		return miCached
	case "SReclaimable":
		return miSReclaimable
	case "SwapTotal":
		return miSwapTotal
	case "SwapFree":
		return miSwapFree
	}
	return -1
}

// parseMeminfoValue parses "   123 kB" (or a bare number) into bytes.
func parseMeminfoValue(b []byte) (uint64, bool) {
	b = bytes.TrimSpace(b)
	num, unit, _ := bytes.Cut(b, []byte{' '})
	v, ok := parseUint(num)
	if !ok {
		return 0, false
	}
	switch string(bytes.TrimSpace(unit)) {
	case "":
		return v, true
	case "kB":
		if v > 1<<54 {
			return 0, false
		}
		return v * 1024, true
	}
	return 0, false
}

// appendMeminfo appends the memory and swap samples from /proc/meminfo's contents.
func (c *Collector) appendMeminfo(dst []Sample, data []byte) []Sample {
	mi, bad := parseMeminfo(data)
	for _, name := range bad {
		c.fail(fmt.Errorf("memory: %s: %s is not a number of kB", c.meminfoPath, name))
	}
	var m memStats
	total, free, buffers, cached := mi.v[miTotal], mi.v[miFree], mi.v[miBuffers], mi.v[miCached]
	sreclaimable := mi.v[miSReclaimable] // since 2.6.19; absent means none
	if total == 0 {
		c.fail(fmt.Errorf("memory: %s: no MemTotal, or 0: memory metrics skipped", c.meminfoPath))
	} else {
		m.total = float64(total)
		if s := mi.missing(miFree, miBuffers, miCached); s != "" {
			c.fail(fmt.Errorf("memory: %s: no %s: %s and %s skipped", c.meminfoPath, s, MemUsed, MemUsedPercent))
		} else {
			m.haveUsed = true
			m.used = max(0, m.total-float64(free)-float64(buffers)-float64(cached)-float64(sreclaimable))
		}
		switch {
		case mi.has(miAvailable):
			m.available, m.haveAvail = float64(min(mi.v[miAvailable], total)), true
		case m.haveUsed:
			// Before Linux 3.14: what mem_used leaves, as free(1)'s "-/+ buffers/cache" did.
			m.available, m.haveAvail = m.total-m.used, true
		default:
			c.fail(fmt.Errorf("memory: %s: no MemAvailable, nor MemFree, Buffers and Cached to estimate it from: %s skipped", c.meminfoPath, MemAvailablePercent))
		}
	}
	if s := mi.missing(miSwapTotal, miSwapFree); s != "" {
		c.fail(fmt.Errorf("memory: %s: no %s: %s skipped", c.meminfoPath, s, SwapUsedPercent))
	} else {
		st, sf := mi.v[miSwapTotal], mi.v[miSwapFree]
		m.swapTotal, m.swapFree, m.haveSwap = float64(st), float64(min(sf, st)), true
	}
	return appendMem(dst, m)
}

// parseStat returns the aggregate CPU times of /proc/stat's first line:
// "cpu  user nice system idle iowait irq softirq steal guest guest_nice", in USER_HZ ticks.
// Kernels before 2.6.33 have fewer columns; the first four are required.
func parseStat(data []byte) (cpuTimes, error) {
	line, _ := cutLine(data)
	rest, ok := bytes.CutPrefix(line, []byte("cpu "))
	if !ok {
		return cpuTimes{}, fmt.Errorf("first line does not start with \"cpu \"")
	}
	var v [8]uint64 // user nice system idle iowait irq softirq steal; guest* are inside user, nice
	n := 0
	for n < len(v) {
		var f []byte
		f, rest = nextField(rest)
		if f == nil {
			break
		}
		x, ok := parseUint(f)
		if !ok {
			return cpuTimes{}, fmt.Errorf("cpu column %d is %q, not a number", n+1, f)
		}
		v[n] = x
		n++
	}
	if n < 4 {
		return cpuTimes{}, fmt.Errorf("cpu line has %d columns, want at least 4 (user nice system idle)", n)
	}
	var t cpuTimes
	for _, x := range v {
		if t.total+x < t.total {
			return cpuTimes{}, fmt.Errorf("cpu columns add up to more than 2^64")
		}
		t.total += x
	}
	t.idle = v[3]
	return t, nil
}

// refreshMounts brings c.mounts up to date with the mount table data (/proc/self/mountinfo).
func (c *Collector) refreshMounts(data []byte) {
	if c.mountsValid && bytes.Equal(data, c.mountRaw) {
		return
	}
	c.mountRaw = append(c.mountRaw[:0], data...)
	c.mountsValid = true
	c.mountErrs = c.mountErrs[:0]

	old, oldIdx := c.mounts, c.mountIdx
	next, nextIdx := c.spare[:0], c.spareIdx
	clear(nextIdx)
	for lineNo := 1; len(data) > 0; lineNo++ {
		var line []byte
		line, data = cutLine(data)
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		mp, fstype, src, why := parseMountinfoLine(line)
		if why != "" {
			c.mountErrs = append(c.mountErrs, fmt.Errorf("disk: %s line %d: %s: line skipped", c.mountinfoPath, lineNo, why))
			continue
		}
		if _, skip := c.ignore[string(fstype)]; skip {
			continue
		}
		c.unesc[0] = unescapeOctal(c.unesc[0][:0], mp)
		c.unesc[1] = unescapeOctal(c.unesc[1][:0], src)
		mp, src = c.unesc[0], c.unesc[1]

		var m mount
		if i, ok := oldIdx[string(mp)]; ok && old[i].source == string(src) && old[i].fstype == string(fstype) {
			m = old[i]
		} else {
			m = newMount(string(mp), string(src), string(fstype))
		}
		// A path mounted over again: the last mount is the one visible there.
		if i, ok := nextIdx[m.path]; ok {
			next[i] = m
			continue
		}
		nextIdx[m.path] = len(next)
		next = append(next, m)
	}
	clear(old) // drop references to mounts that are gone
	c.mounts, c.mountIdx = next, nextIdx
	c.spare, c.spareIdx = old[:0], oldIdx
}

// parseMountinfoLine returns the mount point, file system type and mount source (still
// escaped) of one /proc/self/mountinfo line:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// (proc(5)): the mount point is the fifth field; after the optional fields a lone "-", then
// the type and the source. why says what is wrong with a malformed line.
func parseMountinfoLine(line []byte) (mountPoint, fstype, source []byte, why string) {
	rest := line
	for i := range 6 { // mount ID, parent ID, major:minor, root, mount point, options
		var f []byte
		f, rest = nextField(rest)
		if f == nil {
			return nil, nil, nil, fmt.Sprintf("%d fields, want at least 10", i)
		}
		if i == 4 {
			mountPoint = f
		}
	}
	for {
		var f []byte
		f, rest = nextField(rest)
		if f == nil {
			return nil, nil, nil, `no " - " separator before the file system type`
		}
		if len(f) == 1 && f[0] == '-' {
			break
		}
	}
	fstype, rest = nextField(rest)
	source, _ = nextField(rest)
	if fstype == nil || source == nil {
		return nil, nil, nil, "no file system type and mount source after \" - \""
	}
	return mountPoint, fstype, source, ""
}

// unescapeOctal appends s to dst with the kernel's \ooo escapes (space, tab, newline and
// backslash in mount points and sources) decoded.
func unescapeOctal(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			v := int(s[i+1]-'0')<<6 | int(s[i+2]-'0')<<3 | int(s[i+3]-'0')
			if v <= 0xff {
				dst = append(dst, byte(v))
				i += 3
				continue
			}
		}
		dst = append(dst, s[i])
	}
	return dst
}

func isOctal(b byte) bool { return b >= '0' && b <= '7' }

// cutLine splits data after its first line; the line has no newline.
func cutLine(data []byte) (line, rest []byte) {
	line, rest, _ = bytes.Cut(data, []byte{'\n'})
	return line, rest
}

// nextField returns the first run of non-blank bytes of b and what follows it, or nil.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	if i == len(b) {
		return nil, nil
	}
	j := i
	for j < len(b) && b[j] != ' ' && b[j] != '\t' {
		j++
	}
	return b[i:j], b[j:]
}

// matchLike is false: procstat's exe and pattern are regular expressions, as on the
// CloudWatch agent's Linux.
const matchLike = false
