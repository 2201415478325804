package fleet

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseStep reads one entry of waves: a count of instances ("1", "3") or a percentage of
// the online peers ("10%", "12.5%", "100%").
func ParseStep(s string) (Step, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return Step{}, fmt.Errorf("%q is not a percentage: write a number followed by %%, e.g. 10%%", s)
		}
		if f <= 0 || f > 100 {
			return Step{}, fmt.Errorf("%q: a percentage of the online peers is more than 0%% and at most 100%%", s)
		}
		return Step{Percent: f}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return Step{}, fmt.Errorf("%q is neither a count of instances (1, 3) nor a percentage of the online peers (10%%, 100%%)", s)
	}
	if n < 1 {
		return Step{}, fmt.Errorf("%q: a wave's count of instances is at least 1", s)
	}
	return Step{Count: n}, nil
}

// String gives the entry back as written: "3" or "10%".
func (s Step) String() string {
	if s.Percent > 0 {
		return strconv.FormatFloat(s.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(s.Count)
}

// ValidateWaves checks that waves are cumulative and end with every instance: counts
// first, growing, then percentages, growing, the last 100%.
func ValidateWaves(steps []Step) error {
	if len(steps) == 0 {
		return fmt.Errorf("no waves: list them, e.g. [1, 10%%, 100%%]")
	}
	for i := 1; i < len(steps); i++ {
		prev, cur := steps[i-1], steps[i]
		switch {
		case prev.Percent > 0 && cur.Percent == 0:
			return fmt.Errorf("entry %d (%s) is a count after a percentage: waves are cumulative; write counts first, then percentages", i+1, cur)
		case prev.Percent == 0 && cur.Percent == 0 && cur.Count <= prev.Count:
			return fmt.Errorf("entry %d (%s) is not more than entry %d (%s): each wave's size counts the waves before it too, so sizes grow", i+1, cur, i, prev)
		case prev.Percent > 0 && cur.Percent <= prev.Percent:
			return fmt.Errorf("entry %d (%s) is not more than entry %d (%s): each wave's size counts the waves before it too, so sizes grow", i+1, cur, i, prev)
		}
	}
	if last := steps[len(steps)-1]; last.Percent != 100 {
		return fmt.Errorf("the last wave is %s, not 100%%: end with 100%% so that every instance gets the value", last)
	}
	return nil
}

// Sizes are the cumulative instance counts of waves over n online peers: a count c is
// min(c, n), a percentage p is ceil(n*p/100); never fewer than the wave before; the last
// is n.
func Sizes(waves []Step, n int) []int {
	out := make([]int, len(waves))
	for i, w := range waves {
		size := w.Count
		if w.Percent > 0 {
			x := float64(n) * w.Percent / 100
			// n*p/100 of a whole number (3000 * 1.1%) can come out a hair above it in
			// float64 (33.00000000000001); ceil would then take one instance more.
			if r := math.Round(x); math.Abs(x-r) < 1e-9 {
				x = r
			}
			size = int(math.Ceil(x))
		}
		size = min(size, n)
		if i > 0 {
			size = max(size, out[i-1])
		}
		out[i] = size
	}
	if len(out) > 0 {
		out[len(out)-1] = n
	}
	return out
}
