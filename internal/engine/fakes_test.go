package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/engine"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/status"
)

// waitFor bounds every wait of these tests in real time. It is a deadline for a condition
// that must come true, never a pause: a correct engine meets it in milliseconds.
const waitFor = 10 * time.Second

// epoch is where the fake clock starts.
var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// call is one Runner.Run the engine made. The test answers it with reply; until then the
// event is running, and ctx shows whether the engine ended it.
type call struct {
	spec  hooks.Spec
	ctx   context.Context
	reply chan hooks.Result
}

// payload decodes the call's JSON payload.
func (c *call) payload(t *testing.T) event.Payload {
	t.Helper()
	var p event.Payload
	if err := json.Unmarshal(c.spec.Payload, &p); err != nil {
		t.Fatalf("%s: payload is not JSON: %v\n%s", c.spec.EventID, err, c.spec.Payload)
	}
	return p
}

// env returns the value of KEY in the call's Env, and whether it is there.
func (c *call) env(key string) (string, bool) {
	v, ok := "", false
	for _, kv := range c.spec.Env {
		if len(kv) > len(key) && kv[:len(key)] == key && kv[len(key)] == '=' {
			v, ok = kv[len(key)+1:], true
		}
	}
	return v, ok
}

// fakeRunner hands every Run to the test through calls and returns what the test replies.
type fakeRunner struct {
	calls chan *call
	abort chan struct{} // closed at cleanup: every Run still waiting returns a failure
}

func newFakeRunner() *fakeRunner {
	return &fakeRunner{calls: make(chan *call), abort: make(chan struct{})}
}

func (f *fakeRunner) Run(ctx context.Context, s hooks.Spec) hooks.Result {
	c := &call{spec: s, ctx: ctx, reply: make(chan hooks.Result, 1)}
	select {
	case f.calls <- c:
	case <-f.abort:
		return hooks.Result{Err: "test over"}
	}
	select {
	case r := <-c.reply:
		return r
	case <-f.abort:
		return hooks.Result{Err: "test over"}
	}
}

// answer is one Spool.Answer.
type answer struct {
	id string
	o  state.Outcome
}

// fakeSpool records what the engine removes and answers.
type fakeSpool struct {
	mu      sync.Mutex
	removed []string
	answers []answer
}

func (s *fakeSpool) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removed = append(s.removed, id)
}

func (s *fakeSpool) Answer(id string, o state.Outcome) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = append(s.answers, answer{id, o})
	return nil
}

func (s *fakeSpool) snapshot() (removed []string, answers []answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.removed...), append([]answer(nil), s.answers...)
}

// fakeNotifier records every finished event.
type fakeNotifier struct {
	mu   sync.Mutex
	done []state.Outcome
}

func (n *fakeNotifier) EventDone(o state.Outcome, _ event.Instance) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.done = append(n.done, o)
}

func (n *fakeNotifier) snapshot() []state.Outcome {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]state.Outcome(nil), n.done...)
}

// testConfig is config.Default for mode local, with one watch rule on metadata "release".
func testConfig(t *testing.T, rules ...config.WatchRule) *config.Config {
	cfg := config.Default()
	cfg.Mode = config.ModeLocal
	cfg.Interval = config.Duration(60 * time.Second)
	cfg.HooksDir = t.TempDir()
	cfg.Stack = "demo"
	cfg.Region = "eu-west-1"
	if rules == nil {
		rules = []config.WatchRule{{Name: "release", Metadata: "release"}}
	}
	cfg.Watch = rules
	return cfg
}

// harness is one engine under test, with its fakes, its state directory and its Run.
type harness struct {
	t      *testing.T
	cfg    *config.Config
	dir    string
	clk    *clock.Fake
	runner *fakeRunner
	spool  *fakeSpool
	notes  *fakeNotifier
	e      *engine.Engine
	status *status.Registry
	logs   *observer.ObservedLogs // what the engine logged, also shown by go test -v

	cancel  context.CancelFunc
	stopped chan struct{}
	runErr  error
	barrier int
	probes  int
}

// start opens the state in dir (a new temp dir when ""), makes an engine and runs it.
// The clock is clk, or a new fake one at epoch.
func start(t *testing.T, cfg *config.Config, dir string, clk *clock.Fake) *harness {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if clk == nil {
		clk = clock.NewFake(epoch)
	}
	st, store, warn, err := state.Open(dir, clk.Now())
	if err != nil || warn != nil {
		t.Fatalf("state.Open: %v %v", err, warn)
	}
	return startWith(t, cfg, dir, clk, st, store)
}

