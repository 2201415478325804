// Package engine turns what the sources see into lifecycle events and runs them, one at a
// time, through the hook runner. It owns the state: what was applied, what waits, what ran.
//
// The model is "desired against applied": the sources report what is there now
// (observed), the state remembers what the last successful event saw (applied), and every
// difference that a watch rule fires on becomes a pending event. An event that fails
// leaves applied alone, so the difference stays and the event is retried — after a backoff
// that doubles from the poll interval up to an hour, or at once when the value changes
// again. Nothing is lost by a crash: the running event is in the state file and is run
// again, with STACKHAND_RETRY=1, at the next start.
package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/status"
)

// Runner runs one event's hooks.
type Runner interface {
	Run(ctx context.Context, s hooks.Spec) hooks.Result
}

// Spool is where `stackhand trigger` requests come from and their answers go.
type Spool interface {
	Remove(id string)
	Answer(id string, o state.Outcome) error
}

// Notifier is told about every finished event (local sink, EventBridge later).
type Notifier interface {
	EventDone(o state.Outcome, instance event.Instance)
}

// ShutdownObserver is told when the shutdown hooks start and end; the AWS lifecycle
// action uses it to keep a terminating instance waiting for them. Both calls run outside
// the event loop; ShutdownFinished returns before the agent exits.
type ShutdownObserver interface {
	// ShutdownStarted gets the event.ShutdownCause of the shutdown: the lifecycle state
	// that caused it (Terminated, spot-interruption) or "system" for an operating system
	// shutdown.
	ShutdownStarted(lifecycleState string, deadline time.Time)
	ShutdownFinished(ok bool)
}

// Options are what New needs. Config, Store, State, Runner and Logger are required.
type Options struct {
	Config *config.Config
	Store  *state.Store
	State  *state.State
	Runner Runner
	// Apps, when set, runs the app releases of deploy and undeploy events (config apps:).
	Apps     Apps
	Spool    Spool
	Notifier Notifier
	Shutdown ShutdownObserver
	// Fleet, when set, gates the rules with a rollout and is told this instance's state
	// after each event.
	Fleet Fleet
	// Signaler, when set, is handed the signals of the rules with signal:.
	Signaler Signaler
	// Status, when set, is told each source's problem (or its absence) as the engine takes
	// in the source's update.
	Status *status.Registry
	Clock  clock.Clock
	Logger *zap.Logger
	// Await names the sources whose first report (a reading or an error) the engine waits
	// for before it runs any event, so that the first event after a start sees the world
	// as it is and not half of it.
	Await []string
}

// maxInterruptedReruns is how many times in a row an event that the agent's stop or death
// interrupted is run again at the next start. One more interruption and it is recorded as
// failed and left to the failure schedule: a hook that reboots the machine, or a deploy that
// upgrades (and so restarts) the agent, would otherwise run at every start, forever.
const maxInterruptedReruns = 2

// maxBackoff caps the wait between retries of a failing event.
const maxBackoff = time.Hour

// Engine is the event loop. Create it with New, feed it with Update, run it with Run.
type Engine struct {
	cfg    *config.Config
	store  *state.Store
	st     *state.State
	runner Runner
	apps   Apps
	spool  Spool
	notify Notifier
	obs    ShutdownObserver
	status *status.Registry
	clk    clock.Clock
	log    *zap.Logger

	updates  chan source.Update
	done     chan finished
	wake     chan struct{}
	shutdown chan shutdownRequest
	finishCh chan struct{}

	// finishing is set by Finish: no new event starts, and Run returns once none runs.
	finishing bool

	awaiting  map[string]bool
	identity  *event.Instance
	observed  map[string]source.Observed // by rule name
	tags      map[string]string
	peers     []event.Instance
	peersRead bool

	running *run
	timers  map[time.Time]clock.Timer

	fleet    Fleet
	signaler Signaler
	// rolloutOK is, by rule name, the value (its fleet.Fingerprint) the rollout gate let
	// this instance apply.
	rolloutOK map[string]string
	// rolloutWant is, by rule name, the value a rule's wave waits for; publishSoon says
	// that it changed and this instance's state is to be published again.
	rolloutWant map[string]string
	publishSoon bool
	// rolloutHold is the operator's hold, as the peers source last read it.
	rolloutHold bool
	// noPeers says the peers source has no peers to watch (no group, no stack): a rule
	// with a rollout then applies at once, this instance being the whole fleet.
	noPeers bool

	terminating   bool
	shutdownWhy   string
	shutdownUntil time.Time
	shutdownFor   string // instance id, when the shutdown is a termination
	exit          bool
	// terminatedNoted is set once the agent said that this termination's shutdown already ran.
	terminatedNoted bool
	// drained is set once this instance's terminating shutdown is done (in this run, or
	// in an earlier one: systemd restarts the agent after it exits): nothing more is
	// queued or run, requests are answered dropped, until the instance is gone.
	drained bool

	saveErr string
	// batching is set while applyBatch takes in waiting updates: save only marks the state
	// dirty, and spool files wait in spoolDone for the write.
	batching, batchDirty bool
	spoolDone            []string
	// saves counts state writes (for tests and benchmarks).
	saves int
}

