package config

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stackhand/stackhand/internal/cfnpath"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/fleet"
)

// CfnHupPrefix starts the names of the rules read from cfn-hup's hooks; stackhand.yaml may
// not use it, so that those names never clash.
const CfnHupPrefix = "cfn-hup:"

// retentionDays are the values CloudWatch Logs accepts for a log group's retention
// (PutRetentionPolicy); 0 leaves the group's retention alone.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

var (
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// The topic name's length (1 to 256) is checked apart: a bounded repeat of 256 compiles
	// to a regexp program of hundreds of kilobytes, held for the agent's life.
	snsARNRE = regexp.MustCompile(`^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$`)
)

// validate checks the decoded config and fills the defaults of watch rules and health checks.
func (l *loader) validate(c *Config) {
	switch c.Mode {
	case ModeAWS:
	case ModeLocal:
		if c.Local.Dir == "" {
			l.validf(l.line("mode"), "mode is local but local.dir is not set: add local: {dir: <directory holding instance.json, metadata.json, tags.json, peers.json>}")
		}
	default:
		l.validf(l.line("mode"), "mode %q is not known: use aws (the default) or local", c.Mode)
	}
	if c.Local.FleetDir != "" && c.Mode != ModeLocal {
		l.validf(l.line("local.fleet_dir"), "local.fleet_dir is set but mode is %s: in mode aws instances publish their state as their own tags; remove local.fleet_dir", c.Mode)
	}
	if c.Interval.D() < time.Second {
		l.validf(l.line("interval"), "interval %s is too short: sources poll at most once a second; write e.g. \"60s\"", c.Interval)
	}
	if c.AWSTimeout.D() < time.Second {
		l.validf(l.line("aws_timeout"), "aws_timeout %s is too short: an AWS call needs at least 1s to answer; write e.g. \"30s\"", c.AWSTimeout)
	}
	if c.Region != "" && !regionRE.MatchString(c.Region) {
		l.validf(l.line("region"), "region %q is not an AWS region name (lower-case words and a number joined by -, e.g. us-east-1); fix it, or leave region out to use the instance's", c.Region)
	}
	l.validateWatch(c)
	l.validateApps(c)
	if c.Mode == ModeLocal && c.Local.FleetDir == "" {
		for _, r := range c.Watch {
			if r.Rollout != nil {
				l.validf(l.line("local"), "%s has a rollout but local.fleet_dir is not set: in mode local the agents of a fleet publish their state in a directory they share; set local.fleet_dir", ruleWhat(r))
				break
			}
		}
		for _, a := range c.Apps {
			if a.Rollout != nil {
				l.validf(l.line("local"), "app %s has a rollout but local.fleet_dir is not set: in mode local the agents of a fleet publish their state in a directory they share; set local.fleet_dir", a.Name)
				break
			}
		}
	}
	l.validateHookEnv(c)
	switch c.Lifecycle.RebalanceEvent {
	case "", string(event.Configure), string(event.Deploy), string(event.Undeploy):
	default:
		l.validf(l.line("lifecycle.rebalance_event"), "lifecycle.rebalance_event %q: use configure, deploy or undeploy, or leave it out to run nothing", c.Lifecycle.RebalanceEvent)
	}
	if d := c.Lifecycle.FlushTimeout.D(); d <= 0 || d > time.Hour {
		l.validf(l.line("lifecycle.flush_timeout"), "lifecycle.flush_timeout %s is not between 1s and 1h: write e.g. \"60s\"", c.Lifecycle.FlushTimeout)
	}
	if c.Lifecycle.PollInterval.D() < time.Second {
		l.validf(l.line("lifecycle.poll_interval"), "lifecycle.poll_interval %s is too short: write e.g. \"5s\"", c.Lifecycle.PollInterval)
	}

	for _, t := range []struct {
		key string
		d   Duration
	}{
		{"default", c.Timeouts.Default}, {"setup", c.Timeouts.Setup}, {"configure", c.Timeouts.Configure},
		{"deploy", c.Timeouts.Deploy}, {"undeploy", c.Timeouts.Undeploy}, {"shutdown", c.Timeouts.Shutdown},
		{"health", c.Timeouts.Health},
	} {
		if c.IsSet("timeouts."+t.key) && t.d <= 0 {
			l.validf(l.line("timeouts."+t.key), "timeouts.%s must be more than 0s; leave it out to use timeouts.default", t.key)
		}
	}

	l.validateIdentity(c)
	l.validateHeartbeat(c)
	l.validateHealth(c)
	l.validateMetrics(c)
	l.validateAppendDimensions(c)
	l.validateAggregationDimensions(c)
	l.validateLogs(c)
	l.validateNotifications(c)
}

