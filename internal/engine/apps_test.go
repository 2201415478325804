package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/engine"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
)

// appCall is one Apps.Run the engine made; the test answers it with reply.
type appCall struct {
	spec  hooks.Spec
	work  []engine.AppWork
	reply chan appReply
}

type appReply struct {
	res     hooks.Result
	results []engine.AppResult
}

type fakeApps struct {
	calls chan *appCall
	abort chan struct{}
}

func (f *fakeApps) Run(ctx context.Context, s hooks.Spec, work []engine.AppWork) (hooks.Result, []engine.AppResult) {
	c := &appCall{spec: s, work: work, reply: make(chan appReply, 1)}
	select {
	case f.calls <- c:
	case <-f.abort:
		return hooks.Result{Err: "test over"}, nil
	}
	select {
	case r := <-c.reply:
		return r.res, r.results
	case <-f.abort:
		return hooks.Result{Err: "test over"}, nil
	}
}

func (f *fakeApps) Rollback(ctx context.Context, s hooks.Spec, app config.App, to string) (hooks.Result, engine.AppResult) {
	res, results := f.Run(ctx, s, []engine.AppWork{{App: app, Revision: "rollback-to:" + to}})
	if len(results) == 0 {
		return res, engine.AppResult{}
	}
	return res, results[0]
}

func (f *fakeApps) next(t *testing.T) *appCall {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(waitFor):
		t.Fatal("no app deploy was run")
	}
	return nil
}

func appsConfig(t *testing.T) *config.Config {
	cfg := testConfig(t)
	cfg.Apps = []config.App{
		{Name: "web", Revision: config.ValueRef{Metadata: "web_rev"}, Source: "/builds/web-{revision}.tgz", DeployTo: "/srv/web",
			SHA256: config.SHA256Ref{From: config.ValueRef{Metadata: "web_sha"}}},
		{Name: "api", Revision: config.ValueRef{Metadata: "api_rev"}, Source: "/builds/api-{revision}.tgz", DeployTo: "/srv/api"},
	}
	cfg.Watch = append(cfg.Watch, config.AppRules(cfg.Apps)...)
	return cfg
}

