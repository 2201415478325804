// Package state keeps what the agent must remember across restarts in one JSON file,
// written atomically, and the lock that keeps two agents off one state directory.
package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stackhand/stackhand/internal/atomicfile"
	"github.com/stackhand/stackhand/internal/event"
)

// FileName is the state file's name inside the state directory.
const FileName = "state.json"

// Version is the state file format written by this build.
const Version = 1

// HistoryLen is how many finished events the state keeps.
const HistoryLen = 50

// State is everything the agent remembers. The engine owns it; status reads it.
type State struct {
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	// PID of the agent that wrote the file last.
	PID int `json:"pid"`
	// Identity is this instance as last discovered.
	Identity event.Instance `json:"identity"`
	// Seq numbers events; it only grows.
	Seq uint64 `json:"seq"`

	Setup Setup `json:"setup"`
	// Applied maps a watch key (rule name|path) to the value the last successful event saw.
	// An absent value has no entry.
	Applied map[string]json.RawMessage `json:"applied"`
	// Peers is the peer set the last successful configure saw (sorted by instance id).
	Peers []event.Instance `json:"peers"`
	// PeersApplied is false until a configure has succeeded once.
	PeersApplied bool `json:"peers_applied"`
	// CfnHupAdopted is set once the values of cfn-hup's own record (metadata_db.json) were
	// taken as applied, at the first start with cfn-hup's hooks: never again, so that a
	// value removed since is not brought back from cfn-hup's stale record.
	CfnHupAdopted bool `json:"cfn_hup_adopted,omitempty"`

	// Running is the event in progress; found set at start, it was interrupted.
	Running *Pending `json:"running,omitempty"`
	// Queue holds the events waiting to run, in order.
	Queue []Pending `json:"queue"`
	// Last holds the most recent outcome of each event kind.
	Last map[event.Kind]*Outcome `json:"last"`
	// History holds the most recent outcomes, newest last.
	History []Outcome `json:"history"`

	// Retries holds, by event slot (dedupe key), the backoff of a slot whose last attempt
	// failed: kept across restarts, so a restart neither forgets the schedule nor retries
	// a failing event at once.
	Retries map[string]*Retry `json:"retries,omitempty"`

	Lifecycle Lifecycle `json:"lifecycle"`

	// RolloutFailed holds, by rule name, the value of a rule with a rollout whose event
	// failed on this instance and was not applied since: published, it holds the later
	// waves of the fleet.
	RolloutFailed map[string]RolloutFailure `json:"rollout_failed,omitempty"`

	// Apps holds, by app name, what the last deploy, undeploy or rollback of each app did.
	Apps map[string]*App `json:"apps,omitempty"`
}

// App is what the agent last did to one app's releases.
type App struct {
	// Revision is the revision of the release made live last ("" before any).
	Revision string `json:"revision,omitempty"`
	// Release is the name of the release `current` named after the last deploy or rollback.
	Release string `json:"release,omitempty"`
	// Result is succeeded, failed, rolled_back or undeployed; At when.
	Result string    `json:"result,omitempty"`
	At     time.Time `json:"at,omitempty"`
	// Error says why the last deploy failed.
	Error string `json:"error,omitempty"`
	// Desired is the revision the last deploy of the app aimed at.
	Desired string `json:"desired,omitempty"`
	// FailedRevision is a revision whose deploy failed and was rolled back (automatically
	// or by hand): the agent does not deploy it again on its own until the revision
	// changes, so that a failing revision cannot loop.
	FailedRevision string `json:"failed_revision,omitempty"`
}

// RolloutFailure is a value this instance failed to apply (its fleet.Fingerprint) and why.
type RolloutFailure struct {
	Fingerprint string `json:"fingerprint"`
	Reason      string `json:"reason"`
}

// Results of an App.
const (
	AppDeployed   = "succeeded"
	AppFailed     = "failed"
	AppRolledBack = "rolled_back"
	AppUndeployed = "undeployed"
)

// Retry is the backoff of one event slot after failed attempts.
type Retry struct {
	Kind event.Kind `json:"event"`
	Rule string     `json:"rule,omitempty"`
	// Attempts counts the failed attempts in a row at the same wanted values.
	Attempts int `json:"attempts"`
	// NotBefore is when the next attempt may start.
	NotBefore time.Time `json:"not_before"`
	// Automatic says the agent starts the next attempt by itself at NotBefore while the
	// change is still there; otherwise it waits for a new change or a trigger.
	Automatic bool `json:"automatic,omitempty"`
	// Fingerprint identifies the wanted values the attempts were at; a new value starts
	// the count again.
	Fingerprint string `json:"fingerprint"`
	// LastEventID and LastError are the last failed attempt's.
	LastEventID string `json:"last_event_id,omitempty"`
	LastError   string `json:"last_error,omitempty"`
}

// Setup records whether this instance's setup finished.
type Setup struct {
	InstanceID string    `json:"instance_id"`
	Done       bool      `json:"done"`
	At         time.Time `json:"at,omitzero"`
	EventID    string    `json:"event_id,omitempty"`
}