func (l *loader) validateWatch(c *Config) {
	names := map[string]int{} // name → index of the rule that has it
	for i := range c.Watch {
		r := &c.Watch[i]
		p := fmt.Sprintf("watch[%d]", i)
		line := l.line(p)
		r.Origin = origin(l.file, line)

		var what []string
		if r.Metadata != "" {
			what = append(what, "metadata")
		}
		if r.Path != "" {
			what = append(what, "path")
		}
		if r.Tag != "" {
			what = append(what, "tag")
		}
		if r.SSM != "" {
			what = append(what, "ssm")
		}
		switch len(what) {
		case 0:
			l.validf(line, "%s watches nothing: set one of metadata (a key in the resource's Metadata), path (Resources.<LogicalId>...), tag (an instance tag key) or ssm (a Parameter Store parameter name)", p)
		case 1:
		default:
			l.validf(line, "%s sets %s; a rule watches one thing: keep one and move the others to rules of their own", p, strings.Join(what, " and "))
		}
		defName := ""
		switch {
		case r.Metadata != "":
			defName = r.Metadata
			if _, err := cfnpath.ParseSub(r.Metadata); err != nil {
				l.validf(l.line(p+".metadata"), "%s.metadata: %v", p, err)
			}
			// In aws mode an empty resource is the instance's aws:cloudformation:logical-id
			// tag, found at start.
		case r.Path != "":
			defName = r.Path
			if _, err := cfnpath.Parse(r.Path); err != nil {
				l.validf(l.line(p+".path"), "%s.path: %v", p, err)
			}
		case r.Tag != "":
			defName = "tag:" + r.Tag
			if len(r.Tag) > 128 {
				l.validf(l.line(p+".tag"), "%s.tag is %d characters long; EC2 tag keys have at most 128", p, len(r.Tag))
			}
		case r.SSM != "":
			defName = "ssm:" + r.SSM
			if err := checkParameterName(r.SSM); err != nil {
				l.validf(l.line(p+".ssm"), "%s.ssm %q: %v", p, r.SSM, err)
			}
		}

		if !c.IsSet(p + ".on") {
			r.On = slices.Clone(allChanges)
		} else if len(r.On) == 0 {
			l.validf(l.line(p+".on"), "%s.on is empty, so the rule would never fire; list some of add, update, remove, or leave on out for all three", p)
		}
		seen := map[string]bool{}
		for j, on := range r.On {
			ln := l.line(fmt.Sprintf("%s.on[%d]", p, j))
			switch {
			case !slices.Contains(allChanges, on):
				l.validf(ln, "%s.on: %q is not a change; use add, update or remove (cfn-hup's post.add, post.update, post.remove)", p, on)
			case seen[on]:
				l.validf(ln, "%s.on lists %q twice", p, on)
			}
			seen[on] = true
		}
		if r.Event != "" {
			switch event.Kind(r.Event) {
			case event.Configure, event.Deploy, event.Undeploy:
			default:
				l.validf(l.line(p+".event"), "%s.event %q cannot be run by a watch rule; use configure, deploy or undeploy (or leave it out: deploy on add and update, undeploy on remove)", p, r.Event)
			}
		}
		if r.RunAs != "" && r.Command == "" {
			l.validf(l.line(p+".runas"), "%s.runas is set without command; runas is the user the command runs as (hooks in hooks.d run as the agent's user)", p)
		}
		if c.IsSet(p + ".timeout") {
			switch {
			case r.Command == "":
				l.validf(l.line(p+".timeout"), "%s.timeout is set without command; it bounds the command (hooks in hooks.d use timeouts.<event>)", p)
			case r.Timeout <= 0:
				l.validf(l.line(p+".timeout"), "%s.timeout must be more than 0s; leave it out to use the event's timeout", p)
			}
		}

		l.checkRollout(p, r.Rollout)
		l.checkSignal(c, p, r.Signal)

		if r.Name == "" {
			r.Name = defName
		} else if strings.HasPrefix(r.Name, CfnHupPrefix) {
			l.validf(l.line(p+".name"), "%s.name %q: names starting with %q are kept for the hooks read from cfn-hup's hooks.d; choose another name", p, r.Name, CfnHupPrefix)
		} else if strings.HasPrefix(r.Name, SignalRulePrefix) {
			l.validf(l.line(p+".name"), "%s.name %q: names starting with %q are kept for the rules that read the URLs of wait handles; choose another name", p, r.Name, SignalRulePrefix)
		} else if strings.HasPrefix(r.Name, AppRulePrefix) {
			l.validf(l.line(p+".name"), "%s.name %q: names starting with %q are kept for the rules that watch the revisions of apps; choose another name", p, r.Name, AppRulePrefix)
		}
		if r.Name == "" {
			continue
		}
		if j, dup := names[r.Name]; dup {
			l.validf(line, "%s is named %q like watch[%d] (line %d); give each rule its own name: set name", p, r.Name, j, l.line(fmt.Sprintf("watch[%d]", j)))
		} else {
			names[r.Name] = i
		}
	}
}

