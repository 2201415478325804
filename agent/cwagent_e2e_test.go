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
