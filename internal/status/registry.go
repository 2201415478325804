package status

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/atomicfile"
	"github.com/stackhand/stackhand/internal/clock"
)

// Registry holds every part's status in memory; Run writes it to the state directory.
// Its methods are safe for concurrent use.
type Registry struct {
	dir string
	clk clock.Clock
	log *zap.Logger

	mu       sync.Mutex
	snap     Snapshot
	writeErr string
	// buf is the last encoding's buffer, reused by the next (only Run's goroutine uses it).
	buf []byte
	// sourceErr is each source's problem as last logged, so it is logged once.
	sourceErr map[string]string
	// every is each part's expected interval, by "source:name" or "reporter:name" (Expect).
	every map[string]time.Duration

	// wantBy is when what changed must be written at the latest (zero: nothing waits);
	// kick tells Run that it moved earlier. flushed is when the file was last written.
	wantBy  time.Time
	flushed time.Time
	kick    chan struct{}
}

// NewRegistry returns a Registry that Run writes to dir/status.json.
func NewRegistry(dir string, clk clock.Clock, log *zap.Logger) *Registry {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Registry{dir: dir, clk: clk, log: log,
		snap:      Snapshot{Version: Version, Sources: map[string]*Component{}, Reporters: map[string]*Component{}},
		sourceErr: map[string]string{}, every: map[string]time.Duration{},
		kick: make(chan struct{}, 1)}
}

// Discovery records how finding out which instance this is goes.
func (r *Registry) Discovery(c Component) {
	r.mu.Lock()
	prev := r.snap.Discovery
	r.snap.Discovery = &c
	r.mu.Unlock()
	r.changed(urgency(prev == nil || prev.LastError != c.LastError, FlushEvery))
}

// Parts that Expect names: a source or a reporter.
const (
	KindSource   = "source"
	KindReporter = "reporter"
)

// Expect says that the source or reporter name (kind KindSource or KindReporter)
// succeeds every every while all is well, from now on: status calls it stale when it
// goes StaleAfter(every) without a success, even before its first report (a first call
// that never returns).
func (r *Registry) Expect(kind, name string, every time.Duration) {
	now := r.clk.Now().UTC()
	r.mu.Lock()
	r.every[kind+":"+name] = every
	parts := r.snap.Sources
	if kind == KindReporter {
		parts = r.snap.Reporters
	}
	c := parts[name]
	if c == nil {
		c = &Component{}
		parts[name] = c
	}
	c.Every, c.Since = every, now
	r.mu.Unlock()
	r.changed(FlushEvery)
}

// expected stamps c with what Expect said of the part; the caller holds r.mu.
func (r *Registry) expected(kind, name string, c *Component, prev *Component) {
	if every, ok := r.every[kind+":"+name]; ok {
		c.Every = every
		if prev != nil {
			c.Since = prev.Since
		}
	}
}

// Reporter records a reporter's status (heartbeat, health, metrics, notify, logs). A new
// or cleared problem is written at once (the reporter logged it); counters and lags
// within FlushEvery.
func (r *Registry) Reporter(name string, c Component) {
	r.mu.Lock()
	prev := r.snap.Reporters[name]
	r.expected(KindReporter, name, &c, prev)
	r.snap.Reporters[name] = &c
	r.mu.Unlock()
	r.changed(urgency(prev == nil || prev.LastError != c.LastError, FlushEvery))
}

