package logship

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
)

// startShipping runs a Tailer of path into a Batcher on the harness h's fake clock, as
// the Shipper wires them, with the follower's coalescing wait set to coalesce.
func startShipping(t *testing.T, h *harness, path string, coalesce time.Duration) {
	t.Helper()
	tr := true
	tl, err := NewTailer(TailerOptions{
		File:   config.LogFile{FilePath: path, FromBeginning: &tr},
		Stream: func(string) StreamKey { return testKey },
		Put:    h.b.putValid, Idle: h.b.Idle,
		Clock: h.clk, Log: zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	tl.coalesce = coalesce
	h.start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func storedEvents(h *harness) int {
	_, stored, _ := h.logs.snapshot()
	n := 0
	for _, b := range stored {
		n += len(b.Events)
	}
	return n
}

func TestTailIdleFileSendsLastBatchAtOnce(t *testing.T) {
	p := filepath.Join(t.TempDir(), "app.log")
	writeFile(t, p, seqLines(0, 100))
	h := newHarness(t, nil)
	startShipping(t, h, p, coalesceWait)
	// The clock never moves: without Idle the batch would wait for the flush interval.
	puts := h.logs.waitPuts(1)
	if len(puts) != 1 || len(puts[0].Events) != 100 {
		t.Fatalf("batches %v, want [100]", batchSizes(puts))
	}
	// A line written a flush interval later is sent at once too: the file is quiet
	// again after it. (Within the interval it would wait for it: at most one early
	// partial batch per interval, TestIdleSendsAtMostOnePartialBatchPerInterval.)
	h.clk.Advance(DefaultFlushInterval)
	appendFile(t, p, seqLines(100, 101))
	if puts := h.logs.waitPuts(2); len(puts[1].Events) != 1 {
		t.Fatalf("batches %v, want [100 1]", batchSizes(puts))
	}
}

func TestTailBusyFileIsNotSentPerWrite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "app.log")
	writeFile(t, p, "")
	h := newHarness(t, nil)
	// A wait far longer than the writer's pauses, so that a loaded machine does not
	// make the writer look quiet.
	startShipping(t, h, p, 200*time.Millisecond)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const writes = 150
	for i := range writes {
		if _, err := f.WriteString(seqLines(i, i+1)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // the writer's pace, not a wait for the tailer
	}
	// Once the writer stops, everything goes out without the flush interval passing,
	// in a few batches, not one per write.
	waitFor(t, "every line stored", func() bool { return storedEvents(h) == writes })
	if puts, _, _ := h.logs.snapshot(); len(puts) > 5 {
		t.Fatalf("%d batches for %d writes a few ms apart: %v", len(puts), writes, batchSizes(puts))
	}
}

// follower returns the follower of path p.
func (h *tailHarness) follower(p string) *follower {
	h.tl.mu.Lock()
	defer h.tl.mu.Unlock()
	return h.tl.files[p]
}

// TestTailQuietFileIsNotPolled: where notifications are trusted (a watched directory on
// Linux), a quiet followed file is not read every second: its follower arms no timer
// and makes no pass until a notification or the tailer's rescan (the safety poll for
// silent file systems, every RescanInterval) wakes it. README's "what idle costs per
// hour" counts on it.
func TestTailQuietFileIsNotPolled(t *testing.T) {
	if !notifyTrusted {
		t.Skip("notifications are not trusted on " + runtime.GOOS + ": followers poll every second")
	}
	p := filepath.Join(t.TempDir(), "app.log")
	writeFile(t, p, seqLines(0, 10))
	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: p}, "", c)
	tailWait(t, "10 lines", c, func() bool { return len(c.messages()) >= 10 })
	fl := h.follower(p)
	if !fl.notified.Load() {
		t.Fatal("the follower of a file in a watched directory does not trust notifications")
	}
	// At rest the only timer on the clock is the rescan's: the follower armed none.
	tailWait(t, "the follower at rest", nil, fl.resting.Load)
	if n := h.clk.Pending(); n != 1 {
		t.Fatalf("%d timers on the clock with the follower at rest, want 1 (the rescan's)", n)
	}
	before := fl.passes.Load()
	for range int(DefaultRescanInterval/time.Second) - 1 {
		h.clk.Advance(time.Second)
	}
	if n := fl.passes.Load() - before; n != 0 {
		t.Fatalf("%d passes over a quiet file in %s without a notification, want 0", n, DefaultRescanInterval-time.Second)
	}
	// The rescan looks at it.
	h.clk.Advance(time.Second)
	tailWait(t, "a pass at the rescan", nil, func() bool { return fl.passes.Load() > before })
	// A write is read on its notification alone, the clock standing still.
	appendFile(t, p, seqLines(10, 11))
	tailWait(t, "the 11th line", c, func() bool { return len(c.messages()) >= 11 })
	wantSeqs(t, c.messages(), 0, 11)
}

// TestTailUntrustedNotificationsPollEverySecond: where notifications are not trusted
// (Windows, or a directory fsnotify could not watch) a follower still looks at its file
// every pollInterval.
func TestTailUntrustedNotificationsPollEverySecond(t *testing.T) {
	p := filepath.Join(t.TempDir(), "app.log")
	writeFile(t, p, seqLines(0, 10))
	c := newCollector()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tr := true
	tl, err := NewTailer(TailerOptions{File: config.LogFile{FilePath: p, FromBeginning: &tr},
		Stream: func(string) StreamKey { return testKey }, Put: c.put, Clock: clk, Log: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	tl.trustNotify = false
	ctx, cancel := context.WithCancel(context.Background())
	h := &tailHarness{t: t, tl: tl, c: c, clk: clk, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- tl.Run(ctx) }()
	t.Cleanup(h.stop)
	tailWait(t, "10 lines", c, func() bool { return len(c.messages()) >= 10 })
	fl := h.follower(p)
	if fl.notified.Load() {
		t.Fatal("the follower trusts notifications the tailer does not")
	}
	for i := range 3 {
		tailWait(t, "the follower at rest", nil, fl.resting.Load)
		// The rescan's timer and the follower's poll.
		if n := clk.Pending(); n != 2 {
			t.Fatalf("%d timers on the clock with the follower at rest, want 2", n)
		}
		before := fl.passes.Load()
		h.clk.Advance(pollInterval)
		tailWait(t, fmt.Sprintf("poll %d", i+1), nil, func() bool { return fl.passes.Load() > before })
	}
}

// TestTailSymlinkedFileIsPolled: a followed path that is a symbolic link to a file in
// another directory gets no notification of the target's writes (they are reported in
// the target's directory), so its follower keeps the 1 s poll and finds them.
func TestTailSymlinkedFileIsPolled(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need a privilege on Windows")
	}
	target := filepath.Join(t.TempDir(), "0.log")
	writeFile(t, target, seqLines(0, 10))
	p := filepath.Join(t.TempDir(), "app.log")
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: p}, "", c)
	tailWait(t, "10 lines", c, func() bool { return len(c.messages()) >= 10 })
	fl := h.follower(p)
	if fl.notified.Load() {
		t.Fatal("the follower of a symbolic link trusts notifications from the link's directory")
	}
	tailWait(t, "the follower at rest", nil, fl.resting.Load)
	appendFile(t, target, seqLines(10, 11))
	// One poll interval, far less than the rescan's: the follower's own poll reads it.
	h.clk.Advance(pollInterval)
	tailWait(t, "the 11th line", c, func() bool { return len(c.messages()) >= 11 })
	wantSeqs(t, c.messages(), 0, 11)
}
