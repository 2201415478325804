package logship

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/stackhand/stackhand/internal/config"
)

// Encodings a LogFile may name.
const (
	encUTF8 = iota
	encLatin1
)

// encodingOf returns the encoding a logs.files entry names (config.Encoding's names):
// utf-8 (the default, also "" and "utf8") or latin-1 (also "iso-8859-1", "latin1").
func encodingOf(name string) (int, error) {
	canon, err := config.Encoding(name)
	if canon == config.EncodingLatin1 {
		return encLatin1, nil
	}
	return encUTF8, err
}

// slabSize is how much memory messages are carved from at a time: one allocation serves
// hundreds of ordinary lines.
const slabSize = 64 << 10

// recordConfig is a LogFile's record rules, compiled once and shared by every file the
// entry follows.
type recordConfig struct {
	enc     int
	start   *regexp.Regexp // multi_line_start_pattern; nil: every line is an event
	startTS bool           // multi_line_start_pattern is {timestamp_format}
	filters []recordFilter
	ts      *tsParser // nil: arrival time
	fast    bool      // utf-8, no multi-line, no filters, no timestamps
}

// partialWait is how long a partial last line or a pending multi-line event waits for
// more data before the tailer emits it as it is.
const partialWait = time.Second

type recordFilter struct {
	include bool
	re      *regexp.Regexp
}

func newRecordConfig(f config.LogFile, loc *time.Location) (*recordConfig, error) {
	enc, err := encodingOf(f.Encoding)
	if err != nil {
		return nil, err
	}
	rc := &recordConfig{enc: enc}
	if f.TimestampFormat != "" {
		rc.ts, err = newTSParser(f.TimestampFormat, loc)
		if err != nil {
			return nil, err
		}
	}
	switch f.MultiLineStartPattern {
	case "":
	case "{timestamp_format}":
		if rc.ts == nil {
			return nil, fmt.Errorf("multi_line_start_pattern is {timestamp_format} but timestamp_format is not set")
		}
		rc.startTS = true
	default:
		rc.start, err = regexp.Compile(f.MultiLineStartPattern)
		if err != nil {
			return nil, fmt.Errorf("multi_line_start_pattern: %w", err)
		}
	}
	for i, fl := range f.Filters {
		re, err := regexp.Compile(fl.Expression)
		if err != nil {
			return nil, fmt.Errorf("filters[%d].expression: %w", i, err)
		}
		switch fl.Type {
		case "include", "exclude":
		default:
			return nil, fmt.Errorf("filters[%d].type %q is not known; use include or exclude", i, fl.Type)
		}
		rc.filters = append(rc.filters, recordFilter{include: fl.Type == "include", re: re})
	}
	rc.fast = enc == encUTF8 && rc.start == nil && !rc.startTS && len(rc.filters) == 0 && rc.ts == nil
	return rc, nil
}

func (rc *recordConfig) multiLine() bool { return rc.start != nil || rc.startTS }

func (rc *recordConfig) isStart(line []byte) bool {
	if rc.startTS {
		return rc.ts.startsWith(line)
	}
	return rc.start.Match(line)
}

// recordSink receives what a recordReader makes of a file's bytes. event may block (the
// batcher's queue is full) and fails only when the tailer is stopping; skipped says that
// the bytes up to end made no event (filtered out, or empty lines).
type recordSink interface {
	event(msg []byte, ts int64, end int64) error
	skipped(end int64)
}

// recordReader turns one file generation's bytes into events. It keeps at most one
// partial line (bounded by MaxMessageBytes plus one read) and one pending multi-line event.
type recordReader struct {
	rc   *recordConfig
	sink recordSink

	// carry holds the start of a line whose newline has not been read yet, already
	// converted to valid UTF-8; raw holds up to 3 trailing bytes of an incomplete UTF-8
	// sequence that the next read may complete. carryEnd is the file offset just after
	// the bytes in carry and raw.
	carry    []byte
	raw      [4]byte
	nraw     int
	carryEnd int64

	// pending is the multi-line event being built; pendEnd is the offset after its last line.
	pending []byte
	hasPend bool
	pendEnd int64

	// part counts the parts of the overlong line being read that were sent (0: none);
	// partBuf is where a part and its marker are put together.
	part    uint32
	partBuf []byte

	now      int64 // arrival time of the bytes being read (ms)
	lastTime int64 // the previous event's timestamp (ms), 0 before the first
	scratch  []byte
	slab     []byte
}

func newRecordReader(rc *recordConfig, sink recordSink) *recordReader {
	return &recordReader{rc: rc, sink: sink}
}

