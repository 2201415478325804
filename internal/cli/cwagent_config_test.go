package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestValidateCWAgentConfig: validate --cwagent-config prints what each key of the
// CloudWatch agent's configuration becomes, warns of what stackhand does not run, fails
// on a key it cannot read, and refuses a stackhand.yaml that has its own logs section.
func TestValidateCWAgentConfig(t *testing.T) {
	cfg := localConfig(t, "")
	cw := filepath.Join(t.TempDir(), "amazon-cloudwatch-agent.json")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(cw, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"agent": {"metrics_collection_interval": 60, "run_as_user": "cwagent"},
  "metrics": {"metrics_collected": {"mem": {"measurement": ["mem_used_percent"]}, "netstat": {"measurement": ["tcp_established"]}}},
  "logs": {"logs_collected": {"files": {"collect_list": [{"file_path": "/var/log/app.log", "log_group_name": "app", "log_stream_name": "{instance_id}"}]}}}}`)
	r := run(t, "validate", "--config", cfg, "--cwagent-config", cw)
	r.check(t, ExitOK, []string{
		"the CloudWatch agent's configuration " + cw + ", key by key:",
		"metrics.metrics_collected.netstat.measurement[0]: mapped: metrics.netstat.measurement: tcp_established",
		"logs.logs_collected.files.collect_list[0].file_path: mapped",
		"warning: " + cw + ": agent.run_as_user: not run by stackhand:",
		"validate: " + cfg + " is valid",
	}, nil)

	write(`{"logs": {"logs_collected": {"files": {"collect_list": "not a list"}}}}`)
	r = run(t, "validate", "--config", cfg, "--cwagent-config", cw)
	r.check(t, ExitFailed, []string{cw + ": logs.logs_collected.files.collect_list: ", "validate: 1 problem(s)"}, nil)

	write(`{"logs": {`)
	r = run(t, "validate", "--config", cfg, "--cwagent-config", cw)
	r.check(t, ExitFailed, []string{cw + ":1:", "nothing was started"}, nil)

	write(`{"logs": {"logs_collected": {"files": {"collect_list": [{"file_path": "/a", "log_group_name": "bad group*"}]}}}}`)
	r = run(t, "validate", "--config", cfg, "--cwagent-config", cw)
	r.check(t, ExitFailed, []string{"translates to sections stackhand refuses", `"bad group*" has characters CloudWatch Logs refuses`}, nil)

	// Another user's write would choose the files root ships: a group-writable file is
	// refused, as stackhand.yaml would be.
	if err := os.Chmod(cw, 0o664); err != nil {
		t.Fatal(err)
	}
	r = run(t, "validate", "--config", cfg, "--cwagent-config", cw)
	r.check(t, ExitFailed, []string{"--cwagent-config: the CloudWatch agent's configuration " + cw, "writable by group"}, nil)
	if err := os.Chmod(cw, 0o644); err != nil {
		t.Fatal(err)
	}

	both := localConfig(t, "logs:\n  files:\n    - file_path: /b\n      log_group_name: b\n")
	write(`{"logs": {"logs_collected": {"files": {"collect_list": [{"file_path": "/a", "log_group_name": "a"}]}}}}`)
	r = run(t, "validate", "--config", both, "--cwagent-config", cw)
	r.check(t, ExitFailed, []string{both + " has a logs section, and the CloudWatch agent's configuration " + cw + " gives one too"}, nil)
}
