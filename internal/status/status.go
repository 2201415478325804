// Package status is where the agent's parts say how they are doing, for `stackhand
// status`: discovery, each source and each reporter. Parts write to a Registry; one
// writer (Registry.Run) keeps the file status.json in the state directory: at once when a
// problem appears or clears, otherwise at most every FlushEvery, and once more at stop.
//
// It is kept apart from state.json, which holds what the agent must remember across
// restarts (the engine's applied values, queue, history and retry schedule), and from the
// health checks, whose verdicts are one reporter's Checks here.
package status

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// FileName is the status file's name in the state directory.
const FileName = "status.json"

// Version is the status file format written by this build.
const Version = 1

// FlushEvery is how old the status file may be, at most, while the agent runs and
// something in it changed: counters and lags are seconds old at 3 a.m., not minutes.
const FlushEvery = 10 * time.Second

// LazyFlush is how old the file may be when only the time of a source's last good
// reading changed.
const LazyFlush = time.Minute

// Component is one part's last success and last problem, and what else it shows.
type Component struct {
	LastOK    time.Time `json:"last_ok,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	ErrorAt   time.Time `json:"error_at,omitzero"`
	Detail    string    `json:"detail,omitempty"`
	// Attempts counts the failed tries in a row and NextTry is when the next one starts,
	// for a part that retries on its own schedule (discovery).
	Attempts int       `json:"attempts,omitempty"`
	NextTry  time.Time `json:"next_try,omitzero"`
	// Every is how often the part succeeds when all is well (a source's poll interval, the
	// heartbeat's period), and Since when the agent began expecting it to: a part whose
	// last success (or Since, before any) is older than StaleAfter(Every) is stale — it
	// stopped without saying why (a call that never returns). Zero for a part that only
	// acts on demand.
	Every time.Duration `json:"every,omitempty"`
	Since time.Time     `json:"since,omitzero"`
	// Counters are a reporter's running totals since the agent started ("sent",
	// "dropped", "retries", "rejected").
	Counters map[string]int64 `json:"counters,omitempty"`
	// Checks are the health checks' last verdicts (the "health" reporter).
	Checks []Check `json:"checks,omitempty"`
	// Files is what the log shipper knows of each file it follows (the "logs" reporter).
	Files []File `json:"files,omitempty"`
	// Journals is what it knows of each logs.journald entry it follows.
	Journals []Journal `json:"journals,omitempty"`
	// WinEvents is what it knows of each logs.windows_events entry it follows.
	WinEvents []WinEventLog `json:"windows_events,omitempty"`
}

// Journal is what the log shipper knows of one logs.journald entry.
type Journal struct {
	Entry  string `json:"entry"` // logs.journald[0]
	What   string `json:"what"`  // journal (units nginx, priority info)
	Group  string `json:"group"`
	Stream string `json:"stream"`
	// Shipped counts the entries CloudWatch Logs stored since the agent started;
	// Pending those read and not stored yet.
	Shipped int64 `json:"shipped"`
	Pending int64 `json:"pending"`
	// VacuumedUnshipped counts the entries the journal removed (rotation, vacuum) after
	// the checkpoint and before the agent read them.
	VacuumedUnshipped int64 `json:"vacuumed_unshipped"`
	// LastEntry is the journal time of the last entry read; Cursor the cursor of the last
	// one stored, where a restart goes on from.
	LastEntry time.Time `json:"last_entry,omitzero"`
	Cursor    string    `json:"cursor,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	ErrorAt   time.Time `json:"error_at,omitzero"`
}

