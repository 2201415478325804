package source

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/stackhand/stackhand/internal/backoff"
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
	// The policies draw their waits with jitter, a number in [0, 1).
	draw := func(n time.Duration) time.Duration { return time.Duration(jitter() * float64(n)) }
	// The wait after a good pass: the interval ±10 %.
	steady := backoff.Policy{Base: interval * 11 / 10, Floor: interval * 9 / 10, Jitter: 1, Rand: draw}
	// The wait after the n-th throttled pass in a row: never sooner than the interval, and
	// at most two intervals, then three: a source that AWS throttles twice still sees a
	// change within three intervals of it.
	throttled := backoff.Policy{Base: 2 * interval, Factor: 2, Max: 3 * interval, Floor: interval, Jitter: 1, Rand: draw}
	streak := 0
	for {
		res := pass(ctx)
		if ctx.Err() != nil {
			return
		}
		// Drawn on every pass, throttled or not, so a seeded jitter gives the same
		// sequence of waits as before the policies.
		wait := steady.Delay(0)
		if res.throttled {
			wait = throttled.Delay(streak)
			streak++
		} else {
			streak = 0
		}
		if !clock.Sleep(ctx, clk, wait) {
			return
		}
	}
}
