package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/stackhand/stackhand/internal/event"
)

func TestDefault(t *testing.T) {
	c := Default()
	checks := []struct {
		name      string
		got, want any
	}{
		{"mode", c.Mode, "aws"},
		{"interval", c.Interval.D(), time.Minute},
		{"hooks_dir", c.HooksDir, DefaultHooksDir},
		{"state_dir", c.StateDir, DefaultStateDir},
		{"log_dir", c.LogDir, DefaultLogDir},
		{"timeouts.default", c.Timeouts.Default.D(), 30 * time.Minute},
		{"timeouts.shutdown", c.Timeouts.Shutdown.D(), 2 * time.Minute},
		{"timeouts.health", c.Timeouts.Health.D(), 10 * time.Second},
		{"timeouts.deploy", c.Timeouts.Deploy.D(), time.Duration(0)},
		{"shutdown_grace", c.ShutdownGrace.D(), 30 * time.Second},
		{"kill_grace", c.KillGrace.D(), 5 * time.Second},
		{"lifecycle.flush_timeout", c.Lifecycle.FlushTimeout.D(), time.Minute},
		{"heartbeat.interval", c.Heartbeat.Interval.D(), time.Minute},
		{"heartbeat.namespace", c.Heartbeat.Namespace, "Stackhand"},
		{"heartbeat.alarm.periods", c.Heartbeat.Alarm.Periods, 5},
		{"heartbeat.alarm.action", c.Heartbeat.Alarm.Action, "none"},
		{"health.interval", c.Health.Interval.D(), 30 * time.Second},
		{"health.timeout", c.Health.Timeout.D(), 10 * time.Second},
		{"health.failures", c.Health.Failures, 3},
		{"metrics.interval", c.Metrics.Interval.D(), time.Minute},
		{"metrics.namespace", c.Metrics.Namespace, "CWAgent"},
		{"logs.force_flush_interval", c.Logs.ForceFlushInterval.D(), 5 * time.Second},
		{"logs.compression", c.Logs.Compression, "gzip"},
		{"HeartbeatEnabled", c.HeartbeatEnabled(), true},
		{"MetricsEnabled", c.MetricsEnabled(), false},
		{"TimeoutFor(deploy)", c.TimeoutFor(event.Deploy), 30 * time.Minute},
		{"TimeoutFor(shutdown)", c.TimeoutFor(event.Shutdown), 2 * time.Minute},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestParseEmptyGivesDefaults(t *testing.T) {
	for _, in := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		c, err := Parse([]byte(in), "")
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		c.set = nil
		if want := Default(); !reflect.DeepEqual(c, want) {
			t.Errorf("Parse(%q) = %+v, want the defaults %+v", in, c, want)
		}
	}
}

func TestParseKeepsDefaultsBesideWrittenKeys(t *testing.T) {
	c, err := Parse([]byte("heartbeat:\n  namespace: X\n  alarm:\n    action: reboot\nhealth:\n  failures:\nlogs:\n  files:\n    - file_path: /a\n      log_group_name: g\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Heartbeat.Interval.D() != time.Minute || c.Heartbeat.Alarm.Periods != 5 || c.Heartbeat.Alarm.Action != "reboot" || c.Heartbeat.Namespace != "X" {
		t.Errorf("heartbeat = %+v", c.Heartbeat)
	}
	if c.Health.Failures != 3 {
		t.Errorf("health.failures written empty = %d, want the default 3", c.Health.Failures)
	}
	f := c.Logs.Files[0]
	if f.LogStreamName != "{instance_id}" || f.Encoding != "utf-8" || f.FromBeginning == nil || !*f.FromBeginning {
		t.Errorf("log file defaults = %+v", f)
	}
	if !c.IsSet("heartbeat.alarm.action") || c.IsSet("heartbeat.interval") || c.IsSet("health.failures") {
		t.Errorf("IsSet wrong: %v", c.set)
	}
}

func TestParseFull(t *testing.T) {
	path := filepath.Join("testdata", "full.yaml")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	f, tr := false, true
	want := Default()
	want.Path = path
	want.Stack, want.Resource, want.Region = "web-stack", "WebServerLaunchConfig", "eu-west-1"
	want.Interval = Duration(30 * time.Second)
	want.HooksDir = filepath.Join("..", "hooks") // testdata/../../hooks
	want.StateDir = "/var/lib/stackhand-test"
	want.LogDir = filepath.Join("testdata", "logs")
	want.ShutdownGrace, want.KillGrace = Duration(45*time.Second), Duration(10*time.Second)
	want.Watch = []WatchRule{
		{Name: "release", Metadata: "release", On: []string{"add", "update", "remove"}, Origin: path + ":14"},
		{Name: "init", Metadata: "AWS::CloudFormation::Init.config", On: []string{"update"}, Event: "configure", Origin: path + ":15"},
		{Name: "tag:Role", Tag: "Role", On: []string{"add", "remove"}, Command: "/usr/local/bin/role-changed", RunAs: "app", Timeout: Duration(2 * time.Minute), Origin: path + ":19"},
		{Name: "Resources.Database.PhysicalResourceId", Path: "Resources.Database.PhysicalResourceId", On: []string{"add", "update", "remove"}, Origin: path + ":24"},
		{Name: "ssm:/web/release", SSM: "/web/release", On: []string{"add", "update"}, Origin: path + ":25"},
	}
	no := false
	want.Apps = []App{{Name: "web", Revision: ValueRef{Metadata: "Resources.Web.Metadata.release"}, Source: "s3://my-bucket/web/{revision}.tar.gz",
		SHA256: SHA256Ref{From: ValueRef{Metadata: "release_sha256"}}, DeployTo: "/srv/web", KeepReleases: 3, Shared: []string{"log", "tmp/pids"},
		Owner: "web", Checks: AppChecks{HTTP: "http://127.0.0.1:8080/health", Within: Duration(30 * time.Second)}, RollbackOnFailure: &no,
		ReleaseHooks: true, Origin: path + ":109"}}
	want.Watch = append(want.Watch,
		WatchRule{Name: "app:web", Path: "Resources.Web.Metadata.release", On: []string{"add", "update", "remove"}, App: "web", Origin: path + ":109"},
		WatchRule{Name: "app:web:sha256", Metadata: "release_sha256", On: []string{"add", "update"}, Event: "deploy", App: "web", Origin: path + ":109"})
	want.Timeouts = Timeouts{
		Default: Duration(20 * time.Minute), Setup: Duration(time.Hour), Configure: Duration(5 * time.Minute),
		Deploy: Duration(40 * time.Minute), Undeploy: Duration(10 * time.Minute), Shutdown: Duration(90 * time.Second),
		Health: Duration(5 * time.Second),
	}
	want.HookEnv = map[string]string{"APP_ENV": "production", "PORT": "8080"}
	want.Heartbeat = Heartbeat{Enabled: &tr, Interval: Duration(30 * time.Second), Namespace: "Fleet/Heartbeat",
		Alarm: Alarm{Action: "arn:aws:sns:eu-west-1:123456789012:ops-pager", Periods: 3}}
	want.Health = Health{Interval: Duration(15 * time.Second), Timeout: Duration(2 * time.Second), Failures: 2,
		Checks: []HealthCheck{{Name: "web", HTTP: "http://127.0.0.1:8080/health"}, {Name: "127.0.0.1:5432", TCP: "127.0.0.1:5432"}}}
	want.Metrics = Metrics{Enabled: &tr, Interval: Duration(10 * time.Second), Namespace: "Fleet/Host", HighResolution: true,
		IgnoreFileSystems: []string{"tmpfs", "overlay"},
		CPU:               &MetricsCPU{Resources: []string{"*"}, TotalCPU: &f, Measurement: []Measurement{{Name: "usage_idle"}, {Name: "cpu_usage_iowait", Rename: "IOWAIT", Unit: "Percent"}}},
		DiskIO:            &MetricsDevices{Resources: []string{"nvme0n1"}, Measurement: []Measurement{{Name: "reads"}, {Name: "writes"}, {Name: "io_time"}}},
		Net:               &MetricsDevices{Measurement: []Measurement{{Name: "bytes_sent"}, {Name: "bytes_recv"}}},
		Netstat:           &MetricsFields{Measurement: []Measurement{{Name: "tcp_established"}, {Name: "tcp_time_wait"}}},
		Processes:         &MetricsFields{},
		Procstat: []MetricsProcstat{{Exe: "^nginx$", Measurement: []Measurement{{Name: "cpu_usage"}, {Name: "memory_rss"}, {Name: "pid_count"}}},
			{Pattern: `java .*app\.jar`}, {PidFile: "/run/app.pid"}}}
	want.Notifications = Notifications{EventBridge: true, EventBus: "fleet-events"}
	want.Logs = Logs{ForceFlushInterval: Duration(10 * time.Second), Compression: "huffman", Files: []LogFile{
		{FilePath: "/var/log/app/*.log", LogGroupName: "/fleet/app", LogStreamName: "{instance_id}-app", RetentionInDays: 14,
			MultiLineStartPattern: `^\d{4}-\d{2}-\d{2}`, TimestampFormat: "2006-01-02 15:04:05", Encoding: "utf-8", FromBeginning: &f,
			Filters: []LogFilter{{Type: "exclude", Expression: "DEBUG"}, {Type: "include", Expression: "(ERROR|WARN)"}}, Compression: "none"},
		// The entry that names none takes logs.compression.
		{FilePath: "/var/log/stackhand/agent.log", LogGroupName: "/fleet/agent", LogStreamName: "{instance_id}", Encoding: "utf-8", FromBeginning: &tr, Compression: "huffman"},
	}}
	c.set = nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
		if !reflect.DeepEqual(c.Watch, want.Watch) {
			t.Errorf("watch: got %+v\nwant %+v", c.Watch, want.Watch)
		}
		if !reflect.DeepEqual(c.Logs, want.Logs) {
			t.Errorf("logs: got %+v\nwant %+v", c.Logs, want.Logs)
		}
	}
	if got := c.TimeoutFor(event.Configure); got != 5*time.Minute {
		t.Errorf("TimeoutFor(configure) = %v", got)
	}
}

func TestRelativePaths(t *testing.T) {
	in := "mode: local\nlocal: {dir: fake-aws}\nhooks_dir: ../../hooks\nstate_dir: ./state\nlog_dir: /abs/logs\n" +
		"logs: {files: [{file_path: app.log, log_group_name: g}]}\n"
	c, err := Parse([]byte(in), "/opt/demo/etc/stackhand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for got, want := range map[string]string{
		c.HooksDir: "/opt/hooks", c.StateDir: "/opt/demo/etc/state", c.LogDir: "/abs/logs",
		c.Local.Dir: "/opt/demo/etc/fake-aws", c.Logs.Files[0].FilePath: "/opt/demo/etc/app.log",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if c.HeartbeatEnabled() {
		t.Error("heartbeat enabled by default in local mode")
	}
	// Without a file to be relative to, paths are left as written.
	c, err = Parse([]byte("hooks_dir: hooks\n"), "")
	if err != nil || c.HooksDir != "hooks" {
		t.Errorf("Parse without path: %q, %v", c.HooksDir, err)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
}

// problem is an expected problem: the exact "file:line:" prefix and part of the message.
type problem struct {
	line int
	msg  string
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []problem
	}{
		{"yaml syntax", "mode: aws\nstack: [a\n", []problem{{2, "did not find expected ',' or ']' (YAML syntax)"}}},
		// yaml.v3 points at the unclosed construct, except on line 1, where it points at where
		// the problem was found.
		{"yaml syntax on line 1", "mode: [a\n", []problem{{2, "did not find expected ',' or ']' (YAML syntax)"}}},
		{"yaml block mapping", "mode: aws\nheartbeat:\n  interval: 5s\n namespace: x\n", []problem{{4, "did not find expected key (YAML syntax)"}}},
		{"yaml scanner error", "mode: aws\nstack: a: b\n", []problem{{2, "mapping values are not allowed in this context (YAML syntax)"}}},
		{"unknown anchor", "mode: aws\nstack: *nope\n", []problem{{0, "unknown anchor"}}},
		{"tab indent", "heartbeat:\n\tinterval: 5s\n", []problem{{2, "YAML syntax"}}},
		{"top level not a mapping", "- a\n- b\n", []problem{{1, "the top level must be a mapping of keys (mode, stack,"}}},
		{"unknown top-level key", "mode: aws\nintervl: 5s\n", []problem{{2, `unknown key "intervl" in the top level; did you mean "interval"? known keys: mode, stack, resource, region, interval, watch,`}}},
		{"unknown nested key", "heartbeat:\n  alarm:\n    acton: reboot\n", []problem{{3, `unknown key "acton" in heartbeat.alarm; did you mean "action"? known keys: action, periods`}}},
		{"unknown key in a watch rule", "resource: R\nwatch:\n  - metadata: a\n  - metadata: b\n    comand: x\n", []problem{{5, `unknown key "comand" in watch[1]; did you mean "command"?`}}},
		{"unknown key in a log filter", "logs:\n  files:\n    - file_path: /a\n      log_group_name: g\n      filters:\n        - type: include\n          regex: x\n",
			[]problem{{6, "logs.files[0].filters[0] has no expression"}, {7, `unknown key "regex" in logs.files[0].filters[0]; known keys: type, expression`}}},
		{"no suggestion when nothing is close", "zzzzzz: 1\n", []problem{{1, `unknown key "zzzzzz" in the top level; known keys:`}}},
		{"duplicate key", "stack: a\nstack: b\n", []problem{{2, `key "stack" in the top level is already set on line 1`}}},
		{"merge key", "base: &b {namespace: X}\n", []problem{{1, `unknown key "base"`}}},
		{"bare number duration", "interval: 60\n", []problem{{1, `interval: 60 is a bare number; write the unit too, e.g. "60s"`}}},
		{"bad duration", "timeouts:\n  deploy: 5 minutes\n", []problem{{2, `timeouts.deploy: "5 minutes" is not a duration; write e.g. "90s"`}}},
		{"negative duration", "kill_grace: -5s\n", []problem{{1, `kill_grace: "-5s" is negative`}}},
		{"list for a duration", "interval: [1]\n", []problem{{1, "interval: expected a duration"}}},
		{"string for an int", "heartbeat:\n  alarm:\n    periods: five\n", []problem{{3, `heartbeat.alarm.periods must be a whole number, not "five"`}}},
		{"yes is not a bool", "metrics:\n  enabled: yes\n", []problem{{2, `metrics.enabled must be true or false, not "yes"`}}},
		{"scalar for a list", "resource: R\nwatch:\n  - metadata: a\n    on: update\n", []problem{{4, "watch[0].on must be a list"}}},
		{"scalar for a mapping", "heartbeat: on\n", []problem{{1, "heartbeat must be a mapping of keys (enabled, interval, namespace, alarm)"}}},
		{"mapping for a string", "stack:\n  name: x\n", []problem{{2, "stack must be a single value"}}},
		{"second document", "mode: aws\n---\nmode: local\n", []problem{{2, "a second YAML document"}}},
		{"bad mode", "mode: fargate\n", []problem{{1, `mode "fargate" is not known: use aws (the default) or local`}}},
		{"local without dir", "\nmode: local\n", []problem{{2, "mode is local but local.dir is not set"}}},
		{"interval too short", "interval: 500ms\n", []problem{{1, "interval 500ms is too short"}}},
		{"watch nothing", "watch:\n  - on: [add]\n", []problem{{2, "watch[0] watches nothing"}}},
		{"watch two things", "watch:\n  - tag: a\n    path: Resources.X\n", []problem{{2, "watch[0] sets path and tag; a rule watches one thing"}}},
		{"bad metadata path", "resource: R\nwatch:\n  - metadata: a..b\n", []problem{{3, "watch[0].metadata: metadata path \"a..b\" has an empty key"}}},
		{"bad path", "watch:\n  - tag: x\n  - path: Parameters.Foo\n", []problem{{3, "watch[1].path: path \"Parameters.Foo\" does not start with Resources."}}},
		{"ssm and tag", "watch:\n  - tag: a\n    ssm: /b\n", []problem{{2, "watch[0] sets tag and ssm; a rule watches one thing"}}},
		{"ssm names SSM refuses", "watch:\n  - ssm: web/release\n  - ssm: '/web release'\n  - ssm: /web/rel$ase\n  - ssm: /web//release\n  - ssm: arn:aws:s3:::bucket\n  - ssm: /" + strings.Repeat("a/", 16) + "x\n",
			[]problem{{2, `watch[0].ssm "web/release": is in a hierarchy, so it must start with /: write "/web/release"`},
				{3, `watch[1].ssm "/web release": has spaces`},
				{4, `watch[2].ssm "/web/rel$ase": may hold only letters, digits, _ . - and /`},
				{5, `watch[3].ssm "/web//release": has an empty level`},
				{6, `watch[4].ssm "arn:aws:s3:::bucket": is not a parameter ARN`},
				{7, "has 17 levels; Parameter Store hierarchies have at most 15"}}},
		{"ssm rules named alike", "watch:\n  - ssm: /a\n  - tag: b\n    name: ssm:/a\n", []problem{{3, `watch[1] is named "ssm:/a" like watch[0] (line 2)`}}},
		{"bad on", "watch:\n  - tag: x\n    on: [add, delete, add]\n", []problem{{3, `watch[0].on: "delete" is not a change; use add, update or remove`}, {3, `watch[0].on lists "add" twice`}}},
		{"empty on", "watch:\n  - tag: x\n    on: []\n", []problem{{3, "watch[0].on is empty"}}},
		{"bad event", "watch:\n  - tag: x\n    event: setup\n", []problem{{3, `watch[0].event "setup" cannot be run by a watch rule`}}},
		{"runas without command", "watch:\n  - tag: x\n    runas: app\n", []problem{{3, "watch[0].runas is set without command"}}},
		{"timeout without command", "watch:\n  - tag: x\n    timeout: 5s\n", []problem{{3, "watch[0].timeout is set without command"}}},
		{"duplicate names", "watch:\n  - tag: x\n  - tag: y\n    name: tag:x\n", []problem{{3, `watch[1] is named "tag:x" like watch[0] (line 2)`}}},
		{"reserved name", "watch:\n  - tag: x\n    name: cfn-hup:mine\n", []problem{{3, `names starting with "cfn-hup:" are kept`}}},
		{"hook env", "hook_env:\n  1BAD: x\n  STACKHAND_EVENT: y\n  stackhand_x: z\n  OK_1: w\n", []problem{
			{2, `hook_env: "1BAD" is not a valid environment variable name`},
			{3, `hook_env: "STACKHAND_EVENT" starts with STACKHAND_`},
			{4, `hook_env: "stackhand_x" starts with STACKHAND_`}}},
		{"zero timeout", "timeouts:\n  default: 0s\n  setup: 1m\n", []problem{{2, "timeouts.default must be more than 0s"}}},
		{"heartbeat interval", "heartbeat:\n  interval: 45s\n", []problem{{2, "heartbeat.interval 45s cannot be a CloudWatch alarm period"}}},
		{"heartbeat action", "heartbeat:\n  alarm:\n    action: terminate\n", []problem{{3, `heartbeat.alarm.action "terminate" is not known; use reboot, recover, none or an SNS topic ARN`}}},
		{"heartbeat arn", "heartbeat:\n  alarm:\n    action: arn:aws:sqs:us-east-1:123456789012:q\n", []problem{{3, "is not an SNS topic ARN"}}},
		{"topic name too long", "heartbeat:\n  alarm:\n    action: arn:aws:sns:us-east-1:123456789012:" + strings.Repeat("t", 257) + "\n", []problem{{3, "is not an SNS topic ARN"}}},
		{"event bus", "notifications:\n  event_bus: " + strings.Repeat("b", 257) + "\n", []problem{{2, "is not an event bus name"}}},
		{"heartbeat periods", "heartbeat:\n  alarm:\n    periods: 0\n", []problem{{3, "heartbeat.alarm.periods is 0"}}},
		{"namespace", "metrics:\n  namespace: AWS/EC2\nheartbeat:\n  namespace: \"\"\n", []problem{{2, "namespaces starting with AWS/ are kept"}, {4, "heartbeat.namespace is empty"}}},
		{"health", "health:\n  failures: 0\n  checks:\n    - http: ftp://x/\n    - tcp: localhost\n    - name: both\n      http: http://a/\n      tcp: a:1\n    - name: none\n    - http: ftp://x/\n",
			[]problem{{2, "health.failures is 0"}, {4, `health.checks[0].http "ftp://x/" is not an http:// or https:// URL`},
				{5, `health.checks[1].tcp "localhost" is not host:port`}, {6, "health.checks[2] sets both http and tcp"},
				{9, "health.checks[3] checks nothing"}, {10, `health.checks[4].http "ftp://x/" is not`}, {10, `health.checks[4] is named "ftp://x/" like health.checks[0] (line 4)`}}},
		{"log files", "logs:\n  files:\n    - log_stream_name: s\n    - file_path: /a\n      log_group_name: g\n      retention_in_days: 10\n      multi_line_start_pattern: '('\n      encoding: ebcdic\n      timestamp_format: '%Y-%m-%d %Q'\n      filters:\n        - type: drop\n          expression: '[x'\n",
			[]problem{{3, "logs.files[0] has no file_path"}, {3, "logs.files[0] has no log_group_name"},
				{6, "logs.files[1].retention_in_days 10 is not one CloudWatch Logs accepts; use one of 1, 3, 5, 7, 14,"},
				{7, "logs.files[1].multi_line_start_pattern does not compile"},
				{8, `logs.files[1].encoding "ebcdic" is not supported; use utf-8 or latin-1 (iso-8859-1)`},
				{9, `logs.files[1].timestamp_format "%Y-%m-%d %Q": %Q is not supported`},
				{11, `logs.files[1].filters[0].type "drop" is not known; use include or exclude`},
				{12, "logs.files[1].filters[0].expression does not compile"}}},
		{"log compression", "logs:\n  compression: zstd\n  files:\n    - file_path: /a\n      log_group_name: g\n      compression: GZIP\n    - file_path: /b\n      log_group_name: h\n      log_stream_name: s\n      compression: none\n    - file_path: /c\n      log_group_name: h\n      log_stream_name: s\n      compression: huffman\n    - file_path: /d\n      log_group_name: h\n      log_stream_name: s\n      compression: none\n",
			[]problem{{2, `logs.compression "zstd" is not one stackhand knows; use gzip, huffman or none`},
				{6, `logs.files[0].compression "GZIP" (log group g) is not one stackhand knows; use gzip, huffman or none`},
				{14, "logs.files[2] ships to log group h, stream s, like logs.files[1] (line 7), but with compression huffman, not none; " +
					"one stream's batches mix both files' lines: give both entries the same compression, or send them to different streams"}}},
		{"log group names CloudWatch refuses", "logs:\n  files:\n    - file_path: /a\n      log_group_name: 'my group*'\n    - file_path: /b\n      log_group_name: 'app/{stack}/{file_name}#1'\n    - file_path: /c\n      log_group_name: 'app:{instance_id}'\n    - file_path: /d\n      log_group_name: '{instance_id}" + strings.Repeat("g", 513) + "'\n",
			[]problem{{4, `logs.files[0].log_group_name "my group*" has characters CloudWatch Logs refuses in this name (' ' '*'); it accepts letters, digits and _ - / . #`},
				{8, `logs.files[2].log_group_name "app:{instance_id}" has characters CloudWatch Logs refuses in this name (':')`},
				{10, "logs.files[3].log_group_name is 513 characters long without its placeholders; CloudWatch Logs accepts at most 512"}}},
		{"log stream names CloudWatch refuses", "logs:\n  files:\n    - file_path: /a\n      log_group_name: g\n      log_stream_name: '{instance_id}:app'\n    - file_path: /b\n      log_group_name: g\n      log_stream_name: 'all*'\n    - file_path: /c\n      log_group_name: g\n      log_stream_name: 'web server {hostname} [1]'\n",
			[]problem{{5, `logs.files[0].log_stream_name "{instance_id}:app" has characters CloudWatch Logs refuses in this name (':'); it accepts any character but : and *`},
				{8, `logs.files[1].log_stream_name "all*" has characters CloudWatch Logs refuses in this name ('*')`}}},
		{"unknown placeholders", "logs:\n  files:\n    - file_path: /a\n      log_group_name: '/app/{instnace_id}'\n      log_stream_name: '{{instance_id}'\n    - file_path: /b\n      log_group_name: '/app/{zone}/{region}/{az}/{asg}/{instance_type}/{tag:Env}'\n" +
			"    - file_path: /c\n      log_group_name: '/app/{tag:}'\n      log_stream_name: '{tag:aws:cloudformation:logical-id} {tag:Role}'\n",
			[]problem{{4, `logs.files[0].log_group_name "/app/{instnace_id}": {instnace_id} is not a placeholder; use one of {instance_id} {hostname} {local_hostname} {ip_address} {file_name} {stack} {asg} {az} {instance_type} {region} {tag:KEY}`},
				{7, `logs.files[1].log_group_name "/app/{zone}/{region}/{az}/{asg}/{instance_type}/{tag:Env}": {zone} is not a placeholder`},
				{9, `logs.files[2].log_group_name "/app/{tag:}": {tag:} names no tag; write {tag:KEY} with KEY an EC2 tag key of 1 to 128 characters`}}},
		{"identity in mode local", "mode: local\nlocal:\n  dir: /x\nidentity:\n  instance_id: web-01\n",
			[]problem{{4, "identity is set but mode is local: mode local reads the instance from local.dir/instance.json; remove identity"}}},
		{"identity without a region, with an EC2 action", "identity:\n  instance_id: 'web 01'\nheartbeat:\n  alarm:\n    action: reboot\n",
			[]problem{{1, "identity is set but no region is: without IMDS the agent cannot find its region; add identity: {region: <e.g. us-east-1>}"},
				{2, `identity.instance_id "web 01": use letters, digits and . _ -`},
				{5, "heartbeat.alarm.action reboot is an EC2 action, and a host named by identity is not an EC2 instance; use none or an SNS topic ARN"}}},
		{"identity with a rollout", "identity:\n  region: eu-west-1\nwatch:\n  - name: release\n    metadata: release\n    rollout: {waves: [1, 100%]}\n",
			[]problem{{1, "watch rule release has a rollout, but a host named by identity is not an EC2 instance and cannot publish what it applied as its tags; remove the rollout"}}},
		{"identity regions that differ", "region: eu-west-1\nidentity:\n  region: us-east-1\n",
			[]problem{{3, "identity.region us-east-1 and region eu-west-1 differ"}}},
		{"append_dimensions values", "metrics:\n  append_dimensions:\n    InstanceId: ${aws:InstanceId}\n    Env: production\n    Role: ${aws:tag/}\n    Team: ${aws:tag/Team}\n",
			[]problem{{4, `metrics.append_dimensions.Env "production" is not a value stackhand fills in; use ${aws:InstanceId}, ${aws:InstanceType}, ${aws:ImageId}, ${aws:AutoScalingGroupName} or ${aws:tag/KEY}`},
				{5, `metrics.append_dimensions.Role "${aws:tag/}" is not a value`}}},
		{"aggregation_dimensions sets", "metrics:\n  aggregation_dimensions:\n    - [InstanceId]\n    - [InstanceId, InstanceId]\n    - ['']\n    - []\n",
			[]problem{{4, `metrics.aggregation_dimensions[1] names "InstanceId" twice; name each dimension once in a set`},
				{5, `metrics.aggregation_dimensions[2][0]: a dimension name is 1 to 255 characters, not 0`}}},
		{"journald entries", "logs:\n  journald:\n    - units: [nginx, '-x', '']\n      priority: verbose\n      start_at: now\n      matches:\n        - {_systemd_unit: a}\n        - {}\n      directory: rel/dir\n    - log_group_name: 'bad group'\n      retention_in_days: 2\n      compression: zip\n",
			[]problem{{3, `logs.journald[0] has no log_group_name: name the CloudWatch Logs group to send the journal entries to`},
				{3, `logs.journald[0].units[1] "-x" is not a unit name`},
				{3, `logs.journald[0].units[2] "" is not a unit name`},
				{4, `logs.journald[0].priority "verbose" is not a journal priority; use one of emerg, alert, crit, err, warning, notice, info or debug, or 0 to 7`},
				{5, `logs.journald[0].start_at "now" is not known; use boot, beginning or end`},
				{7, `logs.journald[0].matches[0]: "_systemd_unit" is not a journal field name`},
				{8, `logs.journald[0].matches[1] is empty`},
				{9, `logs.journald[0].directory "rel/dir" must be an absolute path`},
				{10, `logs.journald[1].log_group_name "bad group"`},
				{11, `logs.journald[1].retention_in_days 2 is not one CloudWatch Logs accepts`},
				{12, `logs.journald[1].compression "zip" is not one stackhand knows`}}},
		{"journald boot with a directory", "logs:\n  journald:\n    - directory: /j\n      start_at: boot\n      log_group_name: g\n",
			[]problem{{4, `logs.journald[0].start_at boot cannot go with directory`}}},
		{"windows_events entries", "logs:\n  windows_events:\n    - event_levels: [INFO]\n      event_format: json\n",
			[]problem{{3, `logs.windows_events[0] has no event_name: name the event log channel to read`},
				{3, `logs.windows_events[0] has no log_group_name`},
				{3, `logs.windows_events[0].event_levels[0] "INFO" is not an event level; use INFORMATION, WARNING, ERROR, CRITICAL or VERBOSE`},
				{4, `logs.windows_events[0].event_format "json" is not known; use text or xml`}}},
		{"windows_events ids and filters", "logs:\n  windows_events:\n    - event_name: System\n      log_group_name: g\n      event_ids: [7036, 70000]\n      filters:\n        - {type: include, expression: \"(\"}\n",
			[]problem{{5, `logs.windows_events[0].event_ids[1] 70000 is not an event id; ids run from 0 to 65535`},
				{7, `logs.windows_events[0].filters[0]`}}},
		{"region with spaces", "region: us east 1\n", []problem{{1, `region "us east 1" is not an AWS region name (lower-case words and a number joined by -, e.g. us-east-1)`}}},
		{"region not a region", "\nregion: US-EAST-1\n", []problem{{2, `region "US-EAST-1" is not an AWS region name`}}},
		{"NUL byte on its own line", "mode: aws\nstack: s\nreg\x00ion: x\n", []problem{{3, "byte 0x00 (a control character) at column 4 is not allowed in YAML; remove it"}}},
		{"control characters on two lines", "mode: aws\x01\nstack: s\n\nx: \x00\x00\n", []problem{{1, "byte 0x01 (a control character) at column 10"}, {4, "byte 0x00 (a control character) at column 4"}}},
		{"metric family problems", "metrics:\n  cpu:\n    resources: [cpu0]\n    measurement: [usage_idle, usage_bogus]\n  diskio:\n    measurement:\n      - {rename: X}\n  netstat: {measurement: [tcp_listn]}\n  procstat:\n    - exe: nginx(\n    - {}\n    - exe: a\n      pattern: b\n",
			[]problem{{3, `metrics.cpu.resources must be ["*"] (every core) or left out (none), not ["cpu0"]`},
				{4, `metrics.cpu.measurement[1]: cpu has no measurement "usage_bogus"; known: usage_active, usage_idle,`},
				{7, "metrics.diskio.measurement[0] has no name; write one of reads, writes,"},
				{8, `metrics.netstat.measurement[0]: netstat has no measurement "tcp_listn"; did you mean "tcp_listen"? known: tcp_established,`},
				{10, `metrics.procstat[0]: procstat exe "nginx(": error parsing regexp: missing closing ): ` + "`nginx(`"},
				{11, "metrics.procstat[1]: procstat: an entry with none of pid_file, exe or pattern"},
				{12, "metrics.procstat[2] sets 2 of pid_file, exe and pattern; set one"}}},
		{"unknown key in a measurement", "metrics:\n  net:\n    measurement:\n      - {name: bytes_sent, units: Bytes}\n", []problem{{4, `unknown key "units" in metrics.net.measurement[0]; did you mean "unit"?`}}},
		{"unknown key in a metric family", "metrics:\n  processes:\n    resources: [\"*\"]\n", []problem{{3, `unknown key "resources" in metrics.processes; known keys: measurement`}}},
		{"type problem is not reported twice", "health:\n  checks:\n    - http: [a]\n", []problem{{3, "health.checks[0].http must be a single value"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), "stackhand.yaml")
			checkProblems(t, err, "stackhand.yaml", tt.want)
		})
	}
}

// checkProblems checks that err is a *Errors holding exactly the wanted problems, in order,
// each printed as "file:line: ...".
func checkProblems(t *testing.T, err error, file string, want []problem) {
	t.Helper()
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error = %v (%T), want *Errors", err, err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(lines), len(want), err)
	}
	for i, w := range want {
		prefix := file + ":" + strconv.Itoa(w.line) + ": "
		if w.line == 0 {
			prefix = file + ": "
		}
		if !strings.HasPrefix(lines[i], prefix) || !strings.Contains(lines[i], w.msg) {
			t.Errorf("problem %d = %q, want prefix %q and %q", i, lines[i], prefix, w.msg)
		}
	}
}

