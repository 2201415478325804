// Package config holds stackhand.yaml's schema, its defaults and its validation, and the
// reader for cfn-hup's configuration (cfnhup.go) that turns cfn-hup hooks into watch rules.
package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/stackhand/stackhand/internal/fleet"
	"go.yaml.in/yaml/v3"
)

// Modes of operation.
const (
	ModeAWS   = "aws"
	ModeLocal = "local"
)

// Config is a validated stackhand.yaml, with defaults applied.
type Config struct {
	// Path is the file the config was read from ("" when built in code).
	Path string `yaml:"-"`

	Mode     string      `yaml:"mode"`     // aws (default) or local
	Stack    string      `yaml:"stack"`    // stack name or ARN; discovered from tags in aws mode when empty
	Resource string      `yaml:"resource"` // logical id whose Metadata is watched
	Region   string      `yaml:"region"`
	Interval Duration    `yaml:"interval"` // how often sources poll; default 60s
	Watch    []WatchRule `yaml:"watch"`
	// Apps are the apps released on this instance (see package release); each adds
	// implicit watch rules named app:<name> (and app:<name>:sha256) to Watch.
	Apps     []App             `yaml:"apps"`
	HooksDir string            `yaml:"hooks_dir"`
	StateDir string            `yaml:"state_dir"`
	LogDir   string            `yaml:"log_dir"`
	Timeouts Timeouts          `yaml:"timeouts"`
	HookEnv  map[string]string `yaml:"hook_env"`
	// ShutdownGrace bounds how long an event that is running when a shutdown arrives may go on.
	ShutdownGrace Duration `yaml:"shutdown_grace"`
	// KillGrace is the time between SIGTERM and SIGKILL when a hook's process tree is ended.
	KillGrace Duration `yaml:"kill_grace"`
	// AWSTimeout is how long one attempt of an AWS call waits for the answer to start once
	// the request is sent; an operation with its retries gets four of it. Default 30s.
	AWSTimeout Duration  `yaml:"aws_timeout"`
	Local      Local     `yaml:"local"`
	Lifecycle  Lifecycle `yaml:"lifecycle"`

	Heartbeat Heartbeat `yaml:"heartbeat"`
	Health    Health    `yaml:"health"`
	Metrics   Metrics   `yaml:"metrics"`
	Logs      Logs      `yaml:"logs"`
	// Notifications says where event results, health verdicts and alarm changes go
	// besides the agent's log (mode aws; mode local always writes local.dir/events.jsonl).
	Notifications Notifications `yaml:"notifications"`
	// Identity names a host that has no instance metadata service (on premises, another
	// cloud, a container) in mode aws: with it the agent asks IMDS nothing.
	Identity Identity `yaml:"identity"`

	// Umask is applied to the agent (and so to its hooks) when set; from cfn-hup's [main] umask.
	Umask *uint32 `yaml:"-"`
	// CredentialFile and Role come from cfn-hup's [main] and are used by the AWS sources.
	CredentialFile string `yaml:"-"`
	Role           string `yaml:"-"`
	// Verbose comes from cfn-hup's [main]: what cfn-hup -v showed (each cfn-hup hook's value
	// stored without running its action) is logged at info.
	Verbose bool `yaml:"-"`
	// CfnHupOnly is set for a drop-in: no stackhand.yaml, only cfn-hup's configuration.
	// Such a setup never had a hooks directory, so a missing one is not worth a warning.
	CfnHupOnly bool `yaml:"-"`
	// CWAgentParameter is the Parameter Store parameter the logs and metrics sections were
	// read from (run --cwagent-config ssm:NAME), and CWAgentVersion its version then: the
	// agent reloads when the version changes.
	CWAgentParameter string `yaml:"-"`
	CWAgentVersion   int64  `yaml:"-"`
	// CfnHupDataDir is where cfn-hup kept metadata_db.json; set when cfn-hup's
	// configuration is read, so that the first start adopts what cfn-hup already ran.
	CfnHupDataDir string `yaml:"-"`
	// CloudFormationURL overrides the CloudFormation endpoint; from cfn-hup's [main] url.
	CloudFormationURL string `yaml:"-"`

	// set maps every key written in the file ("interval", "heartbeat.alarm.action",
	// "watch[0].on") to its line; nil for a Config built in code.
	set map[string]int
}

