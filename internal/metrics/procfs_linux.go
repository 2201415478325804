package metrics

import (
	"bytes"
	"fmt"
)

// Parsers of the /proc files the families beyond the default set read. Like parseStat and
// parseMeminfo they allocate nothing and take any bytes: what does not parse is reported,
// never a panic.

// parseCPULine parses one "cpu" or "cpuN" line of /proc/stat: n is -1 for the total, N
// for cpuN. isCPU is false for a line that is no CPU line (intr, ctxt, ...). Kernels
// before 2.6.33 have fewer columns (the missing ones are 0); the first four are required.
func parseCPULine(line []byte) (n int, raw cpuRaw, isCPU bool, err error) {
	name, rest := nextField(line)
	num, ok := bytes.CutPrefix(name, []byte("cpu"))
	if !ok {
		return 0, raw, false, nil
	}
	n = -1
	if len(num) > 0 {
		v, ok := parseUint(num)
		if !ok || v > 1<<20 {
			return 0, raw, false, nil // "cpufreq" or similar: not a CPU line
		}
		n = int(v)
	}
	cols := 0
	for cols < len(raw) {
		var f []byte
		f, rest = nextField(rest)
		if f == nil {
			break
		}
		v, ok := parseUint(f)
		if !ok {
			return n, raw, true, fmt.Errorf("%s column %d is %q, not a number", name, cols+1, f)
		}
		raw[cols] = v
		cols++
	}
	if cols < 4 {
		return n, raw, true, fmt.Errorf("%s line has %d columns, want at least 4 (user nice system idle)", name, cols)
	}
	var t uint64
	for _, v := range raw[:crGuest] {
		if t+v < t {
			return n, raw, true, fmt.Errorf("%s columns add up to more than 2^64", name)
		}
		t += v
	}
	return n, raw, true, nil
}

// parseDiskstatsLine parses one /proc/diskstats line (Documentation/admin-guide/iostats.rst):
//
//	major minor name reads merged sectors_read read_ms writes merged sectors_written
//	write_ms in_progress io_ms weighted_ms [discard and flush fields]
//
// Sectors are 512 bytes whatever the device's own sector size.
func parseDiskstatsLine(line []byte) (name []byte, v diskioCounters, why string) {
	rest := line
	for range 2 {
		var f []byte
		if f, rest = nextField(rest); f == nil {
			return nil, v, "fewer than 3 fields"
		}
	}
	if name, rest = nextField(rest); name == nil {
		return nil, v, "fewer than 3 fields"
	}
	var c [10]uint64
	for i := range c {
		var f []byte
		if f, rest = nextField(rest); f == nil {
			return name, v, fmt.Sprintf("%d counters, want at least 10", i)
		}
		x, ok := parseUint(f)
		if !ok {
			return name, v, fmt.Sprintf("counter %d is %q, not a number", i+1, f)
		}
		c[i] = x
	}
	const sector = 512
	if c[2] > 1<<64/sector-1 || c[6] > 1<<64/sector-1 {
		return name, v, "sector count too large"
	}
	v = diskioCounters{c[0], c[4], c[2] * sector, c[6] * sector, c[3], c[7], c[9], c[8]}
	return name, v, ""
}

// parseNetDevLine parses one interface line of /proc/net/dev:
//
//	eth0: rx_bytes rx_packets rx_errs rx_drop rx_fifo rx_frame rx_compressed rx_multicast
//	      tx_bytes tx_packets tx_errs tx_drop tx_fifo tx_colls tx_carrier tx_compressed
//
// isIface is false for the two header lines (they have no colon).
func parseNetDevLine(line []byte) (name []byte, v netCounters, isIface bool, why string) {
	name, rest, ok := bytes.Cut(line, []byte{':'})
	if !ok {
		return nil, v, false, ""
	}
	name = bytes.TrimSpace(name)
	if len(name) == 0 {
		return nil, v, true, "no interface name before the colon"
	}
	if bytes.ContainsAny(name, " \t") {
		return nil, v, true, fmt.Sprintf("interface name %q has a blank", name)
	}
	var c [12]uint64
	for i := range c {
		var f []byte
		if f, rest = nextField(rest); f == nil {
			return name, v, true, fmt.Sprintf("%d counters, want 16", i)
		}
		x, ok := parseUint(f)
		if !ok {
			return name, v, true, fmt.Sprintf("counter %d is %q, not a number", i+1, f)
		}
		c[i] = x
	}
	v = netCounters{c[8], c[0], c[9], c[1], c[2], c[10], c[3], c[11]}
	return name, v, true, ""
}

