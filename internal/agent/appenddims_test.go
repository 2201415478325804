package agent

import (
	"reflect"
	"slices"
	"testing"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/report"
)

// TestAppendDims: metrics.append_dimensions filled from the instance, in name order; a
// value the instance lacks leaves its dimension out and is named; no section, no list
// (InstanceId alone is the metrics' default).
func TestAppendDims(t *testing.T) {
	in := event.Instance{InstanceID: "i-1", InstanceType: "m7g.large"}
	ex := awsenv.Extra{ImageID: "ami-1", Tags: map[string]string{"Role": "web"}}
	c := &config.Config{}
	if dims, missing := appendDims(c, in, ex); dims != nil || missing != nil {
		t.Errorf("unset: %v %v, want nil", dims, missing)
	}
	c.Metrics.AppendDimensions = map[string]string{"InstanceId": "${aws:InstanceId}", "Type": "${aws:InstanceType}",
		"Ami": "${aws:ImageId}", "Group": "${aws:AutoScalingGroupName}", "Role": "${aws:tag/Role}", "Team": "${aws:tag/Team}"}
	dims, missing := appendDims(c, in, ex)
	want := []report.Dim{{Name: "Ami", Value: "ami-1"}, {Name: "InstanceId", Value: "i-1"}, {Name: "Role", Value: "web"}, {Name: "Type", Value: "m7g.large"}}
	if !reflect.DeepEqual(dims, want) || !slices.Equal(missing, []string{"Group", "Team"}) {
		t.Errorf("dims %v missing %v; want %v and [Group Team]", dims, missing, want)
	}
}
