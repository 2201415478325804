package contract

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/status"
)

// Detail is the detail of an EventBridge event from stackhand, and one line of
// events.jsonl in mode local. Kind says which one of Event, Health and Alarm is set; the
// detail-type is DetailType(Kind).
type Detail struct {
	SchemaVersion int       `json:"schema_version"`
	Kind          string    `json:"kind"`
	Time          time.Time `json:"time"`
	Instance      Instance  `json:"instance"`
	Event         *Event    `json:"event,omitempty"`
	Health        *Health   `json:"health,omitempty"`
	Alarm         *Alarm    `json:"alarm,omitempty"`
}

// NewDetail returns a Detail of kind at t about instance in, at this build's DetailVersion;
// the caller sets the payload kind names.
func NewDetail(kind string, t time.Time, in event.Instance) Detail {
	return Detail{SchemaVersion: DetailVersion, Kind: kind, Time: t, Instance: FromInstance(in)}
}

// Instance is the instance a Detail is about.
type Instance struct {
	InstanceID       string    `json:"instance_id"`
	Region           string    `json:"region,omitempty"`
	AvailabilityZone string    `json:"az,omitempty"`
	PrivateIP        string    `json:"private_ip,omitempty"`
	PublicIP         string    `json:"public_ip,omitempty"`
	InstanceType     string    `json:"instance_type,omitempty"`
	LaunchTime       time.Time `json:"launch_time,omitzero"`
	Hostname         string    `json:"hostname,omitempty"`
	Stack            string    `json:"stack,omitempty"`
	LogicalID        string    `json:"logical_id,omitempty"`
	AutoScalingGroup string    `json:"autoscaling_group,omitempty"`
}

// FromInstance returns the public form of in.
func FromInstance(in event.Instance) Instance {
	return Instance{
		InstanceID:       in.InstanceID,
		Region:           in.Region,
		AvailabilityZone: in.AvailabilityZone,
		PrivateIP:        in.PrivateIP,
		PublicIP:         in.PublicIP,
		InstanceType:     in.InstanceType,
		LaunchTime:       in.LaunchTime,
		Hostname:         in.Hostname,
		Stack:            in.Stack,
		LogicalID:        in.LogicalID,
		AutoScalingGroup: in.AutoScalingGroup,
	}
}

// Event is a finished (or dropped) lifecycle event: Detail.Event.
type Event struct {
	ID string `json:"id"`
	// Event is setup, configure, deploy, undeploy or shutdown.
	Event string `json:"event"`
	// Rule is the command rule that ran; empty for hooks.d.
	Rule    string  `json:"rule,omitempty"`
	Reason  string  `json:"reason"`
	Trigger Trigger `json:"trigger"`
	Retry   bool    `json:"retry,omitempty"`
	// Result is succeeded, failed, dropped, superseded or interrupted.
	Result     string    `json:"result"`
	Start      time.Time `json:"start,omitzero"`
	End        time.Time `json:"end"`
	Duration   Duration  `json:"duration"`
	FailedHook string    `json:"failed_hook,omitempty"`
	Error      string    `json:"error,omitempty"`
	OutputTail string    `json:"output_tail,omitempty"`
	Hooks      []Hook    `json:"hooks,omitempty"`
	Warnings   []string  `json:"warnings,omitempty"`
}

// Trigger says what caused an event.
type Trigger struct {
	// Type is first-start, setup, watch, peers, lifecycle, request or retry.
	Type     string   `json:"type"`
	Detail   string   `json:"detail,omitempty"`
	Rules    []string `json:"rules,omitempty"`
	Requests []string `json:"requests,omitempty"`
}

// Hook is one hook's part of an Event.
type Hook struct {
	Name     string   `json:"name"`
	ExitCode int      `json:"exit_code"`
	Duration Duration `json:"duration"`
	TimedOut bool     `json:"timed_out,omitempty"`
	Refused  string   `json:"refused,omitempty"`
	Error    string   `json:"error,omitempty"`
	LogFile  string   `json:"log_file,omitempty"`
	// Builtin is true for a command the agent ran itself (cfn-init); Changes is what it
	// changed on the instance, one line each ("file /etc/app.conf").
	Builtin bool     `json:"builtin,omitempty"`
	Changes []string `json:"changes,omitempty"`
}

// FromOutcome returns the public form of o.
func FromOutcome(o state.Outcome) Event {
	e := Event{
		ID:         o.ID,
		Event:      string(o.Kind),
		Rule:       o.Rule,
		Reason:     o.Reason,
		Trigger:    FromTrigger(o.Trigger),
		Retry:      o.Retry,
		Result:     o.Result,
		Start:      o.Start,
		End:        o.End,
		Duration:   Duration(o.Duration),
		FailedHook: o.Failed,
		Error:      o.Error,
		OutputTail: o.Tail,
		Warnings:   slices.Clone(o.Warnings),
	}
	if o.Hooks != nil {
		e.Hooks = make([]Hook, len(o.Hooks))
		for i, h := range o.Hooks {
			e.Hooks[i] = Hook{Name: h.Name, ExitCode: h.ExitCode, Duration: Duration(h.Duration), TimedOut: h.TimedOut,
				Refused: h.Refused, Error: h.Error, LogFile: h.LogFile,
				Builtin: h.Builtin, Changes: h.Changes}
		}
	}
	return e
}

// FromTrigger returns the public form of t.
func FromTrigger(t event.Trigger) Trigger {
	return Trigger{Type: string(t.Type), Detail: t.Detail, Rules: slices.Clone(t.Rules), Requests: slices.Clone(t.Requests)}
}

// Health is a health verdict: Detail.Health.
type Health struct {
	// Status is healthy, failing (a check failed, fewer than health.failures times in a
	// row), unhealthy (health.failures failures in a row) or marked-unhealthy (reported to
	// Auto Scaling).
	Status string `json:"status"`
	// Failures counts the failed rounds in a row.
	Failures int     `json:"failures"`
	Checks   []Check `json:"checks"`
}

// Check is one health check's last verdict.
type Check struct {
	Name string `json:"name"`
	// OK is the last run's result; Failures counts its failed runs in a row.
	OK        bool      `json:"ok"`
	Failures  int       `json:"failures"`
	LastRun   time.Time `json:"last_run,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// FromChecks returns the public form of cs; nil stays nil (JSON null).
func FromChecks(cs []status.Check) []Check {
	if cs == nil {
		return nil
	}
	out := make([]Check, len(cs))
	for i, c := range cs {
		out[i] = Check{Name: c.Name, OK: c.OK, Failures: c.Failures, LastRun: c.LastRun, LastError: c.LastError}
	}
	return out
}

// Alarm is a change made to the heartbeat alarm: Detail.Alarm.
type Alarm struct {
	Name string `json:"name"`
	// Change is created, updated or deleted.
	Change string `json:"change"`
	// Action is the alarm action configured (reboot, recover, none or an SNS topic ARN)
	// when the alarm was created or updated.
	Action string `json:"action,omitempty"`
	// Reason says why the alarm was deleted.
	Reason string `json:"reason,omitempty"`
}

// Duration is a duration written as a Go duration string ("1.5s", "2m0.25s").
type Duration time.Duration

// MarshalJSON writes d as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a string written by MarshalJSON.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
