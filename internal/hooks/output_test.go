//go:build linux

package hooks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRunLogCapped: a hook writes far more output than a run's log keeps. The log keeps
// the first and the last part of it, whole lines, with one line between them saying how
// many bytes were cut; the bytes kept plus the bytes cut are what the hook wrote.
func TestRunLogCapped(t *testing.T) {
	f := newFixture(t)
	f.runner.MaxRunLog = 256 << 10
	// 40,000 numbered lines of 49 bytes: about 2 MB.
	f.hook("10-chatty", `i=1; while [ $i -le 40000 ]; do printf 'line %08d ..................................\n' $i; i=$((i+1)); done`)
	res := f.runner.Run(context.Background(), f.spec("e1"))
	if !res.OK {
		t.Fatalf("run failed: %+v", res)
	}
	path := res.Hooks[0].LogFile
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const lineLen, lines = 49, 40000
	if int64(len(b)) > f.runner.MaxRunLog+200 {
		t.Errorf("log file %d bytes, cap %d", len(b), f.runner.MaxRunLog)
	}
	marker := regexp.MustCompile(`(?m)^\[stackhand: (\d+) bytes of this run's output cut here.*\]$`)
	m := marker.FindStringSubmatchIndex(string(b))
	if m == nil {
		t.Fatalf("no cut marker in the log:\n%.300s", b)
	}
	cut, _ := strconv.Atoi(string(b[m[2]:m[3]]))
	head, tail := string(b[:m[0]]), string(b[m[1]+1:])
	if kept := len(head) + len(tail); kept+cut != lineLen*lines {
		t.Errorf("kept %d + cut %d bytes != %d written", kept, cut, lineLen*lines)
	}
	// Whole lines, numbered from 1 in the head and on to 40000 in the tail.
	check := func(part string, first int) int {
		n := first
		for l := range strings.Lines(part) {
			if want := fmt.Sprintf("line %08d ", n); !strings.HasPrefix(l, want) || len(l) != lineLen {
				t.Fatalf("line %q, want %q...", l, want)
			}
			n++
		}
		return n
	}
	if next := check(head, 1); next < 2 {
		t.Error("no head kept")
	}
	first, _ := strconv.Atoi(tail[5:13])
	if next := check(tail, first); next != lines+1 {
		t.Errorf("tail ends before line %d, at %d", lines, next-1)
	}
}

// TestPruneBoundsTotalBytes: besides their count, run log directories are pruned,
// oldest first, once together they pass MaxLogTotal; the current run is always kept.
func TestPruneBoundsTotalBytes(t *testing.T) {
	f := newFixture(t)
	f.runner.MaxLogTotal = 250 << 10
	mkdir(t, f.runner.PayloadDir, 0o700)
	mkdir(t, f.runner.LogDir, 0o750)
	base := time.Now().Add(-time.Hour)
	for i := 1; i <= 5; i++ {
		id := "old" + strconv.Itoa(i)
		d := filepath.Join(f.runner.LogDir, id)
		mkdir(t, d, 0o750)
		writeFile(t, filepath.Join(d, "10-a.log"), strings.Repeat("x", 100<<10), 0o640)
		mod := base.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(d, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	f.hook("10-a", "true")
	if res := f.runner.Run(context.Background(), f.spec("current")); !res.OK {
		t.Fatalf("run failed: %+v", res)
	}
	var got []string
	entries, _ := os.ReadDir(f.runner.LogDir)
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if want := "current old4 old5"; strings.Join(got, " ") != want {
		t.Errorf("run logs kept = %v, want %s (250 KiB: the current run and the two newest of 100 KiB)", got, want)
	}
}
