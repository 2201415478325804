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
	// throttled passes make the next wait longer: the interval doubled, up to four times,
	// with full jitter, then back to the interval after a pass that was not throttled.
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
			streak++
			ceiling := interval << min(streak, 2)
			wait = interval/2 + time.Duration(jitter()*float64(ceiling-interval/2))
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
