package metrics

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

func TestAggregator(t *testing.T) {
	var a Aggregator
	root := []Dim{{"device", "nvme0n1p1"}, {"fstype", "xfs"}, {"path", "/"}}
	data := []Dim{{"device", "nvme1n1"}, {"fstype", "xfs"}, {"path", "/data"}}
	// The same series with its dimensions in another order and in another slice.
	rootShuffled := []Dim{{"path", "/"}, {"device", "nvme0n1p1"}, {"fstype", "xfs"}}

	a.Add([]Sample{
		{Name: MemUsedPercent, Unit: UnitPercent, Value: 40},
		{Name: DiskUsedPercent, Unit: UnitPercent, Value: 50, Dims: root},
		{Name: DiskUsedPercent, Unit: UnitPercent, Value: 10, Dims: data},
		{Name: CPUUsageActive, Unit: UnitPercent, Value: 3, Dims: cpuTotalDims},
	})
	a.Add([]Sample{
		{Name: MemUsedPercent, Unit: UnitPercent, Value: 20},
		{Name: DiskUsedPercent, Unit: UnitPercent, Value: 52, Dims: rootShuffled},
		{Name: CPUUsageActive, Unit: UnitPercent, Value: math.NaN(), Dims: cpuTotalDims},
		{Name: CPUUsageActive, Unit: UnitPercent, Value: math.Inf(1), Dims: cpuTotalDims},
	})
	a.Add([]Sample{
		{Name: MemUsedPercent, Unit: UnitPercent, Value: 30},
		{Name: DiskUsedPercent, Unit: UnitPercent, Value: 51, Dims: slices.Clone(root)},
		{Name: CPUUsageActive, Unit: UnitPercent, Value: 97, Dims: cpuTotalDims},
		{Name: MemUsed, Unit: UnitBytes, Value: 1 << 30},
	})
	got := a.Flush(nil)
	want := []Stat{
		{Name: CPUUsageActive, Unit: UnitPercent, Dims: cpuTotalDims, Min: 3, Max: 97, Sum: 100, Count: 2},
		{Name: DiskUsedPercent, Unit: UnitPercent, Dims: root, Min: 50, Max: 52, Sum: 153, Count: 3},
		{Name: DiskUsedPercent, Unit: UnitPercent, Dims: data, Min: 10, Max: 10, Sum: 10, Count: 1},
		{Name: MemUsed, Unit: UnitBytes, Min: 1 << 30, Max: 1 << 30, Sum: 1 << 30, Count: 1},
		{Name: MemUsedPercent, Unit: UnitPercent, Min: 20, Max: 40, Sum: 90, Count: 3},
	}
	if !statsEqual(got, want) {
		t.Fatalf("Flush =\n%v\nwant\n%v", got, want)
	}

	// Reset: nothing added, nothing flushed; a new interval starts from scratch.
	if got := a.Flush(nil); len(got) != 0 {
		t.Fatalf("second Flush = %v, want nothing", got)
	}
	a.Add([]Sample{
		{Name: DiskUsedPercent, Unit: UnitPercent, Value: -5, Dims: root},
		{Name: DiskUsedPercent, Unit: UnitPercent, Value: 7, Dims: root},
	})
	got = a.Flush(got[:0])
	want = []Stat{{Name: DiskUsedPercent, Unit: UnitPercent, Dims: root, Min: -5, Max: 7, Sum: 2, Count: 2}}
	if !statsEqual(got, want) {
		t.Fatalf("Flush after reset = %v, want %v", got, want)
	}
}

// The order is by name, then dimensions, then unit, whatever order the series arrived in.
func TestAggregatorOrder(t *testing.T) {
	var samples []Sample
	for _, path := range []string{"/var", "/", "/data", "/boot"} {
		for _, name := range []string{DiskInodesFree, DiskUsedPercent, DiskFree} {
			samples = append(samples, Sample{Name: name, Unit: UnitCount, Value: 1, Dims: []Dim{{"device", "x"}, {"path", path}}})
		}
	}
	samples = append(samples,
		Sample{Name: DiskFree, Unit: UnitBytes, Value: 1, Dims: []Dim{{"device", "x"}, {"path", "/"}}},
		Sample{Name: DiskFree, Unit: UnitCount, Value: 1, Dims: []Dim{{"device", "x"}}},
		Sample{Name: DiskFree, Unit: UnitCount, Value: 1, Dims: []Dim{{"device", "w"}, {"path", "/zzz"}}},
		Sample{Name: "aaa", Unit: UnitCount, Value: 1, Dims: []Dim{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}, {"f", "6"}}},
		Sample{Name: "aaa", Unit: UnitCount, Value: 2, Dims: []Dim{{"f", "6"}, {"e", "5"}, {"d", "4"}, {"c", "3"}, {"b", "2"}, {"a", "1"}}},
		Sample{Name: "aaa", Unit: UnitCount, Value: 3, Dims: []Dim{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}, {"f", "7"}}},
	)
	var first []string
	for round := range 3 {
		var a Aggregator
		// Another arrival order every round.
		s := slices.Clone(samples)
		for i := range s {
			j := (i*7 + round*5) % len(s)
			s[i], s[j] = s[j], s[i]
		}
		a.Add(s)
		var keys []string
		for _, st := range a.Flush(nil) {
			keys = append(keys, fmt.Sprintf("%s %v %s n=%v", st.Name, st.Dims, st.Unit, st.Count))
		}
		if round == 0 {
			first = keys
			want := []string{
				"aaa [{a 1} {b 2} {c 3} {d 4} {e 5} {f 6}] Count n=2",
				"aaa [{a 1} {b 2} {c 3} {d 4} {e 5} {f 7}] Count n=1",
				"disk_free [{device w} {path /zzz}] Count n=1",
				"disk_free [{device x}] Count n=1",
				"disk_free [{device x} {path /}] Bytes n=1",
				"disk_free [{device x} {path /}] Count n=1",
				"disk_free [{device x} {path /boot}] Count n=1",
			}
			if !slices.Equal(keys[:len(want)], want) {
				t.Errorf("order =\n%q\nwant it to begin\n%q", keys, want)
			}
			if len(keys) != 4*3+3+2 {
				t.Errorf("%d series, want %d", len(keys), 4*3+3+2)
			}
		} else if !slices.Equal(keys, first) {
			t.Errorf("round %d order\n%q\ndiffers from\n%q", round, keys, first)
		}
	}
}

