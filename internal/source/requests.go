package source

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stackhand/stackhand/internal/atomicfile"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
)

// The request spool lives in the state directory, which only root (or the agent's own
// user) can write, so only they can ask the agent to run an event.
const (
	RequestsDir = "requests"
	ResultsDir  = "results"
)

// Result is the answer to a Request, written to results/<id>.json.
type Result struct {
	Request string        `json:"request"`
	Outcome state.Outcome `json:"outcome"`
}

// Spool is the requests source: it reads `stackhand trigger` requests from
// <state>/requests/ and writes their results to <state>/results/.
type Spool struct {
	StateDir string
	Clock    clock.Clock
	Interval time.Duration
	// OnInvalid is told about a request file that could not be used (already answered).
	OnInvalid func(file string, err error)

	emitted map[string]bool
}

// Name returns "requests".
func (*Spool) Name() string { return "requests" }

// NewRequestID returns a fresh request id.
func NewRequestID(now time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return "req-" + now.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// Submit writes req into the spool of stateDir, atomically, for the agent to pick up. It
// refuses a spool the agent refuses (see Spool.Run), with the reason and the fix.
func Submit(stateDir string, req Request) error {
	dir := filepath.Join(stateDir, RequestsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create request spool %s: %w", dir, err)
	}
	// The agent's own rule: a spool it refuses would keep the request, and its requester
	// waiting, for ever.
	if err := checkSpoolDir(dir); err != nil {
		return fmt.Errorf("the agent refuses this request spool, so no request was written: %w", err)
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, req.ID+".json"), b, 0o600); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("%w (the request spool %s is writable only by root: run stackhand trigger with sudo)", err, dir)
		}
		return err
	}
	return nil
}

// ReadResult returns the result of request id, or fs.ErrNotExist while there is none.
func ReadResult(stateDir, id string) (Result, error) {
	var r Result
	b, err := os.ReadFile(resultPath(stateDir, id))
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(b, &r)
}

// RemoveResult deletes the result of request id once its requester has read it.
func RemoveResult(stateDir, id string) { os.Remove(resultPath(stateDir, id)) }

func resultPath(stateDir, id string) string {
	return filepath.Join(stateDir, ResultsDir, id+".json")
}

// Pending reports whether request id is still waiting in the spool.
func Pending(stateDir, id string) bool {
	_, err := os.Stat(filepath.Join(stateDir, RequestsDir, id+".json"))
	return err == nil
}

// Remove deletes request id from the spool; the engine calls it once the request is
// safely in the state file's queue.
func (s *Spool) Remove(id string) {
	os.Remove(filepath.Join(s.StateDir, RequestsDir, id+".json"))
}

// Answer writes the result of request id for the waiting `stackhand trigger`.
func (s *Spool) Answer(id string, o state.Outcome) error {
	dir := filepath.Join(s.StateDir, ResultsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(Result{Request: id, Outcome: o})
	if err != nil {
		return err
	}
	return atomicfile.Write(resultPath(s.StateDir, id), b, 0o600)
}

// Run reports each new request file. Files that are not valid requests are answered with
// the error and removed, so the requester learns why at once.
func (s *Spool) Run(ctx context.Context, emit func(Update)) error {
	dir := filepath.Join(s.StateDir, RequestsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create request spool %s: %w", dir, err)
	}
	if err := checkSpoolDir(dir); err != nil {
		return err
	}
	os.MkdirAll(filepath.Join(s.StateDir, ResultsDir), 0o700)
	s.emitted = map[string]bool{}
	clk := s.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	interval := s.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	match := func(n string) bool { return strings.HasSuffix(n, ".json") && !strings.HasPrefix(n, ".") }
	watchDir(ctx, clk, dir, match, interval, func() { s.scan(dir, emit) })
	return nil
}

func (s *Spool) scan(dir string, emit func(Update)) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		emit(Update{Source: s.Name(), Err: fmt.Errorf("read request spool: %w", err)})
		return
	}
	present := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		id := strings.TrimSuffix(name, ".json")
		present[id] = true
		if s.emitted[id] {
			continue
		}
		req, err := s.read(filepath.Join(dir, name), id)
		if err != nil {
			s.emitted[id] = true
			o := state.Outcome{ID: "", Result: state.Failed, Error: err.Error(), End: time.Now().UTC()}
			s.Answer(id, o)
			s.Remove(id)
			if s.OnInvalid != nil {
				s.OnInvalid(name, err)
			}
			continue
		}
		s.emitted[id] = true
		emit(Update{Source: s.Name(), Request: &req})
	}
	for id := range s.emitted {
		if !present[id] {
			delete(s.emitted, id)
		}
	}
	s.pruneResults()
}

// resultsKept is how long an answer waits for a `stackhand trigger` that went away.
const resultsKept = 24 * time.Hour

// pruneResults removes answers nobody collected within resultsKept.
func (s *Spool) pruneResults() {
	dir := filepath.Join(s.StateDir, ResultsDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	now := time.Now()
	if s.Clock != nil {
		now = s.Clock.Now()
	}
	for _, e := range entries {
		info, err := e.Info()
		if err == nil && info.Mode().IsRegular() && now.Sub(info.ModTime()) > resultsKept {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func (s *Spool) read(path, id string) (Request, error) {
	var req Request
	info, err := os.Lstat(path)
	if err != nil {
		return req, err
	}
	if !info.Mode().IsRegular() {
		return req, fmt.Errorf("%s is not a regular file", path)
	}
	if err := checkRequestOwner(path, info); err != nil {
		return req, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return req, err
	}
	return parseRequest(b, path, id)
}

// parseRequest reads the request file at path, named for request id, from its bytes b.
// Every error names the file, which is refused and answered as failed.
func parseRequest(b []byte, path, id string) (Request, error) {
	var req Request
	if err := json.Unmarshal(b, &req); err != nil {
		return req, fmt.Errorf("%s is not a valid request: %v", path, err)
	}
	if req.ID != id {
		return req, fmt.Errorf("%s holds request id %q, not %q", path, req.ID, id)
	}
	if _, err := event.ParseKind(string(req.Event)); err != nil {
		return req, fmt.Errorf("%s: %w", path, err)
	}
	return req, nil
}
