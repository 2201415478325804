//go:build !windows

package main

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// TestAWSRunOnCWAgentConfig: stackhand run --cwagent-config takes its logs and metrics from
// the CloudWatch agent's JSON configuration: the file its collect_list names reaches the
// log group and stream named there ({instance_id} expanded), and the metrics it lists are
// sent under its namespace with its dimensions.
func TestAWSRunOnCWAgentConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendSeq(t, path, "", 1, 40)
	cw := filepath.Join(dir, "amazon-cloudwatch-agent.json")
	if err := os.WriteFile(cw, []byte(fmt.Sprintf(`{
  "agent": {"metrics_collection_interval": 10},
  "metrics": {
    "namespace": "Fleet/Web",
    "append_dimensions": {"InstanceId": "${aws:InstanceId}", "InstanceType": "${aws:InstanceType}"},
    "metrics_collected": {"cpu": {"totalcpu": true, "measurement": ["cpu_usage_idle", "cpu_usage_user"]}}
  },
  "logs": {"force_flush_interval": 1, "logs_collected": {"files": {"collect_list": [
    {"file_path": %q, "log_group_name": "/cw/app", "log_stream_name": "{instance_id}-app"}
  ]}}}
}`, path)), 0o644); err != nil {
		t.Fatal(err)
	}
	w := newAWSWorld(t, "heartbeat:\n  enabled: false\n", imdsmock.Config{})
	a := w.startAWS("--cwagent-config", cw)
	w.within(30*time.Second, "40 lines in /cw/app", a, func() bool { return w.aws.LogEventCount("/cw/app", awsInstance+"-app") == 40 })
	w.within(40*time.Second, "cpu metrics", a, func() bool {
		for _, d := range w.aws.MetricData() {
			if d.MetricName == "cpu_usage_idle" {
				return true
			}
		}
		return false
	})
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	for _, d := range w.aws.MetricData() {
		if d.MetricName != "cpu_usage_idle" {
			continue
		}
		dm := dims(d.Dimensions)
		if d.Namespace != "Fleet/Web" || dm["InstanceId"] != awsInstance || dm["InstanceType"] != "t3.small" || dm["cpu"] != "cpu-total" {
			t.Errorf("cpu_usage_idle in %s with dimensions %v", d.Namespace, dm)
		}
	}
	noRejectedCalls(t, w.aws, "monitoring")
}

