package metrics

import (
	"cmp"
	"slices"
	"strings"
	"sync"
)

// Stat is a CloudWatch statistic set: what the samples of one metric (name, unit and
// dimensions) since the last Flush add up to.
type Stat struct {
	Name, Unit string
	// Dims are sorted by name. The slice is the Aggregator's: read it, never modify it.
	Dims                 []Dim
	Min, Max, Sum, Count float64
}

// Aggregator folds the samples of many collection cycles into one statistic set per metric,
// so that a publisher sends one value set per interval instead of one datum per cycle. The
// zero value is ready to use; it is safe for concurrent use.
//
// Series are keyed by name, unit and dimensions (as a set: their order does not matter).
// Adding a sample of a series seen before allocates nothing, whether or not its Dims slice is
// the same one as last time; a series that gets no sample for a whole interval is forgotten
// at the Flush after it.
type Aggregator struct {
	mu      sync.Mutex
	idx     map[aggKey]*aggEntry
	entries []*aggEntry
	sorted  bool
}

// inlineDims is how many dimensions a key holds without allocating; more are joined into a
// string. Collect's samples have at most three.
const inlineDims = 4

// aggKey identifies a series: comparable, and built without allocating for up to inlineDims
// dimensions.
type aggKey struct {
	name, unit string
	n          int
	dims       [inlineDims]Dim
	more       string // dimensions beyond inlineDims, joined
}

type aggEntry struct {
	key  aggKey
	stat Stat
}

// Add folds samples into the statistic sets. Samples whose value is NaN or infinite are
// dropped: CloudWatch rejects them.
func (a *Aggregator) Add(samples []Sample) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.idx == nil {
		a.idx = make(map[aggKey]*aggEntry)
	}
	for i := range samples {
		s := &samples[i]
		if !finite(s.Value) {
			continue
		}
		var sorted [inlineDims]Dim
		dims := s.Dims
		if !slices.IsSortedFunc(dims, cmpDim) {
			if len(dims) <= inlineDims {
				n := copy(sorted[:], dims)
				dims = sorted[:n]
			} else {
				dims = slices.Clone(dims)
			}
			slices.SortFunc(dims, cmpDim)
		}
		k := aggKey{name: s.Name, unit: s.Unit, n: len(dims)}
		copy(k.dims[:], dims)
		if len(dims) > inlineDims {
			k.more = joinDims(dims[inlineDims:])
		}
		e := a.idx[k]
		if e == nil {
			e = &aggEntry{key: k, stat: Stat{Name: s.Name, Unit: s.Unit, Dims: slices.Clone(dims)}}
			a.idx[k] = e
			a.entries = append(a.entries, e)
			a.sorted = false
		}
		st := &e.stat
		if st.Count == 0 {
			st.Min, st.Max = s.Value, s.Value
		} else {
			st.Min, st.Max = min(st.Min, s.Value), max(st.Max, s.Value)
		}
		st.Sum += s.Value
		st.Count++
	}
}

// Flush appends the statistic sets of the samples added since the last Flush to dst, sorted
// by name, then dimensions, then unit, and starts new ones.
func (a *Aggregator) Flush(dst []Stat) []Stat {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.sorted {
		slices.SortFunc(a.entries, func(x, y *aggEntry) int { return cmpStat(&x.stat, &y.stat) })
		a.sorted = true
	}
	kept := a.entries[:0]
	for _, e := range a.entries {
		if e.stat.Count == 0 {
			delete(a.idx, e.key) // nothing for a whole interval: the series is gone
			continue
		}
		dst = append(dst, e.stat)
		e.stat.Min, e.stat.Max, e.stat.Sum, e.stat.Count = 0, 0, 0, 0
		kept = append(kept, e)
	}
	clear(a.entries[len(kept):])
	a.entries = kept
	return dst
}

func cmpDim(x, y Dim) int {
	if c := strings.Compare(x.Name, y.Name); c != 0 {
		return c
	}
	return strings.Compare(x.Value, y.Value)
}

func cmpStat(x, y *Stat) int {
	if c := strings.Compare(x.Name, y.Name); c != 0 {
		return c
	}
	if c := slices.CompareFunc(x.Dims, y.Dims, cmpDim); c != 0 {
		return c
	}
	return cmp.Compare(x.Unit, y.Unit)
}

func joinDims(dims []Dim) string {
	var b strings.Builder
	for _, d := range dims {
		b.WriteString(d.Name)
		b.WriteByte(0)
		b.WriteString(d.Value)
		b.WriteByte(0)
	}
	return b.String()
}