func startWith(t *testing.T, cfg *config.Config, dir string, clk *clock.Fake, st *state.State, store *state.Store) *harness {
	t.Helper()
	return startWithAwait(t, cfg, dir, clk, st, store, nil)
}

// startWithAwait is startWith for an engine that waits for the first report of the sources
// named in await.
func startWithAwait(t *testing.T, cfg *config.Config, dir string, clk *clock.Fake, st *state.State, store *state.Store, await []string) *harness {
	t.Helper()
	return startFull(t, cfg, dir, clk, st, store, await, nil)
}

// startFull is startWithAwait with the engine's Apps (nil for none).
func startFull(t *testing.T, cfg *config.Config, dir string, clk *clock.Fake, st *state.State, store *state.Store, await []string, apps engine.Apps, opts ...func(*engine.Options)) *harness {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	h := &harness{t: t, cfg: cfg, dir: dir, clk: clk, runner: newFakeRunner(), spool: &fakeSpool{},
		notes: &fakeNotifier{}, logs: logs, stopped: make(chan struct{})}
	h.status = status.NewRegistry(dir, clk, zaptest.NewLogger(t))
	log := zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), core))
	o := engine.Options{Config: cfg, Store: store, State: st, Runner: h.runner, Apps: apps,
		Spool: h.spool, Notifier: h.notes, Status: h.status, Clock: clk, Logger: log, Await: await}
	for _, f := range opts {
		f(&o)
	}
	e, err := engine.New(o)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	h.e = e
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.stopped)
		h.runErr = e.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		close(h.runner.abort)
		select {
		case <-h.stopped:
		case <-time.After(waitFor):
			t.Errorf("Run did not return at the end of the test")
		}
	})
	return h
}

// stop cancels Run's context and waits for Run to return; it returns Run's error.
func (h *harness) stop() error {
	h.t.Helper()
	h.cancel()
	return h.wait()
}

// wait waits for Run to return by itself and returns its error.
func (h *harness) wait() error {
	h.t.Helper()
	select {
	case <-h.stopped:
		return h.runErr
	case <-time.After(waitFor):
		h.t.Fatalf("Run did not return")
		return nil
	}
}

func (h *harness) update(u source.Update) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	h.e.Update(ctx, u)
	if ctx.Err() != nil {
		h.t.Fatalf("Update was not taken")
	}
}

// next returns the next Runner.Run call, which must be of event kind k.
func (h *harness) next(k event.Kind) *call {
	h.t.Helper()
	select {
	case c := <-h.runner.calls:
		if c.spec.Event != k {
			h.t.Fatalf("next event is %s (%s, reason %q); want %s", c.spec.Event, c.spec.EventID, c.spec.Reason, k)
		}
		return c
	case <-h.stopped:
		h.t.Fatalf("Run returned (%v) while a %s was expected", h.runErr, k)
	case <-time.After(waitFor):
		h.t.Fatalf("no %s event was run", k)
	}
	return nil
}

// ok replies success to c.
func ok(c *call) { c.reply <- hooks.Result{OK: true} }

// fail replies a failure of hook name with output tail to c.
func fail(c *call, name, tail string) {
	c.reply <- hooks.Result{Failed: name, Tail: tail,
		Hooks: []hooks.HookResult{{Name: name, ExitCode: 3, LogFile: "/log/" + name + ".log"}}}
}

// request sends an operator's request for event k.
func (h *harness) request(id string, k event.Kind) {
	h.t.Helper()
	h.update(source.Update{Source: "requests", Request: &source.Request{ID: id, Event: k, User: "tester", Time: h.clk.Now()}})
}

// sync proves that the engine ran nothing it should not have: it requests an undeploy and
// requires it to be the next event run. Everything sent before it has been reconciled by
// then, so an event queued because of it would have come first.
func (h *harness) sync() {
	h.t.Helper()
	h.barrier++
	id := fmt.Sprintf("barrier-%d", h.barrier)
	h.request(id, event.Undeploy)
	c := h.next(event.Undeploy)
	if tr := c.payload(h.t).Trigger; len(tr.Requests) != 1 || tr.Requests[0] != id {
		h.t.Fatalf("the next event is undeploy %s for %v; want the barrier request %s", c.spec.EventID, tr.Requests, id)
	}
	ok(c)
}

