package source

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/stackhand/stackhand/internal/clock"
)

// Throttled is how a poll function says AWS asked it to slow down.
type Throttled interface{ Throttled() bool }

// pollResult is what one pass of a poller learned.
type pollResult struct {
	// throttled passes make the next wait longer: between one and two intervals, then
	// between one and three, then back to the interval after a pass that was not throttled.
	throttled bool
}

// poll runs pass at once and then every interval ±10 % (so that a fleet started together
// spreads its calls), until ctx ends.
func poll(ctx context.Context, clk clock.Clock, interval time.Duration, jitter func() float64, pass func(ctx context.Context) pollResult) {
	if clk == nil {
		clk = clock.Real{}
	}
	if jitter == nil {
		jitter = rand.Float64
	}
	if interval <= 0 {
		interval = time.Minute
	}
	wake := make(chan struct{}, 1)
	streak := 0
	for {
		res := pass(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := time.Duration(float64(interval) * (0.9 + 0.2*jitter()))
		if res.throttled {
			// Never sooner than the interval, and at most three intervals: a source that
			// AWS throttles twice still sees a change within three intervals of it.
			streak++
			ceiling := interval * time.Duration(1+min(streak, 2))
			wait = interval + time.Duration(jitter()*float64(ceiling-interval))
		} else {
			streak = 0
		}
		t := clk.AfterFunc(wait, func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		})
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		}
	}
}
