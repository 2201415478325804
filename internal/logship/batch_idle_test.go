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
