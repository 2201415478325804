package lifecycle

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/testenv"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// lifecycleGroup puts group web with instance i-0self and the given hooks.
func lifecycleGroup(srv *awsfake.Server, hooks ...awsfake.LifecycleHook) {
	srv.PutGroup(awsfake.Group{Name: "web", Instances: []awsfake.GroupInstance{{ID: "i-0self", LifecycleState: "Terminating:Wait"}},
		Hooks: hooks})
}

func newAction(t *testing.T, srv *awsfake.Server) (*Action, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	return &Action{ASG: autoscaling.NewFromConfig(awsfake.ClientConfig(srv.URL)), Group: "web", InstanceID: "i-0self",
		Clock: clock.NewFake(t0), Log: zap.New(core)}, logs
}

func TestActionHeartbeatsThenCompletes(t *testing.T) {
	srv := awsfake.Start(t)
	lifecycleGroup(srv,
		awsfake.LifecycleHook{Name: "warm", Transition: awsfake.TransitionLaunching, HeartbeatTimeout: 30},
		awsfake.LifecycleHook{Name: "drain", HeartbeatTimeout: 60})
	a, _ := newAction(t, srv)
	clk := a.Clock.(*clock.Fake)
	heartbeats := func() int { return len(srv.Heartbeats()) }

	a.ShutdownStarted(source.Terminated, time.Time{})
	if n := srv.Calls("autoscaling", "DescribeLifecycleHooks"); n != 1 {
		t.Errorf("%d DescribeLifecycleHooks, want 1", n)
	}
	// The first heartbeat at once, then every third of the hook's 60 s timeout.
	testenv.WaitFor(t, "the first heartbeat", func() bool { return heartbeats() == 1 && clk.Pending() == 1 })
	const every = 20 * time.Second
	for n := 2; n <= 4; n++ {
		clk.Advance(every - time.Millisecond)
		if heartbeats() != n-1 || clk.Pending() != 1 {
			t.Fatalf("heartbeat %d came before %s", n, every)
		}
		clk.Advance(time.Millisecond)
		testenv.WaitFor(t, "the next heartbeat", func() bool { return heartbeats() == n && clk.Pending() == 1 })
	}
	for _, hb := range srv.Heartbeats() {
		if hb.Group != "web" || hb.Hook != "drain" || hb.InstanceID != "i-0self" {
			t.Errorf("heartbeat %+v, want group web, hook drain, instance i-0self", hb)
		}
	}

	a.ShutdownFinished(true)
	if n := clk.Pending(); n != 0 {
		t.Errorf("%d heartbeat timers left after the shutdown finished", n)
	}
	clk.Advance(time.Hour)
	if n := heartbeats(); n != 4 {
		t.Errorf("%d heartbeats after the end, want 4", n)
	}
	done := srv.Completions()
	if len(done) != 1 || done[0].Result != "CONTINUE" || done[0].Hook != "drain" || done[0].InstanceID != "i-0self" {
		t.Errorf("completions %+v, want one CONTINUE for hook drain", done)
	}
	if g, _ := srv.GetGroup("web"); g.Instances[0].LifecycleState != "Terminating:Proceed" {
		t.Errorf("instance %s after completion, want Terminating:Proceed", g.Instances[0].LifecycleState)
	}
	// A second ShutdownFinished does nothing.
	a.ShutdownFinished(false)
	if n := srv.Calls("autoscaling", "CompleteLifecycleAction"); n != 1 {
		t.Errorf("%d CompleteLifecycleAction, want 1", n)
	}
}

func TestActionResult(t *testing.T) {
	tests := []struct {
		ok, abandon bool
		want        string
	}{
		{ok: true, abandon: false, want: "CONTINUE"},
		{ok: true, abandon: true, want: "CONTINUE"},
		{ok: false, abandon: true, want: "ABANDON"},
		{ok: false, abandon: false, want: "CONTINUE"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			srv := awsfake.Start(t)
			lifecycleGroup(srv, awsfake.LifecycleHook{Name: "drain"})
			a, _ := newAction(t, srv)
			a.Abandon = tt.abandon
			a.ShutdownStarted(source.Terminated, time.Time{})
			testenv.WaitFor(t, "the first heartbeat", func() bool { return len(srv.Heartbeats()) == 1 })
			a.ShutdownFinished(tt.ok)
			done := srv.Completions()
			if len(done) != 1 || done[0].Result != tt.want {
				t.Errorf("ok %v abandon %v: completions %+v, want one %s", tt.ok, tt.abandon, done, tt.want)
			}
		})
	}
}