// countTCPStates adds the sockets of a /proc/net/tcp or tcp6 file to counts (indexed like
// netstatFields) by their "st" column, a hex TCP state. bad counts lines that do not parse.
func countTCPStates(data []byte, counts *[13]uint64) (bad int) {
	_, data = cutLine(data) // header
	for len(data) > 0 {
		var line []byte
		line, data = cutLine(data)
		rest := line
		var st []byte
		for i := range 4 { // sl local_address rem_address st
			if st, rest = nextField(rest); st == nil {
				if i > 0 {
					bad++
				}
				break
			}
		}
		if st == nil {
			continue
		}
		v, ok := parseHex(st)
		switch {
		case !ok:
			bad++
		case v >= 1 && v <= 11:
			counts[v-1]++
		default:
			counts[netstatNone]++
		}
	}
	return bad
}

// countSockets is the number of socket lines of a /proc/net/udp or udp6 file.
func countSockets(data []byte) uint64 {
	_, data = cutLine(data)
	var n uint64
	for len(data) > 0 {
		var line []byte
		line, data = cutLine(data)
		if f, _ := nextField(line); f != nil {
			n++
		}
	}
	return n
}

// parseHex parses a short hexadecimal number.
func parseHex(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	var v uint64
	for _, ch := range b {
		switch {
		case ch >= '0' && ch <= '9':
			v = v<<4 | uint64(ch-'0')
		case ch >= 'A' && ch <= 'F':
			v = v<<4 | uint64(ch-'A'+10)
		case ch >= 'a' && ch <= 'f':
			v = v<<4 | uint64(ch-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// pidStat is what Collect uses of /proc/<pid>/stat.
type pidStat struct {
	comm          []byte
	state         byte
	utime, stime  uint64 // clock ticks
	threads       uint64
	start         uint64 // clock ticks after boot
	vsize, rssPgs uint64 // bytes, pages
}

// parsePidStat parses /proc/<pid>/stat (proc(5)): "pid (comm) state ppid ...". comm may
// hold spaces and parentheses, so it ends at the last ')'.
func parsePidStat(data []byte) (ps pidStat, why string) {
	open := bytes.IndexByte(data, '(')
	end := bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return ps, "no (comm)"
	}
	ps.comm = data[open+1 : end]
	rest := data[end+1:]
	// Fields after comm, from 0: state(3) ... utime(14) stime(15) ... num_threads(20)
	// itrealvalue(21) starttime(22) vsize(23) rss(24).
	for i := 0; i <= 21; i++ {
		var f []byte
		if f, rest = nextField(rest); f == nil {
			return ps, fmt.Sprintf("%d fields after comm, want at least 22", i)
		}
		if i == 0 {
			if len(f) != 1 || !(f[0] >= 'A' && f[0] <= 'Z' || f[0] >= 'a' && f[0] <= 'z') {
				return ps, fmt.Sprintf("state %q is not one letter", f)
			}
			ps.state = f[0]
			continue
		}
		var dst *uint64
		switch i {
		case 11:
			dst = &ps.utime
		case 12:
			dst = &ps.stime
		case 17:
			dst = &ps.threads
		case 19:
			dst = &ps.start
		case 20:
			dst = &ps.vsize
		case 21:
			dst = &ps.rssPgs
		default:
			continue
		}
		v, ok := parseUint(f)
		if !ok {
			return ps, fmt.Sprintf("field %d is %q, not a number", i+3, f)
		}
		*dst = v
	}
	return ps, ""
}

// parsePidIO returns read_bytes and write_bytes of /proc/<pid>/io.
func parsePidIO(data []byte) (read, write uint64, ok bool) {
	have := 0
	for len(data) > 0 {
		var line []byte
		line, data = cutLine(data)
		k, v, found := bytes.Cut(line, []byte{':'})
		if !found {
			continue
		}
		var dst *uint64
		switch string(k) {
		case "read_bytes":
			dst = &read
		case "write_bytes":
			dst = &write
		default:
			continue
		}
		x, ok := parseUint(bytes.TrimSpace(v))
		if !ok {
			return 0, 0, false
		}
		*dst = x
		have++
	}
	return read, write, have == 2
}

// parsePidFile returns the process id a pid file holds: a decimal number, blanks around it.
func parsePidFile(data []byte) (int32, bool) {
	v, ok := parseUint(bytes.TrimSpace(data))
	if !ok || v == 0 || v > 1<<22 {
		return 0, false
	}
	return int32(v), true
}

// sockstatField returns the number after key on the line of /proc/net/sockstat(6) that
// starts with proto: sockstatField(data, "TCP:", "tw") of "TCP: inuse 5 orphan 0 tw 84".
func sockstatField(data []byte, proto, key string) (uint64, bool) {
	for len(data) > 0 {
		var line []byte
		line, data = cutLine(data)
		rest, ok := bytes.CutPrefix(line, []byte(proto))
		if !ok {
			continue
		}
		for {
			var k, v []byte
			if k, rest = nextField(rest); k == nil {
				return 0, false
			}
			if v, rest = nextField(rest); v == nil {
				return 0, false
			}
			if string(k) == key {
				return parseUint(v)
			}
		}
	}
	return 0, false
}