// checkSignal checks p.signal: a wait handle to read, or a resource to signal, not both.
func (l *loader) checkSignal(c *Config, p string, sg *Signal) {
	if sg == nil {
		return
	}
	p += ".signal"
	switch {
	case sg.WaitHandle.IsZero() && sg.Resource == "":
		l.validf(l.line(p), "%s says nothing to signal: set wait_handle (where the WaitConditionHandle's URL is read, e.g. {metadata: wait_handle}) or resource (a logical id for cloudformation:SignalResource)", p)
	case !sg.WaitHandle.IsZero() && sg.Resource != "":
		l.validf(l.line(p), "%s sets wait_handle and resource; a signal goes to one of them: keep one", p)
	case !sg.WaitHandle.IsZero():
		l.checkRef(c, p+".wait_handle", sg.WaitHandle)
	case c.Mode == ModeLocal:
		l.validf(l.line(p+".resource"), "%s.resource: mode local cannot call cloudformation:SignalResource; use wait_handle (any URL, a local HTTP server in tests)", p)
	}
}

// ruleWhat names a watch rule in a message.
func ruleWhat(r WatchRule) string { return "watch rule " + r.Name }

// checkRollout parses and checks p.rollout: its waves (counts then percentages, growing,
// ending at 100%), bake and max_failed.
func (l *loader) checkRollout(p string, r *Rollout) {
	if r == nil {
		return
	}
	p += ".rollout"
	if len(r.Waves) == 0 {
		l.validf(l.line(p), "%s has no waves: list the cumulative wave sizes, counts then percentages of the online peers, ending at 100%%, e.g. waves: [1, 10%%, 100%%]", p)
		return
	}
	r.Steps = nil
	bad := false
	for i, w := range r.Waves {
		st, err := fleet.ParseStep(w)
		if err != nil {
			l.validf(l.line(fmt.Sprintf("%s.waves[%d]", p, i)), "%s.waves[%d]: %v", p, i, err)
			bad = true
			continue
		}
		r.Steps = append(r.Steps, st)
	}
	if !bad {
		if err := fleet.ValidateWaves(r.Steps); err != nil {
			l.validf(l.line(p+".waves"), "%s.waves: %v", p, err)
		}
	}
	if r.Bake < 0 {
		l.validf(l.line(p+".bake"), "%s.bake must not be negative; leave it out for no bake time", p)
	}
	if r.MaxFailed < 0 {
		l.validf(l.line(p+".max_failed"), "%s.max_failed must not be negative; 0 (the default) holds the later waves at the first failure", p)
	}
}

// maxParameterName is the longest name GetParameter's Name member takes (the SDK's
// api_op_GetParameter.go; the parameter-name page of the Systems Manager user guide:
// 2048 characters including an ARN's prefix).
const maxParameterName = 2048

// parameterNameRE is what a parameter name may hold (PutParameter's naming constraints:
// a-zA-Z0-9_.- and / between the levels of a hierarchy), with an optional ":<version>"
// or ":<label>" selector, which GetParameter accepts. Names under /aws/ are AWS's public
// parameters (the latest AMI ids, say), which may be read though not created.
var parameterNameRE = regexp.MustCompile(`^[A-Za-z0-9_.\-/]+(:[A-Za-z0-9_.\-]+)?$`)

// checkParameterName says what is wrong with a parameter name GetParameter would refuse:
// an ARN (arn:aws:ssm:<region>:<account>:parameter/<name>) is taken whole.
func checkParameterName(name string) error {
	switch {
	case len(name) > maxParameterName:
		return fmt.Errorf("is %d characters long; Parameter Store names have at most %d", len(name), maxParameterName)
	case strings.HasPrefix(name, "arn:"):
		if !strings.Contains(name, ":parameter/") {
			return fmt.Errorf("is not a parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>)")
		}
		return nil
	case strings.TrimSpace(name) != name || strings.ContainsAny(name, " \t"):
		return fmt.Errorf("has spaces; Parameter Store names cannot")
	case !parameterNameRE.MatchString(name):
		return fmt.Errorf("may hold only letters, digits, _ . - and / between levels (with an optional :version)")
	case strings.Contains(name, "/") && !strings.HasPrefix(name, "/"):
		return fmt.Errorf("is in a hierarchy, so it must start with /: write %q", "/"+name)
	case strings.Count(name, "/") > 15:
		return fmt.Errorf("has %d levels; Parameter Store hierarchies have at most 15", strings.Count(name, "/"))
	case strings.HasSuffix(name, "/") || strings.Contains(name, "//"):
		return fmt.Errorf("has an empty level; write the parameter's full name, such as /web/release")
	}
	return nil
}

func (l *loader) validateHookEnv(c *Config) {
	for _, k := range slices.Sorted(maps.Keys(c.HookEnv)) {
		ln := l.line("hook_env." + k)
		switch {
		case !envNameRE.MatchString(k):
			l.validf(ln, "hook_env: %q is not a valid environment variable name; use letters, digits and _, not starting with a digit", k)
		case strings.HasPrefix(strings.ToUpper(k), "STACKHAND_"):
			l.validf(ln, "hook_env: %q starts with STACKHAND_, which is kept for the variables the agent sets; rename it", k)
		}
	}
}

// hostIDRE is what identity.instance_id may be: a name that is valid as a dimension value,
// in an alarm name and in a log stream name (host names are).
var hostIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)

