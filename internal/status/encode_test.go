package status

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
	"unicode/utf8"
)

// jsonIndent is what encoding/json writes for v: indented, without HTML escaping.
func jsonIndent(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// The hand-written encoder writes byte for byte what encoding/json writes for every
// field, empty and set, and for awkward strings and floats; a field added to the types
// and not to the encoder fails here.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 30, 0, 123456789, time.UTC)
	odd := "quote \" backslash \\ nl \n tab \t cr \r nul \x00 esc \x1b html <&> bad \xff\xfe ls \u2028 ps \u2029 é 日本"
	full := &Component{LastOK: at, LastError: odd, ErrorAt: at.Add(time.Second), Detail: "d", Attempts: 3,
		NextTry: at.Add(time.Minute), Counters: map[string]int64{"sent": 1 << 40, "dropped": 0, "a": -1},
		Checks: []Check{{Name: "web", OK: true, Failures: 0, LastRun: at}, {Name: odd, Failures: 2, LastError: "x"}},
		Files: []File{{Path: "/a", Group: "g", Stream: "s", Shipped: 1, Size: 2, LagSeconds: 2.5},
			{Path: "/b", LagSeconds: 1e-7, LastError: "e", ErrorAt: at}, {LagSeconds: 1e21}, {LagSeconds: 1234567},
			{LagSeconds: 0.000001}, {LagSeconds: -3.25e-12}},
		Journals: []Journal{{Entry: "logs.journald[0]", What: odd, Group: "g", Stream: "s", Shipped: 3, Pending: 1, VacuumedUnshipped: 2,
			LastEntry: at, Cursor: "s=1;i=2", LastError: "e", ErrorAt: at}, {}},
		WinEvents: []WinEventLog{{Entry: "logs.windows_events[0]", What: odd, Group: "g", Stream: "s", Shipped: 3, Pending: 1,
			ClearedUnshipped: 2, LastEvent: at, RecordID: 1<<63 + 5, LastError: "e", ErrorAt: at}, {}}}
	for name, s := range map[string]*Snapshot{
		"empty":     {},
		"new":       empty(),
		"full":      {Version: 1, UpdatedAt: at, PID: 4242, Discovery: full, Sources: map[string]*Component{"b": {}, "a": full, "nil": nil}, Reporters: map[string]*Component{"logs": full}},
		"zero time": {Version: 1, Sources: map[string]*Component{"x": {LastOK: time.Time{}}}},
	} {
		got := appendSnapshot(nil, s)
		if want := jsonIndent(t, s); !bytes.Equal(got, want) {
			t.Errorf("%s: the encoder and encoding/json differ\n--- got\n%s\n--- want\n%s", name, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\\n\x00\x1f\x7f", "\xff", "\u2028\u2029", "<>&", "日本\xe6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString(nil, s)
		if want := jsonIndent(t, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, encoding/json writes %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil || !utf8.ValidString(back) {
			t.Fatalf("appendString(%q) = %s does not read back: %v", s, got, err)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, 1, -1, 1e-7, 1e21, 123456789.125, math.SmallestNonzeroFloat64, math.MaxFloat64} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return // encoding/json refuses them; lags are never either
		}
		if got, want := appendFloat(nil, v), jsonIndent(t, v); !bytes.Equal(got, want) {
			t.Fatalf("appendFloat(%v) = %s, encoding/json writes %s", v, got, want)
		}
	})
}
