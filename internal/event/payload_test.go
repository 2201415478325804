package event

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// The payload's keys are the hook contract (README, "The hook contract"): this list may
// only grow. A key renamed or removed in the types fails here.
func TestPayloadKeys(t *testing.T) {
	at := time.Date(2026, 11, 21, 22, 15, 23, 0, time.UTC)
	in := Instance{InstanceID: "i-1", Region: "r", AvailabilityZone: "az", PrivateIP: "10.0.0.1", PublicIP: "1.2.3.4",
		InstanceType: "t3.small", LaunchTime: at, Hostname: "h", Stack: "s", LogicalID: "L", AutoScalingGroup: "g"}
	p := Payload{Event: Deploy, ID: "deploy-000007", Reason: "r", Retry: true, Time: at, Instance: in, Stack: "s",
		Region: "r", Peers: []Instance{in}, Tags: map[string]string{"Role": "web"}, Deadline: at,
		Metadata: []Watched{{Rule: "release", Source: "metadata", Path: "release", Change: Update,
			Old: json.RawMessage(`"v1"`), New: json.RawMessage(`"v2"`)}},
		Trigger: Trigger{Type: TriggerWatch, Detail: "d", Rules: []string{"release"}, Requests: []string{"q"}}}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	keys := func(raw json.RawMessage) []string {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	var peers, metadata []json.RawMessage
	json.Unmarshal(top["peers"], &peers)
	json.Unmarshal(top["metadata"], &metadata)
	for _, c := range []struct {
		what string
		raw  json.RawMessage
		want []string
	}{
		{"payload", b, []string{"deadline", "event", "id", "instance", "metadata", "peers", "reason", "region", "retry", "stack", "tags", "time", "trigger"}},
		{"instance", top["instance"], []string{"autoscaling_group", "az", "hostname", "instance_id", "instance_type", "launch_time", "logical_id", "private_ip", "public_ip", "region", "stack"}},
		{"peer", peers[0], []string{"autoscaling_group", "az", "hostname", "instance_id", "instance_type", "launch_time", "logical_id", "private_ip", "public_ip", "region", "stack"}},
		{"metadata entry", metadata[0], []string{"change", "new", "old", "path", "rule", "source"}},
		{"trigger", top["trigger"], []string{"detail", "requests", "rules", "type"}},
	} {
		got := keys(c.raw)
		for _, k := range c.want {
			if !slices.Contains(got, k) {
				t.Errorf("%s lacks the key %q (the hook contract only adds keys): %v", c.what, k, got)
			}
		}
	}
}