func (l *loader) validateIdentity(c *Config) {
	if !c.IsSet("identity") {
		return
	}
	if c.Mode != ModeAWS {
		l.validf(l.line("identity"), "identity is set but mode is %s: mode local reads the instance from local.dir/instance.json; remove identity", c.Mode)
		return
	}
	id := c.Identity
	if id.InstanceID != "" && !hostIDRE.MatchString(id.InstanceID) {
		l.validf(l.line("identity.instance_id"), "identity.instance_id %q: use letters, digits and . _ - (up to 255, starting with a letter or digit), as a host name; it names the host in metrics, alarms and log streams", id.InstanceID)
	}
	switch {
	case id.Region != "" && !regionRE.MatchString(id.Region):
		l.validf(l.line("identity.region"), "identity.region %q is not an AWS region name (e.g. us-east-1)", id.Region)
	case id.Region != "" && c.Region != "" && id.Region != c.Region:
		l.validf(l.line("identity.region"), "identity.region %s and region %s differ: the agent calls one region; keep one of them", id.Region, c.Region)
	case id.Region == "" && c.Region == "":
		l.validf(l.line("identity"), "identity is set but no region is: without IMDS the agent cannot find its region; add identity: {region: <e.g. us-east-1>}")
	}
	for _, r := range c.Watch {
		if r.Rollout != nil {
			l.validf(l.line("identity"), "%s has a rollout, but a host named by identity is not an EC2 instance and cannot publish what it applied as its tags; remove the rollout", ruleWhat(r))
			break
		}
	}
	if a := c.Heartbeat.Alarm.Action; a == "reboot" || a == "recover" {
		l.validf(l.line("heartbeat.alarm.action"), "heartbeat.alarm.action %s is an EC2 action, and a host named by identity is not an EC2 instance; use none or an SNS topic ARN", a)
	}
}

func (l *loader) validateHeartbeat(c *Config) {
	h := c.Heartbeat
	if iv := h.Interval.D(); iv != 10*time.Second && iv != 30*time.Second && (iv < time.Minute || iv%time.Minute != 0) {
		l.validf(l.line("heartbeat.interval"), "heartbeat.interval %s cannot be a CloudWatch alarm period; use 10s, 30s or a whole number of minutes (60s, 120s, ...)", h.Interval)
	}
	l.checkNamespace("heartbeat.namespace", h.Namespace)
	switch a := h.Alarm.Action; {
	case a == "reboot" || a == "recover" || a == "none":
	case strings.HasPrefix(a, "arn:"):
		if !snsARNRE.MatchString(a) || len(a[strings.LastIndexByte(a, ':')+1:]) > 256 {
			l.validf(l.line("heartbeat.alarm.action"), "heartbeat.alarm.action %q is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)", a)
		}
	default:
		l.validf(l.line("heartbeat.alarm.action"), "heartbeat.alarm.action %q is not known; use reboot, recover, none or an SNS topic ARN (arn:aws:sns:...)", a)
	}
	if p := h.Alarm.Periods; p < 1 || p > 100 {
		l.validf(l.line("heartbeat.alarm.periods"), "heartbeat.alarm.periods is %d; it is how many missed heartbeats set off the alarm, from 1 to 100", p)
	}
}

func (l *loader) checkNamespace(key, ns string) {
	switch {
	case ns == "":
		l.validf(l.line(key), "%s is empty; name a CloudWatch namespace, or leave it out for the default", key)
	case strings.HasPrefix(ns, "AWS/"):
		l.validf(l.line(key), "%s %q: namespaces starting with AWS/ are kept for AWS services; choose another", key, ns)
	}
}

func (l *loader) validateHealth(c *Config) {
	h := &c.Health
	if h.Interval.D() < time.Second {
		l.validf(l.line("health.interval"), "health.interval must be at least 1s")
	}
	if h.Timeout <= 0 {
		l.validf(l.line("health.timeout"), "health.timeout must be more than 0s")
	}
	if h.Failures < 1 {
		l.validf(l.line("health.failures"), "health.failures is %d; it is how many failures in a row mark the instance unhealthy, at least 1", h.Failures)
	}
	names := map[string]int{}
	for i := range h.Checks {
		chk := &h.Checks[i]
		p := fmt.Sprintf("health.checks[%d]", i)
		line := l.line(p)
		switch {
		case chk.HTTP != "" && chk.TCP != "":
			l.validf(line, "%s sets both http and tcp; a check is one or the other: split it in two", p)
		case chk.HTTP != "":
			u, err := url.Parse(chk.HTTP)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				l.validf(l.line(p+".http"), "%s.http %q is not an http:// or https:// URL with a host, e.g. http://127.0.0.1:8080/health", p, chk.HTTP)
			}
		case chk.TCP != "":
			host, port, err := net.SplitHostPort(chk.TCP)
			n, perr := strconv.Atoi(port)
			if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
				l.validf(l.line(p+".tcp"), "%s.tcp %q is not host:port, e.g. 127.0.0.1:5432", p, chk.TCP)
			}
		default:
			l.validf(line, "%s checks nothing: set http (a URL) or tcp (host:port)", p)
		}
		if chk.Name == "" {
			chk.Name = chk.HTTP + chk.TCP
		}
		if chk.Name == "" {
			continue
		}
		if j, dup := names[chk.Name]; dup {
			l.validf(line, "%s is named %q like health.checks[%d] (line %d); give each check its own name", p, chk.Name, j, l.line(fmt.Sprintf("health.checks[%d]", j)))
		} else {
			names[chk.Name] = i
		}
	}
}