// WatchRule is one watched value and what to run when it changes.
// Exactly one of Metadata, Path, Tag and SSM is set.
type WatchRule struct {
	Name string `yaml:"name"` // unique; defaults to the path or tag
	// Metadata is a dotted path inside the Metadata of Config.Resource, e.g. "release" or
	// "AWS::CloudFormation::Init.config".
	Metadata string `yaml:"metadata"`
	// Path is a full cfn-hup path: Resources.<LogicalId>[.Metadata[.<sub.path>]|.PhysicalResourceId].
	Path string `yaml:"path"`
	// Tag is an instance tag key.
	Tag string `yaml:"tag"`
	// SSM is the name of a Systems Manager Parameter Store parameter ("/web/release"),
	// read with ssm:GetParameter every interval; a new version of it is a change, even
	// with the same value. Mode local reads it from ssm.json.
	SSM string `yaml:"ssm"`
	// On lists the changes that fire: add, update, remove. Default: all three.
	On []string `yaml:"on"`
	// Event is the lifecycle event to run; default deploy for add/update and undeploy for remove.
	Event string `yaml:"event"`
	// Command, when set, is run by /bin/sh -c (cmd /C on Windows) instead of hooks.d/<event>/.
	Command string `yaml:"command"`
	// RunAs is the user the command runs as (Linux); default the agent's user.
	RunAs string `yaml:"runas"`
	// Timeout of the command; default the event's timeout.
	Timeout Duration `yaml:"timeout"`

	// Rollout, when set, rolls a new value out over the online peers in waves (package
	// fleet): this instance applies it only once the earlier waves have it, healthy.
	Rollout *Rollout `yaml:"rollout"`

	// Signal, when set, tells CloudFormation each time this instance applied a new value
	// of the rule (SUCCESS) or failed to (FAILURE), as cfn-signal would.
	Signal *Signal `yaml:"signal"`
	// Silent marks an implicit rule that only keeps its value for another rule (the URL
	// of a signal's wait handle): it never fires.
	Silent bool `yaml:"-"`

	// App names the app whose revision (or sha256 reference) this implicit rule watches;
	// "" for the rules written under watch.
	App string `yaml:"-"`
	// CfnHup marks a rule read from a cfn-hup hooks file; its command gets CFN_OLD_*/CFN_NEW_*.
	CfnHup bool `yaml:"-"`
	// Origin is "file:line" of the rule, for messages.
	Origin string `yaml:"-"`
}

// App is one app released on this instance: its revision is watched like a watch rule,
// and a deploy event fetches, unpacks and switches to it (package release).
type App struct {
	Name string `yaml:"name"`
	// Revision says where the revision to deploy is read.
	Revision ValueRef `yaml:"revision"`
	// Source is where a revision is fetched; {revision} is replaced by it.
	Source string `yaml:"source"`
	// SHA256 is the expected digest of what Source gives: a literal, or where to read it.
	SHA256 SHA256Ref `yaml:"sha256"`
	// DeployTo holds releases/, shared/ and the current link.
	DeployTo string `yaml:"deploy_to"`
	// KeepReleases is how many releases are kept; default 5.
	KeepReleases int      `yaml:"keep_releases"`
	Shared       []string `yaml:"shared"`
	// Owner owns each release's files and runs its release hooks; "" leaves them to root
	// and runs no release hooks.
	Owner  string    `yaml:"owner"`
	Checks AppChecks `yaml:"checks"`
	// RollbackOnFailure switches current back when the checks or a hook after the switch
	// fail; default true.
	RollbackOnFailure *bool `yaml:"rollback_on_failure"`
	// ReleaseHooks runs <release>/.stackhand/hooks/<phase>/ as Owner.
	ReleaseHooks bool `yaml:"release_hooks"`
	// Rollout rolls a new revision out in waves, as on a watch rule.
	Rollout *Rollout `yaml:"rollout"`
	// Signal tells CloudFormation of each revision applied, as on a watch rule.
	Signal *Signal `yaml:"signal"`

	// Origin is "file:line" of the app, for messages.
	Origin string `yaml:"-"`
}

