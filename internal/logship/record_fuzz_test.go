package logship

import (
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stackhand/stackhand/internal/config"
)

// recordModes are the ways a logs.files entry makes records of a file's bytes.
var recordModes = []config.LogFile{
	{},
	{Encoding: "latin-1"},
	{MultiLineStartPattern: `^\S`},
	{MultiLineStartPattern: "{timestamp_format}", TimestampFormat: "%Y-%m-%d %H:%M:%S"},
	{Filters: []config.LogFilter{{Type: "exclude", Expression: "^#"}}, TimestampFormat: "%b %d %H:%M:%S"},
}

// FuzzRecordReader feeds the record reader arbitrary file contents in pieces of any size,
// in each of its modes. It must not panic, and:
//   - every byte of the input lands in exactly one record: the offsets the sink is told
//     (an event's or a skip's end) only grow, never pass the input's end, and reach it
//     once everything is flushed;
//   - how the bytes are split into reads does not matter: the records are those of one
//     read of the whole input;
//   - every message is valid UTF-8, non-empty and at most MaxMessageBytes;
//   - with plain UTF-8 lines, the messages are the input's non-empty lines.
func FuzzRecordReader(f *testing.F) {
	f.Add([]byte("one\r\ntwo\n\nthree\nfour-without-newline"), uint8(0), uint8(3))
	f.Add([]byte("caf\xc3\xa9 \xff\xfe\n\xe2\x82"), uint8(0), uint8(1))
	f.Add([]byte("caf\xe9\n"), uint8(1), uint8(2))
	f.Add([]byte("start\n  at x\n  at y\nnext\n"), uint8(2), uint8(5))
	f.Add([]byte("2026-11-21 10:00:00 a\n b\n2026-11-21 10:00:01 c\n"), uint8(3), uint8(7))
	f.Add([]byte("# comment\nNov 21 10:00:00 host x\n"), uint8(4), uint8(4))
	f.Fuzz(func(t *testing.T, data []byte, mode, piece uint8) {
		lf := recordModes[int(mode)%len(recordModes)]
		whole, wholeEnds := readRecords(t, lf, data, len(data))
		got, ends := readRecords(t, lf, data, int(piece))
		if !slices.Equal(got, whole) {
			t.Fatalf("read in pieces of %d: %+v\nread at once: %+v", piece, got, whole)
		}
		if !slices.Equal(ends, wholeEnds) {
			t.Fatalf("offsets in pieces of %d: %v\nat once: %v", piece, ends, wholeEnds)
		}
		for i, e := range ends {
			if e > int64(len(data)) || (i > 0 && e < ends[i-1]) {
				t.Fatalf("offsets %v: not growing within the %d bytes read", ends, len(data))
			}
		}
		if len(data) > 0 && (len(ends) == 0 || ends[len(ends)-1] != int64(len(data))) {
			t.Fatalf("offsets %v end before the input's %d bytes: some were never read", ends, len(data))
		}
		for _, m := range got {
			if m.msg == "" || !utf8.ValidString(m.msg) || len(m.msg) > MaxMessageBytes {
				t.Fatalf("message %q: empty, not UTF-8 or too long", m.msg)
			}
		}
		if int(mode)%len(recordModes) == 0 && utf8.Valid(data) && !slices.Contains(data, '\r') {
			var want []string
			for _, l := range splitLines(string(data)) {
				if l != "" {
					want = append(want, l)
				}
			}
			if !slices.Equal(msgs(got), want) {
				t.Fatalf("messages %q, want the non-empty lines %q", msgs(got), want)
			}
		}
	})
}

// readRecords feeds data to a new record reader in pieces of n bytes (all at once for
// n <= 0), then flushes it, and returns the events and every offset the sink was told.
func readRecords(t *testing.T, lf config.LogFile, data []byte, n int) ([]recEvent, []int64) {
	t.Helper()
	rc, err := newRecordConfig(lf, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	s := &offsetSink{}
	r := newRecordReader(rc, s)
	if n <= 0 {
		n = max(len(data), 1)
	}
	const now = 1_700_000_000_000
	for off := 0; off < len(data); off += n {
		end := min(off+n, len(data))
		if err := r.feed(data[off:end], int64(end), now); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.flush(now); err != nil {
		t.Fatal(err)
	}
	if r.hasPartial() {
		t.Fatal("bytes held after flush")
	}
	return s.evs, s.ends
}

// offsetSink records events and the order of every offset, event or skip.
type offsetSink struct {
	evs  []recEvent
	ends []int64
}

func (s *offsetSink) event(msg []byte, ts, end int64) error {
	s.evs = append(s.evs, recEvent{string(msg), ts, end})
	s.ends = append(s.ends, end)
	return nil
}
func (s *offsetSink) skipped(end int64) { s.ends = append(s.ends, end) }

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return out
}
