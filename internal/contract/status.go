package contract

import (
	"maps"
	"slices"
	"time"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/status"
)

// StatusVersion is the version of Status, `stackhand status --json`. Within a version
// fields are only added; a field renamed, removed or retyped makes a new version.
const StatusVersion = 1

// Status is what `stackhand status --json` prints: the agent, the instance, the events
// (last of each kind, running, queued, retries) and how each part is doing.
type Status struct {
	SchemaVersion int `json:"schema_version"`
	// Verdict is the overall word: ok, degraded or failing, with the reasons.
	Verdict  Verdict  `json:"verdict"`
	Agent    Agent    `json:"agent"`
	StateDir string   `json:"state_dir"`
	Identity Instance `json:"identity"`
	// Discovery says how finding out which instance this is goes (mode aws: IMDS, tags);
	// absent before the agent began it.
	Discovery *Component `json:"discovery,omitempty"`
	Setup     Setup      `json:"setup"`
	Lifecycle Lifecycle  `json:"lifecycle"`
	// Last is the last outcome of each event kind that ran.
	Last    map[string]*Outcome `json:"last"`
	Running *Pending            `json:"running,omitempty"`
	Queue   []Pending           `json:"queue"`
	// Retries are the failed events the agent tries again by itself, and when.
	Retries   []Retry               `json:"retries"`
	Sources   map[string]*Component `json:"sources"`
	Reporters map[string]*Component `json:"reporters"`
	// UpdatedAt is when the agent last wrote its state; StatusUpdatedAt when it last
	// wrote its parts' status (within 10 s of a change while it runs).
	UpdatedAt       time.Time `json:"state_updated_at"`
	StatusUpdatedAt time.Time `json:"status_updated_at,omitzero"`
}

// Verdict levels, best first.
const (
	VerdictOK       = "ok"
	VerdictDegraded = "degraded"
	VerdictFailing  = "failing"
)

// Verdict is the overall word on the agent and the reasons for it, worst first.
type Verdict struct {
	Level   string   `json:"level"`
	Reasons []string `json:"reasons,omitempty"`
}

// Agent says whether an agent holds the state directory.
type Agent struct {
	Running bool `json:"running"`
	PID     int  `json:"pid,omitempty"`
}

// Instance is an EC2 instance as status shows it.
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

// Setup says whether this instance's setup finished.
type Setup struct {
	InstanceID string    `json:"instance_id"`
	Done       bool      `json:"done"`
	At         time.Time `json:"at,omitzero"`
	EventID    string    `json:"event_id,omitempty"`
}

// Lifecycle is what the lifecycle source last saw.
type Lifecycle struct {
	State        string    `json:"state,omitempty"`
	Detail       string    `json:"detail,omitempty"`
	SeenAt       time.Time `json:"seen_at,omitzero"`
	ShutdownDone bool      `json:"shutdown_done,omitempty"`
	ShutdownFor  string    `json:"shutdown_for,omitempty"`
	RebalanceAt  time.Time `json:"rebalance_at,omitzero"`
}

// Trigger is what caused an event.
type Trigger struct {
	// Type is one of: first-start, setup, watch, peers, lifecycle, request, retry.
	Type     string   `json:"type"`
	Detail   string   `json:"detail,omitempty"`
	Rules    []string `json:"rules,omitempty"`
	Requests []string `json:"requests,omitempty"`
}

// Pending is an event waiting or running.
type Pending struct {
	ID       string    `json:"id"`
	Event    string    `json:"event"`
	Rule     string    `json:"rule,omitempty"`
	Reasons  []string  `json:"reasons"`
	Trigger  Trigger   `json:"trigger"`
	Explicit bool      `json:"explicit,omitempty"`
	Retry    bool      `json:"retry,omitempty"`
	Queued   time.Time `json:"queued"`
	Started  time.Time `json:"started,omitzero"`
}

