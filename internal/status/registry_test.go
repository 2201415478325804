package status

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/testenv"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// running starts a registry's writer on a fake clock and stops it at the test's end.
func running(t *testing.T) (*Registry, *clock.Fake, string, *observer.ObservedLogs) {
	t.Helper()
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	core, logs := observer.New(zapcore.InfoLevel)
	r := NewRegistry(dir, clk, zap.New(core))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	testenv.WaitFor(t, "the first write", func() bool { _, err := os.Stat(filepath.Join(dir, FileName)); return err == nil })
	return r, clk, dir, logs
}

func read(t *testing.T, dir string) *Snapshot {
	t.Helper()
	s, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A reporter's first status and every change of its problem are written at once; its
// counters alone within FlushEvery, not later.
func TestReporterStatusIsWrittenAtOnceOrWithinFlushEvery(t *testing.T) {
	r, clk, dir, _ := running(t)
	counter := func() int64 {
		if c := read(t, dir).Reporters["logs"]; c != nil {
			return c.Counters["sent"]
		}
		return -1
	}
	r.Reporter("logs", Component{Counters: map[string]int64{"sent": 1}})
	testenv.WaitFor(t, "the first status", func() bool { return counter() == 1 })
	r.Reporter("logs", Component{Counters: map[string]int64{"sent": 2}})
	testenv.WaitFor(t, "the flush timer", func() bool { return clk.Pending() == 1 })
	if got := counter(); got != 1 {
		t.Fatalf("counter %d written before FlushEvery", got)
	}
	clk.Advance(FlushEvery)
	testenv.WaitFor(t, "the counter within FlushEvery", func() bool { return counter() == 2 })
	r.Reporter("logs", Component{LastError: "throttled", Counters: map[string]int64{"sent": 3}})
	testenv.WaitFor(t, "the new problem, at once", func() bool { return read(t, dir).Reporters["logs"].LastError == "throttled" })
}

// A source's first reading is written at once; later good readings within LazyFlush
// (only their time changed); a problem at once, logged once however many readings repeat
// it, and its end once.
func TestSourceProblemWrittenAtOnceAndLoggedOnce(t *testing.T) {
	r, clk, dir, logs := running(t)
	r.Source("tags", "", "")
	testenv.WaitFor(t, "the first reading, at once", func() bool { return read(t, dir).Sources["tags"] != nil })
	first := read(t, dir).Sources["tags"].LastOK
	clk.Advance(time.Second)
	r.Source("tags", "", "")
	testenv.WaitFor(t, "the flush timer", func() bool { return clk.Pending() == 1 })
	clk.Advance(FlushEvery)
	if c := read(t, dir).Sources["tags"]; !c.LastOK.Equal(first) {
		t.Fatalf("a later good reading was written after %s, want within %s only: %+v", FlushEvery, LazyFlush, c)
	}
	clk.Advance(LazyFlush - FlushEvery)
	testenv.WaitFor(t, "the later good reading", func() bool { return read(t, dir).Sources["tags"].LastOK.After(first) })

	for range 3 {
		r.Source("tags", "DescribeTags: throttled", "")
	}
	testenv.WaitFor(t, "the problem", func() bool { return read(t, dir).Sources["tags"].LastError == "DescribeTags: throttled" })
	r.Source("tags", "", "")
	if n := logs.FilterMessage("source problem; nothing it watches changes until it is fixed").Len(); n != 1 {
		t.Errorf("the problem was logged %d times, want once", n)
	}
	if n := logs.FilterMessage("source recovered").Len(); n != 1 {
		t.Errorf("the recovery was logged %d times, want once", n)
	}
	testenv.WaitFor(t, "the recovery", func() bool { c := read(t, dir).Sources["tags"]; return c.LastError == "" })
	if c := read(t, dir).Sources["tags"]; c.ErrorAt.IsZero() || c.LastOK.IsZero() {
		t.Errorf("after the recovery: %+v, want both times kept", c)
	}
}

// Discovery's attempts, error and next try reach the file at once.
func TestDiscoveryStatus(t *testing.T) {
	r, clk, dir, _ := running(t)
	var c Component
	c.Settle(errors.New("IMDS unreachable"), clk.Now())
	c.Attempts, c.NextTry = 3, clk.Now().Add(8*time.Second)
	r.Discovery(c)
	testenv.WaitFor(t, "the discovery status", func() bool { return read(t, dir).Discovery != nil })
	got := read(t, dir).Discovery
	if got.LastError != "IMDS unreachable" || got.Attempts != 3 || !got.NextTry.Equal(t0.Add(8*time.Second)) {
		t.Errorf("discovery %+v", got)
	}
}

// Calls made while the writer is not running (before its start, after its stop) never
// block, and the writer's last act is to write what they left.
func TestRegistryNeverBlocksAndWritesAtStop(t *testing.T) {
	dir := t.TempDir()
	r := NewRegistry(dir, clock.NewFake(t0), zap.NewNop())
	for i := range 100 {
		r.Reporter("logs", Component{LastError: string(rune('a' + i%26))})
		r.Source("tags", "", "")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.Run(ctx)
	if s := read(t, dir); s.Reporters["logs"] == nil || s.Sources["tags"] == nil || s.PID != os.Getpid() {
		t.Errorf("written at stop: %+v", s)
	}
}

func TestReadMissingAndCorrupt(t *testing.T) {
	dir := t.TempDir()
	s, err := Read(dir)
	if err != nil || s.Sources == nil || s.Reporters == nil || s.Discovery != nil {
		t.Fatalf("missing file: %+v, %v", s, err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(`{"version": 1, "sources": `), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); err == nil {
		t.Error("a corrupt file read without error")
	}
}

// A good reading with a detail (the peers source outside any group and stack) is ok in
// status with that detail, logged once at info, never as a problem.
func TestSourceDetailIsOKAndLoggedOnceAtInfo(t *testing.T) {
	r, clk, dir, logs := running(t)
	for range 3 {
		r.Source("peers", "", "no peers to watch: no group")
		clk.Advance(time.Second)
	}
	testenv.WaitFor(t, "the reading", func() bool { return read(t, dir).Sources["peers"] != nil })
	c := read(t, dir).Sources["peers"]
	if c.LastError != "" || c.LastOK.IsZero() || c.Detail != "no peers to watch: no group" {
		t.Errorf("peers %+v, want ok with the detail", c)
	}
	if n := logs.FilterMessage("no peers to watch: no group").FilterField(zap.String("source", "peers")).Len(); n != 1 {
		t.Errorf("the detail was logged %d times, want once: %v", n, logs.All())
	}
	for _, e := range logs.All() {
		if e.Level > zap.InfoLevel {
			t.Errorf("logged at %s: %s", e.Level, e.Message)
		}
	}
}

// A part that reads every few seconds (the lifecycle poll) has its readings written in
// the same wake-up as the reading once the last write is that old, not by a flush timer
// of their own a few seconds later: the idle agent wakes once per poll, not twice.
func TestPeriodicReadingIsWrittenWithoutATimer(t *testing.T) {
	r, clk, dir, _ := running(t)
	const every = 5 * time.Second
	r.Expect(KindSource, "lifecycle", every)
	r.Source("lifecycle", "", "")
	testenv.WaitFor(t, "the flush timer for the first reading", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.wantBy.Equal(t0.Add(every)) && clk.Pending() == 1
	})
	clk.Advance(every)
	testenv.WaitFor(t, "the first reading", func() bool {
		c := read(t, dir).Sources["lifecycle"]
		return c != nil && !c.LastOK.IsZero()
	})
	for i := range 3 {
		clk.Advance(every)
		now := clk.Now()
		r.Source("lifecycle", "", "")
		testenv.WaitFor(t, "the reading written", func() bool { return read(t, dir).Sources["lifecycle"].LastOK.Equal(now) })
		if n := clk.Pending(); n != 0 {
			t.Fatalf("reading %d: %d timers armed after it was written, want none", i+2, n)
		}
	}
	// A reading sooner than every after the last write waits for the rest of it.
	clk.Advance(time.Second)
	r.Source("lifecycle", "", "")
	testenv.WaitFor(t, "the flush timer", func() bool { return clk.Pending() == 1 })
	clk.Advance(every - time.Second)
	now := clk.Now()
	testenv.WaitFor(t, "the early reading written", func() bool { return !read(t, dir).Sources["lifecycle"].LastOK.Before(now.Add(-every + time.Second)) })
}
