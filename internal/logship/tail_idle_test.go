package logship

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

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
