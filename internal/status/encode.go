package status

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The status file is written by hand, not by encoding/json: the agent writes it about
// once a minute for its whole life, and encoding/json's reflection touches about a
// megabyte of the binary's type descriptors each time, which the agent otherwise keeps
// out of its resident set (see README, Performance). The file reads back with
// encoding/json (Read); TestEncodeMatchesEncodingJSON keeps the two in step.

// appendSnapshot appends s as indented JSON, as json.MarshalIndent(s, "", "  ") would.
func appendSnapshot(b []byte, s *Snapshot) []byte {
	o := obj{b: append(b, '{'), indent: "\n  "}
	o.int("version", s.Version, false)
	o.time("updated_at", s.UpdatedAt, false)
	o.int("pid", s.PID, false)
	if s.Discovery != nil {
		o.key("discovery")
		o.b = appendComponent(o.b, s.Discovery, o.indent)
	}
	for _, m := range []struct {
		name  string
		parts map[string]*Component
	}{{"sources", s.Sources}, {"reporters", s.Reporters}} {
		o.key(m.name)
		if m.parts == nil {
			o.b = append(o.b, "null"...)
			continue
		}
		in := obj{b: append(o.b, '{'), indent: o.indent + "  "}
		for _, name := range slices.Sorted(maps.Keys(m.parts)) {
			in.key(name)
			if c := m.parts[name]; c == nil {
				in.b = append(in.b, "null"...)
			} else {
				in.b = appendComponent(in.b, c, in.indent)
			}
		}
		o.b = in.close()
	}
	return o.close()
}

func appendComponent(b []byte, c *Component, indent string) []byte {
	o := obj{b: append(b, '{'), indent: indent + "  "}
	o.time("last_ok", c.LastOK, true)
	o.str("last_error", c.LastError, true)
	o.time("error_at", c.ErrorAt, true)
	o.str("detail", c.Detail, true)
	o.int("attempts", c.Attempts, true)
	o.time("next_try", c.NextTry, true)
	if len(c.Counters) > 0 {
		o.key("counters")
		in := obj{b: append(o.b, '{'), indent: o.indent + "  "}
		for _, k := range slices.Sorted(maps.Keys(c.Counters)) {
			in.key(k)
			in.b = strconv.AppendInt(in.b, c.Counters[k], 10)
		}
		o.b = in.close()
	}
	if len(c.Checks) > 0 {
		o.key("checks")
		arr := obj{b: append(o.b, '['), indent: o.indent + "  "}
		for _, ch := range c.Checks {
			arr.elem()
			e := obj{b: append(arr.b, '{'), indent: arr.indent + "  "}
			e.str("name", ch.Name, false)
			e.bool("ok", ch.OK)
			e.int("failures", ch.Failures, false)
			e.time("last_run", ch.LastRun, true)
			e.str("last_error", ch.LastError, true)
			arr.b = e.close()
		}
		o.b = arr.closeWith(']')
	}
	if len(c.Files) > 0 {
		o.key("files")
		arr := obj{b: append(o.b, '['), indent: o.indent + "  "}
		for _, f := range c.Files {
			arr.elem()
			e := obj{b: append(arr.b, '{'), indent: arr.indent + "  "}
			e.str("path", f.Path, false)
			e.str("group", f.Group, false)
			e.str("stream", f.Stream, false)
			e.int64("shipped", f.Shipped)
			e.int64("size", f.Size)
			e.key("lag_seconds")
			e.b = appendFloat(e.b, f.LagSeconds)
			e.str("last_error", f.LastError, true)
			e.time("error_at", f.ErrorAt, true)
			arr.b = e.close()
		}
		o.b = arr.closeWith(']')
	}
	if len(c.Journals) > 0 {
		o.key("journals")
		arr := obj{b: append(o.b, '['), indent: o.indent + "  "}
		for _, j := range c.Journals {
			arr.elem()
			e := obj{b: append(arr.b, '{'), indent: arr.indent + "  "}
			e.str("entry", j.Entry, false)
			e.str("what", j.What, false)
			e.str("group", j.Group, false)
			e.str("stream", j.Stream, false)
			e.int64("shipped", j.Shipped)
			e.int64("pending", j.Pending)
			e.int64("vacuumed_unshipped", j.VacuumedUnshipped)
			e.time("last_entry", j.LastEntry, true)
			e.str("cursor", j.Cursor, true)
			e.str("last_error", j.LastError, true)
			e.time("error_at", j.ErrorAt, true)
			arr.b = e.close()
		}
		o.b = arr.closeWith(']')
	}
	if len(c.WinEvents) > 0 {
		o.key("windows_events")
		arr := obj{b: append(o.b, '['), indent: o.indent + "  "}
		for _, w := range c.WinEvents {
			arr.elem()
			e := obj{b: append(arr.b, '{'), indent: arr.indent + "  "}
			e.str("entry", w.Entry, false)
			e.str("what", w.What, false)
			e.str("group", w.Group, false)
			e.str("stream", w.Stream, false)
			e.int64("shipped", w.Shipped)
			e.int64("pending", w.Pending)
			e.int64("cleared_unshipped", w.ClearedUnshipped)
			e.time("last_event", w.LastEvent, true)
			if w.RecordID > 0 {
				e.key("record_id")
				e.b = strconv.AppendUint(e.b, w.RecordID, 10)
			}
			e.str("last_error", w.LastError, true)
			e.time("error_at", w.ErrorAt, true)
			arr.b = e.close()
		}
		o.b = arr.closeWith(']')
	}
	return o.close()
}

