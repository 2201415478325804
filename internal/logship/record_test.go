package logship

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stackhand/stackhand/internal/config"
)

// ValidateEncoding reports whether the tailer reads an encoding (the config package
// validates logs.files itself, with config.Encoding).
func ValidateEncoding(name string) error {
	_, err := encodingOf(name)
	return err
}

// ValidateTimestampFormat reports whether the tailer parses a timestamp_format (the
// config package validates logs.files itself, with config.TimestampLayout).
func ValidateTimestampFormat(format string) error {
	_, err := newTSParser(format, time.UTC)
	return err
}

type recEvent struct {
	msg string
	ts  int64
	end int64
}

type recSink struct {
	evs  []recEvent
	skip []int64
}

func (s *recSink) event(msg []byte, ts, end int64) error {
	s.evs = append(s.evs, recEvent{string(msg), ts, end})
	return nil
}
func (s *recSink) skipped(end int64) { s.skip = append(s.skip, end) }

func newTestReader(t *testing.T, f config.LogFile) (*recordReader, *recSink) {
	t.Helper()
	rc, err := newRecordConfig(f, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	s := &recSink{}
	return newRecordReader(rc, s), s
}

// feedAll feeds data in pieces of size n.
func feedAll(t *testing.T, r *recordReader, data []byte, n int) {
	t.Helper()
	for off := 0; off < len(data); off += n {
		end := min(off+n, len(data))
		if err := r.feed(data[off:end], int64(end), 1000); err != nil {
			t.Fatal(err)
		}
	}
}

func msgs(evs []recEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.msg)
	}
	return out
}

func TestRecordLines(t *testing.T) {
	data := []byte("one\r\ntwo\n\nthree\nfour-without-newline")
	for _, piece := range []int{1, 2, 3, 7, 1000} {
		r, s := newTestReader(t, config.LogFile{})
		feedAll(t, r, data, piece)
		got := msgs(s.evs)
		if strings.Join(got, "|") != "one|two|three" {
			t.Fatalf("piece %d: got %q", piece, got)
		}
		if s.evs[2].end != 16 || s.evs[0].end != 5 {
			t.Fatalf("piece %d: offsets %+v", piece, s.evs)
		}
		if len(s.skip) != 1 || s.skip[0] != 10 {
			t.Fatalf("piece %d: empty line not skipped at 10: %v", piece, s.skip)
		}
		if err := r.flush(2000); err != nil {
			t.Fatal(err)
		}
		if last := s.evs[len(s.evs)-1]; last.msg != "four-without-newline" || last.end != int64(len(data)) {
			t.Fatalf("piece %d: flush gave %+v", piece, last)
		}
	}
}

func TestRecordBinaryGarbage(t *testing.T) {
	var data []byte
	seed := uint32(7)
	for range 20000 {
		seed = seed*1664525 + 1013904223
		data = append(data, byte(seed>>24))
	}
	data = append(data, 0, 0, 0xff, 0xfe, 'x', 0xe2, 0x82, '\n')
	for _, piece := range []int{1, 3, 4096} {
		r, s := newTestReader(t, config.LogFile{})
		feedAll(t, r, data, piece)
		if err := r.flush(0); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, seg := range bytes.Split(data, []byte{'\n'}) {
			seg = bytes.TrimSuffix(seg, []byte{'\r'})
			if len(seg) > 0 {
				// Each invalid byte becomes one U+FFFD, as a range over a string does.
				want = append(want, string([]rune(string(seg))))
			}
		}
		got := msgs(s.evs)
		if len(got) != len(want) {
			t.Fatalf("piece %d: %d events, want %d", piece, len(got), len(want))
		}
		for i := range got {
			if !utf8.ValidString(got[i]) || got[i] != want[i] {
				t.Fatalf("piece %d: event %d = %q, want %q", piece, i, got[i], want[i])
			}
		}
	}
}

func TestRecordLatin1(t *testing.T) {
	r, s := newTestReader(t, config.LogFile{Encoding: "ISO-8859-1"})
	feedAll(t, r, []byte("caf\xe9 \xfcber \xa0\xff\n"), 3)
	if got := msgs(s.evs); len(got) != 1 || got[0] != "café über \u00a0ÿ" {
		t.Fatalf("got %q", got)
	}
	if err := ValidateEncoding("utf-16"); err == nil {
		t.Fatal("utf-16 accepted")
	}
	for _, e := range []string{"", "utf-8", "UTF8", "latin-1", "latin1", "iso-8859-1"} {
		if err := ValidateEncoding(e); err != nil {
			t.Errorf("%q: %v", e, err)
		}
	}
}