// WinEventLog is one logs.windows_events entry the log shipper follows.
type WinEventLog struct {
	Entry  string `json:"entry"` // logs.windows_events[0]
	What   string `json:"what"`  // event log (channel System, levels ERROR, xml)
	Group  string `json:"group"`
	Stream string `json:"stream"`
	// Shipped counts the events CloudWatch Logs stored since the agent started;
	// Pending those read and not stored yet.
	Shipped int64 `json:"shipped"`
	Pending int64 `json:"pending"`
	// ClearedUnshipped counts the events cleared from the channel (or overwritten as it
	// wrapped) after the checkpoint and before the agent read them.
	ClearedUnshipped int64 `json:"cleared_unshipped"`
	// LastEvent is the time of the last event read; RecordID the record id of the last
	// one stored, where a restart goes on from.
	LastEvent time.Time `json:"last_event,omitzero"`
	RecordID  uint64    `json:"record_id,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	ErrorAt   time.Time `json:"error_at,omitzero"`
}

// StaleIntervals is how many of its intervals a part may go without a success before
// status calls it stale.
const StaleIntervals = 3

// StaleAfter is how long a part that succeeds every every may go without a success: a
// few intervals, plus the time its good readings may wait to be written (LazyFlush at
// most, or one interval when that is shorter).
func StaleAfter(every time.Duration) time.Duration {
	return StaleIntervals*every + min(every, LazyFlush)
}

// StaleAt is when c becomes stale if nothing succeeds before; zero for a part with no
// interval.
func (c Component) StaleAt() time.Time {
	if c.Every <= 0 {
		return time.Time{}
	}
	ref := c.LastOK
	if ref.IsZero() {
		ref = c.Since
	}
	if ref.IsZero() {
		return time.Time{}
	}
	return ref.Add(StaleAfter(c.Every))
}

// Settle records an attempt's outcome at now: the error and when it came, or the success.
// It reports whether the problem changed (a new or different error, or the first success
// after one), so that a part logs each problem once, and its end.
func (c *Component) Settle(err error, now time.Time) (changed bool) {
	if err != nil {
		changed = c.LastError != err.Error()
		c.LastError, c.ErrorAt = err.Error(), now
		return changed
	}
	changed = c.LastError != ""
	c.LastError, c.LastOK = "", now
	return changed
}

// Check is one health check's last verdict.
type Check struct {
	Name string `json:"name"`
	// OK is the last run's result; Failures counts consecutive failed runs.
	OK        bool      `json:"ok"`
	Failures  int       `json:"failures"`
	LastRun   time.Time `json:"last_run,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// File is one shipped log file.
type File struct {
	Path   string `json:"path"`
	Group  string `json:"group"`
	Stream string `json:"stream"`
	// Shipped is the offset up to which the service has acknowledged the file; Size is
	// the file's size when last looked at, so Size-Shipped is the lag in bytes.
	Shipped int64 `json:"shipped"`
	Size    int64 `json:"size"`
	// LagSeconds is how old the oldest event not yet acknowledged is.
	LagSeconds float64   `json:"lag_seconds"`
	LastError  string    `json:"last_error,omitempty"`
	ErrorAt    time.Time `json:"error_at,omitzero"`
}

// Snapshot is the content of status.json.
type Snapshot struct {
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	PID       int       `json:"pid"`
	// Discovery is finding out which instance this is (IMDS, tags); nil before it began.
	Discovery *Component            `json:"discovery,omitempty"`
	Sources   map[string]*Component `json:"sources"`
	Reporters map[string]*Component `json:"reporters"`
}

// Read reads the status file in dir. A missing file gives an empty Snapshot and no error
// (an agent that never ran, or one from before the file existed).
func Read(dir string) (*Snapshot, error) {
	path := filepath.Join(dir, FileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return empty(), nil
	}
	if err != nil {
		return nil, err
	}
	s := empty()
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(s); err != nil {
		return nil, fmt.Errorf("%s is corrupt (the agent rewrites it within %s while it runs): %w", path, FlushEvery, err)
	}
	if s.Sources == nil {
		s.Sources = map[string]*Component{}
	}
	if s.Reporters == nil {
		s.Reporters = map[string]*Component{}
	}
	return s, nil
}

func empty() *Snapshot {
	return &Snapshot{Version: Version, Sources: map[string]*Component{}, Reporters: map[string]*Component{}}
}