type shutdownRequest struct {
	reason   string
	deadline time.Time
}

// New makes an Engine from the state it is given. An event found running in the state was
// interrupted by a crash or a kill: it is queued again, first, with Retry set.
func New(o Options) (*Engine, error) {
	if o.Config == nil || o.Store == nil || o.State == nil || o.Runner == nil || o.Logger == nil {
		return nil, errors.New("engine: Config, Store, State, Runner and Logger are required")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	e := &Engine{
		cfg: o.Config, store: o.Store, st: o.State, runner: o.Runner, apps: o.Apps, spool: o.Spool,
		notify: o.Notifier, obs: o.Shutdown, status: o.Status, clk: o.Clock, log: o.Logger, fleet: o.Fleet, signaler: o.Signaler,
		updates:  make(chan source.Update, 64),
		done:     make(chan finished, 1),
		wake:     make(chan struct{}, 1),
		shutdown: make(chan shutdownRequest, 1),
		finishCh: make(chan struct{}, 1),
		observed: map[string]source.Observed{},
		timers:   map[time.Time]clock.Timer{},
		awaiting: map[string]bool{},
	}
	for _, name := range o.Await {
		e.awaiting[name] = true
	}
	if r := e.st.Running; r != nil {
		e.st.Running = nil
		e.interrupted(*r)
	}
	if l := e.st.Lifecycle; l.ShutdownDone && l.ShutdownFor != "" && l.ShutdownFor == e.st.Identity.InstanceID {
		e.drain()
	}
	e.st.PID = os.Getpid()
	e.save()
	return e, nil
}

// LocalFreshStart says how to start a fresh instance in mode local once this one's
// terminating shutdown ran (there no instance ever ends, so the agent would idle forever).
func LocalFreshStart(stateDir string) string {
	return "mode local: to start a fresh instance, stop the agent and remove its state directory " + stateDir +
		" (make run: make clean), then start it again"
}

// drainedWhy is what the events and requests dropped on a drained instance are told.
const drainedWhy = "the instance is terminating and its shutdown hooks already ran: nothing more runs on it"

// drain makes the engine idle for good on an instance whose terminating shutdown is
// done: what was queued is dropped, and nothing is queued or run again. The caller saves.
func (e *Engine) drain() {
	if !e.drained {
		e.log.Warn("this instance's terminating shutdown is done: the agent stays up idle, runs no event and drops every request until the instance ends",
			zap.String("instance", e.st.Lifecycle.ShutdownFor))
		if e.cfg.Mode == config.ModeLocal {
			e.log.Warn(LocalFreshStart(e.cfg.StateDir))
		}
	}
	e.drained, e.terminating, e.shutdownWhy = true, true, drainedWhy
	for _, p := range e.st.Queue {
		e.drop(p, state.Dropped, drainedWhy)
	}
	e.st.Queue = []state.Pending{}
}

// Update hands the engine what a source saw. It blocks until the engine takes it or ctx ends.
func (e *Engine) Update(ctx context.Context, u source.Update) {
	select {
	case e.updates <- u:
	case <-ctx.Done():
	}
}

// Shutdown asks for the shutdown event because the operating system is going down: pending
// events are dropped, the running one gets the shutdown grace, the shutdown hooks run
// (bounded by deadline when set), and Run returns.
func (e *Engine) Shutdown(reason string, deadline time.Time) {
	select {
	case e.shutdown <- shutdownRequest{reason: reason, deadline: deadline}:
	default:
	}
}

// Finish asks Run to start no new event and to return once the running one, if any, has
// finished — however long it takes (ctx ending still bounds it by the shutdown grace).
// The agent uses it to restart on a reloaded configuration without losing the running
// event. A shutdown already begun still runs.
func (e *Engine) Finish() {
	select {
	case e.finishCh <- struct{}{}:
	default:
	}
}

// Terminated reports whether Run returned because the shutdown event that ends the agent
// ran. Call it after Run returned.
func (e *Engine) Terminated() bool { return e.exit }

// Run is the event loop. It returns nil after a shutdown event that ends the agent (the
// instance is terminating, or Shutdown was called), after Finish once no event runs, or
// after ctx ends and the running event, if any, finished or was stopped at the end of the
// shutdown grace.
func (e *Engine) Run(ctx context.Context) error {
	e.log.Info("engine started", zap.Int("queued", len(e.st.Queue)))
	e.step()
	for !e.exit {
		if e.finishing && e.running == nil && !e.terminating {
			e.save()
			e.log.Info("engine finished: no event runs", zap.Int("queued", len(e.st.Queue)))
			return nil
		}
		select {
		case <-ctx.Done():
			return e.stop()
		case u := <-e.updates:
			e.applyBatch(u)
		case f := <-e.done:
			e.finish(f)
		case r := <-e.shutdown:
			if e.drained {
				// The shutdown hooks ran for this termination already: the operating
				// system going down is its end, not a reason to run them again.
				e.log.Info("the operating system is going down on the drained instance; no shutdown hooks run again", zap.String("reason", r.reason))
				e.exit = true
				continue
			}
			e.beginShutdown(r.reason, r.deadline, "")
		case <-e.finishCh:
			if !e.finishing && e.running != nil {
				e.log.Info("waiting for the running event to finish; no new event starts",
					zap.String("event_id", e.running.p.ID))
			}
			e.finishing = true
		case <-e.wake:
		}
		e.step()
	}
	e.log.Info("shutdown complete; the agent stops")
	return nil
}

func (e *Engine) kick() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// step reconciles observed against applied, then starts the next event if none runs.
func (e *Engine) step() {
	e.checkGrace()
	e.reconcile()
	e.startNext()
}

// stop ends the loop on a service stop that is not an OS shutdown: the running event may
// finish within the shutdown grace, else it is ended; either way it is remembered, and a
// killed one runs again at the next start.
func (e *Engine) stop() error {
	if e.running == nil {
		e.save()
		return nil
	}
	e.log.Info("stopping: waiting for the running event to finish",
		zap.String("event_id", e.running.p.ID), zap.Duration("grace", e.cfg.ShutdownGrace.D()))
	grace := make(chan struct{})
	t := e.clk.AfterFunc(e.cfg.ShutdownGrace.D(), func() { close(grace) })
	defer t.Stop()
	for {
		select {
		case f := <-e.done:
			if f.r.cancelled {
				// Ended by the stop: keep it as Running in the state, so it runs again.
				e.log.Warn("stopped the running event at the end of the grace; it runs again at the next start",
					zap.String("event_id", f.r.p.ID))
				e.running = nil
				e.save()
				return nil
			}
			e.finish(f) // saves
			return nil
		case <-grace:
			e.running.cancelled = true
			e.running.cancel()
		case <-e.updates:
		}
	}
}

// interrupted takes the event r that the state says was running when the agent stopped or
// died: it is recorded as interrupted and queued again, first, with Retry set — unless it
// was interrupted more than maxInterruptedReruns times in a row, then it is recorded as
// failed and its slot backs off like any failure. The caller saves the state.
func (e *Engine) interrupted(r state.Pending) {
	now := e.clk.Now().UTC()
	n := r.Interruptions + 1
	o := state.Outcome{ID: r.ID, Kind: r.Kind, Rule: r.Rule, Reason: joinReasons(r.Reasons),
		Trigger: r.Trigger, Retry: r.Retry, Result: state.Interrupted, Start: r.Started, End: now,
		Error: "the agent stopped while this event ran"}
	if !r.Started.IsZero() {
		o.Duration = state.Duration(now.Sub(r.Started))
	}
	if n <= maxInterruptedReruns {
		e.log.Warn("the agent stopped while an event was running; running it again with STACKHAND_RETRY=1",
			zap.String("event", string(r.Kind)), zap.String("event_id", r.ID), zap.Int("interruptions", n))
		e.st.Record(o)
		retry := r
		retry.ID = e.nextID(r.Kind)
		retry.Retry = true
		retry.Explicit = true
		retry.Started = time.Time{}
		retry.Queued = now
		retry.Interruptions = n
		retry.Reasons = append([]string{"re-run of " + r.ID + ", interrupted when the agent stopped"}, r.Reasons...)
		e.st.Queue = append([]state.Pending{retry}, e.st.Queue...)
		return
	}
	fix := "fix the hook, then run `stackhand trigger " + string(r.Kind) + "`"
	if r.Rule != "" {
		fix = "fix the command of watch rule " + r.Rule + "; it runs again when its value changes or its retry is due"
	}
	o.Result = state.Failed
	o.Error = fmt.Sprintf("interrupted %d times: the agent stopped or died each time it ran "+
		"(does a hook reboot the machine, or restart or upgrade stackhand?); not re-run — %s", n, fix)
	automatic := r.Fingerprint != "" // a change or a setup still stands; a bare request does not
	next := e.failed(dedupeKey(r.Kind, r.Rule), r.Fingerprint, o, automatic)
	fields := []zap.Field{zap.String("event", string(r.Kind)), zap.String("event_id", r.ID),
		zap.Int("interruptions", n), zap.String("error", o.Error)}
	if automatic {
		fields = append(fields, zap.Time("retry_after", next.UTC()))
	}
	e.log.Error("event failed: interrupted too many times", fields...)
	e.st.Record(o)
	e.answer(r.Trigger.Requests, o)
	if e.notify != nil {
		e.notify.EventDone(o, e.st.Identity)
	}
}

func (e *Engine) save() {
	if e.batching {
		e.batchDirty = true
		return
	}
	e.st.UpdatedAt = e.clk.Now().UTC()
	e.saves++
	err := e.store.Save(e.st)
	msg := ""
	if err != nil {
		// Logged once per cause: the message may name a temporary file that differs at
		// every attempt.
		msg = rootCause(err).Error()
	}
	if msg != e.saveErr {
		if err != nil {
			e.log.Error("cannot write the state file; going on with what is in memory and trying again at every change",
				zap.Error(err))
		} else {
			e.log.Info("the state file is writable again", zap.String("dir", e.store.Dir()))
		}
		e.saveErr = msg
	}
}

// rootCause is the innermost error err wraps.
func rootCause(err error) error {
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return err
		}
		err = inner
	}
}