// TestRecordLongLine feeds a 10 MiB line, with multi-byte characters cut by the reads, and
// checks that it comes out as chunks of at most MaxMessageBytes, each valid UTF-8, that
// put together are the line, and that the reader never held the whole line.
func TestRecordLongLine(t *testing.T) {
	unit := []byte("abcé€𝄞xyz") // 1, 2, 3 and 4-byte characters
	var line []byte
	for len(line) < 10<<20 {
		line = append(line, unit...)
	}
	data := append(append([]byte(nil), line...), "\nnext\n"...)
	r, s := newTestReader(t, config.LogFile{})
	maxCarry := 0
	for off := 0; off < len(data); off += readBufSize - 1 {
		end := min(off+readBufSize-1, len(data))
		if err := r.feed(data[off:end], int64(end), 0); err != nil {
			t.Fatal(err)
		}
		maxCarry = max(maxCarry, cap(r.carry))
	}
	if maxCarry > MaxMessageBytes+4*readBufSize {
		t.Fatalf("the reader held %d bytes of one line", maxCarry)
	}
	var joined []byte
	for i, e := range s.evs[:len(s.evs)-1] {
		if len(e.msg) > MaxMessageBytes || !utf8.ValidString(e.msg) {
			t.Fatalf("chunk %d: %d bytes, valid %v", i, len(e.msg), utf8.ValidString(e.msg))
		}
		if i > 0 && e.end <= s.evs[i-1].end {
			t.Fatalf("chunk offsets do not grow: %d after %d", e.end, s.evs[i-1].end)
		}
		// The marker is checked by TestRecordOverlongLineSplitMarked.
		msg := e.msg[:strings.LastIndex(e.msg, " [stackhand: split ")]
		joined = append(joined, msg...)
	}
	if len(s.evs) < 11 || !bytes.Equal(joined, line) {
		t.Fatalf("%d chunks; joined equal: %v", len(s.evs)-1, bytes.Equal(joined, line))
	}
	if last := s.evs[len(s.evs)-1]; last.msg != "next" || last.end != int64(len(data)) {
		t.Fatalf("after the long line: %+v", last)
	}
}

func TestRecordMultiLine(t *testing.T) {
	data := "cont-before\n2026-01-02 first\n  at a\n  at b\n2026-01-03 second\n2026-01-04 third\n  tail"
	for _, pat := range []string{`^\d{4}-`, "{timestamp_format}"} {
		r, s := newTestReader(t, config.LogFile{MultiLineStartPattern: pat, TimestampFormat: "2006-01-02"})
		feedAll(t, r, []byte(data), 5)
		got := msgs(s.evs)
		want := []string{"cont-before", "2026-01-02 first\n  at a\n  at b", "2026-01-03 second"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("%s: got %q", pat, got)
		}
		if !r.hasPartial() {
			t.Fatal("third event not pending")
		}
		if err := r.flush(0); err != nil {
			t.Fatal(err)
		}
		if last := s.evs[len(s.evs)-1]; last.msg != "2026-01-04 third\n  tail" || last.end != int64(len(data)) {
			t.Fatalf("%s: flushed %+v", pat, last)
		}
		if s.evs[1].end != int64(strings.Index(data, "2026-01-03")) {
			t.Fatalf("offset of joined event %d", s.evs[1].end)
		}
	}
}

func TestRecordFilters(t *testing.T) {
	r, s := newTestReader(t, config.LogFile{Filters: []config.LogFilter{
		{Type: "include", Expression: "ERROR|WARN"},
		{Type: "exclude", Expression: "healthcheck"},
	}})
	data := "INFO a\nERROR b\nWARN healthcheck c\nWARN d\nINFO e\n"
	feedAll(t, r, []byte(data), 1000)
	if got := msgs(s.evs); strings.Join(got, "|") != "ERROR b|WARN d" {
		t.Fatalf("got %q", got)
	}
	if len(s.skip) != 3 || s.skip[2] != int64(len(data)) {
		t.Fatalf("skipped %v", s.skip)
	}
}