// Pending is an event waiting in the queue or running.
type Pending struct {
	ID      string        `json:"id"`
	Kind    event.Kind    `json:"event"`
	Rule    string        `json:"rule,omitempty"` // a command rule's name; "" = hooks.d
	Reasons []string      `json:"reasons"`
	Trigger event.Trigger `json:"trigger"`
	// Explicit events run even when the change that queued them has gone away
	// (requests, the deploy and configure that follow setup, retries).
	Explicit bool      `json:"explicit,omitempty"`
	Retry    bool      `json:"retry,omitempty"`
	Queued   time.Time `json:"queued"`
	Started  time.Time `json:"started,omitzero"`
	// Interruptions counts how many times in a row this event (an earlier run of it, then
	// its re-runs) was interrupted because the agent stopped or died while it ran.
	Interruptions int `json:"interruptions,omitempty"`
	// Fingerprint identifies the wanted values the event runs at (see Retry.Fingerprint);
	// set when it starts, so that an event the agent gives up re-running after too many
	// interruptions backs off in the right slot.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Rollback, on a deploy asked for by `stackhand rollback`, says which app to switch
	// back and to what; the event switches `current` and runs nothing else.
	Rollback *RollbackRequest `json:"rollback,omitempty"`
}

// RollbackRequest is `stackhand rollback APP [--to RELEASE]`.
type RollbackRequest struct {
	App string `json:"app"`
	// To is a release name or a revision; "" is the release before the current one.
	To string `json:"to,omitempty"`
}

// Outcome is a finished (or dropped) event.
type Outcome struct {
	ID       string        `json:"id"`
	Kind     event.Kind    `json:"event"`
	Rule     string        `json:"rule,omitempty"`
	Reason   string        `json:"reason"`
	Trigger  event.Trigger `json:"trigger"`
	Retry    bool          `json:"retry,omitempty"`
	Result   string        `json:"result"` // one of the event.Result values
	Start    time.Time     `json:"start,omitzero"`
	End      time.Time     `json:"end"`
	Duration Duration      `json:"duration"`
	Failed   string        `json:"failed_hook,omitempty"`
	Error    string        `json:"error,omitempty"`
	Tail     string        `json:"output_tail,omitempty"`
	Hooks    []HookOutcome `json:"hooks,omitempty"`
	Warnings []string      `json:"warnings,omitempty"`
}

// Results an Outcome can have: the event.Result values, as the strings Outcome.Result holds.
const (
	Succeeded   = string(event.Succeeded)
	Failed      = string(event.Failed)
	Dropped     = string(event.Dropped)
	Superseded  = string(event.Superseded)
	Interrupted = string(event.Interrupted)
)

// HookOutcome is one hook's part of an Outcome.
type HookOutcome struct {
	Name     string   `json:"name"`
	ExitCode int      `json:"exit_code"`
	Duration Duration `json:"duration"`
	TimedOut bool     `json:"timed_out,omitempty"`
	Refused  string   `json:"refused,omitempty"`
	Error    string   `json:"error,omitempty"`
	LogFile  string   `json:"log_file,omitempty"`
	// Builtin and Changes: a command the agent ran itself (cfn-init) and what it changed.
	Builtin bool     `json:"builtin,omitempty"`
	Changes []string `json:"changes,omitempty"`
}

// Lifecycle records what the lifecycle source last saw.
type Lifecycle struct {
	State        string    `json:"state,omitempty"`
	Detail       string    `json:"detail,omitempty"`
	SeenAt       time.Time `json:"seen_at,omitzero"`
	ShutdownDone bool      `json:"shutdown_done,omitempty"`
	// ShutdownFor is the instance id whose termination the shutdown event ran for.
	ShutdownFor string `json:"shutdown_for,omitempty"`
	// RebalanceAt is the notice time of the last rebalance recommendation acted on.
	RebalanceAt time.Time `json:"rebalance_at,omitzero"`
}

// Duration marshals as a Go duration string ("1.5s").
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
	*d = Duration(v)
	return err
}

// New returns an empty State.
func New() *State {
	return &State{
		Version: Version,
		Applied: map[string]json.RawMessage{},
		Last:    map[event.Kind]*Outcome{},
		Queue:   []Pending{},
		Peers:   []event.Instance{},
	}
}

// Record adds o to Last and History.
func (s *State) Record(o Outcome) {
	oc := o
	s.Last[o.Kind] = &oc
	s.History = append(s.History, o)
	if len(s.History) > HistoryLen {
		s.History = append([]Outcome(nil), s.History[len(s.History)-HistoryLen:]...)
	}
}

// Find returns the outcome of event id from History, if it is still there.
func (s *State) Find(id string) (Outcome, bool) {
	for i := len(s.History) - 1; i >= 0; i-- {
		if s.History[i].ID == id {
			return s.History[i], true
		}
	}
	return Outcome{}, false
}

func (s *State) fill() {
	if s.Applied == nil {
		s.Applied = map[string]json.RawMessage{}
	}
	if s.Last == nil {
		s.Last = map[event.Kind]*Outcome{}
	}
	if s.Queue == nil {
		s.Queue = []Pending{}
	}
	if s.Peers == nil {
		s.Peers = []event.Instance{}
	}
}