// Rollback reports rollback_on_failure with its default (true).
func (a App) Rollback() bool { return a.RollbackOnFailure == nil || *a.RollbackOnFailure }

// RuleName is the name of the implicit watch rule that watches the app's revision.
func (a App) RuleName() string { return AppRulePrefix + a.Name }

// SHA256RuleName is the name of the implicit watch rule that watches the app's sha256
// reference (when it is not a literal).
func (a App) SHA256RuleName() string { return AppRulePrefix + a.Name + ":sha256" }

// ValueRef says where a value is read: exactly one of its fields is set.
type ValueRef struct {
	// Metadata is a full path (Resources.<LogicalId>.Metadata.<key>...) or a dotted path
	// inside the Metadata of Config.Resource.
	Metadata string `yaml:"metadata"`
	Tag      string `yaml:"tag"`
	SSM      string `yaml:"ssm"`
}

// IsZero reports whether nothing is set.
func (v ValueRef) IsZero() bool { return v == ValueRef{} }

// SHA256Ref is an app's sha256: a literal hex digest, or a ValueRef to read it from.
type SHA256Ref struct {
	Literal string
	From    ValueRef
}

// UnmarshalYAML reads a scalar as the literal and a mapping as From.
func (s *SHA256Ref) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		s.Literal = n.Value
		return nil
	}
	return n.Decode(&s.From)
}

// AppChecks is the gate after an app's switch.
type AppChecks struct {
	HTTP   string   `yaml:"http"`   // polled until it answers 2xx
	Within Duration `yaml:"within"` // 60s
}

// Timeouts bounds each hook of an event.
type Timeouts struct {
	Default   Duration `yaml:"default"` // 30m
	Setup     Duration `yaml:"setup"`
	Configure Duration `yaml:"configure"`
	Deploy    Duration `yaml:"deploy"`
	Undeploy  Duration `yaml:"undeploy"`
	Shutdown  Duration `yaml:"shutdown"` // 2m, OpsWorks's default shutdown timeout
	Health    Duration `yaml:"health"`
}

// Lifecycle configures how the agent follows its instance's end (aws mode).
type Lifecycle struct {
	// HookName is the Auto Scaling lifecycle hook (EC2_INSTANCE_TERMINATING) the agent keeps
	// alive while the shutdown hooks run and then completes; found with
	// DescribeLifecycleHooks when empty.
	HookName string `yaml:"hook_name"`
	// AbandonOnFailure completes the lifecycle action with ABANDON when a shutdown hook
	// fails; the default is CONTINUE.
	AbandonOnFailure bool `yaml:"abandon_on_failure"`
	// RebalanceEvent is the event run on an EC2 rebalance recommendation (configure,
	// deploy or undeploy); empty runs nothing.
	RebalanceEvent string `yaml:"rebalance_event"`
	// PollInterval is how often IMDS is asked for the lifecycle state and spot notices; 5s.
	PollInterval Duration `yaml:"poll_interval"`
	// FlushTimeout bounds the final flush after the shutdown hooks of a terminating
	// instance (its last log lines and metrics, before the lifecycle action completes);
	// 60s. A spot interruption's stop time bounds it too.
	FlushTimeout Duration `yaml:"flush_timeout"`
}

// Local configures mode: local.
type Local struct {
	Dir string `yaml:"dir"` // holds instance.json, metadata.json, tags.json, peers.json, lifecycle
	// FleetDir is a directory several agents on one machine share: each publishes its
	// state there as <instance-id>.json and reads its peers' (the local stand-in for
	// instance tags), and `stackhand fleet hold` writes hold there.
	FleetDir string `yaml:"fleet_dir"`
}