// settle waits until the engine has taken in every update sent before it. Update only hands
// an update over; the engine's loop chooses at random between updates and finished events,
// so a test that wants the updates seen while an event runs settles before it replies.
// The probe is a source error, which the engine passes to the status registry as it
// takes it in.
func (h *harness) settle() {
	h.t.Helper()
	h.probes++
	name := fmt.Sprintf("probe-%d", h.probes)
	h.update(source.Update{Source: name, Err: errors.New(name)})
	deadline := time.Now().Add(waitFor)
	for h.status.Snapshot().Sources[name] == nil {
		if time.Now().After(deadline) {
			h.t.Fatalf("the engine never took in the probe %s", name)
		}
		time.Sleep(time.Millisecond)
	}
}

// state waits until the state file satisfies cond and returns it.
func (h *harness) state(what string, cond func(*state.State) bool) *state.State {
	h.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		st, err := state.Read(h.dir)
		if err == nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("state file never showed %s (last read error %v)", what, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// read returns the state file as it is now; callers have synchronised with the engine
// (sync, settle, outcome) so that what they look for was written before.
func (h *harness) read() *state.State {
	h.t.Helper()
	st, err := state.Read(h.dir)
	if err != nil {
		h.t.Fatalf("read the state: %v", err)
	}
	return st
}

// outcome waits until the state file records the outcome of event id.
func (h *harness) outcome(id string) state.Outcome {
	h.t.Helper()
	st := h.state("the outcome of "+id, func(st *state.State) bool { _, ok := st.Find(id); return ok })
	o, _ := st.Find(id)
	return o
}

// armed waits until the fake clock holds at least n live timers.
func (h *harness) armed(n int) {
	h.t.Helper()
	deadline := time.Now().Add(waitFor)
	for h.clk.Pending() < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("the engine armed %d timers; want %d", h.clk.Pending(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// answers waits until the spool has n answers and returns them.
func (h *harness) answers(n int) []answer {
	h.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		_, a := h.spool.snapshot()
		if len(a) >= n {
			return a
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the spool got %d answers; want %d: %+v", len(a), n, a)
		}
		time.Sleep(time.Millisecond)
	}
}

// Fixtures.

func newClock() *clock.Fake { return clock.NewFake(epoch) }

// compact returns raw JSON without insignificant space (payloads are indented).
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

var self = event.Instance{InstanceID: "i-0self", Region: "eu-west-1", AvailabilityZone: "eu-west-1a",
	PrivateIP: "10.0.0.1", Stack: "demo"}

func peer(n int) event.Instance {
	return event.Instance{InstanceID: fmt.Sprintf("i-0peer%d", n), PrivateIP: fmt.Sprintf("10.0.1.%d", n)}
}

func identity(in event.Instance) source.Update {
	return source.Update{Source: "identity", Identity: &in}
}

func meta(rule, value string) source.Update {
	return source.Update{Source: "metadata", Metadata: map[string]source.Observed{rule: present(value)}}
}

func metaGone(rule string) source.Update {
	return source.Update{Source: "metadata", Metadata: map[string]source.Observed{rule: {}}}
}

func present(v string) source.Observed {
	return source.Observed{Present: true, Value: json.RawMessage(v)}
}

func peers(ps ...event.Instance) source.Update {
	return source.Update{Source: "peers", Peers: ps, PeersRead: true}
}

// watched returns the payload's entry of rule.
func watched(t *testing.T, p event.Payload, rule string) event.Watched {
	t.Helper()
	for _, w := range p.Metadata {
		if w.Rule == rule {
			return w
		}
	}
	t.Fatalf("payload of %s has no metadata entry for rule %s: %+v", p.ID, rule, p.Metadata)
	return event.Watched{}
}

func peerIDs(ps []event.Instance) []string {
	ids := []string{}
	for _, p := range ps {
		ids = append(ids, p.InstanceID)
	}
	return ids
}

// boot takes a fresh engine through its first start: identity, release v1 and the given
// peers, then setup, deploy and configure, all succeeding.
func (h *harness) boot(ps ...event.Instance) {
	h.t.Helper()
	h.update(identity(self))
	h.update(meta("release", `"v1"`))
	h.update(peers(ps...))
	s := h.next(event.Setup)
	h.settle()
	ok(s)
	ok(h.next(event.Deploy))
	c := h.next(event.Configure)
	ok(c)
	h.outcome(c.spec.EventID)
}
