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
	Last    map[string]*Event `json:"last"`
	Running *Pending          `json:"running,omitempty"`
	Queue   []Pending         `json:"queue"`
	// Retries are the failed events the agent tries again by itself, and when.
	Retries   []Retry               `json:"retries"`
	Sources   map[string]*Component `json:"sources"`
	Reporters map[string]*Component `json:"reporters"`
	// Apps is what the agent last did to each app's releases (config apps:); absent
	// without apps.
	Apps map[string]*App `json:"apps,omitempty"`
	// UpdatedAt is when the agent last wrote its state; StatusUpdatedAt when it last
	// wrote its parts' status (within 10 s of a change while it runs).
	UpdatedAt       time.Time `json:"state_updated_at"`
	StatusUpdatedAt time.Time `json:"status_updated_at,omitzero"`
}

// App is one app's releases as the agent last left them.
type App struct {
	// Release is the release `current` names after the last deploy or rollback, and
	// Revision its revision.
	Release  string `json:"release,omitempty"`
	Revision string `json:"revision,omitempty"`
	// DesiredRevision is the revision the last deploy aimed at.
	DesiredRevision string `json:"desired_revision,omitempty"`
	// Result of the last deploy, undeploy or rollback: succeeded, failed, rolled_back or
	// undeployed; At when; Error why it failed.
	Result string    `json:"result,omitempty"`
	At     time.Time `json:"at,omitzero"`
	Error  string    `json:"error,omitempty"`
	// FailedRevision was rolled back; the agent does not deploy it again on its own.
	FailedRevision string `json:"failed_revision,omitempty"`
	// Note says so in words, for people.
	Note string `json:"note,omitempty"`
}

// AppNote is what status says of an app whose revision was rolled back.
func AppNote(name string, a state.App) string {
	if a.FailedRevision == "" {
		return ""
	}
	return name + ": revision " + a.FailedRevision + " failed and was rolled back to " + a.Release +
		"; will deploy again when the revision changes"
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
	// Interruptions counts the earlier runs of this event that the agent's stop or death
	// interrupted, in a row; absent when none.
	Interruptions int `json:"interruptions,omitempty"`
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
	Journals  []Journal        `json:"journals,omitempty"`
	WinEvents []WinEventLog    `json:"windows_events,omitempty"`
	// EverySeconds is how often the part succeeds when all is well, and Since when the
	// agent began expecting it to; absent for a part that acts only on demand.
	EverySeconds float64   `json:"every_seconds,omitempty"`
	Since        time.Time `json:"since,omitzero"`
	// Stale says the part's last success (or Since, before any) is older than a few of
	// its intervals, while the agent runs: it stopped without saying why.
	Stale bool `json:"stale,omitempty"`
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

// WinEventLog is one logs.windows_events entry the log shipper follows (Windows).
type WinEventLog struct {
	Entry            string    `json:"entry"`
	What             string    `json:"what"`
	Group            string    `json:"group"`
	Stream           string    `json:"stream"`
	Shipped          int64     `json:"shipped"`
	Pending          int64     `json:"pending"`
	ClearedUnshipped int64     `json:"cleared_unshipped"`
	LastEvent        time.Time `json:"last_event,omitzero"`
	RecordID         uint64    `json:"record_id,omitempty"`
	LastError        string    `json:"last_error,omitempty"`
	ErrorAt          time.Time `json:"error_at,omitzero"`
}

// Journal is one logs.journald entry the log shipper follows.
type Journal struct {
	Entry             string    `json:"entry"`
	What              string    `json:"what"`
	Group             string    `json:"group"`
	Stream            string    `json:"stream"`
	Shipped           int64     `json:"shipped"`
	Pending           int64     `json:"pending"`
	VacuumedUnshipped int64     `json:"vacuumed_unshipped"`
	LastEntry         time.Time `json:"last_entry,omitzero"`
	Cursor            string    `json:"cursor,omitempty"`
	LastError         string    `json:"last_error,omitempty"`
	ErrorAt           time.Time `json:"error_at,omitzero"`
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
		Last: map[string]*Event{}, Queue: []Pending{}, Retries: []Retry{},
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
	for name, a := range st.Apps {
		if a == nil {
			continue
		}
		if s.Apps == nil {
			s.Apps = map[string]*App{}
		}
		s.Apps[name] = &App{Release: a.Release, Revision: a.Revision, DesiredRevision: a.Desired, Result: a.Result, At: a.At,
			Error: a.Error, FailedRevision: a.FailedRevision, Note: AppNote(name, *a)}
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

func fromPending(p state.Pending) Pending {
	return Pending{ID: p.ID, Event: string(p.Kind), Rule: p.Rule, Reasons: p.Reasons, Trigger: FromTrigger(p.Trigger),
		Explicit: p.Explicit, Retry: p.Retry, Queued: p.Queued, Started: p.Started, Interruptions: p.Interruptions}
}

func fromComponent(c status.Component) Component {
	out := Component{LastOK: c.LastOK, LastError: c.LastError, ErrorAt: c.ErrorAt, Detail: c.Detail,
		Attempts: c.Attempts, NextTry: c.NextTry, Counters: c.Counters, EverySeconds: c.Every.Seconds(), Since: c.Since}
	if len(c.Checks) > 0 {
		out.Checks = FromChecks(c.Checks)
	}
	for _, f := range c.Files {
		out.Files = append(out.Files, File{Path: f.Path, Group: f.Group, Stream: f.Stream, Shipped: f.Shipped, Size: f.Size,
			LagSeconds: f.LagSeconds, LastError: f.LastError, ErrorAt: f.ErrorAt})
	}
	for _, j := range c.Journals {
		out.Journals = append(out.Journals, Journal(j))
	}
	for _, w := range c.WinEvents {
		out.WinEvents = append(out.WinEvents, WinEventLog(w))
	}
	return out
}