// Signal is where a rule's results are signalled: a WaitConditionHandle whose presigned URL
// is read from WaitHandle, or the resource (of the config's stack) that
// cloudformation:SignalResource signals. The signal's unique id is the instance id.
type Signal struct {
	WaitHandle ValueRef `yaml:"wait_handle"`
	Resource   string   `yaml:"resource"`
}

// SignalRulePrefix starts the names of the implicit rules that read the URL of a signal's
// wait handle: signal:<rule>.
const SignalRulePrefix = "signal:"

// Rollout is a rollout in waves (config rollout: on a watch rule or an app).
type Rollout struct {
	// Waves are cumulative sizes: counts, then percentages of the online peers, ending at
	// 100%, e.g. [1, 10%, 50%, 100%].
	Waves []string `yaml:"waves"`
	// Bake is how long every instance of a wave must have applied the value, healthy,
	// before the next wave starts; default 0.
	Bake Duration `yaml:"bake"`
	// MaxFailed is how many instances of earlier waves may fail the value before the
	// later waves hold; default 0.
	MaxFailed int `yaml:"max_failed"`

	// Steps are Waves parsed.
	Steps []fleet.Step `yaml:"-"`
}

// Fleet is what package fleet needs of r.
func (r *Rollout) Fleet() fleet.Rollout {
	return fleet.Rollout{Waves: r.Steps, Bake: r.Bake.D(), MaxFailed: r.MaxFailed}
}

// Heartbeat configures the CloudWatch heartbeat and its alarm.
type Heartbeat struct {
	Enabled   *bool    `yaml:"enabled"`   // default true in aws mode
	Interval  Duration `yaml:"interval"`  // 60s
	Namespace string   `yaml:"namespace"` // Stackhand
	Alarm     Alarm    `yaml:"alarm"`
}

// Identity is what the agent would otherwise read from IMDS, for a host without it.
type Identity struct {
	// InstanceID names the host wherever an instance id would: the InstanceId dimension,
	// the heartbeat alarm, {instance_id} in log names. Default: the host name.
	InstanceID string `yaml:"instance_id"`
	// Region is the AWS region the agent calls; default: region.
	Region string `yaml:"region"`
}

// NoIMDS reports whether the configuration names the host itself (an identity section)
// instead of reading the instance metadata service.
func (c *Config) NoIMDS() bool { return c.Mode == ModeAWS && c.IsSet("identity") }

// AWSRegion is the region the AWS clients are set up for: identity's on a host without
// IMDS that names one, else region (empty: the SDK's own lookup, IMDS included).
func (c *Config) AWSRegion() string {
	if c.NoIMDS() && c.Identity.Region != "" {
		return c.Identity.Region
	}
	return c.Region
}

// Alarm configures the per-instance heartbeat alarm.
type Alarm struct {
	Action  string `yaml:"action"`  // reboot | recover | none | an SNS topic ARN; default none
	Periods int    `yaml:"periods"` // 5
}

// Health configures health checks.
type Health struct {
	Interval Duration      `yaml:"interval"` // 30s
	Timeout  Duration      `yaml:"timeout"`  // 10s
	Failures int           `yaml:"failures"` // 3
	Checks   []HealthCheck `yaml:"checks"`
}

// HealthCheck is one HTTP or TCP check; exactly one of HTTP and TCP is set.
type HealthCheck struct {
	Name string `yaml:"name"`
	HTTP string `yaml:"http"` // URL; 2xx/3xx is healthy
	TCP  string `yaml:"tcp"`  // host:port
}

// Notifications configures publishing to EventBridge.
type Notifications struct {
	// EventBridge publishes every notification with PutEvents (source "stackhand").
	EventBridge bool `yaml:"eventbridge"`
	// EventBus is the bus name or ARN; "default" when empty.
	EventBus string `yaml:"event_bus"`
}