func TestTimestamps(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC).UnixMilli()
	ms := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	cases := []struct {
		format, line string
		want         int64
	}{
		{"%Y-%m-%d %H:%M:%S", "2026-01-02 03:04:05 hello", ms("2026-01-02T03:04:05Z")},
		{"2006-01-02 15:04:05", "[worker] 2026-01-02 03:04:05 hello", ms("2026-01-02T03:04:05Z")},
		{"%Y-%m-%dT%H:%M:%S.%f%z", "2026-01-02T03:04:05.250000+0100 x", ms("2026-01-02T02:04:05.25Z")},
		{"%b %d %H:%M:%S", "Mar  9 08:00:01 host sshd[1]: hi", ms("2026-03-09T08:00:01Z")},
		{"%b %d %H:%M:%S", "Dec 31 23:59:59 host x", ms("2025-12-31T23:59:59Z")},
		{"%d/%b/%Y:%H:%M:%S %z", `1.2.3.4 - - [02/Jan/2026:03:04:05 -0700] "GET /"`, ms("2026-01-02T10:04:05Z")},
		{"02 Jan 06 15:04 MST", "x 02 Jan 26 15:04 UTC y", ms("2026-01-02T15:04:00Z")},
		{"%y%m%d %-H:%M:%S", "260102 3:04:05", ms("2026-01-02T03:04:05Z")},
	}
	for _, c := range cases {
		p, err := newTSParser(c.format, time.UTC)
		if err != nil {
			t.Fatalf("%s: %v", c.format, err)
		}
		got, ok := p.find([]byte(c.line), now)
		if !ok || got != c.want {
			t.Errorf("%s on %q: %v %v, want %v (layout %q, re %s)", c.format, c.line, time.UnixMilli(got).UTC(), ok,
				time.UnixMilli(c.want).UTC(), p.layout, p.re)
		}
	}
	for _, bad := range []string{"%Q", "%Y %", "%f", "plain text"} {
		if err := ValidateTimestampFormat(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestRecordTimestampFallback: an event without a timestamp takes the previous one's,
// the first such takes the arrival time.
func TestRecordTimestampFallback(t *testing.T) {
	r, s := newTestReader(t, config.LogFile{TimestampFormat: "%H:%M:%S"})
	if err := r.feed([]byte("none\n"), 5, 777); err != nil {
		t.Fatal(err)
	}
	if err := r.feed([]byte("01:00:00 a\nb\n"), 18, 888); err != nil {
		t.Fatal(err)
	}
	if s.evs[0].ts != 777 || s.evs[2].ts != s.evs[1].ts || s.evs[1].ts == 888 {
		t.Fatalf("%+v", s.evs)
	}
}

func TestFingerprintGrowth(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/f"
	writeFile(t, p, "0123456789")
	f := openT(t, p)
	fp10, _ := fingerprintOf(f, 10)
	f.Close()
	appendFile(t, p, strings.Repeat("x", 1990))
	f = openT(t, p)
	defer f.Close()
	if !fp10.matches(f) {
		t.Fatal("a grown file no longer matches its short fingerprint")
	}
	fpFull, _ := fingerprintOf(f, 2000)
	if fpFull.n != fpMax || !fpFull.matches(f) {
		t.Fatalf("full fingerprint %+v", fpFull)
	}
	writeFile(t, p, "abcdefghij-and-more")
	g := openT(t, p)
	defer g.Close()
	if fp10.matches(g) || fpFull.matches(g) {
		t.Fatal("a rewritten file matches the old fingerprint")
	}
}

// TestRecordOverlongLineSplitMarked: a line longer than an event may be is sent in parts
// (never held whole), each at most MaxMessageBytes with its marker, as README documents:
// " [stackhand: split i/?]" on each part while the line goes on, " [stackhand: split
// n/n]" on its last. The parts without their markers are the line.
func TestRecordOverlongLineSplitMarked(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    config.LogFile
		line string
	}{
		{"ascii", config.LogFile{}, strings.Repeat("0123456789", (3<<20+512<<10)/10)},
		{"utf-8", config.LogFile{}, strings.Repeat("0123456789abcdé", (10<<20)/16)},
		{"multi-line", config.LogFile{MultiLineStartPattern: `^\d`}, strings.Repeat("0123456789", (2<<20+7)/10)},
		{"latin-1", config.LogFile{Encoding: "latin-1"}, strings.Repeat("abc\xe9", (3<<20)/4)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, s := newTestReader(t, tc.f)
			feedAll(t, r, []byte(tc.line+"\n9 after\n"), readBufSize)
			if err := r.flush(2000); err != nil {
				t.Fatal(err)
			}
			if len(s.evs) < 3 || s.evs[len(s.evs)-1].msg != "9 after" {
				t.Fatalf("%d events, last %q", len(s.evs), s.evs[len(s.evs)-1].msg[:min(40, len(s.evs[len(s.evs)-1].msg))])
			}
			parts := s.evs[:len(s.evs)-1]
			n := len(parts)
			var joined strings.Builder
			for i, e := range parts {
				want := fmt.Sprintf(" [stackhand: split %d/?]", i+1)
				if i == n-1 {
					want = fmt.Sprintf(" [stackhand: split %d/%d]", n, n)
				}
				if !strings.HasSuffix(e.msg, want) {
					t.Fatalf("part %d of %d ends %q, want the marker %q", i+1, n, e.msg[max(0, len(e.msg)-40):], want)
				}
				if len(e.msg) > MaxMessageBytes {
					t.Errorf("part %d is %d bytes, over %d", i+1, len(e.msg), MaxMessageBytes)
				}
				if !utf8.ValidString(e.msg) {
					t.Errorf("part %d is not valid UTF-8", i+1)
				}
				joined.WriteString(strings.TrimSuffix(e.msg, want))
			}
			want := tc.line
			if tc.f.Encoding == "latin-1" {
				want = strings.ReplaceAll(want, "\xe9", "é")
			}
			if joined.String() != want {
				t.Errorf("the %d parts without their markers are %d bytes, not the line's %d", n, joined.Len(), len(want))
			}
		})
	}
}