func startApps(t *testing.T, cfg *config.Config) (*harness, *fakeApps) {
	clk := clock.NewFake(epoch)
	dir := t.TempDir()
	st, store, _, err := state.Open(dir, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	fa := &fakeApps{calls: make(chan *appCall), abort: make(chan struct{})}
	h := startFull(t, cfg, dir, clk, st, store, nil, fa)
	t.Cleanup(func() { close(fa.abort) }) // before the harness's cleanup waits for Run
	return h, fa
}

// An app's revision drives its deploy through Apps (with the revision and the sha256 read
// from their own rules); a rolled-back revision fails the event with its reason, is
// recorded, and is not deployed again — not on the retry schedule either — until the
// revision changes; a removed revision undeploys the app.
func TestAppsDeployRollbackNoLoop(t *testing.T) {
	cfg := appsConfig(t)
	h, fa := startApps(t, cfg)
	h.boot() // no app revision yet: setup's deploy runs hooks.d as before

	h.update(source.Update{Source: "metadata", Metadata: map[string]source.Observed{"app:web": present(`"v2"`), "app:web:sha256": present(`"abc"`)}})
	c := fa.next(t)
	if c.spec.Event != event.Deploy || len(c.work) != 1 || c.work[0].App.Name != "web" || c.work[0].Revision != "v2" || c.work[0].SHA256 != "abc" || c.work[0].Undeploy {
		t.Fatalf("work %+v", c.work)
	}
	c.reply <- appReply{hooks.Result{Err: "app web: rolled back to 20260301T115900Z-v1: check failed"},
		[]engine.AppResult{{App: "web", Revision: "v2", RolledBack: true, Release: "20260301T115900Z-v1", Err: "rolled back to 20260301T115900Z-v1: check failed"}}}
	o := h.outcome(c.spec.EventID)
	if o.Result != state.Failed || !strings.Contains(o.Error, "rolled back to 20260301T115900Z-v1: check failed") {
		t.Errorf("outcome %+v", o)
	}
	st := h.read()
	if a := st.Apps["web"]; a == nil || a.FailedRevision != "v2" || a.Result != state.AppRolledBack || a.Release != "20260301T115900Z-v1" {
		t.Errorf("state app %+v", st.Apps["web"])
	}
	// Past every retry wait: nothing runs (sync fails if a deploy comes first).
	h.clk.Advance(4 * h.cfg.Interval.D())
	h.sync()
	h.clk.Advance(time.Hour)
	h.sync()

	// A new revision deploys.
	h.update(meta("app:web", `"v3"`))
	c = fa.next(t)
	if len(c.work) != 1 || c.work[0].Revision != "v3" {
		t.Fatalf("work %+v", c.work)
	}
	c.reply <- appReply{hooks.Result{OK: true}, []engine.AppResult{{App: "web", Revision: "v3", OK: true, Release: "20260301T130000Z-v3"}}}
	h.outcome(c.spec.EventID)
	if a := h.read().Apps["web"]; a == nil || a.FailedRevision != "" || a.Result != state.AppDeployed || a.Revision != "v3" {
		t.Errorf("state app after success %+v", a)
	}

	// Removed: undeploy of that app only.
	h.update(metaGone("app:web"))
	c = fa.next(t)
	if c.spec.Event != event.Undeploy || len(c.work) != 1 || !c.work[0].Undeploy || c.work[0].Revision != "v3" {
		t.Fatalf("undeploy work %+v", c.work)
	}
	c.reply <- appReply{hooks.Result{OK: true}, []engine.AppResult{{App: "web", Revision: "v3", OK: true}}}
	h.outcome(c.spec.EventID)
	if a := h.read().Apps["web"]; a == nil || a.Result != state.AppUndeployed {
		t.Errorf("state app after undeploy %+v", a)
	}
}

// Setup includes deploy: the deploy that follows setup does every app with a revision;
// an app with a sha256 reference that has no value fails without being fetched.
func TestAppsSetupDeploysEveryApp(t *testing.T) {
	cfg := appsConfig(t)
	h, fa := startApps(t, cfg)
	h.update(identity(self))
	h.update(meta("app:web", `"w1"`))
	h.update(meta("app:api", `"a1"`))
	h.update(meta("release", `"v1"`))
	h.update(peers())
	s := h.next(event.Setup)
	h.settle()
	ok(s)
	c := fa.next(t)
	if len(c.work) != 2 || c.work[0].App.Name != "web" || c.work[1].App.Name != "api" || c.work[1].Revision != "a1" {
		t.Fatalf("work %+v", c.work)
	}
	if !strings.Contains(c.work[0].Err, "sha256 reference") {
		t.Errorf("web without its sha256: Err %q", c.work[0].Err)
	}
	// api succeeds, web fails (not rolled back): api's change is applied, web's is not.
	c.reply <- appReply{hooks.Result{Err: "app web: no sha256"}, []engine.AppResult{
		{App: "web", Revision: "w1", Err: "no sha256"}, {App: "api", Revision: "a1", OK: true, Release: "r"}}}
	h.outcome(c.spec.EventID)
	st := h.read()
	if string(st.Applied["app:api|metadata:api_rev"]) != `"a1"` || st.Applied["app:web|metadata:web_rev"] != nil {
		t.Errorf("applied %s", st.Applied)
	}
}

// Without apps, a deploy is exactly as before: hooks.d through the runner.
func TestNoAppsDeployUsesRunner(t *testing.T) {
	h, _ := startApps(t, testConfig(t))
	h.boot()
	h.update(meta("release", `"v2"`))
	ok(h.next(event.Deploy))
}

// `stackhand rollback` reaches Apps.Rollback through the request spool as a deploy of its
// own (never merged with a waiting deploy); the revision rolled away from is recorded as
// failed, so the agent does not deploy it again on its own.
func TestAppsRollbackRequest(t *testing.T) {
	cfg := appsConfig(t)
	h, fa := startApps(t, cfg)
	h.boot()
	h.update(meta("app:api", `"a2"`))
	c := fa.next(t)
	c.reply <- appReply{hooks.Result{OK: true}, []engine.AppResult{{App: "api", Revision: "a2", OK: true, Release: "R2", ReleaseRevision: "a2"}}}
	h.outcome(c.spec.EventID)

	h.update(source.Update{Source: "requests", Request: &source.Request{ID: "rb-1", Event: event.Deploy, User: "tester", Time: h.clk.Now(),
		Rollback: &state.RollbackRequest{App: "api", To: "R1"}}})
	c = fa.next(t)
	if c.spec.Event != event.Deploy || len(c.work) != 1 || c.work[0].App.Name != "api" || c.work[0].Revision != "rollback-to:R1" {
		t.Fatalf("rollback call %+v", c.work)
	}
	c.reply <- appReply{hooks.Result{OK: true}, []engine.AppResult{{App: "api", Revision: "a2", OK: true, Release: "R1", ReleaseRevision: "a1"}}}
	o := h.outcome(c.spec.EventID)
	if o.Result != state.Succeeded || !strings.Contains(o.Reason, "rollback of app api") {
		t.Errorf("outcome %+v", o)
	}
	if _, answers := h.spool.snapshot(); len(answers) == 0 || answers[len(answers)-1].id != "rb-1" {
		t.Errorf("answers %+v", answers)
	}
	if a := h.read().Apps["api"]; a == nil || a.Result != state.AppRolledBack || a.FailedRevision != "a2" || a.Release != "R1" || a.Revision != "a1" {
		t.Errorf("state app %+v", a)
	}
	// The retry schedule brings nothing back.
	h.clk.Advance(time.Hour)
	h.sync()

	// An app not configured is dropped with the reason.
	h.update(source.Update{Source: "requests", Request: &source.Request{ID: "rb-2", Event: event.Deploy, Time: h.clk.Now(),
		Rollback: &state.RollbackRequest{App: "nope"}}})
	h.sync()
	_, answers := h.spool.snapshot()
	found := false
	for _, a := range answers {
		found = found || (a.id == "rb-2" && a.o.Result == state.Dropped && strings.Contains(a.o.Error, "app nope is not in the configuration"))
	}
	if !found {
		t.Errorf("no dropped answer to rb-2: %+v", answers)
	}
}

// A revision read from Parameter Store is the parameter's value, not its observed form
// (value and version); a new version of the same value deploys again.
func TestAppsSSMRevision(t *testing.T) {
	cfg := testConfig(t)
	cfg.Apps = []config.App{{Name: "api", Revision: config.ValueRef{SSM: "/api/release"}, Source: "/b/{revision}.tgz", DeployTo: "/srv/api"}}
	cfg.Watch = append(cfg.Watch, config.AppRules(cfg.Apps)...)
	h, fa := startApps(t, cfg)
	h.boot()
	h.update(source.Update{Source: "ssm", Params: map[string]source.Observed{"/api/release": present(`{"value":"a1","version":1}`)}})
	c := fa.next(t)
	if len(c.work) != 1 || c.work[0].Revision != "a1" {
		t.Fatalf("work %+v", c.work)
	}
	c.reply <- appReply{hooks.Result{OK: true}, []engine.AppResult{{App: "api", Revision: "a1", OK: true}}}
	h.outcome(c.spec.EventID)
	h.update(source.Update{Source: "ssm", Params: map[string]source.Observed{"/api/release": present(`{"value":"a1","version":2}`)}})
	c = fa.next(t)
	if len(c.work) != 1 || c.work[0].Revision != "a1" {
		t.Fatalf("work after a new version %+v", c.work)
	}
	c.reply <- appReply{hooks.Result{OK: true}, []engine.AppResult{{App: "api", Revision: "a1", OK: true}}}
	h.outcome(c.spec.EventID)
}