func (l *loader) validateMetrics(c *Config) {
	if c.Metrics.Interval.D() < time.Second {
		l.validf(l.line("metrics.interval"), "metrics.interval must be at least 1s")
	}
	l.checkNamespace("metrics.namespace", c.Metrics.Namespace)
	l.validateMetricFamilies(c)
}

func (l *loader) validateLogs(c *Config) {
	if c.Logs.ForceFlushInterval.D() < time.Second {
		l.validf(l.line("logs.force_flush_interval"), "logs.force_flush_interval must be at least 1s")
	}
	if !slices.Contains(Compressions, c.Logs.Compression) {
		l.validf(l.line("logs.compression"), "logs.compression %q is not one stackhand knows; use %s",
			c.Logs.Compression, joinChoices(Compressions))
	}
	// streams maps a group and stream, as written, to the first entry shipping to it, so
	// that two entries sending one stream's events different ways are caught. (Names
	// whose placeholders only meet once expanded are the shipper's to sort out: the
	// first entry to reach a stream decides, with a warning.)
	streams := map[[2]string]int{}
	for i := range c.Logs.Files {
		f := &c.Logs.Files[i]
		p := fmt.Sprintf("logs.files[%d]", i)
		line := l.line(p)
		switch {
		case f.Compression == "":
			f.Compression = c.Logs.Compression
		case !slices.Contains(Compressions, f.Compression):
			l.validf(l.line(p+".compression"), "%s.compression %q (log group %s) is not one stackhand knows; use %s",
				p, f.Compression, f.LogGroupName, joinChoices(Compressions))
		}
		if f.LogGroupName != "" {
			k := [2]string{f.LogGroupName, f.LogStreamName}
			if j, ok := streams[k]; !ok {
				streams[k] = i
			} else if g := c.Logs.Files[j].Compression; g != f.Compression {
				l.validf(l.line(p+".compression"), "%s ships to log group %s, stream %s, like logs.files[%d] (line %d), but with compression %s, not %s; "+
					"one stream's batches mix both files' lines: give both entries the same compression, or send them to different streams",
					p, f.LogGroupName, f.LogStreamName, j, l.line(fmt.Sprintf("logs.files[%d]", j)), f.Compression, g)
			}
		}
		if f.FilePath == "" {
			l.validf(line, "%s has no file_path: name the file (or a glob such as /var/log/app/*.log) to ship", p)
		} else if _, err := filepath.Match(f.FilePath, ""); err != nil {
			l.validf(l.line(p+".file_path"), "%s.file_path %q is not a valid glob pattern: %v", p, f.FilePath, err)
		}
		if f.LogGroupName == "" {
			l.validf(line, "%s has no log_group_name: name the CloudWatch Logs group to send it to", p)
		} else {
			l.checkLogName(p+".log_group_name", f.LogGroupName, logGroupChars, "letters, digits and _ - / . #")
		}
		if f.LogStreamName != "" {
			l.checkLogName(p+".log_stream_name", f.LogStreamName, logStreamChars, "any character but : and *")
		}
		if f.RetentionInDays != 0 && !slices.Contains(retentionDays, f.RetentionInDays) {
			l.validf(l.line(p+".retention_in_days"), "%s.retention_in_days %d is not one CloudWatch Logs accepts; use one of %s, or 0 to leave it unset",
				p, f.RetentionInDays, joinInts(retentionDays))
		}
		if f.MultiLineStartPattern != "" && f.MultiLineStartPattern != "{timestamp_format}" {
			if _, err := regexp.Compile(f.MultiLineStartPattern); err != nil {
				l.validf(l.line(p+".multi_line_start_pattern"), "%s.multi_line_start_pattern does not compile as a Go regular expression: %v", p, err)
			}
		}
		if f.MultiLineStartPattern == "{timestamp_format}" && f.TimestampFormat == "" {
			l.validf(l.line(p+".multi_line_start_pattern"), "%s.multi_line_start_pattern is {timestamp_format} but timestamp_format is not set", p)
		}
		if f.TimestampFormat != "" {
			if _, err := TimestampLayout(f.TimestampFormat); err != nil {
				l.validf(l.line(p+".timestamp_format"), "%s.%v", p, err)
			}
		}
		if enc, err := Encoding(f.Encoding); err != nil {
			l.validf(l.line(p+".encoding"), "%s.%v", p, err)
		} else {
			f.Encoding = enc
		}
		l.validateLogFilters(p, f.Filters)
	}
	for i := range c.Logs.Journald {
		l.validateJournal(c, fmt.Sprintf("logs.journald[%d]", i), &c.Logs.Journald[i])
	}
	for i := range c.Logs.WindowsEvents {
		l.validateWinEvents(c, fmt.Sprintf("logs.windows_events[%d]", i), &c.Logs.WindowsEvents[i])
	}
}