// Metrics configures memory/disk/CPU metrics.
type Metrics struct {
	Enabled           *bool    `yaml:"enabled"`   // default false
	Interval          Duration `yaml:"interval"`  // 60s
	Namespace         string   `yaml:"namespace"` // CWAgent
	HighResolution    bool     `yaml:"high_resolution"`
	IgnoreFileSystems []string `yaml:"ignore_file_system_types"`
	// AppendDimensions are the dimensions every metric gets besides its family's, by name:
	// the CloudWatch agent's ${aws:InstanceId}, ${aws:InstanceType}, ${aws:ImageId} and
	// ${aws:AutoScalingGroupName}, and ${aws:tag/KEY} (an extension). Unset:
	// {InstanceId: ${aws:InstanceId}}.
	AppendDimensions map[string]string `yaml:"append_dimensions"`
	// AggregationDimensions are the CloudWatch agent's aggregation_dimensions: each set
	// publishes every metric that has all its dimensions once more, with those
	// dimensions only ([] publishes it with none), so CloudWatch aggregates across the
	// instances that share them. Each metric is still published with all its own.
	AggregationDimensions [][]string `yaml:"aggregation_dimensions"`

	// The CloudWatch agent's metrics_collected families beyond memory, swap, disk and the
	// total cpu_usage_active, each off unless its key is written ("netstat: {}" turns one
	// on with every measurement).
	CPU       *MetricsCPU       `yaml:"cpu"`
	DiskIO    *MetricsDevices   `yaml:"diskio"`
	Net       *MetricsDevices   `yaml:"net"`
	Netstat   *MetricsFields    `yaml:"netstat"`
	Processes *MetricsFields    `yaml:"processes"`
	Procstat  []MetricsProcstat `yaml:"procstat"`
}

// MetricsCPU is metrics.cpu: every usage_* figure, in total and, with resources ["*"],
// per core.
type MetricsCPU struct {
	Resources   []string      `yaml:"resources"` // ["*"]: per core; [] or unset: none
	TotalCPU    *bool         `yaml:"totalcpu"`  // default true
	Measurement []Measurement `yaml:"measurement"`
}

// MetricsDevices is metrics.diskio or metrics.net: one series per device or interface.
type MetricsDevices struct {
	Resources   []string      `yaml:"resources"` // names, or ["*"] (the default) for all
	Measurement []Measurement `yaml:"measurement"`
}

// MetricsFields is metrics.netstat or metrics.processes.
type MetricsFields struct {
	Measurement []Measurement `yaml:"measurement"`
}

// MetricsProcstat is one metrics.procstat entry: the processes one of pid_file, exe or
// pattern finds.
type MetricsProcstat struct {
	PidFile     string        `yaml:"pid_file"`
	Exe         string        `yaml:"exe"`
	Pattern     string        `yaml:"pattern"`
	Measurement []Measurement `yaml:"measurement"`
}

// Measurement is one entry of a measurement list: a name ("usage_idle" or
// "cpu_usage_idle"), or a mapping {name, rename, unit} as in the CloudWatch agent's config.
type Measurement struct {
	Name   string `yaml:"name"`
	Rename string `yaml:"rename"`
	Unit   string `yaml:"unit"`
}

// UnmarshalYAML reads a scalar as the name and a mapping as the three keys.
func (m *Measurement) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*m = Measurement{Name: n.Value}
		return nil
	}
	type plain Measurement
	return n.Decode((*plain)(m))
}

// Logs configures log shipping; names follow the CloudWatch agent's collect_list.
type Logs struct {
	ForceFlushInterval Duration `yaml:"force_flush_interval"` // 5s
	// Compression is how PutLogEvents bodies go on the wire, for each entry that does
	// not say: one of Compressions, gzip by default. (stackhand's own key: the
	// CloudWatch agent has none.)
	Compression string    `yaml:"compression"`
	Files       []LogFile `yaml:"files"`
	// Journald are the systemd journal's entries to ship (Linux).
	Journald []Journal `yaml:"journald"`
	// WindowsEvents are Windows event log channels to ship (Windows).
	WindowsEvents []WinEvents `yaml:"windows_events"`
}