func TestAllProblemsReported(t *testing.T) {
	in := "mode: lcoal\nintervl: 5s\ninterval: 5\nheartbeat:\n  alarm:\n    periods: 500\nwatch:\n  - tag: a\n    on: [nope]\n"
	_, err := Parse([]byte(in), "/etc/stackhand/stackhand.yaml")
	want := strings.Join([]string{
		`/etc/stackhand/stackhand.yaml:1: mode "lcoal" is not known: use aws (the default) or local`,
		`/etc/stackhand/stackhand.yaml:2: unknown key "intervl" in the top level; did you mean "interval"? known keys: mode, stack, resource, region, interval, watch, apps, hooks_dir, state_dir, log_dir, timeouts, hook_env, shutdown_grace, kill_grace, aws_timeout, local, lifecycle, heartbeat, health, metrics, logs, notifications, identity`,
		`/etc/stackhand/stackhand.yaml:3: interval: 5 is a bare number; write the unit too, e.g. "5s" or "5m"`,
		`/etc/stackhand/stackhand.yaml:6: heartbeat.alarm.periods is 500; it is how many missed heartbeats set off the alarm, from 1 to 100`,
		`/etc/stackhand/stackhand.yaml:9: watch[0].on: "nope" is not a change; use add, update or remove (cfn-hup's post.add, post.update, post.remove)`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Fatalf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestDurationYAML(t *testing.T) {
	var v struct {
		D Duration `yaml:"d"`
	}
	if err := yaml.Unmarshal([]byte("d: 1m30s"), &v); err != nil || v.D.D() != 90*time.Second {
		t.Fatalf("got %v, %v", v.D, err)
	}
	err := yaml.Unmarshal([]byte("d: 90"), &v)
	if err == nil || !strings.Contains(err.Error(), `line 1: 90 is a bare number; write the unit too, e.g. "90s"`) {
		t.Fatalf("bare number: %v", err)
	}
	out, err := yaml.Marshal(struct {
		D Duration `yaml:"d"`
	}{Duration(90 * time.Second)})
	if err != nil || string(out) != "d: 1m30s\n" {
		t.Fatalf("Marshal = %q, %v", out, err)
	}
}

// An ssm rule is named after its parameter by default; names GetParameter takes (a plain
// name, a hierarchy, a version selector, an ARN, AWS's public parameters) are valid.
func TestSSMWatchRule(t *testing.T) {
	in := "watch:\n  - ssm: /web/release\n  - ssm: plain_name.v-1\n  - ssm: /web/release:3\n    name: pinned\n" +
		"  - ssm: arn:aws:ssm:us-east-1:123456789012:parameter/web/release\n    name: by-arn\n" +
		"  - ssm: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64\n    name: ami\n    command: /bin/true\n"
	c, err := Parse([]byte(in), "stackhand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Watch) != 5 || c.Watch[0].SSM != "/web/release" || c.Watch[0].Name != "ssm:/web/release" ||
		c.Watch[1].Name != "ssm:plain_name.v-1" || c.Watch[2].Name != "pinned" || c.Watch[0].Origin != "stackhand.yaml:2" {
		t.Errorf("rules %+v", c.Watch)
	}
	if !slices.Equal(c.Watch[0].On, []string{"add", "update", "remove"}) {
		t.Errorf("on %v, want all three changes", c.Watch[0].On)
	}
}

func TestWatchRuleMethods(t *testing.T) {
	r := WatchRule{On: []string{"add", "update"}}
	if !r.Fires(event.Add) || !r.Fires(event.Update) || r.Fires(event.Remove) {
		t.Error("Fires wrong for on: [add, update]")
	}
	if !(WatchRule{}).Fires(event.Remove) {
		t.Error("a rule without on should fire on everything")
	}
	for _, tt := range []struct {
		rule   WatchRule
		change event.ChangeKind
		want   event.Kind
	}{
		{WatchRule{}, event.Add, event.Deploy},
		{WatchRule{}, event.Update, event.Deploy},
		{WatchRule{}, event.Remove, event.Undeploy},
		{WatchRule{Event: "configure"}, event.Remove, event.Configure},
	} {
		if got := tt.rule.EventFor(tt.change); got != tt.want {
			t.Errorf("EventFor(%s) with event %q = %s, want %s", tt.change, tt.rule.Event, got, tt.want)
		}
	}
}

func TestEnabledFlags(t *testing.T) {
	f, tr := false, true
	c := Default()
	c.Heartbeat.Enabled = &f
	c.Metrics.Enabled = &tr
	if c.HeartbeatEnabled() || !c.MetricsEnabled() {
		t.Error("explicit enabled values not honoured")
	}
	c = Default()
	c.Mode = ModeLocal
	if c.HeartbeatEnabled() {
		t.Error("heartbeat on by default in local mode")
	}
}

func FuzzParseYAML(f *testing.F) {
	for _, name := range []string{"full.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &x [1]\nb: *x\nwatch: [{tag: t, on: *x}]\n"))
	f.Add([]byte("heartbeat: {<<: {namespace: X}}\n"))
	f.Add([]byte("interval: 1e9\nhook_env: {A: [1]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "/etc/stackhand/stackhand.yaml")
		if err == nil && c == nil {
			t.Fatal("nil config without an error")
		}
		if err != nil && c != nil {
			t.Fatal("config returned with an error")
		}
	})
}

func TestValidRegionsAndLogNames(t *testing.T) {
	in := "region: us-gov-west-1\nlogs:\n  files:\n    - file_path: /a\n      log_group_name: '/aws/app_1.prod#{stack}-{instance_id}/{file_name}'\n      log_stream_name: '{hostname} web {local_hostname} [{ip_address}] {x'\n"
	if _, err := Parse([]byte(in), "stackhand.yaml"); err != nil {
		t.Fatal(err)
	}
}

func TestWarningsResourceNoRuleReads(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"resource and a tag rule", "\nresource: AppServer\nwatch:\n  - tag: Release\n",
			`stackhand.yaml:2: resource "AppServer" is set but no watch rule reads its Metadata, so nothing watches it: add a rule with metadata: <key>, or remove resource`},
		{"resource and no rules", "resource: AppServer\n", `stackhand.yaml:1: resource "AppServer" is set but no watch rule reads its Metadata`},
		{"resource and a metadata rule", "resource: AppServer\nwatch:\n  - tag: Release\n  - metadata: release\n", ""},
		{"no resource", "watch:\n  - tag: Release\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in), "stackhand.yaml")
			if err != nil {
				t.Fatal(err)
			}
			w := c.Warnings()
			switch {
			case tt.want == "" && len(w) != 0:
				t.Errorf("Warnings() = %v, want none", w)
			case tt.want != "" && (len(w) != 1 || !strings.HasPrefix(w[0].String(), tt.want)):
				t.Errorf("Warnings() = %v, want one starting %q", w, tt.want)
			}
		})
	}
}

