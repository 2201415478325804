package backoff

import (
	"math"
	"testing"
	"time"
)

// lowest and highest are Rand stand-ins that pick the ends of the range.
func lowest(time.Duration) time.Duration    { return 0 }
func highest(n time.Duration) time.Duration { return n - 1 }

func TestPolicyDelay(t *testing.T) {
	doubling := Policy{Base: time.Second, Factor: 2, Max: time.Minute}
	tests := []struct {
		name string
		p    Policy
		n    int
		want time.Duration
	}{
		{"attempt 0 is Base", doubling, 0, time.Second},
		{"negative attempt is attempt 0", doubling, -3, time.Second},
		{"doubles", doubling, 3, 8 * time.Second},
		{"last below the cap", doubling, 5, 32 * time.Second},
		{"cap reached", doubling, 6, time.Minute},
		{"cap stays", doubling, 1000, time.Minute},
		{"huge attempt does not overflow the cap", doubling, math.MaxInt, time.Minute},
		{"no cap saturates instead of overflowing", Policy{Base: time.Second, Factor: 2}, 200, math.MaxInt64},
		{"Base above Max is capped", Policy{Base: 2 * time.Hour, Factor: 2, Max: time.Hour}, 0, time.Hour},
		{"Factor below 1 keeps Base", Policy{Base: time.Second, Factor: 0.5}, 10, time.Second},
		{"zero Factor keeps Base", Policy{Base: time.Second}, 10, time.Second},
		{"Floor above the bound wins", Policy{Base: time.Second, Floor: 5 * time.Second, Jitter: 1}, 0, 5 * time.Second},
		{"zero policy", Policy{}, 4, 0},

		{"full jitter, lowest draw", Policy{Base: time.Second, Factor: 2, Jitter: 1, Rand: lowest}, 2, 0},
		{"full jitter, highest draw", Policy{Base: time.Second, Factor: 2, Jitter: 1, Rand: highest}, 2, 4*time.Second - 1},
		{"half jitter, lowest draw", Policy{Base: time.Second, Factor: 2, Jitter: 0.5, Rand: lowest}, 2, 2 * time.Second},
		{"Jitter above 1 is 1", Policy{Base: time.Second, Jitter: 7, Rand: lowest}, 0, 0},
		{"negative Jitter is 0", Policy{Base: time.Second, Jitter: -1, Rand: lowest}, 0, time.Second},
		{"Floor raises the low end", Policy{Base: 3 * time.Second, Floor: time.Second, Jitter: 1, Rand: lowest}, 0, time.Second},
		{"Rand gets the width of the range", Policy{Base: 3 * time.Second, Floor: time.Second, Jitter: 1, Rand: func(n time.Duration) time.Duration { return n / 2 }}, 0, 2 * time.Second},
		{"jitter on the capped bound", Policy{Base: time.Second, Factor: 2, Max: 10 * time.Second, Jitter: 0.5, Rand: lowest}, 50, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Delay(tt.n); got != tt.want {
				t.Errorf("Delay(%d) = %v, want %v", tt.n, got, tt.want)
			}
		})
	}
}

// With the default random source every wait stays within [max(Floor, b·(1−Jitter)), b).
func TestPolicyDelayRandomWithinBounds(t *testing.T) {
	tests := []struct {
		name   string
		p      Policy
		lo, hi func(n int) time.Duration
	}{
		{"full jitter", Policy{Base: 200 * time.Millisecond, Factor: 2, Max: 30 * time.Second, Jitter: 1},
			func(int) time.Duration { return 0 },
			func(n int) time.Duration { return min(200*time.Millisecond<<min(n, 20), 30*time.Second) }},
		{"half jitter", Policy{Base: 2 * time.Second, Factor: 2, Max: 2 * time.Minute, Jitter: 0.5},
			func(n int) time.Duration { return min(2*time.Second<<min(n, 20), 2*time.Minute) / 2 },
			func(n int) time.Duration { return min(2*time.Second<<min(n, 20), 2*time.Minute) }},
		{"floor to a growing ceiling", Policy{Base: 2 * time.Minute, Factor: 2, Max: 3 * time.Minute, Floor: time.Minute, Jitter: 1},
			func(int) time.Duration { return time.Minute },
			func(n int) time.Duration { return min(2*time.Minute<<min(n, 20), 3*time.Minute) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for n := range 40 {
				for range 50 {
					lo, hi := tt.lo(n), tt.hi(n)
					if d := tt.p.Delay(n); d < lo || d >= hi {
						t.Fatalf("Delay(%d) = %v, want in [%v, %v)", n, d, lo, hi)
					}
				}
			}
		})
	}
}

func TestPolicyBound(t *testing.T) {
	p := Policy{Base: 3 * time.Second, Factor: 1.5, Max: 10 * time.Second}
	want := []time.Duration{3 * time.Second, 4500 * time.Millisecond, 6750 * time.Millisecond, 10 * time.Second, 10 * time.Second}
	for n, w := range want {
		if got := p.Bound(n); got != w {
			t.Errorf("Bound(%d) = %v, want %v", n, got, w)
		}
	}
}

func FuzzPolicyDelay(f *testing.F) {
	f.Add(int64(time.Second), 2.0, int64(time.Minute), 0.5, int64(0), 3)
	f.Add(int64(math.MaxInt64), 1e300, int64(0), 1.0, int64(time.Hour), math.MaxInt32)
	f.Fuzz(func(t *testing.T, base int64, factor float64, maxD int64, jitter float64, floor int64, n int) {
		if base < 0 || maxD < 0 || floor < 0 || math.IsNaN(factor) || math.IsNaN(jitter) {
			t.Skip()
		}
		p := Policy{Base: time.Duration(base), Factor: factor, Max: time.Duration(maxD), Jitter: jitter, Floor: time.Duration(floor)}
		b := p.Bound(n)
		if b < 0 || (p.Max > 0 && b > p.Max) {
			t.Fatalf("%+v: Bound(%d) = %v", p, n, b)
		}
		if d := p.Delay(n); d < 0 || d < p.Floor || (d > b && d != p.Floor) {
			t.Fatalf("%+v: Delay(%d) = %v with bound %v", p, n, d, b)
		}
	})
}