// Outcome is a finished (or dropped) event.
type Outcome struct {
	ID      string  `json:"id"`
	Event   string  `json:"event"`
	Rule    string  `json:"rule,omitempty"`
	Reason  string  `json:"reason"`
	Trigger Trigger `json:"trigger"`
	Retry   bool    `json:"retry,omitempty"`
	// Result is succeeded, failed, dropped, superseded or interrupted.
	Result string    `json:"result"`
	Start  time.Time `json:"start,omitzero"`
	End    time.Time `json:"end"`
	// Duration is a Go duration string ("1.5s").
	Duration   string `json:"duration"`
	FailedHook string `json:"failed_hook,omitempty"`
	Error      string `json:"error,omitempty"`
	OutputTail string `json:"output_tail,omitempty"`
	Hooks      []Hook `json:"hooks,omitempty"`
	// Warnings are what the event skipped and why (a hook that is not executable).
	Warnings []string `json:"warnings,omitempty"`
}

// Hook is one hook's part of an Outcome.
type Hook struct {
	Name     string `json:"name"`
	ExitCode int    `json:"exit_code"`
	Duration string `json:"duration"`
	TimedOut bool   `json:"timed_out,omitempty"`
	Refused  string `json:"refused,omitempty"`
	Error    string `json:"error,omitempty"`
	LogFile  string `json:"log_file,omitempty"`
}

// Retry is a failed event the agent tries again by itself.
type Retry struct {
	Event string `json:"event"`
	Rule  string `json:"rule,omitempty"`
	// Attempts counts the failed attempts in a row; NextAttempt is when the next starts
	// (if the change that caused it is still there).
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastEventID string    `json:"last_event_id,omitempty"`
	LastError   string    `json:"last_error,omitempty"`
}

// Component is how one part is doing: discovery, a source or a reporter.
type Component struct {
	LastOK    time.Time        `json:"last_ok,omitzero"`
	LastError string           `json:"last_error,omitempty"`
	ErrorAt   time.Time        `json:"error_at,omitzero"`
	Detail    string           `json:"detail,omitempty"`
	Attempts  int              `json:"attempts,omitempty"`
	NextTry   time.Time        `json:"next_try,omitzero"`
	Counters  map[string]int64 `json:"counters,omitempty"`
	Checks    []Check          `json:"checks,omitempty"`
	Files     []File           `json:"files,omitempty"`
}

