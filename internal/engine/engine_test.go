package engine_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
)

const releaseKey = "release|metadata:release"

func TestFirstStartRunsSetupDeployConfigure(t *testing.T) {
	cfg := testConfig(t)
	h := start(t, cfg, "", nil)
	first := source.Update{Source: "local", Identity: &self,
		Metadata: map[string]source.Observed{"release": present(`"v1"`)},
		Peers:    []event.Instance{peer(1), peer(2)}, PeersRead: true}
	h.update(first)

	setup := h.next(event.Setup)
	if setup.spec.InstanceID != self.InstanceID || setup.spec.Stack != "demo" || setup.spec.Region != "eu-west-1" {
		t.Errorf("setup spec = %+v", setup.spec)
	}
	if want := filepath.Join(cfg.HooksDir, "setup"); setup.spec.Dir != want {
		t.Errorf("setup Dir = %s, want %s", setup.spec.Dir, want)
	}
	if setup.spec.Retry || setup.spec.Command != "" {
		t.Errorf("setup spec Retry=%v Command=%q", setup.spec.Retry, setup.spec.Command)
	}
	if tr := setup.payload(t).Trigger; tr.Type != "first-start" {
		t.Errorf("setup trigger = %+v, want first-start", tr)
	}
	ok(setup)

	deploy := h.next(event.Deploy)
	p := deploy.payload(t)
	w := watched(t, p, "release")
	if w.Change != event.Add || string(w.New) != `"v1"` || w.Old != nil || w.Source != "metadata" || w.Path != "release" {
		t.Errorf("deploy metadata entry = %+v; want add of \"v1\" with no old value", w)
	}
	if p.Instance.InstanceID != self.InstanceID {
		t.Errorf("deploy payload instance = %+v", p.Instance)
	}
	ok(deploy)

	configure := h.next(event.Configure)
	if got := peerIDs(configure.payload(t).Peers); !slices.Equal(got, []string{"i-0peer1", "i-0peer2"}) {
		t.Errorf("configure payload peers = %v", got)
	}
	ok(configure)
	h.outcome(configure.spec.EventID)

	if err := h.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	st, err := state.Read(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Setup.Done || st.Setup.InstanceID != self.InstanceID || st.Setup.EventID != setup.spec.EventID {
		t.Errorf("State.Setup = %+v", st.Setup)
	}
	if string(st.Applied[releaseKey]) != `"v1"` {
		t.Errorf("Applied = %s", st.Applied)
	}
	if !st.PeersApplied || len(st.Peers) != 2 {
		t.Errorf("Peers = %v applied %v", st.Peers, st.PeersApplied)
	}
	for _, k := range []event.Kind{event.Setup, event.Deploy, event.Configure} {
		if o := st.Last[k]; o == nil || o.Result != state.Succeeded {
			t.Errorf("Last[%s] = %+v", k, o)
		}
	}
	if len(st.Queue) != 0 || st.Running != nil {
		t.Errorf("Queue = %+v Running = %+v", st.Queue, st.Running)
	}
	if n := len(h.notes.snapshot()); n != 3 {
		t.Errorf("notifier got %d events, want 3", n)
	}

	// A restart on the same state sees the same world: nothing runs.
	h2 := start(t, cfg, h.dir, h.clk)
	h2.update(first)
	h2.sync()
}

func TestSetupFailureHoldsEventsAndRetries(t *testing.T) {
	h := start(t, testConfig(t), "", nil)
	h.update(identity(self))
	h.update(meta("release", `"v1"`))
	h.update(peers(peer(1)))

	setup := h.next(event.Setup)
	fail(setup, "10-packages", "E: unable to locate package")
	o := h.outcome(setup.spec.EventID)
	if o.Result != state.Failed || o.Failed != "10-packages" || o.Tail != "E: unable to locate package" {
		t.Errorf("setup outcome = %+v", o)
	}
	st := h.read()
	if st.Setup.Done {
		t.Errorf("Setup = %+v after a failed setup", st.Setup)
	}

	// Nothing but setup may run before setup succeeded: the retry after the interval is
	// the next event.
	h.clk.Advance(h.cfg.Interval.D())
	retry := h.next(event.Setup)
	ok(retry)
	d := h.next(event.Deploy)
	if w := watched(t, d.payload(t), "release"); w.Change != event.Add || string(w.New) != `"v1"` {
		t.Errorf("deploy after setup: %+v", w)
	}
	ok(d)
	ok(h.next(event.Configure))
	h.sync()
}

// TestEventLinesCarryOnlyFieldsThatAreSet: "event started" says retry only on a retry, and
// "event failed" names a failed hook and its output only when there is one.
func TestEventLinesCarryOnlyFieldsThatAreSet(t *testing.T) {
	h := start(t, testConfig(t), "", nil)
	h.update(identity(self))
	h.update(meta("release", `"v1"`))
	h.update(peers())
	setup := h.next(event.Setup)
	setup.reply <- hooks.Result{Err: "hooks directory hooks.d/setup: permission denied"}
	h.outcome(setup.spec.EventID)
	h.clk.Advance(h.cfg.Interval.D())
	retry := h.next(event.Setup)
	fail(retry, "10-packages", "E: unable to locate package")
	h.outcome(retry.spec.EventID)

	line := func(msg, id string) map[string]any {
		t.Helper()
		for _, e := range h.logs.FilterMessage(msg).AllUntimed() {
			if f := e.ContextMap(); f["event_id"] == id {
				return f
			}
		}
		t.Fatalf("no %q line for %s", msg, id)
		return nil
	}
	if f := line("event started", setup.spec.EventID); f["retry"] != nil {
		t.Errorf("event started without a retry has retry: %v", f)
	}
	if f := line("event failed", setup.spec.EventID); f["failed_hook"] != nil || f["output_tail"] != nil || f["error"] == nil {
		t.Errorf("event failed before any hook: %v; want error, no failed_hook or output_tail", f)
	}
	if f := line("event failed", retry.spec.EventID); f["failed_hook"] != "10-packages" || f["output_tail"] == nil {
		t.Errorf("event failed in a hook: %v; want failed_hook and output_tail", f)
	}
}

func TestWatchRules(t *testing.T) {
	cfg := testConfig(t, config.WatchRule{Name: "release", Metadata: "release"},
		config.WatchRule{Name: "flag", Metadata: "flag", On: []string{"update"}})
	h := start(t, cfg, "", nil)
	h.boot()

	// update: one deploy with old and new
	h.update(meta("release", `{"v":2}`))
	d := h.next(event.Deploy)
	w := watched(t, d.payload(t), "release")
	if w.Change != event.Update || string(w.Old) != `"v1"` || compact(w.New) != `{"v":2}` {
		t.Errorf("update payload entry = %+v", w)
	}
	if f := watched(t, d.payload(t), "flag"); f.Change != "" {
		t.Errorf("the unchanged rule has change %q", f.Change)
	}
	ok(d)
	h.outcome(d.spec.EventID)

	// remove: undeploy
	h.update(metaGone("release"))
	u := h.next(event.Undeploy)
	w = watched(t, u.payload(t), "release")
	if w.Change != event.Remove || compact(w.Old) != `{"v":2}` || w.New != nil {
		t.Errorf("remove payload entry = %+v", w)
	}
	ok(u)
	h.outcome(u.spec.EventID)
	h.sync()
	if st := h.read(); st.Applied[releaseKey] != nil {
		t.Errorf("Applied after the undeploy = %s", st.Applied)
	}

	// a rule firing on update only: add is stored without an event, update fires, remove is
	// stored without an event.
	h.update(meta("flag", `"on"`))
	h.sync()
	if st := h.read(); string(st.Applied["flag|metadata:flag"]) != `"on"` {
		t.Errorf("Applied after an add that does not fire = %s", st.Applied)
	}
	h.update(meta("flag", `"off"`))
	d = h.next(event.Deploy)
	w = watched(t, d.payload(t), "flag")
	if w.Change != event.Update || string(w.Old) != `"on"` || string(w.New) != `"off"` {
		t.Errorf("flag update entry = %+v", w)
	}
	ok(d)
	h.update(metaGone("flag"))
	h.sync()
	if st := h.read(); st.Applied["flag|metadata:flag"] != nil {
		t.Errorf("Applied after a remove that does not fire = %s", st.Applied)
	}
}

func TestTagRule(t *testing.T) {
	cfg := testConfig(t, config.WatchRule{Name: "release", Metadata: "release"},
		config.WatchRule{Name: "role", Tag: "Role"})
	h := start(t, cfg, "", nil)
	h.boot()
	h.update(source.Update{Source: "tags", Tags: map[string]string{"Role": "web", "Name": "x"}})
	d := h.next(event.Deploy)
	p := d.payload(t)
	w := watched(t, p, "role")
	if w.Source != "tag" || w.Path != "Role" || w.Change != event.Add || string(w.New) != `"web"` {
		t.Errorf("tag entry = %+v", w)
	}
	if p.Tags["Name"] != "x" {
		t.Errorf("payload tags = %v", p.Tags)
	}
	ok(d)
	h.update(source.Update{Source: "tags", Tags: map[string]string{"Name": "x"}})
	u := h.next(event.Undeploy)
	if w := watched(t, u.payload(t), "role"); w.Change != event.Remove {
		t.Errorf("tag removal entry = %+v", w)
	}
	ok(u)
	h.sync()
}

// An ssm rule fires on its parameter's observed value and version; a parameter the
// source could not read (left out of Params) leaves the rule as it was; one not found
// undeploys.
func TestSSMRule(t *testing.T) {
	cfg := testConfig(t, config.WatchRule{Name: "release", Metadata: "release"},
		config.WatchRule{Name: "ssm:/web/release", SSM: "/web/release"})
	h := start(t, cfg, "", nil)
	h.boot()
	v1 := json.RawMessage(`{"value":"v1","version":1}`)
	h.update(source.Update{Source: "ssm", Params: map[string]source.Observed{"/web/release": {Present: true, Value: v1}}})
	d := h.next(event.Deploy)
	w := watched(t, d.payload(t), "ssm:/web/release")
	if w.Source != "ssm" || w.Path != "/web/release" || w.Change != event.Add || compact(w.New) != string(v1) {
		t.Errorf("ssm entry = %+v", w)
	}
	if !strings.Contains(d.payload(t).Reason, "parameter /web/release was added") {
		t.Errorf("reason %q", d.payload(t).Reason)
	}
	ok(d)
	h.outcome(d.spec.EventID)

	// Unreadable (denied, throttled): left out, nothing fires.
	h.update(source.Update{Source: "ssm", Params: map[string]source.Observed{}, Err: errors.New("denied")})
	h.settle()
	h.sync()
	if st := h.read(); compact(st.Applied["ssm:/web/release|ssm:/web/release"]) != string(v1) {
		t.Errorf("Applied after an unreadable pass = %s", st.Applied)
	}

	// The same value, a new version: a change.
	v2 := json.RawMessage(`{"value":"v1","version":2}`)
	h.update(source.Update{Source: "ssm", Params: map[string]source.Observed{"/web/release": {Present: true, Value: v2}}})
	d = h.next(event.Deploy)
	if w := watched(t, d.payload(t), "ssm:/web/release"); w.Change != event.Update || compact(w.Old) != string(v1) || compact(w.New) != string(v2) {
		t.Errorf("version bump entry = %+v", w)
	}
	ok(d)
	h.outcome(d.spec.EventID)

	h.update(source.Update{Source: "ssm", Params: map[string]source.Observed{"/web/release": {}}})
	u := h.next(event.Undeploy)
	if w := watched(t, u.payload(t), "ssm:/web/release"); w.Change != event.Remove {
		t.Errorf("removal entry = %+v", w)
	}
	ok(u)
	h.sync()
}

func TestChangeWhileRunningRunsOnceMoreWithNewest(t *testing.T) {
	h := start(t, testConfig(t), "", nil)
	h.boot()
	h.update(meta("release", `"v2"`))
	d := h.next(event.Deploy)
	h.update(meta("release", `"v3"`))
	h.update(meta("release", `"v4"`))
	h.update(meta("release", `"v2"`)) // the running value: covered by the running deploy
	h.update(meta("release", `"v5"`))
	h.settle()
	ok(d)
	d2 := h.next(event.Deploy)
	w := watched(t, d2.payload(t), "release")
	if w.Change != event.Update || string(w.Old) != `"v2"` || string(w.New) != `"v5"` {
		t.Errorf("second deploy entry = %+v; want v2 -> v5", w)
	}
	ok(d2)
	h.sync()
	st := h.read()
	if string(st.Applied[releaseKey]) != `"v5"` {
		t.Errorf("Applied = %s", st.Applied)
	}
}

func TestChangeUndoneBeforeStartIsSuperseded(t *testing.T) {
	h := start(t, testConfig(t), "", nil)
	h.boot()
	h.request("hold", event.Configure)
	hold := h.next(event.Configure)
	h.update(meta("release", `"v2"`))
	h.update(meta("release", `"v1"`))
	h.settle()
	ok(hold)
	h.sync() // no deploy ran
	st := h.state("a superseded deploy", func(st *state.State) bool {
		return st.Last[event.Deploy] != nil && st.Last[event.Deploy].Result == state.Superseded
	})
	if o := st.Last[event.Deploy]; !slices.Equal(o.Trigger.Rules, []string{"release"}) || o.Start != (time.Time{}) {
		t.Errorf("superseded outcome = %+v", o)
	}
	if string(st.Applied[releaseKey]) != `"v1"` {
		t.Errorf("Applied = %s", st.Applied)
	}
}

func TestConfigureCoalescing(t *testing.T) {
	h := start(t, testConfig(t), "", nil)
	h.boot(peer(1))
	h.update(peers(peer(1), peer(2)))
	c1 := h.next(event.Configure)
	if got := peerIDs(c1.payload(t).Peers); !slices.Equal(got, []string{"i-0peer1", "i-0peer2"}) {
		t.Errorf("first configure peers = %v", got)
	}
	if tr := c1.payload(t).Trigger; tr.Type != "peers" {
		t.Errorf("trigger = %+v", tr)
	}
	h.update(peers(peer(1), peer(2), peer(3)))
	h.update(peers(peer(1), peer(3)))
	h.settle()
	ok(c1)
	c2 := h.next(event.Configure)
	if got := peerIDs(c2.payload(t).Peers); !slices.Equal(got, []string{"i-0peer1", "i-0peer3"}) {
		t.Errorf("coalesced configure peers = %v", got)
	}
	ok(c2)
	h.sync()
	st := h.read()
	if got := peerIDs(st.Peers); !slices.Equal(got, []string{"i-0peer1", "i-0peer3"}) {
		t.Errorf("applied peers = %v", got)
	}
	// the two changes were merged into one waiting configure, not queued twice
	var configures []string
	for _, o := range st.History {
		if o.Kind == event.Configure {
			configures = append(configures, o.ID+" "+o.Result)
		}
	}
	if len(configures) != 3 {
		t.Errorf("configure outcomes = %v; want the one after setup and two more", configures)
	}
}

func TestFailureBackoff(t *testing.T) {
	h := start(t, testConfig(t), "", nil)
	h.boot()
	interval := h.cfg.Interval.D()
	h.update(meta("release", `"v2"`))

	// attempt 1 fails: Applied unchanged, outcome recorded.
	d := h.next(event.Deploy)
	fail(d, "20-app", "tail of the output")
	o := h.outcome(d.spec.EventID)
	if o.Result != state.Failed || o.Tail != "tail of the output" || o.Failed != "20-app" ||
		o.Error != "hook 20-app exited with status 3" || len(o.Hooks) != 1 || o.Hooks[0].ExitCode != 3 {
		t.Errorf("failed outcome = %+v", o)
	}
	st := h.read()
	if string(st.Applied[releaseKey]) != `"v1"` {
		t.Errorf("Applied after a failure = %s, want v1", st.Applied)
	}
	if l := st.Last[event.Deploy]; l == nil || l.ID != d.spec.EventID || l.Result != state.Failed {
		t.Errorf("Last[deploy] = %+v", l)
	}

	// waits, retry after one interval; the next wait is two intervals.
	for attempt, wait := range []time.Duration{interval, 2 * interval, 4 * interval} {
		h.clk.Advance(wait - time.Second)
		h.sync()
		h.clk.Advance(time.Second)
		d = h.next(event.Deploy)
		if w := watched(t, d.payload(t), "release"); string(w.New) != `"v2"` || string(w.Old) != `"v1"` {
			t.Errorf("retry %d entry = %+v", attempt+1, w)
		}
		fail(d, "20-app", "again")
		h.outcome(d.spec.EventID)
	}

	// a new value is tried at once.
	h.update(meta("release", `"v3"`))
	d = h.next(event.Deploy)
	if w := watched(t, d.payload(t), "release"); string(w.New) != `"v3"` || string(w.Old) != `"v1"` {
		t.Errorf("deploy of the new value = %+v", w)
	}
	ok(d)
	h.sync()
	st = h.read()
	if string(st.Applied[releaseKey]) != `"v3"` {
		t.Errorf("Applied = %s", st.Applied)
	}
	// success clears the backoff: a later failure waits one interval again.
	h.update(meta("release", `"v4"`))
	d = h.next(event.Deploy)
	fail(d, "20-app", "x")
	h.outcome(d.spec.EventID)
	h.clk.Advance(interval - time.Second)
	h.sync()
	h.clk.Advance(time.Second)
	ok(h.next(event.Deploy))
}

func TestRequests(t *testing.T) {
	h := start(t, testConfig(t), "", nil)
	h.boot()
	h.request("req-1", event.Deploy)
	h.request("req-1", event.Deploy) // delivered twice while queued or running
	d := h.next(event.Deploy)
	p := d.payload(t)
	if p.Trigger.Type != "request" || !slices.Equal(p.Trigger.Requests, []string{"req-1"}) || p.Trigger.Detail != "tester" {
		t.Errorf("trigger = %+v", p.Trigger)
	}
	if p.Reason != "requested by tester" {
		t.Errorf("reason = %q", p.Reason)
	}
	if w := watched(t, p, "release"); w.Change != "" || string(w.New) != `"v1"` || string(w.Old) != `"v1"` {
		t.Errorf("an explicit deploy without a change: entry = %+v", w)
	}
	if _, a := h.spool.snapshot(); len(a) != 0 {
		t.Errorf("answered before the event ran: %+v", a)
	}
	ok(d)
	a := h.answers(1)
	if a[0].id != "req-1" || a[0].o.ID != d.spec.EventID || a[0].o.Result != state.Succeeded {
		t.Errorf("answer = %+v", a[0])
	}
	h.request("req-1", event.Deploy) // delivered again after it ran
	h.sync()
	h.answers(2)
	removed, answers := h.spool.snapshot()
	if n := strings.Count(strings.Join(removed, " "), "req-1"); n != 3 {
		t.Errorf("Remove(req-1) called %d times, want 3 (once per delivery): %v", n, removed)
	}
	if n := len(answers); n != 2 { // req-1 and the barrier
		t.Errorf("answers = %+v", answers)
	}

	// a failing request is answered with the failure.
	h.request("req-2", event.Configure)
	fail(h.next(event.Configure), "10-x", "nope")
	a = h.answers(3)
	if a[2].id != "req-2" || a[2].o.Result != state.Failed || a[2].o.Tail != "nope" {
		t.Errorf("answer = %+v", a[2])
	}
	// an explicit request that failed is not retried by itself.
	h.clk.Advance(4 * h.cfg.Interval.D())
	h.sync()
}

func TestTerminationPreemptsQueue(t *testing.T) {
	cfg := testConfig(t)
	h := start(t, cfg, "", nil)
	h.boot()
	h.update(meta("release", `"v2"`))
	d := h.next(event.Deploy)
	h.request("r-conf", event.Configure)
	h.request("r-undeploy", event.Undeploy)
	timers := h.clk.Pending()
	h.update(source.Update{Source: "lifecycle", Lifecycle: &source.Lifecycle{State: source.Terminated}})

	a := h.answers(2)
	for i, id := range []string{"r-conf", "r-undeploy"} {
		if a[i].id != id || a[i].o.Result != state.Dropped || !strings.Contains(a[i].o.Error, "shutdown") {
			t.Errorf("answer %d = %+v; want %s dropped", i, a[i], id)
		}
	}
	h.armed(timers + 1) // the end of the shutdown grace
	if d.ctx.Err() != nil {
		t.Fatalf("the running deploy was ended before its grace")
	}
	// a request during the shutdown is answered at once
	h.request("late", event.Deploy)
	a = h.answers(3)
	if a[2].id != "late" || a[2].o.Result != state.Dropped {
		t.Errorf("late request answer = %+v", a[2])
	}

	h.clk.Advance(cfg.ShutdownGrace.D())
	select {
	case <-d.ctx.Done():
	case <-time.After(waitFor):
		t.Fatalf("the running deploy's context was not canceled at the end of the grace")
	}
	d.reply <- hooks.Result{Failed: "20-app", Hooks: []hooks.HookResult{{Name: "20-app", ExitCode: -1, Canceled: true}}}

	s := h.next(event.Shutdown)
	p := s.payload(t)
	if p.Trigger.Type != "lifecycle" || p.Trigger.Detail != source.Terminated || !strings.Contains(p.Reason, "Terminated") {
		t.Errorf("shutdown payload trigger %+v reason %q", p.Trigger, p.Reason)
	}
	if s.spec.Timeout != cfg.Timeouts.Shutdown.D() {
		t.Errorf("shutdown timeout = %v", s.spec.Timeout)
	}
	ok(s)
	if err := h.wait(); err != nil {
		t.Fatalf("Run after shutdown = %v, want nil", err)
	}

	st, err := state.Read(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Lifecycle.ShutdownDone || st.Lifecycle.ShutdownFor != self.InstanceID || st.Lifecycle.State != source.Terminated {
		t.Errorf("Lifecycle = %+v", st.Lifecycle)
	}
	if o, _ := st.Find(d.spec.EventID); o.Result != state.Interrupted {
		t.Errorf("the running deploy's outcome = %+v, want interrupted", o)
	}
	dropped := 0
	for _, o := range st.History {
		if o.Result == state.Dropped {
			dropped++
		}
	}
	if dropped != 2 || len(st.Queue) != 0 || st.Running != nil {
		t.Errorf("dropped %d, Queue %+v, Running %+v", dropped, st.Queue, st.Running)
	}
	if string(st.Applied[releaseKey]) != `"v1"` {
		t.Errorf("an interrupted deploy changed Applied: %s", st.Applied)
	}
	if o := st.Last[event.Shutdown]; o == nil || o.Result != state.Succeeded {
		t.Errorf("Last[shutdown] = %+v", o)
	}

	// The agent restarts before the instance is gone: no second shutdown, and nothing
	// else runs either — a request (the barrier sync used before issue 15 item 10) is
	// answered dropped.
	h2 := start(t, cfg, h.dir, h.clk)
	h2.update(identity(self))
	h2.update(source.Update{Source: "lifecycle", Lifecycle: &source.Lifecycle{State: source.Terminated}})
	h2.request("after-restart", event.Undeploy)
	if a := h2.answers(1); a[0].o.Result != state.Dropped {
		t.Fatalf("a request after the restart: %+v, want dropped", a[0].o)
	}
	if st := h2.read(); st.Running != nil || len(st.Queue) != 0 {
		t.Fatalf("after the restart: Running %+v Queue %+v", st.Running, st.Queue)
	}
}

func TestShutdownCall(t *testing.T) {
	cfg := testConfig(t)
	h := start(t, cfg, "", nil)
	h.boot()
	h.e.Shutdown("the operating system is shutting down", time.Time{})
	s := h.next(event.Shutdown)
	if tr := s.payload(t).Trigger; tr.Type != "system" {
		t.Errorf("trigger = %+v", tr)
	}
	ok(s)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	st, _ := state.Read(h.dir)
	if st.Lifecycle.ShutdownDone {
		t.Errorf("an OS shutdown is remembered as the instance's termination: %+v", st.Lifecycle)
	}
}

func TestCrashRecovery(t *testing.T) {
	for _, tc := range []struct {
		name    string
		running event.Kind
		done    bool // setup done before the crash
	}{
		{"deploy", event.Deploy, true},
		{"configure", event.Configure, true},
		{"setup", event.Setup, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := newClock()
			st, store, _, err := state.Open(dir, clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			st.Seq = 7
			if tc.done {
				st.Setup = state.Setup{InstanceID: self.InstanceID, Done: true, EventID: "setup-000001"}
				st.Applied[releaseKey] = []byte(`"v1"`)
				st.PeersApplied = true
			}
			st.Running = &state.Pending{ID: string(tc.running) + "-000007", Kind: tc.running, Reasons: []string{"requested"},
				Trigger: event.Trigger{Type: "request", Requests: []string{"r-7"}}, Explicit: true,
				Queued: epoch.Add(-time.Minute), Started: epoch.Add(-time.Minute)}
			if err := store.Save(st); err != nil {
				t.Fatal(err)
			}
			h := startWith(t, testConfig(t), dir, clk, st, store)
			h.update(source.Update{Source: "local", Identity: &self,
				Metadata: map[string]source.Observed{"release": present(`"v1"`)}})
			c := h.next(tc.running)
			if !c.spec.Retry {
				t.Errorf("spec Retry = %v", c.spec.Retry)
			}
			want := string(tc.running) + "-000008"
			if c.spec.EventID != want {
				t.Errorf("retry id = %s, want %s", c.spec.EventID, want)
			}
			p := c.payload(t)
			if !p.Retry || !strings.HasPrefix(p.Reason, "re-run of "+string(tc.running)+"-000007") {
				t.Errorf("payload retry %v reason %q", p.Retry, p.Reason)
			}
			o := h.outcome(string(tc.running) + "-000007")
			if o.Result != state.Interrupted {
				t.Errorf("the interrupted event's outcome = %+v", o)
			}
			if a := h.answers(0); len(a) != 0 {
				t.Errorf("the interrupted request was answered before its re-run: %+v", a)
			}
			ok(c)
			if a := h.answers(1); a[0].id != "r-7" || a[0].o.ID != want || a[0].o.Result != state.Succeeded {
				t.Errorf("answer = %+v", a[0])
			}
			if !tc.done {
				ok(h.next(event.Deploy))
				ok(h.next(event.Configure))
			}
			h.sync()
		})
	}
}

func TestStopDuringEvent(t *testing.T) {
	cfg := testConfig(t)
	h := start(t, cfg, "", nil)
	h.boot()
	h.update(meta("release", `"v2"`))
	d := h.next(event.Deploy)
	timers := h.clk.Pending()
	h.cancel()
	h.armed(timers + 1) // the stop's grace
	if d.ctx.Err() != nil {
		t.Fatal("the running event was ended before the grace")
	}
	h.clk.Advance(cfg.ShutdownGrace.D())
	select {
	case <-d.ctx.Done():
	case <-time.After(waitFor):
		t.Fatal("the running event's context was not canceled at the end of the grace")
	}
	d.reply <- hooks.Result{Failed: "20-app", Hooks: []hooks.HookResult{{Name: "20-app", ExitCode: -1, Canceled: true}}}
	if err := h.wait(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	st, err := state.Read(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Running == nil || st.Running.ID != d.spec.EventID {
		t.Fatalf("Running = %+v, want %s kept for the next start", st.Running, d.spec.EventID)
	}
	if _, found := st.Find(d.spec.EventID); found {
		t.Errorf("the stopped event has an outcome already")
	}

	// The next start runs it again, first, with Retry.
	h2 := start(t, cfg, h.dir, h.clk)
	// identity and metadata in one update, so that the re-run sees the metadata
	h2.update(source.Update{Source: "local", Identity: &self,
		Metadata: map[string]source.Observed{"release": present(`"v2"`)}})
	r := h2.next(event.Deploy)
	if !r.spec.Retry {
		t.Error("the re-run has no Retry")
	}
	if w := watched(t, r.payload(t), "release"); w.Change != event.Update || string(w.New) != `"v2"` {
		t.Errorf("re-run entry = %+v", w)
	}
	ok(r)
	h2.sync()
	if o := h2.outcome(d.spec.EventID); o.Result != state.Interrupted {
		t.Errorf("outcome of the stopped event = %+v", o)
	}
}

func TestStopWaitsForEventWithinGrace(t *testing.T) {
	cfg := testConfig(t)
	h := start(t, cfg, "", nil)
	h.boot()
	h.update(meta("release", `"v2"`))
	d := h.next(event.Deploy)
	timers := h.clk.Pending()
	h.cancel()
	h.armed(timers + 1)
	ok(d)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	st, _ := state.Read(h.dir)
	if st.Running != nil || string(st.Applied[releaseKey]) != `"v2"` {
		t.Errorf("Running = %+v, Applied = %s", st.Running, st.Applied)
	}
}

func TestCfnHupCommandRule(t *testing.T) {
	rule := config.WatchRule{Name: "app", Path: "Resources.App.Metadata.AWS::CloudFormation::Init",
		Command: "/opt/app/reload", RunAs: "app", Timeout: config.Duration(time.Minute), CfnHup: true}
	cfg := testConfig(t, config.WatchRule{Name: "release", Metadata: "release"}, rule)
	h := start(t, cfg, "", nil)
	h.boot()

	for _, falsy := range []string{`0`, `""`, `{}`, `[]`, `false`, `null`, `0.0`} {
		h.update(meta("app", falsy))
	}
	h.sync() // a falsy value is no value: nothing added

	steps := []struct {
		value    string // "" = removed
		kind     event.Kind
		old, new string
	}{
		{`"v1"`, event.Deploy, "", "v1"},
		{`{"a":1}`, event.Deploy, "v1", `{"a":1}`},
		{`{}`, event.Undeploy, `{"a":1}`, ""},
		{`7`, event.Deploy, "", "7"},
		{"", event.Undeploy, "7", ""},
	}
	for _, s := range steps {
		if s.value == "" {
			h.update(metaGone("app"))
		} else {
			h.update(meta("app", s.value))
		}
		c := h.next(s.kind)
		if c.spec.Command != rule.Command || c.spec.Name != "app" || c.spec.RunAs != "app" || c.spec.Timeout != time.Minute {
			t.Errorf("%s: spec Command %q Name %q RunAs %q Timeout %v", s.value, c.spec.Command, c.spec.Name, c.spec.RunAs, c.spec.Timeout)
		}
		old, okOld := c.env("CFN_OLD_METADATA")
		cur, okNew := c.env("CFN_NEW_METADATA")
		if !okOld || !okNew || old != s.old || cur != s.new {
			t.Errorf("%s: CFN_OLD_METADATA=%q (%v) CFN_NEW_METADATA=%q (%v); want %q, %q", s.value, old, okOld, cur, okNew, s.old, s.new)
		}
		if tr := c.payload(t).Trigger; !slices.Equal(tr.Rules, []string{"app"}) {
			t.Errorf("trigger = %+v", tr)
		}
		ok(c)
		h.outcome(c.spec.EventID)
	}
	h.sync()
}

func TestCommandRuleHasItsOwnSlot(t *testing.T) {
	rule := config.WatchRule{Name: "app", Path: "Resources.App.Metadata.conf", Command: "reload", CfnHup: true}
	cfg := testConfig(t, config.WatchRule{Name: "release", Metadata: "release"}, rule)
	h := start(t, cfg, "", nil)
	h.boot()
	h.request("hold", event.Configure)
	hold := h.next(event.Configure)
	h.update(source.Update{Source: "metadata", Metadata: map[string]source.Observed{
		"release": present(`"v2"`), "app": present(`"c1"`)}})
	h.settle()
	ok(hold)
	got := map[string]bool{}
	for range 2 {
		c := h.next(event.Deploy)
		got[c.spec.Command] = true
		if c.spec.Command == "" {
			if w := watched(t, c.payload(t), "release"); w.Change != event.Update {
				t.Errorf("hooks.d deploy entry = %+v", w)
			}
			if _, found := c.env("CFN_NEW_METADATA"); found {
				t.Error("hooks.d deploy has CFN_NEW_METADATA")
			}
		}
		ok(c)
	}
	if !got[""] || !got["reload"] {
		t.Errorf("deploys run: %v; want one hooks.d and one command", got)
	}
	h.sync()
}

// TestCommandRulesRunUnderTheirNames: each command rule's run is named after its rule, so
// that two cfn-hup actions are told apart in the hook's name, its log file and status.
func TestCommandRulesRunUnderTheirNames(t *testing.T) {
	release := config.WatchRule{Name: "cfn-hup:release-hook", Path: "Resources.App.Metadata.release", Command: "echo release", CfnHup: true}
	reloader := config.WatchRule{Name: "cfn-hup:cfn-auto-reloader-hook", Path: "Resources.App.Metadata.AWS::CloudFormation::Init", Command: "cfn-init", CfnHup: true}
	h := start(t, testConfig(t, release, reloader), "", nil)
	h.boot()
	for _, rule := range []config.WatchRule{release, reloader} {
		h.update(meta(rule.Name, `"v1"`))
		c := h.next(event.Deploy)
		if c.spec.Command != rule.Command || c.spec.Name != rule.Name {
			t.Errorf("rule %s: spec Command %q Name %q; want %q, %q", rule.Name, c.spec.Command, c.spec.Name, rule.Command, rule.Name)
		}
		ok(c)
		if o := h.outcome(c.spec.EventID); o.Rule != rule.Name {
			t.Errorf("rule %s: outcome Rule %q", rule.Name, o.Rule)
		}
	}
	h.sync()
}

func TestStateOfAnotherInstance(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	st, store, _, err := state.Open(dir, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	st.Setup = state.Setup{InstanceID: "i-0baked", Done: true}
	st.Identity = event.Instance{InstanceID: "i-0baked"}
	st.Applied[releaseKey] = []byte(`"v1"`)
	st.PeersApplied = true
	st.Peers = []event.Instance{peer(1)}
	st.Seq = 40
	h := startWith(t, testConfig(t), dir, clk, st, store)
	h.update(identity(self))
	h.update(meta("release", `"v1"`))
	h.update(peers(peer(1)))
	s := h.next(event.Setup)
	h.settle()
	if s.spec.InstanceID != self.InstanceID || s.spec.EventID != "setup-000041" {
		t.Errorf("setup spec instance %s id %s", s.spec.InstanceID, s.spec.EventID)
	}
	ok(s)
	d := h.next(event.Deploy)
	if w := watched(t, d.payload(t), "release"); w.Change != event.Add || w.Old != nil {
		t.Errorf("deploy entry = %+v; the baked state's applied values must not count", w)
	}
	ok(d)
	c := h.next(event.Configure)
	ok(c)
	h.outcome(c.spec.EventID)
	h.sync()
	st2 := h.read()
	if st2.Setup.InstanceID != self.InstanceID || !st2.Setup.Done || st2.Identity.InstanceID != self.InstanceID {
		t.Errorf("Setup = %+v Identity = %+v", st2.Setup, st2.Identity)
	}
}

// A source that cannot read a value leaves what was applied alone; when it reads again,
// the change is acted on. (How source problems reach status is the status package's.)
func TestSourceErrors(t *testing.T) {
	h := start(t, testConfig(t), "", nil)
	h.boot()
	h.update(source.Update{Source: "metadata", Metadata: map[string]source.Observed{
		"release": {Err: errors.New("path release goes through a string")}}})
	h.update(source.Update{Source: "peers", Err: errors.New("DescribeAutoScalingGroups: throttled")})
	h.sync()
	if st := h.read(); string(st.Applied[releaseKey]) != `"v1"` {
		t.Errorf("Applied = %s", st.Applied)
	}

	// recovery: the value is watched again
	h.update(meta("release", `"v2"`))
	ok(h.next(event.Deploy))
	h.sync()
	if st := h.read(); string(st.Applied[releaseKey]) != `"v2"` {
		t.Errorf("Applied after recovery = %s", st.Applied)
	}
}

// A deploy requested while setup runs waits in the queue; when setup succeeds it is merged
// into the deploy that follows setup, which still runs before the configure.
func TestRequestDuringSetupKeepsSetupOrder(t *testing.T) {
	h := start(t, testConfig(t), "", nil)
	h.update(source.Update{Source: "local", Identity: &self,
		Metadata: map[string]source.Observed{"release": present(`"v1"`)}, PeersRead: true})
	s := h.next(event.Setup)
	h.request("early", event.Deploy)
	h.settle()
	ok(s)
	d := h.next(event.Deploy)
	p := d.payload(t)
	if !slices.Contains(p.Trigger.Requests, "early") {
		t.Errorf("deploy trigger = %+v; want the early request merged in", p.Trigger)
	}
	if w := watched(t, p, "release"); w.Change != event.Add {
		t.Errorf("deploy entry = %+v", w)
	}
	ok(d)
	ok(h.next(event.Configure))
	if a := h.answers(1); a[0].id != "early" || a[0].o.ID != d.spec.EventID {
		t.Errorf("answer = %+v", a[0])
	}
	h.sync()
}

// The engine holds every event until each awaited source has reported once, so that an
// event re-run after a crash sees the metadata and is not followed by a second deploy.
func TestAwaitSourcesBeforeRunning(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	st, store, _, err := state.Open(dir, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	st.Seq = 3
	st.Setup = state.Setup{InstanceID: self.InstanceID, Done: true}
	st.Applied[releaseKey] = []byte(`"v1"`)
	st.PeersApplied = true
	st.Running = &state.Pending{ID: "deploy-000003", Kind: event.Deploy, Reasons: []string{"metadata release changed"},
		Trigger: event.Trigger{Type: "watch", Rules: []string{"release"}}, Started: epoch}
	h := startWithAwait(t, testConfig(t), dir, clk, st, store, []string{"identity", "metadata"})
	h.update(identity(self))
	h.settle()
	if st := h.read(); st.Running != nil || len(st.Queue) != 1 {
		t.Fatalf("an event started before the metadata source reported: Running %+v Queue %+v", st.Running, st.Queue)
	}
	h.update(meta("release", `"v2"`))
	d := h.next(event.Deploy)
	if w := watched(t, d.payload(t), "release"); !d.spec.Retry || w.Change != event.Update || string(w.New) != `"v2"` {
		t.Errorf("re-run Retry %v entry %+v", d.spec.Retry, w)
	}
	ok(d)
	h.sync()
}

// A shutdown that arrives before the sources have all reported (the instance is going
// away during boot) still runs the shutdown hooks.
func TestShutdownBeforeSourcesReported(t *testing.T) {
	cfg := testConfig(t)
	dir, clk := t.TempDir(), newClock()
	st, store, _, err := state.Open(dir, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	h := startWithAwait(t, cfg, dir, clk, st, store, []string{"identity", "metadata", "peers"})
	h.e.Shutdown("the operating system is shutting down", time.Time{})
	s := h.next(event.Shutdown)
	if p := s.payload(t); p.Instance.InstanceID != "" || p.Trigger.Type != "system" {
		t.Errorf("payload %+v", p)
	}
	ok(s)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
}

// A restart on an instance whose termination already ran its shutdown hooks does not run
// them again, even when the lifecycle source reports before the identity does; and it runs
// nothing else either (issue 15 item 10): a request is answered dropped, and the
// operating system going down then ends the engine without a second shutdown.
func TestTerminatedBeforeIdentityAfterShutdownDone(t *testing.T) {
	cfg := testConfig(t)
	dir, clk := t.TempDir(), newClock()
	st, store, _, err := state.Open(dir, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	st.Identity = event.Instance{InstanceID: "i-0done"}
	st.Setup = state.Setup{InstanceID: "i-0done", Done: true}
	st.Lifecycle = state.Lifecycle{State: source.Terminated, ShutdownDone: true, ShutdownFor: "i-0done"}
	h := startWith(t, cfg, dir, clk, st, store)
	h.update(source.Update{Source: "lifecycle", Lifecycle: &source.Lifecycle{State: source.Terminated}})
	h.update(identity(event.Instance{InstanceID: "i-0done"}))
	h.request("r-after", event.Undeploy)
	got := h.answers(1)
	if got[0].o.Result != state.Dropped || !strings.Contains(got[0].o.Error, "dropped, the instance is terminating") {
		t.Fatalf("answer %+v: want dropped, the instance is terminating", got[0].o)
	}
	if st := h.read(); st.Running != nil || len(st.Queue) != 0 {
		t.Fatalf("the drained instance runs or queues: Running %+v Queue %+v", st.Running, st.Queue)
	}
	h.e.Shutdown("the operating system is shutting down", time.Time{})
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-h.runner.calls:
		t.Fatalf("the drained instance ran %s %s", c.spec.Event, c.spec.EventID)
	default:
	}
}

// An event the agent's death interrupts runs again at most twice; interrupted a third time
// it is recorded as failed, says why and what to do, and backs off like any failure.
func TestInterruptedEventRunsAgainAtMostTwice(t *testing.T) {
	cfg := testConfig(t)
	clk := newClock()
	h := start(t, cfg, "", clk)
	h.boot()
	h.update(meta("release", `"v2"`))
	d := h.next(event.Deploy)
	id := d.spec.EventID
	running := func(h *harness, id string) *state.State {
		return h.state(id+" running", func(st *state.State) bool { return st.Running != nil && st.Running.ID == id })
	}
	st := running(h, id)
	if st.Running.Fingerprint == "" {
		t.Fatalf("the running deploy has no fingerprint in the state: %+v", st.Running)
	}
	// The agent dies while the event runs, and starts again on what the state file holds.
	restart := func(st *state.State) *harness {
		t.Helper()
		dir := t.TempDir()
		_, store, _, err := state.Open(dir, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Save(st); err != nil {
			t.Fatal(err)
		}
		st, store, _, err = state.Open(dir, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		h := startWithAwait(t, cfg, dir, clk, st, store, []string{"metadata"})
		h.update(identity(self))
		h.update(meta("release", `"v2"`))
		return h
	}
	for i := 1; i <= 2; i++ {
		h = restart(st)
		c := h.next(event.Deploy)
		if !c.spec.Retry {
			t.Errorf("re-run %d: Retry not set", i)
		}
		if o := h.outcome(id); o.Result != state.Interrupted {
			t.Errorf("re-run %d: outcome of %s = %+v, want interrupted", i, id, o)
		}
		id = c.spec.EventID
		st = running(h, id)
		if st.Running.Interruptions != i {
			t.Errorf("re-run %d: interruptions in the state = %d", i, st.Running.Interruptions)
		}
	}
	h = restart(st)
	o := h.outcome(id)
	if o.Result != state.Failed || !strings.Contains(o.Error, "interrupted 3 times") ||
		!strings.Contains(o.Error, "stackhand trigger deploy") {
		t.Errorf("third interruption: outcome %+v, want failed, interrupted 3 times, and how to go on", o)
	}
	h.sync() // nothing ran in its place
	r := h.read().Retries["deploy/"]
	if r == nil || r.Attempts != 1 || !r.Automatic || !r.NotBefore.Equal(clk.Now().Add(cfg.Interval.D())) {
		t.Fatalf("retry schedule after the third interruption = %+v, want attempt 1 due in one interval", r)
	}
	// The failure schedule brings it back, counting interruptions from zero.
	clk.Advance(cfg.Interval.D())
	c := h.next(event.Deploy)
	if st := running(h, c.spec.EventID); st.Running.Interruptions != 0 {
		t.Errorf("the scheduled retry carries %d interruptions", st.Running.Interruptions)
	}
	ok(c)
	h.sync()
}

// A spot notice read after its deadline still runs the shutdown hooks, for at least
// MinShutdownWindow, and says that the deadline had passed.
func TestSpotNoticePastItsDeadlineStillRunsShutdown(t *testing.T) {
	h := start(t, testConfig(t), "", nil)
	h.boot()
	deadline := h.clk.Now().Add(-10 * time.Second)
	h.update(source.Update{Source: "lifecycle", Lifecycle: &source.Lifecycle{State: source.InService, Spot: true, Deadline: deadline}})
	before := time.Now()
	s := h.next(event.Shutdown)
	if err := s.ctx.Err(); err != nil {
		t.Fatalf("the shutdown hooks' context is already over (%v): they would not run", err)
	}
	if until, ok := s.ctx.Deadline(); !ok || until.Before(before.Add(minShutdownWindow)) {
		t.Errorf("shutdown bounded until %v (set %v); want at least %v from its start", until, ok, minShutdownWindow)
	}
	if p := s.payload(t); !p.Deadline.Equal(deadline) {
		t.Errorf("payload deadline %v, want the notice's %v", p.Deadline, deadline)
	}
	if n := h.logs.FilterMessageSnippet("deadline has already passed").Len(); n != 1 {
		t.Errorf("%d log lines say the deadline had passed, want 1", n)
	}
	ok(s)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
}

// minShutdownWindow is README's minimum window of the shutdown hooks (engine.MinShutdownWindow).
const minShutdownWindow = 5 * time.Second