// alloc returns n bytes carved from the current slab.
func (r *recordReader) alloc(n int) []byte {
	if n > slabSize/8 {
		return make([]byte, n)
	}
	if len(r.slab) < n {
		r.slab = make([]byte, slabSize)
	}
	b := r.slab[:n:n]
	r.slab = r.slab[n:]
	return b
}

// hasPartial reports whether bytes are held that have made no event yet.
func (r *recordReader) hasPartial() bool { return r.hasPend || len(r.carry) > 0 || r.nraw > 0 }

// feed reads buf, the file's bytes ending at offset end, arriving at now (ms).
func (r *recordReader) feed(buf []byte, end int64, now int64) error {
	r.now = now
	base := end - int64(len(buf))
	i := 0
	for i < len(buf) {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			return r.addCarry(buf[i:], end)
		}
		lineEnd := base + int64(i+j+1)
		seg := buf[i : i+j]
		i += j + 1
		if len(r.carry) == 0 && r.nraw == 0 {
			if err := r.line(seg, lineEnd); err != nil {
				return err
			}
			continue
		}
		if err := r.addCarry(seg, lineEnd-1); err != nil {
			return err
		}
		r.flushRaw()
		line := r.carry
		r.carry = r.carry[:0] // line stays valid: lineValid copies what it keeps
		if err := r.endLine(trimCR(line), lineEnd); err != nil {
			return err
		}
	}
	return nil
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// line handles a complete raw line (without its newline) ending at end.
func (r *recordReader) line(seg []byte, end int64) error {
	seg = trimCR(seg)
	if r.rc.enc == encUTF8 && utf8.Valid(seg) {
		if r.rc.fast {
			if len(seg) == 0 {
				r.sink.skipped(end)
				return nil
			}
			msg := r.alloc(len(seg))
			copy(msg, seg)
			return r.sink.event(msg, r.now, end)
		}
		return r.lineValid(seg, end)
	}
	r.scratch, _ = appendValid(r.scratch[:0], seg, r.rc.enc, true)
	return r.lineValid(r.scratch, end)
}

// maxPartText is how much of an overlong line one part holds: room is left for its marker.
const maxPartText = MaxMessageBytes - len(splitMarker) - len("4294967295/?]")

// addCarry appends a line's raw bytes (which end at end) to the carried partial line,
// cutting off a part as an event of its own when the line grows past maxPartText.
func (r *recordReader) addCarry(seg []byte, end int64) error {
	held := r.nraw
	prev := len(r.carry)
	for r.nraw > 0 && len(seg) > 0 {
		// Complete the held sequence with the new bytes first.
		var tmp [utf8.UTFMax]byte
		n := copy(tmp[:], r.raw[:r.nraw])
		k := copy(tmp[n:], seg)
		rn, size := utf8.DecodeRune(tmp[:n+k])
		switch {
		case (rn != utf8.RuneError || size > 1) && size > n:
			r.carry = append(r.carry, tmp[:size]...)
			seg = seg[size-n:]
			r.nraw = 0
		case !utf8.FullRune(tmp[:n+k]):
			r.nraw = copy(r.raw[:], tmp[:n+k])
			seg = seg[k:]
		default:
			r.carry = append(r.carry, "\uFFFD"...)
			r.nraw = copy(r.raw[:], r.raw[1:r.nraw])
		}
	}
	if r.nraw == 0 {
		var rest []byte
		r.carry, rest = appendValid(r.carry, seg, r.rc.enc, false)
		r.nraw = copy(r.raw[:], rest)
	}
	if len(r.carry) > maxPartText && prev > 0 {
		// Emit what was there before this segment: it ends on a UTF-8 boundary, at the
		// offset before the bytes that were held incomplete.
		if err := r.chunk(r.carry[:prev], r.carryEnd-int64(held)); err != nil {
			r.carry = r.carry[:prev]
			return err
		}
		n := copy(r.carry, r.carry[prev:])
		r.carry = r.carry[:n]
	}
	r.carryEnd = end
	return nil
}

// flushRaw converts held incomplete bytes for good (U+FFFD).
func (r *recordReader) flushRaw() {
	if r.nraw > 0 {
		r.carry, _ = appendValid(r.carry, r.raw[:r.nraw], r.rc.enc, true)
		r.nraw = 0
	}
}

// chunk emits a part of an overlong line, not its last, as an event of its own, marked
// " [stackhand: split i/?]": the line is never held whole, so the count of its parts is
// not known until its last, which lastPart marks " [stackhand: split n/n]".
func (r *recordReader) chunk(text []byte, end int64) error {
	if r.hasPend {
		if err := r.flushPending(); err != nil {
			return err
		}
	}
	r.part++
	r.partBuf = append(append(append(r.partBuf[:0], text...), splitMarker...), strconv.FormatUint(uint64(r.part), 10)...)
	r.partBuf = append(r.partBuf, "/?]"...)
	err := r.emit(r.partBuf, end)
	if cap(r.partBuf) > 4*slabSize {
		r.partBuf = nil
	}
	return err
}

