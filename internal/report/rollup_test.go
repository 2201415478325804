package report

import (
	"reflect"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestMetricsAggregationDimensions: each metrics.aggregation_dimensions set publishes a
// datum once more with that set's dimensions alone, when it has them all; [] publishes it
// with none; a set naming a dimension the datum lacks, one equal to its own dimensions and
// one a previous set gave add nothing; a set no datum matched is named in the log once.
func TestMetricsAggregationDimensions(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	m := &Metrics{Log: zap.New(core), Aggregate: [][]string{
		{"AutoScalingGroupName"},
		{"InstanceType", "InstanceId"},
		{},
		{"InstanceId", "InstanceType"}, // the same as the second, in another order
		{"device", "InstanceId", "AutoScalingGroupName", "InstanceType"}, // the datum's own, reordered
		{"ImageId"}, // no datum has it
	}}
	d := Datum{Name: "diskio_reads", Unit: "Count", Dims: []Dim{{"device", "nvme0n1"}, {"AutoScalingGroupName", "web"},
		{"InstanceId", "i-1"}, {"InstanceType", "m7g.large"}}, Sum: 5, Count: 1}
	got := m.rollUp([]Datum{d}, d)
	var dims [][]Dim
	for _, g := range got {
		if g.Name != d.Name || g.Sum != 5 || g.Unit != "Count" {
			t.Fatalf("rolled-up datum %+v lost its figures", g)
		}
		dims = append(dims, g.Dims)
	}
	want := [][]Dim{d.Dims, {{"AutoScalingGroupName", "web"}}, {{"InstanceType", "m7g.large"}, {"InstanceId", "i-1"}}, {}}
	if !reflect.DeepEqual(dims, want) {
		t.Fatalf("dimension sets\n got %v\nwant %v", dims, want)
	}
	// A datum without an Auto Scaling group: only the sets it has every dimension of.
	e := Datum{Name: "mem_used_percent", Dims: []Dim{{"InstanceId", "i-1"}, {"InstanceType", "m7g.large"}}}
	got = m.rollUp(nil, e)
	if len(got) != 1 || len(got[0].Dims) != 0 {
		t.Fatalf("datum without AutoScalingGroupName rolled up to %+v, want only the set []", got)
	}
	m.warnUnmatched()
	m.warnUnmatched()
	w := logs.All()
	if len(w) != 1 || !reflect.DeepEqual(w[0].ContextMap()["set"], []any{"ImageId"}) {
		t.Fatalf("warnings %+v, want one naming [ImageId]", w)
	}
	// Without sets nothing is added.
	if got := (&Metrics{}).rollUp([]Datum{d}, d); len(got) != 1 {
		t.Fatalf("no sets gave %d data", len(got))
	}
}