// Journal is one logs.journald entry: the journal entries that go to one log stream,
// chosen by unit, priority and field matches, as journalctl chooses them.
type Journal struct {
	// Units are systemd units, as journalctl -u takes them ("nginx" is nginx.service);
	// none: every unit, and entries of no unit.
	Units []string `yaml:"units"`
	// Priority is the least urgent priority shipped: emerg, alert, crit, err, warning,
	// notice, info (the default, as the CloudWatch agent's) or debug, or 0 to 7.
	Priority string `yaml:"priority"`
	// Matches are journal field matches: an entry is shipped when it holds every
	// FIELD=value of one of them (journalctl's FIELD=value terms joined by +).
	Matches []map[string]string `yaml:"matches"`
	// Filters are include and exclude regular expressions on the message, as a file's.
	Filters []LogFilter `yaml:"filters"`
	// Directory is a journal directory to read instead of the system journal (the
	// journal of another root, or files another host sent).
	Directory string `yaml:"directory"`
	// StartAt is where a first start reads from: boot (the default: this boot's
	// entries), beginning (all the journal holds) or end (only new entries). A restart
	// goes on from its checkpoint whatever it says.
	StartAt         string `yaml:"start_at"`
	LogGroupName    string `yaml:"log_group_name"`
	LogStreamName   string `yaml:"log_stream_name"` // default {instance_id}
	RetentionInDays int    `yaml:"retention_in_days"`
	Compression     string `yaml:"compression"`
}

// JournalStarts are the values of a logs.journald entry's start_at.
var JournalStarts = []string{"boot", "beginning", "end"}

// JournalPriorities are the journal's priorities by number, as journalctl -p names them.
var JournalPriorities = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// Compressions are the values of logs.compression and of an entry's compression: gzip
// at level 1, gzip with Huffman coding only, and plain JSON.
var Compressions = []string{"gzip", "huffman", "none"}

// LogFile is one collect_list entry.
type LogFile struct {
	FilePath              string      `yaml:"file_path"`
	LogGroupName          string      `yaml:"log_group_name"`
	LogStreamName         string      `yaml:"log_stream_name"` // default {instance_id}
	RetentionInDays       int         `yaml:"retention_in_days"`
	MultiLineStartPattern string      `yaml:"multi_line_start_pattern"`
	TimestampFormat       string      `yaml:"timestamp_format"` // Go layout; empty = arrival time
	Encoding              string      `yaml:"encoding"`         // utf-8
	Filters               []LogFilter `yaml:"filters"`
	FromBeginning         *bool       `yaml:"from_beginning"` // default true
	// Compression overrides logs.compression for this entry's streams; validation
	// fills it in from logs.compression when it is not written.
	Compression string `yaml:"compression"`
}

// LogFilter is an include or exclude regular expression.
type LogFilter struct {
	Type       string `yaml:"type"` // include | exclude
	Expression string `yaml:"expression"`
}

// Duration is a time.Duration written as "90s", "5m" or "1h" in YAML.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns d as time.Duration writes it ("1m30s").
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML reads a duration written as Go's time.ParseDuration reads it ("90s", "5m").
// A bare number is refused, since its unit would be a guess, and so is a negative duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, msg := parseDuration(n)
	if msg != "" {
		// A *yaml.TypeError lets the decoder go on and report the other problems too.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
	}
	*d = v
	return nil
}

// MarshalYAML writes d as "1m30s", which UnmarshalYAML reads back.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// parseDuration reads a duration node; msg says what is wrong and how to write it instead.
func parseDuration(n *yaml.Node) (d Duration, msg string) {
	if n.Kind != yaml.ScalarNode {
		return 0, "expected a duration such as \"90s\" or \"5m\", not " + kindName(n)
	}
	if n.Tag == "!!int" || n.Tag == "!!float" {
		return 0, fmt.Sprintf("%s is a bare number; write the unit too, e.g. \"%ss\" or \"%sm\"", n.Value, n.Value, n.Value)
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		return 0, fmt.Sprintf("%q is not a duration; write e.g. \"90s\", \"5m\" or \"1h30m\"", n.Value)
	}
	if v < 0 {
		return 0, fmt.Sprintf("%q is negative; a duration here must be 0 or more", n.Value)
	}
	return Duration(v), ""
}