// Check is one health check's last verdict.
type Check struct {
	Name      string    `json:"name"`
	OK        bool      `json:"ok"`
	Failures  int       `json:"failures"`
	LastRun   time.Time `json:"last_run,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// File is one shipped log file.
type File struct {
	Path       string    `json:"path"`
	Group      string    `json:"group"`
	Stream     string    `json:"stream"`
	Shipped    int64     `json:"shipped"`
	Size       int64     `json:"size"`
	LagSeconds float64   `json:"lag_seconds"`
	LastError  string    `json:"last_error,omitempty"`
	ErrorAt    time.Time `json:"error_at,omitzero"`
}

// NewStatus builds the public status from the state file and the status file; running
// and pid say whether an agent holds the state directory. The verdict is left to the
// caller.
func NewStatus(stateDir string, st *state.State, parts *status.Snapshot, running bool, pid int) Status {
	s := Status{SchemaVersion: StatusVersion, Agent: Agent{Running: running, PID: pid}, StateDir: stateDir,
		Identity: FromInstance(st.Identity),
		Setup:    Setup{InstanceID: st.Setup.InstanceID, Done: st.Setup.Done, At: st.Setup.At, EventID: st.Setup.EventID},
		Lifecycle: Lifecycle{State: st.Lifecycle.State, Detail: st.Lifecycle.Detail, SeenAt: st.Lifecycle.SeenAt,
			ShutdownDone: st.Lifecycle.ShutdownDone, ShutdownFor: st.Lifecycle.ShutdownFor, RebalanceAt: st.Lifecycle.RebalanceAt},
		Last: map[string]*Outcome{}, Queue: []Pending{}, Retries: []Retry{},
		Sources: map[string]*Component{}, Reporters: map[string]*Component{}, UpdatedAt: st.UpdatedAt,
		StatusUpdatedAt: parts.UpdatedAt}
	for k, o := range st.Last {
		if o != nil {
			oc := FromOutcome(*o)
			s.Last[string(k)] = &oc
		}
	}
	if st.Running != nil {
		p := fromPending(*st.Running)
		s.Running = &p
	}
	for _, p := range st.Queue {
		s.Queue = append(s.Queue, fromPending(p))
	}
	for _, k := range event.Kinds {
		for _, dk := range slices.Sorted(maps.Keys(st.Retries)) {
			r := st.Retries[dk]
			if r.Kind != k || !r.Automatic {
				continue
			}
			s.Retries = append(s.Retries, Retry{Event: string(r.Kind), Rule: r.Rule, Attempts: r.Attempts,
				NextAttempt: r.NotBefore, LastEventID: r.LastEventID, LastError: r.LastError})
		}
	}
	if parts.Discovery != nil {
		c := fromComponent(*parts.Discovery)
		s.Discovery = &c
	}
	for n, c := range parts.Sources {
		cc := fromComponent(*c)
		s.Sources[n] = &cc
	}
	for n, c := range parts.Reporters {
		cc := fromComponent(*c)
		s.Reporters[n] = &cc
	}
	return s
}

// FromInstance is the public form of an instance.
func FromInstance(in event.Instance) Instance {
	return Instance{InstanceID: in.InstanceID, Region: in.Region, AvailabilityZone: in.AvailabilityZone,
		PrivateIP: in.PrivateIP, PublicIP: in.PublicIP, InstanceType: in.InstanceType, LaunchTime: in.LaunchTime,
		Hostname: in.Hostname, Stack: in.Stack, LogicalID: in.LogicalID, AutoScalingGroup: in.AutoScalingGroup}
}

// FromTrigger is the public form of a trigger.
func FromTrigger(t event.Trigger) Trigger {
	return Trigger{Type: t.Type, Detail: t.Detail, Rules: t.Rules, Requests: t.Requests}
}

// FromOutcome is the public form of an event's outcome.
func FromOutcome(o state.Outcome) Outcome {
	out := Outcome{ID: o.ID, Event: string(o.Kind), Rule: o.Rule, Reason: o.Reason, Trigger: FromTrigger(o.Trigger),
		Retry: o.Retry, Result: o.Result, Start: o.Start, End: o.End, Duration: time.Duration(o.Duration).String(),
		FailedHook: o.Failed, Error: o.Error, OutputTail: o.Tail, Warnings: o.Warnings}
	for _, h := range o.Hooks {
		out.Hooks = append(out.Hooks, Hook{Name: h.Name, ExitCode: h.ExitCode, Duration: time.Duration(h.Duration).String(),
			TimedOut: h.TimedOut, Refused: h.Refused, Error: h.Error, LogFile: h.LogFile})
	}
	return out
}

func fromPending(p state.Pending) Pending {
	return Pending{ID: p.ID, Event: string(p.Kind), Rule: p.Rule, Reasons: p.Reasons, Trigger: FromTrigger(p.Trigger),
		Explicit: p.Explicit, Retry: p.Retry, Queued: p.Queued, Started: p.Started}
}

// FromCheck is the public form of a health check's verdict.
func FromCheck(c status.Check) Check {
	return Check{Name: c.Name, OK: c.OK, Failures: c.Failures, LastRun: c.LastRun, LastError: c.LastError}
}

func fromComponent(c status.Component) Component {
	out := Component{LastOK: c.LastOK, LastError: c.LastError, ErrorAt: c.ErrorAt, Detail: c.Detail,
		Attempts: c.Attempts, NextTry: c.NextTry, Counters: c.Counters}
	for _, ch := range c.Checks {
		out.Checks = append(out.Checks, FromCheck(ch))
	}
	for _, f := range c.Files {
		out.Files = append(out.Files, File{Path: f.Path, Group: f.Group, Stream: f.Stream, Shipped: f.Shipped, Size: f.Size,
			LagSeconds: f.LagSeconds, LastError: f.LastError, ErrorAt: f.ErrorAt})
	}
	return out
}
