// Package cwagent translates the Amazon CloudWatch agent's JSON configuration (its agent,
// metrics and logs sections) into stackhand's logs and metrics sections, so that a fleet
// moving off the agent keeps its config and learns, key by key, what carried over. It is
// a pure function of the bytes: nothing is read from the machine or from AWS.
package cwagent

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/stackhand/stackhand/internal/config"
)

// Finding kinds.
const (
	Mapped      = "mapped"
	Unsupported = "unsupported"
	Error       = "error"
)

// Finding is what became of one key of the agent's configuration.
type Finding struct {
	Path   string // JSON path, e.g. "logs.logs_collected.files.collect_list[0].timestamp_format"
	Kind   string // Mapped, Unsupported or Error
	Detail string // mapped: to which stackhand key; unsupported: what to do instead; error: what is wrong and how to fix it
}

// String writes f as one line of a report: PATH: KIND: DETAIL.
func (f Finding) String() string { return f.Path + ": " + f.Kind + ": " + f.Detail }

// Result is the translation: stackhand's logs and metrics sections, and a finding for each
// key looked at, in document order.
type Result struct {
	Logs     config.Logs
	Metrics  config.Metrics
	Findings []Finding
}

// defaultInterval is the agent's metrics_collection_interval when none is written.
const defaultInterval = 60 * time.Second

// Translate reads the CloudWatch agent's JSON configuration; source names it in messages
// (a file path or ssm:NAME). Only JSON that does not parse, or is not an object, is an
// error: every other problem is a Finding, and the rest still translates.
func Translate(data []byte, source string) (*Result, error) {
	root, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s:%v", source, err)
	}
	if root.kind != kObject {
		return nil, fmt.Errorf("%s: the configuration is %s; the CloudWatch agent's is a JSON object with agent, metrics and logs sections", source, root.kind.name())
	}
	t := &translator{res: &Result{
		Logs:    config.Logs{ForceFlushInterval: config.Duration(5 * time.Second), Compression: "gzip"},
		Metrics: config.Metrics{Interval: config.Duration(defaultInterval), Namespace: "CWAgent"},
	}}
	// One interval serves every family in stackhand, so the global one must be known
	// before any plugin's own is compared with it, wherever the sections stand.
	t.interval = defaultInterval
	if v := root.get("agent").get("metrics_collection_interval"); v != nil {
		if d, ok := seconds(v); ok {
			t.interval = d
		}
	}
	if v := root.get("metrics").get("metrics_collection_interval"); v != nil {
		if d, ok := seconds(v); ok {
			t.interval = d
		}
	}
	t.res.Metrics.Interval = config.Duration(t.interval)
	t.res.Metrics.HighResolution = t.interval < time.Minute

	t.duplicates("", root)
	for i, k := range root.keys {
		v := root.vals[i]
		p := join("", k)
		switch k {
		case "agent":
			t.agent(p, v)
		case "metrics":
			t.metrics(p, v)
		case "logs":
			t.logs(p, v)
		case "traces":
			t.unsupported(p, "stackhand sends no X-Ray traces; keep the CloudWatch agent (or the X-Ray daemon) for traces")
		case "opentelemetry":
			t.unsupported(p, "stackhand has no OTLP pipeline; keep the CloudWatch agent or an OpenTelemetry collector for it")
		case "csm":
			t.unsupported(p, "client-side monitoring is not collected by stackhand; leave it to the CloudWatch agent")
		default:
			t.unknown(p)
		}
	}
	return t.res, nil
}

// translator carries the result and the findings while the document is walked.
type translator struct {
	res      *Result
	interval time.Duration // the global metrics_collection_interval
}

