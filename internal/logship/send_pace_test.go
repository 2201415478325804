package logship

import (
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/awsenv"
)

// A stream whose sink takes at most one call a second (by the test's clock) and throttles
// the rest: the stream spaces its calls on the throttle replies, so it draws few of them,
// and its events wait in fuller batches. A writer puts an event every 100 ms for 30 s
// with a flush interval of 200 ms: unpaced, that is five calls a second, four of them
// throttled and each retried.
func TestThrottledStreamSendsFewerFullerBatches(t *testing.T) {
	h := newHarness(t, func(o *BatcherOptions) {
		bigQueue(o)
		o.FlushInterval = 200 * time.Millisecond
		o.Jitter = func(d time.Duration) time.Duration { return d / 2 }
	})
	var last time.Time
	h.logs.put = func(n int, b fakeBatch) (*awsenv.PutLogEventsOutput, error) {
		now := h.clk.Now()
		if !last.IsZero() && now.Sub(last) < time.Second {
			return nil, throttle()
		}
		last = now
		return nil, nil
	}
	h.start()
	const events = 300
	for i := 1; i <= events; i++ {
		h.put(Event{Time: ms(h.clk.Now()), Message: []byte("line"), Src: 1, Offset: int64(i)})
		h.waitParked()
		h.clk.Advance(100 * time.Millisecond)
	}
	// Let the last events go.
	for range 200 {
		if _, stored, _ := h.logs.snapshot(); countEvents(stored) == events {
			break
		}
		h.waitParked()
		h.clk.Advance(100 * time.Millisecond)
	}
	puts, stored, _ := h.logs.snapshot()
	if n := countEvents(stored); n != events {
		t.Fatalf("%d events stored, want %d", n, events)
	}
	throttled := len(puts) - len(stored)
	st := h.b.Stats()[testKey]
	if st.Throttled != int64(throttled) {
		t.Errorf("Stats().Throttled %d, the sink throttled %d", st.Throttled, throttled)
	}
	// 30 s at one call a second: about 30 stored batches of about 10 events.
	t.Logf("%d calls: %d stored (%.1f events each), %d throttled", len(puts), len(stored), float64(events)/float64(len(stored)), throttled)
	if throttled > len(stored)/2 {
		t.Errorf("%d throttle replies for %d batches stored: the stream does not slow down", throttled, len(stored))
	}
	if len(stored) > 45 {
		t.Errorf("%d batches stored, want at most 45 (fuller batches once throttled)", len(stored))
	}
}

func countEvents(bs []fakeBatch) int {
	n := 0
	for _, b := range bs {
		n += len(b.Events)
	}
	return n
}

// waitParked waits until the test stream's sender waits for the clock (a timer is
// armed) or has nothing left to send.
func (h *harness) waitParked() {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for h.clk.Pending() == 0 && h.b.Stats()[testKey].Pending > 0 {
		if time.Now().After(deadline) {
			h.t.Fatal("the sender neither waits for a timer nor is done after 20 s")
		}
		time.Sleep(time.Millisecond) // polling a condition, bounded
	}
}