// Source records one reading of a source: problem is "" for a good one. A source's first
// reading and a change of its problem are written at once; later good readings within
// LazyFlush. A problem is logged when it first appears or changes, and its end once, not
// at every poll. detail is what a good reading has to say (status shows it; "" for
// nothing), logged at info when it first appears or changes.
func (r *Registry) Source(name, problem, detail string) {
	now := r.clk.Now().UTC()
	r.mu.Lock()
	c := r.snap.Sources[name]
	first := c == nil
	if first {
		c = &Component{}
		r.snap.Sources[name] = c
	}
	prevDetail := c.Detail
	if problem == "" {
		c.LastOK, c.LastError, c.Detail = now, "", detail
	} else {
		c.LastError, c.ErrorAt = problem, now
	}
	prev := r.sourceErr[name]
	r.sourceErr[name] = problem
	within := LazyFlush
	if c.Every > 0 {
		// A good reading is written within one interval when that is shorter, so that
		// the file's last_ok is never what makes a part look stale.
		within = min(within, c.Every)
	}
	r.mu.Unlock()
	switch {
	case problem != "" && problem != prev:
		r.log.Error("source problem; nothing it watches changes until it is fixed", zap.String("source", name), zap.String("error", problem))
	case problem == "" && prev != "":
		r.log.Info("source recovered", zap.String("source", name))
	}
	if problem == "" && detail != "" && detail != prevDetail {
		r.log.Info(detail, zap.String("source", name))
	}
	r.changed(urgency(first || problem != prev || c.Detail != prevDetail, within))
}

// Snapshot returns a copy of what the registry holds now.
func (r *Registry) Snapshot() Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.snap
	s.Sources = maps.Clone(r.snap.Sources)
	s.Reporters = maps.Clone(r.snap.Reporters)
	return s
}

// urgency is 0 when a problem appeared or cleared, else within.
func urgency(problemChanged bool, within time.Duration) time.Duration {
	if problemChanged {
		return 0
	}
	return within
}

// changed asks Run to write what changed within d. It never blocks: a write already due
// sooner carries the change. The write is due d after the last one, or at once when
// that is past: a part that reads every d (the lifecycle poll) has the file written in
// the same wake-up as its reading, not by a timer of its own d later.
func (r *Registry) changed(d time.Duration) {
	now := r.clk.Now()
	r.mu.Lock()
	at := r.flushed.Add(d)
	if at.Before(now) {
		at = now
	}
	sooner := r.wantBy.IsZero() || at.Before(r.wantBy)
	if sooner {
		r.wantBy = at
	}
	r.mu.Unlock()
	if sooner {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// Run writes the status file at once, then whenever a problem appears or clears, within
// FlushEvery of a reporter's other changes and within LazyFlush of a source's good
// reading (only its time changed), until ctx ends; then once more.
func (r *Registry) Run(ctx context.Context) {
	r.flush()
	tick := make(chan struct{}, 1)
	var timer clock.Timer
	var armed time.Time // when timer fires; zero when none is armed
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			r.flush()
			return
		case <-r.kick:
		case <-tick:
			timer, armed = nil, time.Time{}
		}
		r.mu.Lock()
		at := r.wantBy
		r.mu.Unlock()
		switch {
		case at.IsZero():
		case !at.After(r.clk.Now()):
			r.flush()
		case armed.IsZero() || at.Before(armed):
			if timer != nil {
				timer.Stop()
			}
			armed = at
			timer = r.clk.AfterFunc(at.Sub(r.clk.Now()), func() {
				select {
				case tick <- struct{}{}:
				default:
				}
			})
		}
	}
}

// flush writes the snapshot. A write that fails is
// logged once until it works again: status then shows what was last written.
func (r *Registry) flush() {
	r.mu.Lock()
	r.wantBy = time.Time{}
	r.flushed = r.clk.Now()
	r.snap.UpdatedAt = r.flushed.UTC()
	r.snap.PID = os.Getpid()
	b := append(appendSnapshot(r.buf[:0], &r.snap), '\n')
	r.mu.Unlock()
	r.buf = b
	// Not fsynced: the file is rewritten every few seconds and again at every start, so
	// after a power loss an older one is harmless (see atomicfile.WriteVolatile).
	err := atomicfile.WriteVolatile(filepath.Join(r.dir, FileName), b, 0o600)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg != r.writeErr {
		if err != nil {
			r.log.Error("cannot write the status file; stackhand status shows what was last written until it can", zap.Error(err))
		} else {
			r.log.Info("the status file is writable again", zap.String("dir", r.dir))
		}
		r.writeErr = msg
	}
}