func (t *translator) add(path, kind, format string, args ...any) int {
	t.res.Findings = append(t.res.Findings, Finding{Path: path, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	return len(t.res.Findings) - 1
}

func (t *translator) mapped(path, format string, args ...any) int {
	return t.add(path, Mapped, format, args...)
}

func (t *translator) unsupported(path, format string, args ...any) int {
	return t.add(path, Unsupported, format, args...)
}

func (t *translator) errorf(path, format string, args ...any) int {
	return t.add(path, Error, format, args...)
}

// duplicates reports the keys written twice in one object, anywhere in the document,
// before the rest: which one counts is easy to misread.
func (t *translator) duplicates(path string, n *node) {
	for _, k := range n.dups {
		t.errorf(join(path, k), "is written more than once in one object; the agent keeps the last, and so does this translation: remove the others")
	}
	for i, k := range n.keys {
		t.duplicates(join(path, k), n.vals[i])
	}
	for i, it := range n.items {
		t.duplicates(fmt.Sprintf("%s[%d]", path, i), it)
	}
}

// dropped marks what the findings after at said was mapped, now that the entry or family
// at holds is left out: nothing of it reaches stackhand's config.
func (t *translator) dropped(at int) {
	for i := at + 1; i < len(t.res.Findings); i++ {
		if f := &t.res.Findings[i]; f.Kind == Mapped {
			f.Kind = Unsupported
			f.Detail = "not translated, as " + t.res.Findings[at].Path + " is left out: fix that, and this maps too"
		}
	}
}

func (t *translator) unknown(path string) {
	t.unsupported(path, "not a key stackhand knows of the CloudWatch agent's configuration; it is left out (check its spelling against the agent's documentation)")
}

// wrongType reports a value of the wrong JSON type, and whether it was one.
func (t *translator) wrongType(path string, v *node, want kind, example string) bool {
	if v.kind == want {
		return false
	}
	t.errorf(path, "is %s, expected %s; write it as %s", v.kind.name(), want.name(), example)
	return true
}

// seconds reads a whole, positive number of seconds.
func seconds(v *node) (time.Duration, bool) {
	if v.kind != kNumber {
		return 0, false
	}
	n, err := strconv.ParseInt(v.text, 10, 64)
	if err != nil || n <= 0 || n > 86400*365 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// secondsOr reports a malformed interval and returns whether v was one.
func (t *translator) secondsOr(path string, v *node) (time.Duration, bool) {
	d, ok := seconds(v)
	if !ok {
		t.errorf(path, "%s is not a whole number of seconds above 0; write e.g. 60", describe(v))
	}
	return d, ok
}

// describe shows a scalar as written, or names the kind of anything else.
func describe(v *node) string {
	switch v.kind {
	case kString:
		return strconv.Quote(v.text)
	case kNumber:
		return v.text
	case kBool:
		return strconv.FormatBool(v.b)
	}
	return v.kind.name()
}

// stringList reads a list of strings; a wrong entry is an error finding and is left out.
func (t *translator) stringList(path string, v *node) ([]string, bool) {
	if t.wrongType(path, v, kArray, `["a", "b"]`) {
		return nil, false
	}
	out := []string{}
	for i, it := range v.items {
		if it.kind != kString {
			t.errorf(fmt.Sprintf("%s[%d]", path, i), "is %s, expected a string; the entry is left out", it.kind.name())
			continue
		}
		out = append(out, it.text)
	}
	return out, true
}

func (t *translator) agent(path string, v *node) {
	if t.wrongType(path, v, kObject, `{"metrics_collection_interval": 60}`) {
		return
	}
	for i, k := range v.keys {
		p := join(path, k)
		val := v.vals[i]
		switch k {
		case "metrics_collection_interval":
			if d, ok := t.secondsOr(p, val); ok {
				detail := fmt.Sprintf("metrics.interval: %s", d)
				if d < time.Minute {
					detail += ", and metrics.high_resolution: true (the agent publishes high-resolution metrics below 60s)"
				}
				t.mapped(p, "%s", detail)
			}
		case "region":
			t.unsupported(p, "not part of the logs and metrics sections: write region: %s at the top of stackhand.yaml (in mode aws it is otherwise read from the instance metadata)", describe(val))
		case "credentials":
			t.unsupported(p, "stackhand uses the instance profile (or the SDK's default chain); to assume another role, give the instance profile's role that role's permissions or set AWS_ROLE_ARN/AWS_CONFIG_FILE in the service's environment")
		case "run_as_user":
			t.unsupported(p, "stackhand runs as its service's user (root, to run hooks); make the log files readable by it instead of choosing a user")
		case "logfile":
			t.unsupported(p, "stackhand writes its own log under log_dir in stackhand.yaml; set that instead")
		case "debug", "aws_sdk_log_level", "quiet":
			t.unsupported(p, "stackhand's log level is not part of its configuration file; leave it out")
		case "omit_hostname":
			t.mapped(p, "nothing to write: stackhand never adds a host dimension; its metrics carry metrics.append_dimensions (InstanceId by default)")
		case "usage_data", "user_agent", "use_dualstack_endpoint", "buffer_time", "internal":
			t.unsupported(p, "an agent-internal setting with no stackhand counterpart; leave it out")
		default:
			t.unknown(p)
		}
	}
}

// placeholders are the names the agent expands in log group and stream names; stackhand
// expands the same ones, so they pass through.
var placeholders = []string{"{instance_id}", "{hostname}", "{ip_address}", "{local_hostname}"}

// plainKey is a key a path can show after a dot; any other is shown as ["key"].
var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// join appends key to a JSON path.
func join(path, key string) string {
	switch {
	case !plainKey.MatchString(key):
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}