// validateLogFilters checks the include and exclude filters of the logs entry at p.
func (l *loader) validateLogFilters(p string, filters []LogFilter) {
	for j, flt := range filters {
		fp := fmt.Sprintf("%s.filters[%d]", p, j)
		if flt.Type != "include" && flt.Type != "exclude" {
			l.validf(l.line(fp+".type"), "%s.type %q is not known; use include or exclude", fp, flt.Type)
		}
		if flt.Expression == "" {
			l.validf(l.line(fp), "%s has no expression: write the regular expression lines are matched against", fp)
		} else if _, err := regexp.Compile(flt.Expression); err != nil {
			l.validf(l.line(fp+".expression"), "%s.expression does not compile as a Go regular expression: %v", fp, err)
		}
	}
}

// journalField is what a journal field name may be (systemd's journal-file format:
// upper-case letters, digits and underscores, not starting with a digit).
var journalField = regexp.MustCompile(`^[A-Z_][A-Z0-9_]{0,63}$`)

// JournalField reports whether name can be a journal field, as a key of a
// logs.journald entry's matches must be.
func JournalField(name string) bool { return journalField.MatchString(name) }

// JournalUnit reports whether u can be an entry of a logs.journald entry's units: a name
// journalctl -u takes as a unit, never as an option, with no blank or control character.
func JournalUnit(u string) bool {
	return u != "" && !strings.HasPrefix(u, "-") && !strings.ContainsFunc(u, func(r rune) bool { return r <= ' ' || r == 0x7f })
}

// validateJournal checks the logs.journald entry j at p.
func (l *loader) validateJournal(c *Config, p string, j *Journal) {
	line := l.line(p)
	switch {
	case j.Compression == "":
		j.Compression = c.Logs.Compression
	case !slices.Contains(Compressions, j.Compression):
		l.validf(l.line(p+".compression"), "%s.compression %q is not one stackhand knows; use %s", p, j.Compression, joinChoices(Compressions))
	}
	if j.LogGroupName == "" {
		l.validf(line, "%s has no log_group_name: name the CloudWatch Logs group to send the journal entries to", p)
	} else {
		l.checkLogName(p+".log_group_name", j.LogGroupName, logGroupChars, "letters, digits and _ - / . #")
	}
	l.checkLogName(p+".log_stream_name", j.LogStreamName, logStreamChars, "any character but : and *")
	if j.RetentionInDays != 0 && !slices.Contains(retentionDays, j.RetentionInDays) {
		l.validf(l.line(p+".retention_in_days"), "%s.retention_in_days %d is not one CloudWatch Logs accepts; use one of %s, or 0 to leave it unset",
			p, j.RetentionInDays, joinInts(retentionDays))
	}
	if _, ok := JournalPriority(j.Priority); !ok {
		l.validf(l.line(p+".priority"), "%s.priority %q is not a journal priority; use one of %s, or 0 to 7", p, j.Priority, joinChoices(JournalPriorities))
	}
	if !slices.Contains(JournalStarts, j.StartAt) {
		l.validf(l.line(p+".start_at"), "%s.start_at %q is not known; use %s", p, j.StartAt, joinChoices(JournalStarts))
	}
	for k, u := range j.Units {
		if !JournalUnit(u) {
			l.validf(l.line(fmt.Sprintf("%s.units[%d]", p, k)), "%s.units[%d] %q is not a unit name: write it as systemctl shows it (nginx, or nginx.service)", p, k, u)
		}
	}
	for k, m := range j.Matches {
		mp := fmt.Sprintf("%s.matches[%d]", p, k)
		if len(m) == 0 {
			l.validf(l.line(mp), "%s is empty: write FIELD: value pairs (_SYSTEMD_UNIT: ssh.service), or remove it", mp)
		}
		for _, field := range slices.Sorted(maps.Keys(m)) {
			if !JournalField(field) {
				l.validf(l.line(mp+"."+field), "%s: %q is not a journal field name: fields are upper-case letters, digits and _ (_SYSTEMD_UNIT, SYSLOG_IDENTIFIER, PRIORITY)", mp, field)
			}
			if strings.ContainsAny(m[field], "\n\x00") {
				l.validf(l.line(mp+"."+field), "%s.%s holds a newline or NUL, which no journal field value the match could equal holds", mp, field)
			}
		}
	}
	if j.Directory != "" && !filepath.IsAbs(j.Directory) {
		l.validf(l.line(p+".directory"), "%s.directory %q must be an absolute path", p, j.Directory)
	}
	if j.Directory != "" && j.StartAt == "boot" {
		l.validf(l.line(p+".start_at"), "%s.start_at boot cannot go with directory: journalctl reads a directory's files merged and refuses --boot there; use beginning or end", p)
	}
	l.validateLogFilters(p, j.Filters)
}