// TestSIGHUPRereadsTheCWAgentConfig: SIGHUP reads the CloudWatch agent's configuration
// again, as it does stackhand.yaml: a file added to its collect_list is shipped after it.
func TestSIGHUPRereadsTheCWAgentConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.log"), filepath.Join(dir, "second.log")
	appendSeq(t, first, "", 1, 10)
	appendSeq(t, second, "", 1, 20)
	cw := filepath.Join(dir, "amazon-cloudwatch-agent.json")
	write := func(paths ...string) {
		t.Helper()
		var entries []string
		for _, p := range paths {
			entries = append(entries, fmt.Sprintf(`{"file_path": %q, "log_group_name": "/cw/%s", "log_stream_name": "s"}`, p, filepath.Base(p)))
		}
		doc := `{"logs": {"force_flush_interval": 1, "logs_collected": {"files": {"collect_list": [` + strings.Join(entries, ", ") + `]}}}}`
		if err := os.WriteFile(cw, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(first)
	w := newWorld(t, "")
	a := w.startCmd(exec.Command(binPath, "run", "--config", w.cfg, "--cwagent-config", cw))
	w.within(30*time.Second, "first.log in local.dir/logs", a, func() bool { return countLocalLines(w, "/cw/first.log", "s") == 10 })
	if countLocalLines(w, "/cw/second.log", "s") != 0 {
		t.Fatal("second.log shipped before the configuration named it")
	}
	write(first, second)
	a.cmd.Process.Signal(syscall.SIGHUP)
	w.within(30*time.Second, "second.log shipped after SIGHUP", a, func() bool { return countLocalLines(w, "/cw/second.log", "s") == 20 })
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// countLocalLines counts the events mode local wrote for a stream
// (local.dir/logs/<group>/<stream>.jsonl, each name path-escaped).
func countLocalLines(w *world, group, stream string) int {
	b, _ := os.ReadFile(filepath.Join(w.local, "logs", url.PathEscape(group), url.PathEscape(stream)+".jsonl"))
	return strings.Count(string(b), "\n")
}

// TestAWSRunOnCWAgentConfigInParameterStore: --cwagent-config ssm:NAME reads the
// CloudWatch agent's configuration from Parameter Store, and the agent reloads when the
// parameter's version changes: a file added to its collect_list is shipped after that with
// no signal sent. A parameter that is missing, refused by IAM or not JSON is an error that
// names it and says what to do.
func TestAWSRunOnCWAgentConfigInParameterStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.log"), filepath.Join(dir, "second.log")
	appendSeq(t, first, "", 1, 10)
	appendSeq(t, second, "", 1, 20)
	doc := func(paths ...string) string {
		var entries []string
		for _, p := range paths {
			entries = append(entries, fmt.Sprintf(`{"file_path": %q, "log_group_name": "/cw/%s", "log_stream_name": "s"}`, p, filepath.Base(p)))
		}
		return `{"logs": {"force_flush_interval": 1, "logs_collected": {"files": {"collect_list": [` + strings.Join(entries, ", ") + `]}}}}`
	}
	w := newAWSWorld(t, "heartbeat:\n  enabled: false\n", imdsmock.Config{})
	w.aws.PutParameter("/cw/agent", doc(first))
	a := w.startAWS("--cwagent-config", "ssm:/cw/agent")
	w.within(30*time.Second, "first.log shipped", a, func() bool { return w.aws.LogEventCount("/cw/first.log", "s") == 10 })
	if n := w.aws.LogEventCount("/cw/second.log", "s"); n != 0 {
		t.Fatalf("second.log shipped (%d lines) before the parameter named it", n)
	}
	if v := w.aws.PutParameter("/cw/agent", doc(first, second)); v != 2 {
		t.Fatalf("the parameter's version is %d, want 2", v)
	}
	w.within(30*time.Second, "second.log shipped after the parameter changed", a, func() bool { return w.aws.LogEventCount("/cw/second.log", "s") == 20 })
	if !strings.Contains(a.output(), "ssm:/cw/agent changed (version 2, running on 1)") {
		t.Errorf("no line in the agent's log says why it reloaded:\n%s", a.output())
	}
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if n := w.aws.LogEventCount("/cw/first.log", "s"); n != 10 {
		t.Errorf("first.log: %d events after the reload, want its 10 once", n)
	}

	w.aws.PutParameter("/cw/notjson", "logs: {}")
	w.aws.PutParameter("/cw/denied", doc(first))
	w.aws.DenyParameter("/cw/denied", true)
	for name, want := range map[string]string{
		"/cw/missing": "ssm:/cw/missing: Parameter Store in us-east-1 has no such parameter",
		"/cw/denied":  "ssm:/cw/denied: ssm:GetParameter denied",
		"/cw/notjson": "ssm:/cw/notjson:1:",
	} {
		cmd := exec.Command(binPath, "validate", "--config", w.cfg, "--cwagent-config", "ssm:"+name)
		cmd.Env = w.env()
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("validate --cwagent-config ssm:%s: %v, want a failure saying %q:\n%s", name, err, want, out)
		}
	}
	// run refuses to start on it too, saying the same.
	cmd := exec.Command(binPath, "run", "--config", w.cfg, "--cwagent-config", "ssm:/cw/missing")
	cmd.Env = w.env()
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "ssm:/cw/missing: Parameter Store in us-east-1 has no such parameter") {
		t.Errorf("run --cwagent-config ssm:/cw/missing: %v, want a failure naming the parameter:\n%s", err, out)
	}
}
