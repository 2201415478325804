package main

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/contract"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/report"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// The reporter end-to-end tests: heartbeat and alarm, health checks, metrics and
// notifications, through the real binary against the stand-in.

// heartbeats returns the Heartbeat data the stand-in accepted.
func heartbeats(srv *awsfake.Server) []awsfake.MetricDatum {
	var out []awsfake.MetricDatum
	for _, d := range srv.MetricData() {
		if d.MetricName == report.HeartbeatMetric {
			out = append(out, d)
		}
	}
	return out
}

func dims(ds []awsfake.Dimension) map[string]string {
	m := map[string]string{}
	for _, d := range ds {
		m[d.Name] = d.Value
	}
	return m
}

// noRejectedCalls fails the test when the stand-in refused a call of service for a reason
// other than an injected fault: a batch AWS would reject.
func noRejectedCalls(t *testing.T, srv *awsfake.Server, service string) {
	t.Helper()
	for _, c := range srv.CallLog() {
		if c.Service == service && c.ErrorCode != "" && c.Fault == "" {
			t.Errorf("%s %s refused: %s (status %d)", c.Service, c.Action, c.ErrorCode, c.Status)
		}
	}
}

func TestAWSHeartbeatAlarmKeptAcrossRestartsDeletedOnTermination(t *testing.T) {
	w := newAWSWorld(t, "heartbeat:\n  interval: 10s\n  alarm:\n    action: recover\n    periods: 3\n",
		imdsmock.Config{ASGTerminationAfter: 40 * time.Second})
	w.recordHooks(event.Shutdown)
	a := w.startAWS()
	w.until("two heartbeats", a, func() bool { return len(heartbeats(w.aws)) >= 2 })
	alarms := w.aws.Alarms()
	if len(alarms) != 1 {
		t.Fatalf("alarms %+v, want one", alarms)
	}
	al := alarms[0]
	if al.AlarmName != "stackhand-heartbeat-"+awsInstance || al.Namespace != "Stackhand" || al.MetricName != "Heartbeat" ||
		al.Period != 10 || al.EvaluationPeriods != 3 || al.TreatMissingData != "breaching" ||
		al.ComparisonOperator != "LessThanThreshold" || al.Threshold != 1 ||
		len(al.AlarmActions) != 1 || al.AlarmActions[0] != "arn:aws:automate:us-east-1:ec2:recover" {
		t.Errorf("alarm %+v", al)
	}
	if d := dims(al.Dimensions); d["InstanceId"] != awsInstance || d["AutoScalingGroupName"] != awsGroup {
		t.Errorf("alarm dimensions %v", d)
	}
	hb := heartbeats(w.aws)
	if gap := hb[1].Timestamp.Sub(hb[0].Timestamp); gap < 9*time.Second || gap > 11*time.Second {
		t.Errorf("heartbeats %s apart, want the 10s interval", gap)
	}
	if hb[0].StorageResolution != 1 || *hb[0].Value != 1 || hb[0].Unit != "Count" || dims(hb[0].Dimensions)["InstanceId"] != awsInstance {
		t.Errorf("heartbeat %+v", hb[0])
	}
	if code := a.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if len(w.aws.Alarms()) != 1 {
		t.Fatal("a plain stop deleted the alarm")
	}

	// A restart finds the alarm as it wants it: no second PutMetricAlarm.
	before := len(heartbeats(w.aws))
	a = w.startAWS()
	w.until("a heartbeat after the restart", a, func() bool { return len(heartbeats(w.aws)) > before })
	// The alarm is looked at beside the heartbeats, not before them: a loaded machine
	// can send the first heartbeat before the look.
	w.until("the restart's look at the alarm (DescribeAlarms, one per start)", a, func() bool {
		return w.aws.Calls("monitoring", "DescribeAlarms") >= 2
	})

	// The instance terminates: shutdown runs, the alarm goes, the agent exits.
	w.waitEvents(a, 1)
	if code := a.exited(); code != 0 {
		t.Fatalf("exit %d after the termination\n%s", code, a.output())
	}
	if al := w.aws.Alarms(); len(al) != 0 {
		t.Errorf("alarm left after the termination: %+v", al)
	}
	// The restart found the alarm as it wanted it: no second PutMetricAlarm, checked
	// once the restarted agent has ended, when no call can still be on its way.
	if n := w.aws.Calls("monitoring", "PutMetricAlarm"); n != 1 {
		t.Errorf("PutMetricAlarm called %d times across a restart, want 1", n)
	}
	noRejectedCalls(t, w.aws, "monitoring")
}

