package metrics

import (
	"math"
	"slices"
	"testing"
)

func TestAppendCPU(t *testing.T) {
	c := New(Options{})
	for _, tc := range []struct {
		cur  cpuTimes
		want float64 // -1: no sample
		err  bool
	}{
		{cpuTimes{total: 1000, idle: 900}, -1, false}, // first reading
		{cpuTimes{total: 1100, idle: 950}, 50, false},
		{cpuTimes{total: 1100, idle: 950}, -1, false},  // no time passed
		{cpuTimes{total: 1200, idle: 940}, 100, false}, // idle stepped back: counted as 0
		{cpuTimes{total: 1300, idle: 1100}, 0, false},  // idle grew more than total: all idle,
		{cpuTimes{total: 1250, idle: 1100}, -1, true},  // total went backwards
		{cpuTimes{total: 1350, idle: 1175}, 25, false},
	} {
		got := c.appendCPU(nil, tc.cur)
		err := len(c.errs) > 0
		c.errs = c.errs[:0]
		switch {
		case err != tc.err:
			t.Errorf("%+v: error %v, want %v", tc.cur, err, tc.err)
		case tc.want < 0 && len(got) != 0:
			t.Errorf("%+v: %v, want no sample", tc.cur, got)
		case tc.want >= 0 && (len(got) != 1 || got[0].Value != tc.want):
			t.Errorf("%+v: %v, want %v", tc.cur, got, tc.want)
		}
	}
}

// find returns the samples named name with dimension dim=value ("" for any).
func find(samples []Sample, name, dim, value string) []Sample {
	var out []Sample
	for _, s := range samples {
		if s.Name != name {
			continue
		}
		if dim == "" || slices.Contains(s.Dims, Dim{dim, value}) {
			out = append(out, s)
		}
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