// endLine handles the end of a line read through carry: the last part of an overlong
// line gets its marker, then it is a line as any other.
func (r *recordReader) endLine(line []byte, end int64) error {
	if r.part == 0 {
		return r.lineValid(line, end)
	}
	n := r.part + 1
	r.part = 0
	r.partBuf = appendSplitSuffix(append(r.partBuf[:0], line...), n, n)
	return r.lineValid(r.partBuf, end)
}

// lineValid handles a complete line of valid UTF-8.
func (r *recordReader) lineValid(line []byte, end int64) error {
	if !r.rc.multiLine() {
		if len(line) == 0 {
			r.sink.skipped(end)
			return nil
		}
		return r.emit(line, end)
	}
	start := r.rc.isStart(line)
	switch {
	case !r.hasPend || start:
		if r.hasPend {
			if err := r.flushPending(); err != nil {
				return err
			}
		}
		r.pending = append(r.pending[:0], line...)
	case len(r.pending)+1+len(line) > MaxMessageBytes:
		if err := r.flushPending(); err != nil {
			return err
		}
		r.pending = append(r.pending[:0], line...)
	default:
		r.pending = append(r.pending, '\n')
		r.pending = append(r.pending, line...)
	}
	r.hasPend = true
	r.pendEnd = end
	return nil
}

func (r *recordReader) flushPending() error {
	r.hasPend = false
	if len(bytes.TrimSpace(r.pending)) == 0 {
		r.sink.skipped(r.pendEnd)
		return nil
	}
	err := r.emit(r.pending, r.pendEnd)
	if err != nil {
		r.hasPend = true
	}
	if cap(r.pending) > 4*slabSize {
		r.pending = nil // do not keep a megabyte for every file
	}
	return err
}

// flush emits whatever is held: the pending multi-line event and a partial last line.
// The tailer calls it when no data came for the flush wait, and before closing a file.
func (r *recordReader) flush(now int64) error {
	r.now = now
	if len(r.carry) > 0 || r.nraw > 0 {
		r.flushRaw()
		line := r.carry
		r.carry = r.carry[:0]
		if err := r.endLine(trimCR(line), r.carryEnd); err != nil {
			return err
		}
	}
	if r.hasPend {
		if err := r.flushPending(); err != nil {
			return err
		}
	}
	if cap(r.carry) > 4*slabSize {
		r.carry = nil
	}
	return nil
}

// emit applies the filters, finds the timestamp and hands a copy of text to the sink.
func (r *recordReader) emit(text []byte, end int64) error {
	for _, f := range r.rc.filters {
		if f.re.Match(text) != f.include {
			r.sink.skipped(end)
			return nil
		}
	}
	ts := r.now
	if r.rc.ts != nil {
		first := text
		if i := bytes.IndexByte(first, '\n'); i >= 0 {
			first = first[:i]
		}
		if t, ok := r.rc.ts.find(first, r.now); ok {
			ts = t
		} else if r.lastTime != 0 {
			ts = r.lastTime
		}
		r.lastTime = ts
	}
	msg := r.alloc(len(text))
	copy(msg, text)
	return r.sink.event(msg, ts, end)
}

// appendValid appends src to dst as valid UTF-8: latin-1 bytes are converted; in UTF-8,
// each invalid byte becomes U+FFFD. Unless final, an incomplete sequence at the end of src
// is not converted but returned as rest, for the next read to complete.
func appendValid(dst, src []byte, enc int, final bool) (out, rest []byte) {
	if enc == encLatin1 {
		for _, c := range src {
			if c < utf8.RuneSelf {
				dst = append(dst, c)
			} else {
				dst = append(dst, 0xC0|c>>6, 0x80|c&0x3F)
			}
		}
		return dst, nil
	}
	if utf8.Valid(src) {
		return append(dst, src...), nil
	}
	for len(src) > 0 {
		c := src[0]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			src = src[1:]
			continue
		}
		rn, size := utf8.DecodeRune(src)
		if rn == utf8.RuneError && size == 1 {
			if !final && len(src) < utf8.UTFMax && !utf8.FullRune(src) {
				return dst, src
			}
			dst = append(dst, "\uFFFD"...)
			src = src[1:]
			continue
		}
		dst = append(dst, src[:size]...)
		src = src[size:]
	}
	return dst, nil
}