// maxBatch bounds how many waiting requests the loop takes in before it saves and acts.
const maxBatch = 1000

// applyBatch takes in u; when u is a request, it also takes every update already waiting
// (up to maxBatch) until one that is not a request, then writes the state once: 10,000
// spooled requests are a few writes, not 10,000 rewrites of a file that grows with each.
// Any other update is followed by a reconcile, as before, so no change is skipped. A
// request's spool file is removed only after the write that holds it, so a crash in
// between loses nothing (the request is read again, and a known one is dropped).
func (e *Engine) applyBatch(u source.Update) {
	if u.Request == nil {
		e.apply(u)
		return
	}
	e.batching = true
	e.apply(u)
more:
	for n := 1; n < maxBatch; n++ {
		select {
		case u := <-e.updates:
			e.apply(u)
			if u.Request == nil {
				break more
			}
		default:
			break more
		}
	}
	e.batching = false
	if e.batchDirty {
		e.batchDirty = false
		e.save()
	}
	for _, id := range e.spoolDone {
		e.spool.Remove(id)
	}
	e.spoolDone = e.spoolDone[:0]
}

// removeRequest removes request id's spool file, after the batch's state write when one
// is being taken in.
func (e *Engine) removeRequest(id string) {
	if e.spool == nil {
		return
	}
	if e.batching {
		e.spoolDone = append(e.spoolDone, id)
		return
	}
	e.spool.Remove(id)
}

func (e *Engine) nextID(k event.Kind) string {
	e.st.Seq++
	return fmt.Sprintf("%s-%06d", k, e.st.Seq)
}

func joinReasons(rs []string) string { return strings.Join(rs, "; ") }