// A series that gets no sample for a whole interval is dropped, and comes back when it does.
func TestAggregatorForgets(t *testing.T) {
	var a Aggregator
	gone := []Dim{{"path", "/mnt/usb"}}
	a.Add([]Sample{{Name: DiskFree, Unit: UnitBytes, Value: 1, Dims: gone}, {Name: MemTotal, Unit: UnitBytes, Value: 2}})
	a.Flush(nil)
	a.Add([]Sample{{Name: MemTotal, Unit: UnitBytes, Value: 2}})
	if got := a.Flush(nil); len(got) != 1 || got[0].Name != MemTotal {
		t.Fatalf("Flush = %v, want mem_total only", got)
	}
	if len(a.entries) != 1 || len(a.idx) != 1 {
		t.Errorf("%d entries, %d keys kept, want 1: the gone series is not forgotten", len(a.entries), len(a.idx))
	}
	a.Add([]Sample{{Name: DiskFree, Unit: UnitBytes, Value: 5, Dims: gone}})
	if got := a.Flush(nil); len(got) != 1 || got[0].Sum != 5 || got[0].Count != 1 {
		t.Errorf("Flush = %v, want the series back", got)
	}
}

func TestAggregatorAllocs(t *testing.T) {
	var a Aggregator
	samples := benchSamples()
	a.Add(samples)
	a.Flush(nil)
	// Fresh Dims slices with the same contents, in another order: still no allocation.
	fresh := slices.Clone(samples)
	for i := range fresh {
		if d := slices.Clone(fresh[i].Dims); len(d) > 1 {
			slices.Reverse(d)
			fresh[i].Dims = d
		}
	}
	if n := testing.AllocsPerRun(50, func() { a.Add(fresh) }); n != 0 {
		t.Errorf("Add of known series: %v allocations, want 0", n)
	}
	dst := a.Flush(nil)
	if n := testing.AllocsPerRun(50, func() { a.Add(samples); dst = a.Flush(dst[:0]) }); n != 0 {
		t.Errorf("Add+Flush of known series: %v allocations, want 0", n)
	}
}

// benchSamples is one cycle of a machine with 5 mounts.
func benchSamples() []Sample {
	s := []Sample{
		{Name: MemUsedPercent, Unit: UnitPercent, Value: 34.7},
		{Name: MemUsed, Unit: UnitBytes, Value: 2.8e9},
		{Name: MemAvailablePercent, Unit: UnitPercent, Value: 64.5},
		{Name: MemTotal, Unit: UnitBytes, Value: 8.1e9},
		{Name: SwapUsedPercent, Unit: UnitPercent, Value: 0},
		{Name: CPUUsageActive, Unit: UnitPercent, Value: 12.5, Dims: cpuTotalDims},
	}
	for i, path := range []string{"/", "/boot/efi", "/data", "/run", "/dev/shm"} {
		m := newMount(path, fmt.Sprintf("/dev/nvme%dn1", i), "xfs")
		s = appendDisk(s, &m, FSStats{BlockSize: 4096, Blocks: 1000, BlocksFree: 500, BlocksAvail: 400, FilesFree: 77}, true)
	}
	return s
}

func BenchmarkAggregate(b *testing.B) {
	var a Aggregator
	samples := benchSamples()
	var dst []Stat
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a.Add(samples)
		if i%12 == 11 { // a 60 s interval of 5 s cycles
			dst = a.Flush(dst[:0])
		}
	}
	b.ReportMetric(float64(len(samples)), "samples/op")
}

func statsEqual(a, b []Stat) bool {
	return slices.EqualFunc(a, b, func(x, y Stat) bool {
		return x.Name == y.Name && x.Unit == y.Unit && slices.Equal(x.Dims, y.Dims) &&
			x.Min == y.Min && x.Max == y.Max && x.Sum == y.Sum && x.Count == y.Count
	})
}
