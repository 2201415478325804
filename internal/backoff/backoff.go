// Package backoff computes the waits between the attempts of something that fails and is
// tried again: one Policy type for the engine's retries of a failed event, the report
// sinks, the log shipper, the pollers and the wait for IMDS. Waiting itself is
// clock.Sleep.
package backoff

import (
	"math"
	"math/rand/v2"
	"time"
)

// Policy says how long to wait after the n-th consecutive failure. Its bound starts at
// Base, is multiplied by Factor after each failure and is capped at Max; the wait is
// drawn uniformly from [max(Floor, bound·(1−Jitter)), bound), or is the bound itself
// when that range is empty.
//
// Some policies, as a table (b is the bound):
//
//	doubling from 1 s to 1 min, no jitter:  {Base: time.Second, Factor: 2, Max: time.Minute}
//	full jitter, anywhere in [0, b):        {..., Jitter: 1}
//	never less than half the bound:         {..., Jitter: 0.5}
//	60 s ± 10 %, every time:                {Base: 66 * time.Second, Floor: 54 * time.Second, Jitter: 1}
type Policy struct {
	// Base is the bound after the first failure.
	Base time.Duration
	// Factor multiplies the bound after each further failure; below 1 it is 1, so the
	// bound stays Base.
	Factor float64
	// Max caps the bound; 0 means no cap (beyond the largest time.Duration).
	Max time.Duration
	// Jitter is the fraction of the bound, from 0 to 1, the wait may fall below it: 0
	// waits the bound exactly, 1 anywhere from Floor up to the bound.
	Jitter float64
	// Floor is the least wait, whatever the bound and Jitter say.
	Floor time.Duration
	// Rand returns a duration in [0, n) for n > 0; nil means math/rand/v2. Tests set it
	// to make the waits known.
	Rand func(n time.Duration) time.Duration
}

// Bound returns the bound after failure n, counted from 0: Base·Factor^n, capped at Max
// and at the largest time.Duration (so a large n never overflows).
func (p Policy) Bound(n int) time.Duration {
	n = max(n, 0)
	f := max(p.Factor, 1)
	b := float64(p.Base) * math.Pow(f, float64(n))
	if p.Max > 0 && b > float64(p.Max) {
		return p.Max
	}
	if b >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(b)
}

// Delay returns the wait after failure n, counted from 0 (0 is the first failure).
func (p Policy) Delay(n int) time.Duration {
	hi := p.Bound(n)
	j := min(max(p.Jitter, 0), 1)
	lo := max(hi-time.Duration(float64(hi)*j), p.Floor)
	if lo >= hi {
		return lo
	}
	draw := p.Rand
	if draw == nil {
		draw = rand.N[time.Duration]
	}
	return lo + draw(hi-lo)
}