// TestLogNameTags: the tag keys log names ask for, once each, in order; a brace that is
// text does not hide the placeholder after it.
func TestLogNameTags(t *testing.T) {
	c := &Config{Logs: Logs{Files: []LogFile{
		{LogGroupName: "/app/{tag:Env}/{instance_id}", LogStreamName: "{tag:aws:autoscaling:groupName}-{tag:Env}"},
		{LogGroupName: "/x/{tag:{tag:Role}", LogStreamName: "{tag:}{tag:Team"},
	}}}
	if got, want := c.LogNameTags(), []string{"Env", "aws:autoscaling:groupName", "Role"}; !slices.Equal(got, want) {
		t.Errorf("LogNameTags() = %q, want %q", got, want)
	}
	for ph, want := range map[string]string{"{tag:Env}": "Env", "{tag:}": "", "{tag:a}b}": "", "{tags:Env}": "", "{tag:" + strings.Repeat("k", 129) + "}": ""} {
		if got, ok := LogNameTag(ph); got != want || ok != (want != "") {
			t.Errorf("LogNameTag(%q) = %q, %v; want %q", ph, got, ok, want)
		}
	}
}

// TestIdentity: an identity section turns IMDS off in mode aws; without one, or in a
// section left empty, the instance comes from IMDS as before.
func TestIdentity(t *testing.T) {
	for _, tc := range []struct {
		in     string
		noIMDS bool
		id     Identity
	}{
		{"identity:\n  instance_id: web-01.dc1\n  region: eu-west-1\n", true, Identity{InstanceID: "web-01.dc1", Region: "eu-west-1"}},
		{"region: eu-west-1\nidentity: {}\n", true, Identity{}},
		{"region: eu-west-1\nidentity:\n", false, Identity{}},
		{"region: eu-west-1\n", false, Identity{}},
	} {
		c, err := Parse([]byte(tc.in), "stackhand.yaml")
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if c.NoIMDS() != tc.noIMDS || c.Identity != tc.id {
			t.Errorf("%q: NoIMDS %v identity %+v, want %v %+v", tc.in, c.NoIMDS(), c.Identity, tc.noIMDS, tc.id)
		}
	}
}