// Only an Auto Scaling termination has a lifecycle action: a spot notice or a system
// shutdown makes no call at all, nor does an instance in no group.
func TestActionOnlyForTerminated(t *testing.T) {
	for _, tc := range []struct{ state, group string }{
		{"spot", "web"}, {"system", "web"}, {source.InService, "web"}, {"", "web"}, {source.Terminated, ""},
	} {
		t.Run(tc.state+"/"+tc.group, func(t *testing.T) {
			srv := awsfake.Start(t)
			lifecycleGroup(srv, awsfake.LifecycleHook{Name: "drain"})
			a, _ := newAction(t, srv)
			a.Group = tc.group
			a.ShutdownStarted(tc.state, time.Time{})
			a.ShutdownFinished(false)
			if n := srv.Calls("", ""); n != 0 {
				t.Errorf("%d calls, want none: %v", n, srv.CallCounts())
			}
			if n := a.Clock.(*clock.Fake).Pending(); n != 0 {
				t.Errorf("%d timers armed", n)
			}
		})
	}
}

func TestActionNoTerminationHook(t *testing.T) {
	srv := awsfake.Start(t)
	lifecycleGroup(srv, awsfake.LifecycleHook{Name: "warm", Transition: awsfake.TransitionLaunching})
	a, logs := newAction(t, srv)
	a.ShutdownStarted(source.Terminated, time.Time{})
	a.ShutdownFinished(true)
	if n := len(srv.Heartbeats()); n != 0 {
		t.Errorf("%d heartbeats, want none", n)
	}
	if n := srv.Calls("autoscaling", "CompleteLifecycleAction"); n != 0 {
		t.Errorf("%d CompleteLifecycleAction, want none", n)
	}
	warned := logs.FilterLevelExact(zapcore.WarnLevel).FilterMessageSnippet("no EC2_INSTANCE_TERMINATING lifecycle hook").All()
	if len(warned) != 1 || warned[0].ContextMap()["group"] != "web" {
		t.Errorf("want one warning naming group web, got %v", logs.All())
	}
}

func TestActionConfiguredHook(t *testing.T) {
	srv := awsfake.Start(t)
	lifecycleGroup(srv,
		awsfake.LifecycleHook{Name: "drain", HeartbeatTimeout: 60},
		awsfake.LifecycleHook{Name: "custom", HeartbeatTimeout: 15})
	a, _ := newAction(t, srv)
	a.HookName = "custom"
	clk := a.Clock.(*clock.Fake)
	a.ShutdownStarted(source.Terminated, time.Time{})
	testenv.WaitFor(t, "the first heartbeat", func() bool { return len(srv.Heartbeats()) == 1 && clk.Pending() == 1 })
	// A third of 15 s is under the 10 s floor.
	clk.Advance(10 * time.Second)
	testenv.WaitFor(t, "the second heartbeat", func() bool { return len(srv.Heartbeats()) == 2 && clk.Pending() == 1 })
	a.ShutdownFinished(true)
	for _, hb := range srv.Heartbeats() {
		if hb.Hook != "custom" {
			t.Errorf("heartbeat for hook %s, want custom", hb.Hook)
		}
	}
	if done := srv.Completions(); len(done) != 1 || done[0].Hook != "custom" {
		t.Errorf("completions %+v, want one for hook custom", done)
	}
}

// A configured hook is used even when the role may not describe the hooks.
func TestActionConfiguredHookWithoutDescribe(t *testing.T) {
	srv := awsfake.Start(t)
	lifecycleGroup(srv, awsfake.LifecycleHook{Name: "custom"})
	srv.SetFaults(awsfake.Faults{ServerErrorRate: 1, Only: map[string]bool{"DescribeLifecycleHooks": true}})
	a, logs := newAction(t, srv)
	a.HookName = "custom"
	a.ShutdownStarted(source.Terminated, time.Time{})
	testenv.WaitFor(t, "the first heartbeat", func() bool { return len(srv.Heartbeats()) == 1 })
	a.ShutdownFinished(true)
	if done := srv.Completions(); len(done) != 1 || done[0].Hook != "custom" {
		t.Errorf("completions %+v, want one for hook custom", done)
	}
	if errs := logs.FilterLevelExact(zapcore.ErrorLevel).All(); len(errs) != 0 {
		t.Errorf("errors logged: %v", errs)
	}
}

// Without a configured hook, a failed DescribeLifecycleHooks is logged and nothing starts.
func TestActionDescribeFails(t *testing.T) {
	srv := awsfake.Start(t)
	lifecycleGroup(srv, awsfake.LifecycleHook{Name: "drain"})
	srv.SetFaults(awsfake.Faults{ServerErrorRate: 1, Only: map[string]bool{"DescribeLifecycleHooks": true}})
	a, logs := newAction(t, srv)
	a.ShutdownStarted(source.Terminated, time.Time{})
	a.ShutdownFinished(true)
	if n := len(srv.Heartbeats()) + len(srv.Completions()); n != 0 {
		t.Errorf("%d lifecycle calls accepted, want none", n)
	}
	errs := logs.FilterLevelExact(zapcore.ErrorLevel).FilterMessageSnippet("cannot find the termination lifecycle hook").All()
	if len(errs) != 1 || !strings.Contains(errs[0].ContextMap()["error"].(string), "autoscaling:DescribeLifecycleHooks") {
		t.Errorf("want one error naming autoscaling:DescribeLifecycleHooks, got %v", logs.All())
	}
}
