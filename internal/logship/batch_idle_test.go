package logship

import (
	"slices"
	"testing"
	"time"
)

func TestIdleSendsQueuedAtOnce(t *testing.T) {
	h := newHarness(t, bigQueue)
	h.b.maxEvents = 5
	for i := range 12 {
		h.put(Event{Time: ms(t0), Message: []byte("x"), Src: 1, Offset: int64(i + 1)})
	}
	h.start()
	h.b.Idle(testKey)
	// No clock movement: what was queued goes out at once, in batches by the usual rules.
	if puts := h.logs.waitPuts(3); !slices.Equal(batchSizes(puts), []int{5, 5, 2}) {
		t.Fatalf("batches %v, want [5 5 2]", batchSizes(puts))
	}
	// An event put after Idle waits for the flush interval again.
	h.put(Event{Time: ms(t0), Message: []byte("y"), Src: 1, Offset: 13})
	waitTimers(t, h.clk, 1)
	h.clk.Advance(DefaultFlushInterval - time.Millisecond)
	if puts, _, _ := h.logs.snapshot(); len(puts) != 3 {
		t.Fatalf("%d batches before the flush interval, want 3", len(puts))
	}
	h.clk.Advance(time.Millisecond)
	if puts := h.logs.waitPuts(4); len(puts[3].Events) != 1 || puts[3].Events[0].Message != "y" {
		t.Fatalf("fourth batch %+v", puts[3])
	}
	h.b.Idle(StreamKey{Group: "none", Stream: "none"}) // a stream never put to: nothing
}

// A writer that pauses after each write makes its file quiet between writes. Idle sends
// one batch that is not full early; the next ones wait for the flush interval, as
// without Idle, so the calls stay at about one per interval rather than one per write.
// Full batches do not count: after them, the end of a file still goes at once.
func TestIdleSendsAtMostOnePartialBatchPerInterval(t *testing.T) {
	h := newHarness(t, func(o *BatcherOptions) { bigQueue(o); o.FlushInterval = time.Second })
	h.b.maxEvents = 20
	h.start()
	seq := int64(0)
	write := func() {
		seq++
		h.put(Event{Time: ms(h.clk.Now()), Message: []byte("line"), Src: 1, Offset: seq})
		h.b.Idle(testKey)
	}
	write()
	h.logs.waitPuts(1) // the first quiet moment: sent at once
	// Nine more writes, 100 ms apart, each followed by a quiet moment: one call more,
	// when the first of them has waited the flush interval.
	for range 9 {
		h.clk.Advance(100 * time.Millisecond)
		write()
		waitTimers(t, h.clk, 1)
	}
	if puts, _, _ := h.logs.snapshot(); len(puts) != 1 {
		t.Fatalf("%d calls within the flush interval of the first early send, want 1", len(puts))
	}
	h.clk.Advance(200 * time.Millisecond) // 1 s after the second write
	if puts := h.logs.waitPuts(2); len(puts[1].Events) != 9 {
		t.Fatalf("second call carried %d events, want the 9 queued", len(puts[1].Events))
	}
	// A cold start's end: full batches, then a quiet moment more than an interval after
	// the last early send: the rest goes at once.
	h.clk.Advance(2 * time.Second)
	for range 44 {
		seq++
		h.put(Event{Time: ms(h.clk.Now()), Message: []byte("bulk"), Src: 1, Offset: seq})
	}
	h.logs.waitPuts(4) // two full batches, without waiting
	h.b.Idle(testKey)
	if puts := h.logs.waitPuts(5); !slices.Equal(batchSizes(puts[2:]), []int{20, 20, 4}) {
		t.Fatalf("batches after the bulk %v, want [20 20 4]", batchSizes(puts[2:]))
	}
}