func TestAWSFailingHealthScriptMarksUnhealthyOnceAfterNFailures(t *testing.T) {
	w := newAWSWorld(t, "health:\n  interval: 1s\n  timeout: 2s\n  failures: 3\nnotifications:\n  eventbridge: true\n", imdsmock.Config{})
	w.recordHooks(event.Configure)
	counter := filepath.Join(w.dir, "health-runs")
	w.hook("health", "10-app", "echo run >> "+counter+"\necho 'app: connection refused' >&2\nexit 1")
	a := w.startAWS()
	// Within the group's grace period (300 s by default) Auto Scaling refuses the call;
	// the agent keeps trying at each round and says why in status.
	w.until("the grace period refusal in status", a, func() bool {
		h, _ := w.statusJSON()["reporters"].(map[string]any)["health"].(map[string]any)
		return h != nil && strings.Contains(h["last_error"].(string), "grace period")
	})
	if n := len(w.aws.HealthCalls()); n != 0 {
		t.Fatalf("%d SetInstanceHealth accepted within the grace period", n)
	}
	g, _ := w.aws.GetGroup(awsGroup)
	g.HealthCheckGracePeriod = -1
	w.aws.PutGroup(g)
	w.until("SetInstanceHealth", a, func() bool { return len(w.aws.HealthCalls()) > 0 })
	// Three more rounds: still exactly one call.
	runs := func() int { b, _ := os.ReadFile(counter); return strings.Count(string(b), "run") }
	marked := runs()
	w.until("three more rounds", a, func() bool { return runs() >= marked+3 })
	calls := w.aws.HealthCalls()
	if len(calls) != 1 || calls[0].InstanceID != awsInstance || calls[0].Status != "Unhealthy" || !calls[0].RespectGrace {
		t.Fatalf("SetInstanceHealth calls %+v, want one Unhealthy respecting the grace period", calls)
	}
	// The verdicts published: failing at 1, unhealthy at exactly 3, then marked.
	w.until("the marked-unhealthy notification", a, func() bool { return len(verdicts(t, w.aws)) >= 3 })
	v := verdicts(t, w.aws)
	if v[0].Status != report.Failing || v[0].Failures != 1 || v[1].Status != report.Unhealthy || v[1].Failures != 3 ||
		v[2].Status != report.MarkedUnhealthy || v[2].Failures < 3 {
		t.Errorf("verdicts %+v", v)
	}
	st := w.statusJSON()
	h, _ := st["reporters"].(map[string]any)["health"].(map[string]any)
	if h == nil || !strings.Contains(h["last_error"].(string), "10-app exited 1: app: connection refused") ||
		!strings.Contains(h["detail"].(string), "marked-unhealthy") {
		t.Errorf("status reporters.health = %v", h)
	}
	out, _, _ := w.cli("status")
	if !strings.Contains(out, "check hooks.d/health: FAILING") {
		t.Errorf("status does not show the failing check:\n%s", out)
	}
	// Event results are published too.
	found := false
	for _, e := range w.aws.Events() {
		if e.Source == "stackhand" && e.DetailType == "Stackhand Lifecycle Event" && strings.Contains(e.Detail, `"event":"setup"`) &&
			strings.Contains(e.Detail, `"result":"succeeded"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no setup result among the published events: %+v", w.aws.Events())
	}
	a.stop()
}

// verdicts returns the health verdicts published to EventBridge, in order, read as a
// fleet reads them: with the public contract's types.
func verdicts(t *testing.T, srv *awsfake.Server) []contract.Health {
	var out []contract.Health
	for _, e := range srv.Events() {
		if e.DetailType != contract.DetailType(contract.KindHealth) {
			continue
		}
		var n contract.Detail
		if err := json.Unmarshal([]byte(e.Detail), &n); err != nil || n.Health == nil {
			t.Fatalf("health event detail %s: %v", e.Detail, err)
		}
		out = append(out, *n.Health)
	}
	return out
}

func TestAWSMetricsAsStatisticSets(t *testing.T) {
	w := newAWSWorld(t, "heartbeat:\n  enabled: false\nmetrics:\n  enabled: true\n  interval: 3s\n", imdsmock.Config{})
	a := w.startAWS()
	w.until("metrics", a, func() bool { return len(w.aws.MetricData()) > 0 })
	a.stop()
	seen := map[string]bool{}
	for _, d := range w.aws.MetricData() {
		seen[d.MetricName] = true
		if d.Namespace != "CWAgent" || d.StatisticValues == nil || d.Value != nil {
			t.Errorf("datum %s: namespace %q, statistic set %v, value %v", d.MetricName, d.Namespace, d.StatisticValues, d.Value)
			continue
		}
		s := d.StatisticValues
		if s.SampleCount < 1 || s.Minimum > s.Maximum || s.Sum < s.Minimum*s.SampleCount-1e-6 {
			t.Errorf("%s: statistic set %+v", d.MetricName, *s)
		}
		dm := dims(d.Dimensions)
		if dm["InstanceId"] != awsInstance {
			t.Errorf("%s: dimensions %v", d.MetricName, dm)
		}
		if strings.HasPrefix(d.MetricName, "disk_") && (dm["path"] == "" || dm["fstype"] == "" || dm["device"] == "") {
			t.Errorf("%s: dimensions %v, want path, device and fstype", d.MetricName, dm)
		}
	}
	for _, name := range []string{"mem_used_percent", "mem_available_percent", "mem_used", "mem_total", "disk_used_percent", "disk_free"} {
		if !seen[name] {
			t.Errorf("no %s among %v", name, seen)
		}
	}
	noRejectedCalls(t, w.aws, "monitoring")
}

func TestLocalModeReportersWriteTheLocalSinks(t *testing.T) {
	w := newWorld(t, "heartbeat:\n  enabled: true\n  interval: 10s\nhealth:\n  interval: 1s\n  failures: 2\n  checks:\n    - name: nothing-listens\n      tcp: 127.0.0.1:1\nmetrics:\n  enabled: true\n  interval: 2s\n")
	w.writeLocal("instance.json", `{"instance_id": "i-0e2e0000000000001", "region": "eu-west-1", "autoscaling_group": "local-asg"}`)
	a := w.start()
	lines := func(name string) []string {
		b, _ := os.ReadFile(filepath.Join(w.local, name))
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	w.until("instance-health.jsonl", a, func() bool { return lines("instance-health.jsonl")[0] != "" })
	w.until("metrics.jsonl with memory", a, func() bool { return strings.Contains(strings.Join(lines("metrics.jsonl"), "\n"), "mem_used_percent") })
	if !strings.Contains(strings.Join(lines("metrics.jsonl"), "\n"), `"name":"Heartbeat"`) {
		t.Error("no heartbeat in metrics.jsonl")
	}
	b, err := os.ReadFile(filepath.Join(w.local, "alarm.json"))
	if err != nil || !strings.Contains(string(b), "stackhand-heartbeat-i-0e2e0000000000001") {
		t.Errorf("alarm.json: %v %s", err, b)
	}
	w.until("the health verdicts in events.jsonl", a, func() bool {
		return strings.Contains(strings.Join(lines("events.jsonl"), "\n"), `"status":"marked-unhealthy"`)
	})
	a.stop()
}

// TestAWSMetricsAggregationDimensions: metrics.aggregation_dimensions publishes each metric
// once more per set it has every dimension of, with those alone; [] with none. The metric
// still goes with all its own.
func TestAWSMetricsAggregationDimensions(t *testing.T) {
	w := newAWSWorld(t, "heartbeat:\n  enabled: false\nmetrics:\n  enabled: true\n  interval: 3s\n  append_dimensions:\n"+
		"    InstanceId: ${aws:InstanceId}\n    AutoScalingGroupName: ${aws:AutoScalingGroupName}\n"+
		"  aggregation_dimensions: [[AutoScalingGroupName], [], [NoSuchDimension]]\n", imdsmock.Config{})
	a := w.startAWS()
	w.until("metrics", a, func() bool { return len(w.aws.MetricData()) > 0 })
	a.stop()
	seen := map[string]int{}
	for _, d := range w.aws.MetricData() {
		if d.MetricName != "mem_used_percent" {
			continue
		}
		got := dims(d.Dimensions)
		switch {
		case maps.Equal(got, map[string]string{"InstanceId": awsInstance, "AutoScalingGroupName": awsGroup}):
			seen["own"]++
		case maps.Equal(got, map[string]string{"AutoScalingGroupName": awsGroup}):
			seen["group"]++
		case len(got) == 0:
			seen["none"]++
		default:
			t.Errorf("mem_used_percent with dimensions %v", got)
		}
	}
	if seen["own"] == 0 || seen["own"] != seen["group"] || seen["own"] != seen["none"] {
		t.Errorf("mem_used_percent sent %v times by dimension set; want the same non-zero count of each", seen)
	}
	if !strings.Contains(a.output(), "no metric has all these dimensions") || !strings.Contains(a.output(), "NoSuchDimension") {
		t.Errorf("no warning about the set [NoSuchDimension] in the agent's log:\n%s", a.output())
	}
	noRejectedCalls(t, w.aws, "monitoring")
}

// TestAWSMetricsAppendDimensions: metrics.append_dimensions replaces InstanceId alone with
// the dimensions named, filled from the instance (its type, its AMI from the identity
// document, its Auto Scaling group) and its tags (${aws:tag/Role}, read with DescribeTags
// at discovery); one whose value the instance lacks is left out.
func TestAWSMetricsAppendDimensions(t *testing.T) {
	w := newAWSWorld(t, "heartbeat:\n  enabled: false\nmetrics:\n  enabled: true\n  interval: 3s\n  append_dimensions:\n"+
		"    InstanceId: ${aws:InstanceId}\n    InstanceType: ${aws:InstanceType}\n    ImageId: ${aws:ImageId}\n"+
		"    AutoScalingGroupName: ${aws:AutoScalingGroupName}\n    Role: ${aws:tag/Role}\n    Team: ${aws:tag/Team}\n", imdsmock.Config{})
	a := w.startAWS()
	w.until("metrics", a, func() bool { return len(w.aws.MetricData()) > 0 })
	a.stop()
	want := map[string]string{"InstanceId": awsInstance, "InstanceType": "t3.small", "ImageId": "ami-0123456789abcdef0",
		"AutoScalingGroupName": awsGroup, "Role": "web"}
	seen := false
	for _, d := range w.aws.MetricData() {
		if d.MetricName != "mem_used_percent" {
			continue
		}
		seen = true
		if got := dims(d.Dimensions); !maps.Equal(got, want) {
			t.Errorf("mem_used_percent dimensions %v, want %v", got, want)
		}
	}
	if !seen {
		t.Error("no mem_used_percent sent")
	}
	if !strings.Contains(a.output(), "these dimensions are left out") || !strings.Contains(a.output(), `"Team"`) {
		t.Errorf("no warning about the Team dimension in the agent's log:\n%s", a.output())
	}
	noRejectedCalls(t, w.aws, "monitoring")
}
