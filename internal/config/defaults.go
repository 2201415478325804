package config

import (
	"slices"
	"time"

	"github.com/stackhand/stackhand/internal/event"
)

// Change kinds as written in a watch rule's "on" list.
var allChanges = []string{string(event.Add), string(event.Update), string(event.Remove)}

// Default returns the configuration used when stackhand.yaml leaves a setting out.
func Default() *Config {
	return &Config{
		Mode:       ModeAWS,
		Interval:   Duration(60 * time.Second),
		AWSTimeout: Duration(30 * time.Second),
		HooksDir:   DefaultHooksDir,
		StateDir:   DefaultStateDir,
		LogDir:     DefaultLogDir,
		Timeouts: Timeouts{
			Default:  Duration(30 * time.Minute),
			Shutdown: Duration(2 * time.Minute),
			Health:   Duration(10 * time.Second),
		},
		ShutdownGrace: Duration(30 * time.Second),
		Lifecycle:     Lifecycle{PollInterval: Duration(5 * time.Second), FlushTimeout: Duration(time.Minute)},
		KillGrace:     Duration(5 * time.Second),
		Heartbeat: Heartbeat{
			Interval:  Duration(60 * time.Second),
			Namespace: "Stackhand",
			Alarm:     Alarm{Action: "none", Periods: 5},
		},
		Health: Health{
			Interval: Duration(30 * time.Second),
			Timeout:  Duration(10 * time.Second),
			Failures: 3,
		},
		Metrics: Metrics{
			Interval:  Duration(60 * time.Second),
			Namespace: "CWAgent",
		},
		Logs: Logs{ForceFlushInterval: Duration(5 * time.Second), Compression: "gzip"},
	}
}

// defaultJournal fills in what a logs.journald entry left out.
func defaultJournal(j *Journal) {
	if j.LogStreamName == "" {
		j.LogStreamName = "{instance_id}"
	}
	if j.Priority == "" {
		j.Priority = "info"
	}
	if j.StartAt == "" {
		j.StartAt = "boot"
		if j.Directory != "" {
			// journalctl reads a directory's files merged, where --boot is refused.
			j.StartAt = "beginning"
		}
	}
}

// defaultLogFile fills in what a logs.files entry left out.
func defaultLogFile(f *LogFile) {
	if f.LogStreamName == "" {
		f.LogStreamName = "{instance_id}"
	}
	if f.Encoding == "" {
		f.Encoding = "utf-8"
	}
	if f.FromBeginning == nil {
		t := true
		f.FromBeginning = &t
	}
}

// TimeoutFor returns how long each hook of event k may run: the event's own timeout when set,
// else timeouts.default.
func (c *Config) TimeoutFor(k event.Kind) time.Duration {
	var d Duration
	switch k {
	case event.Setup:
		d = c.Timeouts.Setup
	case event.Configure:
		d = c.Timeouts.Configure
	case event.Deploy:
		d = c.Timeouts.Deploy
	case event.Undeploy:
		d = c.Timeouts.Undeploy
	case event.Shutdown:
		d = c.Timeouts.Shutdown
	}
	if d > 0 {
		return d.D()
	}
	return c.Timeouts.Default.D()
}

// HeartbeatEnabled reports whether the heartbeat runs: heartbeat.enabled when written,
// else true in aws mode.
func (c *Config) HeartbeatEnabled() bool {
	if c.Heartbeat.Enabled != nil {
		return *c.Heartbeat.Enabled
	}
	return c.Mode == ModeAWS
}

// MetricsEnabled reports whether memory/disk/CPU metrics are sent; off unless
// metrics.enabled is true.
func (c *Config) MetricsEnabled() bool {
	return c.Metrics.Enabled != nil && *c.Metrics.Enabled
}

// IsSet reports whether stackhand.yaml wrote key, a dotted path such as "interval" or
// "heartbeat.alarm.action". It is false for every key of a Config built in code.
func (c *Config) IsSet(key string) bool {
	_, ok := c.set[key]
	return ok
}

// Fires reports whether a change of this kind runs the rule; a rule with no "on" list (built
// in code) fires on every change.
func (r WatchRule) Fires(change event.ChangeKind) bool {
	return !r.Silent && (len(r.On) == 0 || slices.Contains(r.On, string(change)))
}

// EventFor returns the lifecycle event a change runs: the rule's event when set, else deploy
// for add and update and undeploy for remove.
func (r WatchRule) EventFor(change event.ChangeKind) event.Kind {
	if r.Event != "" {
		return event.Kind(r.Event)
	}
	if change == event.Remove {
		return event.Undeploy
	}
	return event.Deploy
}