// TestInstanceTags: the tags discovery reads are those log names and metric dimensions
// name, each once.
func TestInstanceTags(t *testing.T) {
	c, err := Parse([]byte("metrics:\n  append_dimensions:\n    Role: ${aws:tag/Role}\n    Env: ${aws:tag/Env}\n    Type: ${aws:InstanceType}\n"+
		"logs:\n  files:\n    - file_path: /a\n      log_group_name: /x/{tag:Env}\n"), "stackhand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.InstanceTags(), []string{"Env", "Role"}; !slices.Equal(got, want) {
		t.Errorf("InstanceTags() = %q, want %q", got, want)
	}
}

// TestAWSRegion: on a host without IMDS the region is identity's, or region's when
// identity names none; elsewhere it is region's (empty: the SDK finds it).
func TestAWSRegion(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"mode: aws\nregion: us-east-1\n", "us-east-1"},
		{"mode: aws\n", ""},
		{"mode: aws\nidentity:\n  instance_id: web-1\n  region: eu-west-1\n", "eu-west-1"},
		{"mode: aws\nregion: us-east-1\nidentity:\n  instance_id: web-1\n", "us-east-1"},
	} {
		cfg, err := Parse([]byte(c.yaml), "stackhand.yaml")
		if err != nil {
			t.Fatalf("%q: %v", c.yaml, err)
		}
		if got := cfg.AWSRegion(); got != c.want {
			t.Errorf("%q: AWSRegion %q, want %q", c.yaml, got, c.want)
		}
	}
}