// obj appends the members of one JSON object or array, each on its own line.
type obj struct {
	b      []byte
	indent string // newline and indentation of a member
	n      int    // members so far
}

func (o *obj) elem() {
	if o.n > 0 {
		o.b = append(o.b, ',')
	}
	o.n++
	o.b = append(o.b, o.indent...)
}

func (o *obj) key(k string) {
	o.elem()
	o.b = appendString(o.b, k)
	o.b = append(o.b, ": "...)
}

func (o *obj) str(k, v string, omitEmpty bool) {
	if omitEmpty && v == "" {
		return
	}
	o.key(k)
	o.b = appendString(o.b, v)
}

func (o *obj) int(k string, v int, omitEmpty bool) {
	if omitEmpty && v == 0 {
		return
	}
	o.key(k)
	o.b = strconv.AppendInt(o.b, int64(v), 10)
}

func (o *obj) int64(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

func (o *obj) bool(k string, v bool) {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}

func (o *obj) time(k string, t time.Time, omitZero bool) {
	if omitZero && t.IsZero() {
		return
	}
	o.key(k)
	o.b = append(o.b, '"')
	o.b = t.AppendFormat(o.b, time.RFC3339Nano)
	o.b = append(o.b, '"')
}

func (o *obj) close() []byte { return o.closeWith('}') }

func (o *obj) closeWith(c byte) []byte {
	if o.n > 0 {
		o.b = append(o.b, o.indent[:len(o.indent)-2]...)
	}
	return append(o.b, c)
}

// appendFloat appends f as encoding/json writes a float64: the shortest form, in
// exponent form only below 1e-6 or from 1e21, with a one-digit exponent where it fits.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 -> 1e-7
		if n := len(b) - start; n >= 4 && b[len(b)-4] == 'e' && b[len(b)-3] == '-' && b[len(b)-2] == '0' {
			b[len(b)-2] = b[len(b)-1]
			b = b[:len(b)-1]
		}
	}
	return b
}

// appendString appends s as a JSON string: quotes, backslashes and control characters
// escaped, invalid UTF-8 replaced by U+FFFD, as encoding/json does (without its HTML
// escaping, which a status file does not need).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
