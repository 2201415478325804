package source

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// readLifecycleUntil calls Read, in real time and bounded, until cond holds: the metadata
// mock times its events from its start in whole seconds.
func readLifecycleUntil(t *testing.T, s AWSLifecycle, what string, cond func(Lifecycle) bool) Lifecycle {
	t.Helper()
	ctx := awsTestCtx(t)
	deadline := time.Now().Add(waitLimit)
	for {
		l, err := s.Read(ctx)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if cond(l) {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s; last read %+v", what, waitLimit, l)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAWSLifecycleReadMock(t *testing.T) {
	t.Run("in service", func(t *testing.T) {
		mock := imdsmock.Start(t, imdsmock.Config{})
		l, err := AWSLifecycle{IMDS: newIMDSTestClient(mock.URL)}.Read(awsTestCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		want := Lifecycle{State: InService, Detail: "target lifecycle state InService"}
		if l != want {
			t.Errorf("got %+v, want %+v", l, want)
		}
		if l.Terminating() {
			t.Error("an InService instance is terminating")
		}
	})
	t.Run("terminated", func(t *testing.T) {
		mock := imdsmock.Start(t, imdsmock.Config{ASGTerminationAfter: time.Second})
		s := AWSLifecycle{IMDS: newIMDSTestClient(mock.URL)}
		l := readLifecycleUntil(t, s, "Terminated", func(l Lifecycle) bool { return l.State != InService })
		if l.State != Terminated || !l.Terminating() || l.Spot || l.Detail != "target lifecycle state Terminated" {
			t.Errorf("got %+v, want Terminated", l)
		}
	})
	t.Run("spot", func(t *testing.T) {
		mock := imdsmock.Start(t, imdsmock.Config{SpotInterruptionAfter: time.Second})
		s := AWSLifecycle{IMDS: newIMDSTestClient(mock.URL)}
		before := time.Now().Truncate(time.Second)
		l := readLifecycleUntil(t, s, "a spot notice", func(l Lifecycle) bool { return l.Spot })
		after := time.Now()
		// The mock gives the time of the request plus two minutes, in whole seconds.
		if l.Deadline.Before(before.Add(SpotNotice)) || l.Deadline.After(after.Add(SpotNotice)) {
			t.Errorf("deadline %s, want the notice's time, between %s and %s", l.Deadline, before.Add(SpotNotice), after.Add(SpotNotice))
		}
		if l.State != InService || !l.Terminating() || !strings.Contains(l.Detail, "spot interruption notice: terminate at ") {
			t.Errorf("got %+v", l)
		}
	})
	t.Run("rebalance", func(t *testing.T) {
		mock := imdsmock.Start(t, imdsmock.Config{RebalanceAfter: time.Second})
		s := AWSLifecycle{IMDS: newIMDSTestClient(mock.URL)}
		before := time.Now().Truncate(time.Second)
		l := readLifecycleUntil(t, s, "a rebalance recommendation", func(l Lifecycle) bool { return !l.Rebalance.IsZero() })
		if l.Rebalance.Before(before) || l.Rebalance.After(time.Now()) {
			t.Errorf("rebalance at %s, want the notice time, after %s", l.Rebalance, before)
		}
		if l.State != InService || l.Terminating() {
			t.Errorf("a rebalance recommendation alone is not a termination: %+v", l)
		}
	})
}

// What the metadata mock cannot serve: an instance in no group, fixed notice times, bad
// answers.
func TestAWSLifecycleReadFake(t *testing.T) {
	const (
		state = "autoscaling/target-lifecycle-state"
		spot  = "spot/instance-action"
		reb   = "events/recommendations/rebalance"
	)
	notice := time.Date(2026, 11, 21, 10, 2, 0, 0, time.UTC)
	tests := []struct {
		name   string
		paths  map[string]imdsReply
		want   Lifecycle
		errHas []string
	}{
		{name: "not in a group", paths: map[string]imdsReply{},
			want: Lifecycle{State: InService, Detail: "not in an Auto Scaling group"}},
		{name: "state with a newline", paths: map[string]imdsReply{state: {body: "Terminated\n"}},
			want: Lifecycle{State: Terminated, Detail: "target lifecycle state Terminated"}},
		{name: "spot stop", paths: map[string]imdsReply{state: {body: "InService"},
			spot: {body: `{"action": "stop", "time": "2026-11-21T10:02:00Z"}`}},
			want: Lifecycle{State: InService, Spot: true, Deadline: notice, Detail: "spot interruption notice: stop at 2026-11-21T10:02:00Z"}},
		{name: "spot without a group", paths: map[string]imdsReply{spot: {body: `{"action": "terminate", "time": "2026-11-21T10:02:00Z"}`}},
			want: Lifecycle{State: InService, Spot: true, Deadline: notice, Detail: "spot interruption notice: terminate at 2026-11-21T10:02:00Z"}},
		{name: "rebalance", paths: map[string]imdsReply{reb: {body: `{"noticeTime": "2026-11-21T10:02:00Z"}`}},
			want: Lifecycle{State: InService, Detail: "not in an Auto Scaling group", Rebalance: notice}},
		{name: "rebalance not JSON is ignored", paths: map[string]imdsReply{reb: {body: `soon`}},
			want: Lifecycle{State: InService, Detail: "not in an Auto Scaling group"}},
		{name: "malformed spot JSON", paths: map[string]imdsReply{spot: {body: `{"action": "terminate", "time": `}},
			errHas: []string{"IMDS spot/instance-action is not the documented JSON", "unexpected end of JSON input", `terminate`}},
		{name: "spot time not RFC 3339", paths: map[string]imdsReply{spot: {body: `{"action": "terminate", "time": "in two minutes"}`}},
			errHas: []string{"IMDS spot/instance-action is not the documented JSON"}},
		{name: "state 500", paths: map[string]imdsReply{state: {status: http.StatusInternalServerError, body: "oops"}},
			errHas: []string{"IMDS autoscaling/target-lifecycle-state", "500"}},
		{name: "spot 500", paths: map[string]imdsReply{spot: {status: http.StatusInternalServerError, body: "oops"}},
			errHas: []string{"IMDS spot/instance-action", "500"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := newIMDSTestClient(fakeIMDS(t, tt.paths))
			l, err := AWSLifecycle{IMDS: md}.Read(awsTestCtx(t))
			checkErr(t, err, tt.errHas)
			if tt.errHas == nil && !lifecycleEqual(l, tt.want) {
				t.Errorf("got %+v, want %+v", l, tt.want)
			}
		})
	}
}

func lifecycleEqual(a, b Lifecycle) bool {
	return a.State == b.State && a.Spot == b.Spot && a.Deadline.Equal(b.Deadline) && a.Detail == b.Detail &&
		a.Rebalance.Equal(b.Rebalance)
}

// lifecycleGroup puts group web with instance i-0self and the given hooks.
func lifecycleGroup(srv *awsfake.Server, hooks ...awsfake.LifecycleHook) {
	srv.PutGroup(awsfake.Group{Name: "web", Instances: []awsfake.GroupInstance{{ID: "i-0self", LifecycleState: "Terminating:Wait"}},
		Hooks: hooks})
}

func newLifecycleAction(t *testing.T, srv *awsfake.Server) (*LifecycleAction, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	return &LifecycleAction{ASG: newAWSTestClients(srv.URL).asg, Group: "web", InstanceID: "i-0self",
		Clock: awsTestClock(), Log: zap.New(core)}, logs
}

func TestLifecycleActionHeartbeatsThenCompletes(t *testing.T) {
	srv := awsfake.Start(t)
	lifecycleGroup(srv,
		awsfake.LifecycleHook{Name: "warm", Transition: awsfake.TransitionLaunching, HeartbeatTimeout: 30},
		awsfake.LifecycleHook{Name: "drain", HeartbeatTimeout: 60})
	a, _ := newLifecycleAction(t, srv)
	clk := a.Clock.(*clock.Fake)
	heartbeats := func() int { return len(srv.Heartbeats()) }

	a.ShutdownStarted(Terminated)
	if n := srv.Calls("autoscaling", "DescribeLifecycleHooks"); n != 1 {
		t.Errorf("%d DescribeLifecycleHooks, want 1", n)
	}
	// The first heartbeat at once, then every third of the hook's 60 s timeout.
	waitFor(t, "the first heartbeat", func() bool { return heartbeats() == 1 && clk.Pending() == 1 })
	const every = 20 * time.Second
	for n := 2; n <= 4; n++ {
		clk.Advance(every - time.Millisecond)
		if heartbeats() != n-1 || clk.Pending() != 1 {
			t.Fatalf("heartbeat %d came before %s", n, every)
		}
		clk.Advance(time.Millisecond)
		waitFor(t, "the next heartbeat", func() bool { return heartbeats() == n && clk.Pending() == 1 })
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

func TestLifecycleActionResult(t *testing.T) {
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
			a, _ := newLifecycleAction(t, srv)
			a.Abandon = tt.abandon
			a.ShutdownStarted(Terminated)
			waitFor(t, "the first heartbeat", func() bool { return len(srv.Heartbeats()) == 1 })
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
func TestLifecycleActionOnlyForTerminated(t *testing.T) {
	for _, tc := range []struct{ state, group string }{
		{"spot", "web"}, {"system", "web"}, {InService, "web"}, {"", "web"}, {Terminated, ""},
	} {
		t.Run(tc.state+"/"+tc.group, func(t *testing.T) {
			srv := awsfake.Start(t)
			lifecycleGroup(srv, awsfake.LifecycleHook{Name: "drain"})
			a, _ := newLifecycleAction(t, srv)
			a.Group = tc.group
			a.ShutdownStarted(tc.state)
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

func TestLifecycleActionNoTerminationHook(t *testing.T) {
	srv := awsfake.Start(t)
	lifecycleGroup(srv, awsfake.LifecycleHook{Name: "warm", Transition: awsfake.TransitionLaunching})
	a, logs := newLifecycleAction(t, srv)
	a.ShutdownStarted(Terminated)
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

func TestLifecycleActionConfiguredHook(t *testing.T) {
	srv := awsfake.Start(t)
	lifecycleGroup(srv,
		awsfake.LifecycleHook{Name: "drain", HeartbeatTimeout: 60},
		awsfake.LifecycleHook{Name: "custom", HeartbeatTimeout: 15})
	a, _ := newLifecycleAction(t, srv)
	a.HookName = "custom"
	clk := a.Clock.(*clock.Fake)
	a.ShutdownStarted(Terminated)
	waitFor(t, "the first heartbeat", func() bool { return len(srv.Heartbeats()) == 1 && clk.Pending() == 1 })
	// A third of 15 s is under the 10 s floor.
	clk.Advance(10 * time.Second)
	waitFor(t, "the second heartbeat", func() bool { return len(srv.Heartbeats()) == 2 && clk.Pending() == 1 })
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
func TestLifecycleActionConfiguredHookWithoutDescribe(t *testing.T) {
	srv := awsfake.Start(t)
	lifecycleGroup(srv, awsfake.LifecycleHook{Name: "custom"})
	srv.SetFaults(awsfake.Faults{ServerErrorRate: 1, Only: map[string]bool{"DescribeLifecycleHooks": true}})
	a, logs := newLifecycleAction(t, srv)
	a.HookName = "custom"
	a.ShutdownStarted(Terminated)
	waitFor(t, "the first heartbeat", func() bool { return len(srv.Heartbeats()) == 1 })
	a.ShutdownFinished(true)
	if done := srv.Completions(); len(done) != 1 || done[0].Hook != "custom" {
		t.Errorf("completions %+v, want one for hook custom", done)
	}
	if errs := logs.FilterLevelExact(zapcore.ErrorLevel).All(); len(errs) != 0 {
		t.Errorf("errors logged: %v", errs)
	}
}

// Without a configured hook, a failed DescribeLifecycleHooks is logged and nothing starts.
func TestLifecycleActionDescribeFails(t *testing.T) {
	srv := awsfake.Start(t)
	lifecycleGroup(srv, awsfake.LifecycleHook{Name: "drain"})
	srv.SetFaults(awsfake.Faults{ServerErrorRate: 1, Only: map[string]bool{"DescribeLifecycleHooks": true}})
	a, logs := newLifecycleAction(t, srv)
	a.ShutdownStarted(Terminated)
	a.ShutdownFinished(true)
	if n := len(srv.Heartbeats()) + len(srv.Completions()); n != 0 {
		t.Errorf("%d lifecycle calls accepted, want none", n)
	}
	errs := logs.FilterLevelExact(zapcore.ErrorLevel).FilterMessageSnippet("cannot find the termination lifecycle hook").All()
	if len(errs) != 1 || !strings.Contains(errs[0].ContextMap()["error"].(string), "autoscaling:DescribeLifecycleHooks") {
		t.Errorf("want one error naming autoscaling:DescribeLifecycleHooks, got %v", logs.All())
	}
}