// JournalPriority returns the number of a journal priority written by name or number.
func JournalPriority(p string) (int, bool) {
	if i := slices.Index(JournalPriorities, p); i >= 0 {
		return i, true
	}
	if len(p) == 1 && p[0] >= '0' && p[0] <= '7' {
		return int(p[0] - '0'), true
	}
	return 0, false
}

// Warnings are what is valid but most likely not what was meant, for the agent to log at
// start and validate to print: so far a resource that no watch rule reads. Call it after
// ApplyCfnHup, whose rules count too.
func (c *Config) Warnings() []Problem {
	if c.Resource == "" {
		return nil
	}
	for _, r := range c.Watch {
		if r.Metadata != "" {
			return nil
		}
	}
	return []Problem{{File: c.Path, Line: c.set["resource"], Msg: fmt.Sprintf(
		"resource %q is set but no watch rule reads its Metadata, so nothing watches it: add a rule with metadata: <key>, or remove resource", c.Resource)}}
}

// LogNamePlaceholders are what a log group or stream name may hold, each replaced when the
// file is shipped (package logship expands them), besides {tag:KEY} (LogNameTag).
var LogNamePlaceholders = []string{"{instance_id}", "{hostname}", "{local_hostname}", "{ip_address}", "{file_name}",
	"{stack}", "{asg}", "{az}", "{instance_type}", "{region}"}

// LogNameTag returns KEY of a {tag:KEY} placeholder, ph with its braces: the value of the
// instance's tag KEY, read when the agent starts. An EC2 tag key is 1 to 128 characters.
func LogNameTag(ph string) (string, bool) {
	inner, ok := strings.CutSuffix(ph, "}")
	if !ok {
		return "", false
	}
	key, ok := strings.CutPrefix(inner, "{tag:")
	if !ok || key == "" || len(key) > 128 || strings.ContainsAny(key, "{}") {
		return "", false
	}
	return key, true
}

// LogNameTags returns the tag keys the log group and stream names of c ask for
// ({tag:KEY}), each once, in the order they first appear.
func (c *Config) LogNameTags() []string {
	var names []string
	for _, f := range c.Logs.Files {
		names = append(names, f.LogGroupName, f.LogStreamName)
	}
	return TagsInLogNames(names...)
}

