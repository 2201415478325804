package source

import (
	"context"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/clock"
)

// poller runs poll in a goroutine with passes scripted by the test: each pass reports
// itself on passes and returns what the test sends on results.
type poller struct {
	clk     *clock.Fake
	passes  chan struct{}
	results chan pollResult
	cancel  context.CancelFunc
	done    chan struct{}
}

func startPoller(t *testing.T, interval time.Duration, jitter func() float64) *poller {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &poller{clk: awsTestClock(), passes: make(chan struct{}), results: make(chan pollResult),
		cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		poll(ctx, p.clk, interval, jitter, func(ctx context.Context) pollResult {
			select {
			case p.passes <- struct{}{}:
			case <-ctx.Done():
				return pollResult{}
			}
			select {
			case r := <-p.results:
				return r
			case <-ctx.Done():
				return pollResult{}
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(waitLimit):
			t.Error("poll did not return after its context ended")
		}
	})
	return p
}

// pass waits for the next pass, answers it with r, and waits until the poller has armed
// its timer for the next one.
func (p *poller) pass(t *testing.T, r pollResult) {
	t.Helper()
	select {
	case <-p.passes:
	case <-time.After(waitLimit):
		t.Fatal("no pass within the wait limit")
	}
	p.results <- r
	waitPending(t, p.clk, 1)
}

// nextWait checks the wait the poller armed after the last pass is want, within a
// millisecond (float rounding): the fake clock moved to just before leaves the timer
// pending, moved just past fires it.
func (p *poller) nextWait(t *testing.T, want time.Duration) {
	t.Helper()
	const tick = time.Millisecond
	p.clk.Advance(want - tick)
	if p.clk.Pending() != 1 {
		t.Fatalf("the next pass came before %s", want)
	}
	select {
	case <-p.passes:
		t.Fatalf("a pass ran before %s", want)
	default:
	}
	p.clk.Advance(2 * tick)
	if p.clk.Pending() != 0 {
		t.Fatalf("the timer did not fire at %s", want)
	}
}

func TestPollWaits(t *testing.T) {
	const iv = 100 * time.Second
	ok, throttled := pollResult{}, pollResult{throttled: true}
	type step struct {
		res  pollResult
		wait time.Duration // expected wait after the pass
	}
	tests := []struct {
		name   string
		jitter float64
		steps  []step
	}{
		{
			// Waits are the interval -10 %...
			name: "low jitter", jitter: 0,
			steps: []step{{ok, 90 * time.Second}, {ok, 90 * time.Second},
				// ...and a throttled pass never waits less than the interval.
				{throttled, iv}, {throttled, iv}, {ok, 90 * time.Second}},
		},
		{
			name: "mid jitter", jitter: 0.5,
			steps: []step{{ok, iv},
				// interval + j·interval, then with the ceiling at 3×
				// interval + j·(2·interval), and no higher.
				{throttled, 150 * time.Second}, {throttled, 200 * time.Second}, {throttled, 200 * time.Second},
				{throttled, 200 * time.Second},
				// A good pass brings the interval back, and the growth starts over.
				{ok, iv}, {throttled, 150 * time.Second}, {ok, iv}},
		},
		{
			// The interval +10 %, and 3× the interval at most.
			name: "high jitter", jitter: 0.99,
			steps: []step{{ok, 109800 * time.Millisecond}, {throttled, 199 * time.Second},
				{throttled, 298 * time.Second}, {throttled, 298 * time.Second}, {ok, 109800 * time.Millisecond}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPoller(t, iv, fixedJitter(tt.jitter))
			for i, s := range tt.steps {
				if s.wait < 9*iv/10 || s.wait > 3*iv {
					t.Fatalf("step %d: the table expects %s, outside 0.9×interval..3×interval", i, s.wait)
				}
				p.pass(t, s.res)
				p.nextWait(t, s.wait)
			}
		})
	}
}

// With the real jitter every wait stays within its bounds.
func TestPollWaitBoundsWithRandomJitter(t *testing.T) {
	const iv = time.Minute
	p := startPoller(t, iv, nil)
	step := func(res pollResult, lo, hi time.Duration) {
		t.Helper()
		p.pass(t, res)
		p.clk.Advance(lo - time.Millisecond)
		if p.clk.Pending() != 1 {
			t.Fatalf("the wait was shorter than %s", lo)
		}
		p.clk.Advance(hi - lo + time.Millisecond)
		if p.clk.Pending() != 0 {
			t.Fatalf("the wait was longer than %s", hi)
		}
	}
	for range 20 {
		step(pollResult{}, 54*time.Second, 66*time.Second)
	}
	step(pollResult{throttled: true}, iv, 2*iv)
	for range 10 {
		step(pollResult{throttled: true}, iv, 3*iv)
	}
	step(pollResult{}, 54*time.Second, 66*time.Second)
}

func TestPollEndsWithItsContext(t *testing.T) {
	t.Run("while waiting", func(t *testing.T) {
		p := startPoller(t, time.Minute, fixedJitter(0.5))
		p.pass(t, pollResult{})
		p.cancel()
		select {
		case <-p.done:
		case <-time.After(waitLimit):
			t.Fatal("poll did not return")
		}
		if n := p.clk.Pending(); n != 0 {
			t.Errorf("%d timers left armed after poll returned", n)
		}
	})
	t.Run("during a pass", func(t *testing.T) {
		p := startPoller(t, time.Minute, fixedJitter(0.5))
		<-p.passes
		p.cancel()
		select {
		case <-p.done:
		case <-time.After(waitLimit):
			t.Fatal("poll did not return")
		}
		if n := p.clk.Pending(); n != 0 {
			t.Errorf("%d timers armed after the context ended during a pass", n)
		}
	})
}