// Read reads the state file in dir without any side effect (for `stackhand status`).
// A missing file gives an empty State and no error; missing between the two renames of
// a save, the last-good copy is read.
func Read(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if errors.Is(err, fs.ErrNotExist) {
		// Between the two renames of a save, state.json is briefly absent and the state
		// is in LastGoodName: a reader then must not see an empty state.
		if b, err = os.ReadFile(filepath.Join(dir, LastGoodName)); err == nil {
			return decode(b, filepath.Join(dir, LastGoodName))
		}
		if errors.Is(err, fs.ErrNotExist) {
			return New(), nil
		}
	}
	if err != nil {
		return nil, err
	}
	return decode(b, filepath.Join(dir, FileName))
}

func decode(b []byte, path string) (*State, error) {
	s := New()
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(s); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", path, err)
	}
	if s.Version > Version {
		return nil, fmt.Errorf("%s was written by a newer stackhand (format %d, this build reads %d)", path, s.Version, Version)
	}
	s.fill()
	return s, nil
}

// LastGoodName is the previous state file, kept by each Save: what Open goes on from when
// state.json is corrupt, unreadable or missing after a crash between the two renames.
const LastGoodName = FileName + ".last-good"

// Store reads and writes the state file of one directory.
type Store struct {
	dir  string
	last []byte
}

// Open reads the state in dir, creating dir (0700) if needed. A corrupt or unreadable file
// is set aside (renamed to state.json.corrupt-<time>) and the state goes on from the last
// good copy, state.json.last-good, or from an empty State when there is none; the non-nil
// warning then says which, and the caller must log it loudly. It is never a reason not to
// start.
func Open(dir string, now time.Time) (st *State, s *Store, warning error, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, nil, fmt.Errorf("create state directory %s: %w", dir, err)
	}
	s = &Store{dir: dir}
	path := filepath.Join(dir, FileName)
	b, err := os.ReadFile(path)
	var bad error
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// A first start, or a crash between Save's two renames: then the last good copy
		// is the newest state.
		if lg, ok := s.lastGood(); ok {
			return lg, s, nil, nil
		}
		return New(), s, nil, nil
	case err != nil:
		bad = fmt.Errorf("read %s: %w", path, err)
	default:
		st, bad = decode(b, path)
		if bad == nil {
			s.last = b
			return st, s, nil, nil
		}
	}
	aside := fmt.Sprintf("%s.corrupt-%s", path, now.UTC().Format("20060102T150405Z"))
	setAside := "set aside as " + aside
	if rerr := os.Rename(path, aside); rerr != nil {
		setAside = fmt.Sprintf("could not set it aside (%v)", rerr)
	}
	if lg, ok := s.lastGood(); ok {
		return lg, s, fmt.Errorf("%v; %s; going on from the last good copy %s (written %s): the changes saved after it are seen again",
			bad, setAside, filepath.Join(dir, LastGoodName), lg.UpdatedAt.Format(time.RFC3339)), nil
	}
	return New(), s, fmt.Errorf("%v; %s; no last good copy (%s): starting from an empty state (setup will run again)",
		bad, setAside, LastGoodName), nil
}

// lastGood reads the last good copy, if there is a usable one.
func (s *Store) lastGood() (*State, bool) {
	path := filepath.Join(s.dir, LastGoodName)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	st, err := decode(b, path)
	return st, err == nil
}

// NewStore returns a Store for dir without reading anything (for an agent that could not
// read its state and goes on from an empty one).
func NewStore(dir string) *Store { return &Store{dir: dir} }

// Dir returns the state directory.
func (s *Store) Dir() string { return s.dir }

// Save writes st atomically: a temporary file in the same directory, fsync, rename, fsync
// of the directory; the file it replaces becomes state.json.last-good. It skips the write
// when nothing changed since the last Save.
func (s *Store) Save(st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	b = append(b, '\n')
	if bytes.Equal(b, s.last) {
		return nil
	}
	if err := atomicfile.WriteKeep(filepath.Join(s.dir, FileName), b, 0o600, filepath.Join(s.dir, LastGoodName)); err != nil {
		return err
	}
	s.last = b
	return nil
}

// SeqAtLeast raises Seq to n if it is lower: event ids found on disk (hook logs, payloads)
// from a state that was lost are never handed out again.
func (s *State) SeqAtLeast(n uint64) {
	s.Seq = max(s.Seq, n)
}

// HighestSeq returns the highest event sequence number among the names in dirs that are
// event ids (<event>-<digits>, with or without an extension): the hook log directories and
// payload files of the events that ran. Unreadable directories count as empty.
func HighestSeq(dirs ...string) uint64 {
	var high uint64
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if n, ok := seqOf(e.Name()); ok {
				high = max(high, n)
			}
		}
	}
	return high
}

// seqOf parses the sequence number of an event id, "deploy-000042" or "deploy-000042.json".
func seqOf(name string) (uint64, bool) {
	name = strings.TrimSuffix(name, filepath.Ext(name))
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return 0, false
	}
	if _, err := event.ParseKind(name[:i]); err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(name[i+1:], 10, 64)
	return n, err == nil
}