// InstanceTags returns the instance tag keys the configuration reads at discovery:
// {tag:KEY} in log names and ${aws:tag/KEY} in metrics.append_dimensions.
func (c *Config) InstanceTags() []string {
	keys := c.LogNameTags()
	for _, name := range slices.Sorted(maps.Keys(c.Metrics.AppendDimensions)) {
		if k, ok := strings.CutPrefix(c.Metrics.AppendDimensions[name], DimTagPrefix); ok {
			k = strings.TrimSuffix(k, "}")
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// DimTagPrefix starts an append_dimensions value that reads an instance tag:
// ${aws:tag/KEY}.
const DimTagPrefix = "${aws:tag/"

// DimValues are the append_dimensions values the CloudWatch agent knows.
var DimValues = []string{"${aws:InstanceId}", "${aws:InstanceType}", "${aws:ImageId}", "${aws:AutoScalingGroupName}"}

// maxAppendDims keeps every metric within CloudWatch's 30 dimensions: the families add
// at most two of their own.
const maxAppendDims = 28

func (l *loader) validateAppendDimensions(c *Config) {
	dims := c.Metrics.AppendDimensions
	if len(dims) > maxAppendDims {
		l.validf(l.line("metrics.append_dimensions"), "metrics.append_dimensions has %d dimensions; CloudWatch takes 30 a metric and the families use up to 2: keep at most %d", len(dims), maxAppendDims)
	}
	for _, name := range slices.Sorted(maps.Keys(dims)) {
		v := dims[name]
		key := "metrics.append_dimensions." + name
		switch {
		case name == "" || len(name) > 255:
			l.validf(l.line(key), "metrics.append_dimensions: a dimension name is 1 to 255 characters, not %d", len(name))
		case slices.Contains(DimValues, v):
		case strings.HasPrefix(v, DimTagPrefix) && strings.HasSuffix(v, "}") && len(v) > len(DimTagPrefix)+1 && len(v) <= len(DimTagPrefix)+129:
		default:
			l.validf(l.line(key), "%s %q is not a value stackhand fills in; use %s or ${aws:tag/KEY}", key, v, strings.Join(DimValues, ", "))
		}
	}
}

// validateAggregationDimensions checks each set of metrics.aggregation_dimensions: dimension
// names as CloudWatch takes them, each once in a set, at most 30 to a set. Two sets naming
// the same dimensions are allowed, as the CloudWatch agent allows them: the metrics are
// published once for the two.
func (l *loader) validateAggregationDimensions(c *Config) {
	for i, set := range c.Metrics.AggregationDimensions {
		key := fmt.Sprintf("metrics.aggregation_dimensions[%d]", i)
		if len(set) > 30 {
			l.validf(l.line(key), "%s has %d dimensions; CloudWatch takes 30 a metric", key, len(set))
		}
		for j, name := range set {
			switch {
			case name == "" || len(name) > 255:
				l.validf(l.line(key), "%s[%d]: a dimension name is 1 to 255 characters, not %d", key, j, len(name))
			case slices.Index(set, name) != j:
				l.validf(l.line(key), "%s names %q twice; name each dimension once in a set", key, name)
			}
		}
	}
}

// TagsInLogNames returns the tag keys names ask for ({tag:KEY}), each once, in the order
// they first appear.
func TagsInLogNames(names ...string) []string {
	var keys []string
	for _, name := range names {
		SplitLogName(name, func(piece string, placeholder bool) {
			if k, ok := LogNameTag(piece); ok && placeholder && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		})
	}
	return keys
}

// SplitLogName calls fn with each piece of a log group or stream name, in order: text, or
// a placeholder with its braces ("{instance_id}", "{tag:Env}", "{unknown}"). A brace with
// another one before its closing brace ("{a{b}") is text, as is one never closed. validate
// and the shipper both read names through it, so they never disagree on what is a
// placeholder.
func SplitLogName(name string, fn func(piece string, placeholder bool)) {
	for rest := name; rest != ""; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			fn(rest, false)
			return
		}
		if i > 0 {
			fn(rest[:i], false)
		}
		rest = rest[i:]
		j := strings.IndexByte(rest, '}')
		switch {
		case j < 0:
			fn(rest, false)
			return
		case strings.Contains(rest[1:j], "{"):
			fn("{", false)
			rest = rest[1:]
		default:
			fn(rest[:j+1], true)
			rest = rest[j+1:]
		}
	}
}

// maxLogName is the longest log group or stream name CloudWatch Logs accepts
// (CreateLogGroup, CreateLogStream: 1 to 512 characters).
const maxLogName = 512

var (
	// logGroupChars is what CreateLogGroup accepts in a name: [\.\-_/#A-Za-z0-9]+.
	logGroupChars = regexp.MustCompile(`^[A-Za-z0-9_\-/.#]*$`)
	// logStreamChars is what CreateLogStream accepts in a name: [^:*]*.
	logStreamChars = regexp.MustCompile(`^[^:*]*$`)
	// regionRE is the shape of an AWS region name: us-east-1, us-gov-west-1, eu-central-2.
	regionRE = regexp.MustCompile(`^[a-z]{2,}(-[a-z]+)+-[0-9]+$`)
)

// checkLogName reports a log group or stream name CloudWatch Logs would refuse: an unknown
// placeholder, or literal text (the name with its placeholders taken out) with characters
// chars does not accept or longer than CloudWatch Logs allows. What a placeholder expands to
// is not known before the agent runs, so it is not checked here.
func (l *loader) checkLogName(key, name string, chars *regexp.Regexp, allowed string) {
	ln := l.line(key)
	var literal strings.Builder
	SplitLogName(name, func(piece string, placeholder bool) {
		switch {
		case !placeholder:
			literal.WriteString(piece)
		case slices.Contains(LogNamePlaceholders, piece):
		case strings.HasPrefix(piece, "{tag:"):
			if _, ok := LogNameTag(piece); !ok {
				l.validf(ln, "%s %q: %s names no tag; write {tag:KEY} with KEY an EC2 tag key of 1 to 128 characters", key, name, piece)
			}
		default:
			l.validf(ln, "%s %q: %s is not a placeholder; use one of %s {tag:KEY}, or leave the braces out", key, name, piece, strings.Join(LogNamePlaceholders, " "))
		}
	})
	lit := literal.String()
	if !chars.MatchString(lit) {
		var bad []string
		for _, r := range lit {
			if q := strconv.QuoteRune(r); !chars.MatchString(string(r)) && !slices.Contains(bad, q) {
				bad = append(bad, q)
			}
		}
		l.validf(ln, "%s %q has characters CloudWatch Logs refuses in this name (%s); it accepts %s: replace or remove them", key, name, strings.Join(bad, " "), allowed)
	}
	if len(lit) > maxLogName {
		l.validf(ln, "%s is %d characters long without its placeholders; CloudWatch Logs accepts at most %d: shorten it", key, len(lit), maxLogName)
	}
}

// eventBusName is what EventBridge accepts as a bus name (1 to 256 of these characters);
// an ARN is taken as written.
var eventBusName = regexp.MustCompile(`^[A-Za-z0-9._\-/]+$`)

func (l *loader) validateNotifications(c *Config) {
	b := c.Notifications.EventBus
	if b != "" && !strings.HasPrefix(b, "arn:") && (!eventBusName.MatchString(b) || len(b) > 256) {
		l.validf(l.line("notifications.event_bus"), "notifications.event_bus %q is not an event bus name (letters, digits, . _ - /) or ARN", b)
	}
}

// joinChoices writes choices as "a, b or c".
func joinChoices(choices []string) string {
	if len(choices) < 2 {
		return strings.Join(choices, "")
	}
	return strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
