package report

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/lifecycle"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/status"
)

// fakeSink records every call; fail, when set, makes calls of that kind fail.
type fakeSink struct {
	mu        sync.Mutex
	metrics   []Datum
	putCalls  int
	ensures   []AlarmSpec
	alarm     *AlarmSpec
	deletes   int
	unhealthy []string
	published []Notification
	fail      map[string]error
}

func (s *fakeSink) err(kind string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fail[kind]
}

func (s *fakeSink) setFail(kind string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail == nil {
		s.fail = map[string]error{}
	}
	s.fail[kind] = err
}

func (s *fakeSink) PutMetrics(_ context.Context, _ string, data []Datum) error {
	if err := s.err("metrics"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putCalls++
	s.metrics = append(s.metrics, data...)
	return nil
}

func (s *fakeSink) EnsureAlarm(_ context.Context, spec AlarmSpec) (string, error) {
	if err := s.err("alarm"); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensures = append(s.ensures, spec)
	if s.alarm != nil {
		return "", nil
	}
	s.alarm = &spec
	return "created", nil
}

func (s *fakeSink) DeleteAlarm(context.Context, string) error {
	if err := s.err("delete"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deletes++
	s.alarm = nil
	return nil
}

func (s *fakeSink) SetUnhealthy(_ context.Context, id string) error {
	if err := s.err("unhealthy"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unhealthy = append(s.unhealthy, id)
	return nil
}

func (s *fakeSink) Publish(_ context.Context, ns []Notification) error {
	if err := s.err("publish"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published = append(s.published, ns...)
	return nil
}

func (s *fakeSink) snapshot() fakeSink {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fakeSink{metrics: append([]Datum(nil), s.metrics...), putCalls: s.putCalls, ensures: append([]AlarmSpec(nil), s.ensures...),
		alarm: s.alarm, deletes: s.deletes, unhealthy: append([]string(nil), s.unhealthy...),
		published: append([]Notification(nil), s.published...)}
}

// until waits, with a deadline, for cond; it does not stand in for a clock.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

var testInstance = event.Instance{InstanceID: "i-0abc", Region: "eu-west-1", AutoScalingGroup: "web", Stack: "prod"}

// statusLog collects reporter statuses.
type statusLog struct {
	mu   sync.Mutex
	last map[string]status.Component
}

func (l *statusLog) fn(name string, h status.Component) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[string]status.Component{}
	}
	l.last[name] = h
}

func (l *statusLog) get(name string) status.Component {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last[name]
}

func TestQueueDropsOldestAndCounts(t *testing.T) {
	q := newQueue[int](3)
	if d := q.push(1, 2, 3); d != 0 {
		t.Fatalf("dropped %d under the bound", d)
	}
	items, first := q.peek(2)
	if d := q.push(4, 5); d != 2 {
		t.Fatalf("dropped %d, want 2", d)
	}
	// 1 and 2 were dropped while being sent: done removes nothing more.
	q.done(len(items), first)
	got, _ := q.peek(10)
	if len(got) != 3 || got[0] != 3 || got[2] != 5 || q.drops() != 2 {
		t.Fatalf("queue = %v, drops %d; want [3 4 5], 2", got, q.drops())
	}
	items, first = q.peek(2)
	q.push(6) // drops 3, one of the two being sent
	q.done(len(items), first)
	got, _ = q.peek(10)
	if len(got) != 2 || got[0] != 5 || got[1] != 6 {
		t.Fatalf("queue = %v, want [5 6]", got)
	}
}

func TestBackoffGrowsWithinBounds(t *testing.T) {
	for attempt := 1; attempt < 20; attempt++ {
		want := retryMin << (attempt - 1)
		if attempt > 7 || want > retryMax {
			want = retryMax
		}
		d := backoff(attempt)
		if d < want/2 || d > want {
			t.Fatalf("backoff(%d) = %s, want within [%s, %s]", attempt, d, want/2, want)
		}
	}
}

func newHeartbeat(sink Sink, clk clock.Clock, st *statusLog, n *Notifier) *Heartbeat {
	return &Heartbeat{Sink: sink, Notifier: n, Clock: clk, Log: zap.NewNop(), Status: st.fn, Instance: testInstance,
		Namespace: "Stackhand", Interval: time.Minute, Periods: 5, Action: "reboot"}
}

func TestHeartbeatEveryIntervalAndAlarmOnce(t *testing.T) {
	clk := clock.NewFake(t0)
	sink := &fakeSink{}
	st := &statusLog{}
	n := NewNotifier(clk, zap.NewNop(), nil)
	hb := newHeartbeat(sink, clk, st, n)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { hb.Run(ctx); close(done) }()
	until(t, "the first heartbeat", func() bool { return len(sink.snapshot().metrics) == 1 })
	for i := 2; i <= 4; i++ {
		until(t, "the interval timer", func() bool { return clk.Pending() >= 1 })
		clk.Advance(time.Minute)
		until(t, "heartbeat", func() bool { return len(sink.snapshot().metrics) == i })
	}
	s := sink.snapshot()
	for i, d := range s.metrics {
		if d.Name != "Heartbeat" || d.Value != 1 || d.Unit != "Count" || !d.Time.Equal(t0.Add(time.Duration(i)*time.Minute)) {
			t.Errorf("heartbeat %d = %+v", i, d)
		}
		if len(d.Dims) != 2 || d.Dims[0] != (Dim{"InstanceId", "i-0abc"}) || d.Dims[1] != (Dim{"AutoScalingGroupName", "web"}) {
			t.Errorf("heartbeat dims = %v", d.Dims)
		}
	}
	if len(s.ensures) != 1 {
		t.Fatalf("EnsureAlarm called %d times, want once", len(s.ensures))
	}
	a := s.ensures[0]
	if a.Name != "stackhand-heartbeat-i-0abc" || a.EvaluationPeriods != 5 || a.Period != time.Minute ||
		len(a.Actions) != 1 || a.Actions[0] != "arn:aws:automate:eu-west-1:ec2:reboot" {
		t.Fatalf("alarm = %+v", a)
	}
	if h := st.get("heartbeat"); h.LastError != "" || h.LastOK.IsZero() {
		t.Fatalf("status = %+v", h)
	}
	cancel()
	<-done
	if s := sink.snapshot(); s.deletes != 0 {
		t.Fatal("a plain stop deleted the alarm")
	}
}

func TestHeartbeatAlarmRetriedAfterError(t *testing.T) {
	clk := clock.NewFake(t0)
	sink := &fakeSink{}
	sink.setFail("alarm", errors.New("Throttling: Rate exceeded"))
	st := &statusLog{}
	hb := newHeartbeat(sink, clk, st, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go hb.Run(ctx)
	until(t, "the error in the status", func() bool { return st.get("heartbeat").LastError != "" })
	sink.setFail("alarm", nil)
	until(t, "the interval timer", func() bool { return clk.Pending() >= 1 })
	clk.Advance(time.Minute)
	until(t, "the alarm", func() bool { return len(sink.snapshot().ensures) == 1 })
}

func TestHeartbeatDeletesAlarmOnTerminationOnly(t *testing.T) {
	for _, tt := range []struct {
		cause  string
		delete bool
	}{{"system", false}, {"Terminated", true}, {"spot-interruption", true}} {
		t.Run(tt.cause, func(t *testing.T) {
			clk := clock.NewFake(t0)
			sink := &fakeSink{}
			n := NewNotifier(clk, zap.NewNop(), nil)
			hb := newHeartbeat(sink, clk, &statusLog{}, n)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			go func() { hb.Run(ctx); close(done) }()
			until(t, "the alarm", func() bool { return sink.snapshot().alarm != nil })
			obs := lifecycle.AlarmRemoval{Alarm: hb}
			obs.ShutdownStarted(tt.cause, time.Time{})
			obs.ShutdownFinished(true)
			s := sink.snapshot()
			if got := s.deletes == 1; got != tt.delete {
				t.Fatalf("cause %s: deleted %d times", tt.cause, s.deletes)
			}
			if tt.delete {
				// The loop stops at its next tick; no heartbeat after the termination.
				until(t, "the interval timer", func() bool { return clk.Pending() >= 1 })
				before := len(s.metrics)
				clk.Advance(time.Minute)
				<-done
				if after := len(sink.snapshot().metrics); after != before {
					t.Fatalf("%d heartbeats after termination", after-before)
				}
				items, _ := n.q.peek(10)
				if len(items) != 2 || items[1].Alarm == nil || items[1].Alarm.Change != "deleted" {
					t.Fatalf("notifications = %+v, want created then deleted", items)
				}
			}
		})
	}
}

func TestNotifierQueuesUntilRunAndRetries(t *testing.T) {
	clk := clock.NewFake(t0)
	sink := &fakeSink{}
	sink.setFail("publish", errors.New("InternalException: boom"))
	st := &statusLog{}
	n := NewNotifier(clk, zap.NewNop(), st.fn)
	for i := range 12 {
		n.EventDone(state.Outcome{ID: "deploy-" + string(rune('a'+i)), Kind: event.Deploy, Result: state.Succeeded, End: t0}, testInstance)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Run(ctx, sink)
	until(t, "the error in the status", func() bool { return st.get("notify").LastError != "" })
	sink.setFail("publish", nil)
	until(t, "the retry timer", func() bool { return clk.Pending() >= 1 })
	clk.Advance(retryMax)
	until(t, "every notification", func() bool { return len(sink.snapshot().published) == 12 })
	s := sink.snapshot()
	if s.published[0].Event.ID != "deploy-a" || s.published[11].Event.ID != "deploy-l" {
		t.Fatalf("order: first %s, last %s", s.published[0].Event.ID, s.published[11].Event.ID)
	}
	if h := st.get("notify"); h.LastError != "" || h.Counters["dropped"] != 0 {
		t.Fatalf("status after recovery = %+v", h)
	}
}

func TestNotifierFlushesWhatIsLeftAtStop(t *testing.T) {
	clk := clock.NewFake(t0)
	sink := &fakeSink{}
	n := NewNotifier(clk, zap.NewNop(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n.Notify(Notification{Kind: KindEvent, Event: &state.Outcome{ID: "shutdown-000009", Kind: event.Shutdown}})
	n.Run(ctx, sink)
	if s := sink.snapshot(); len(s.published) != 1 {
		t.Fatalf("published %d at stop, want 1", len(s.published))
	}
}

// script writes an executable hook.
func script(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func newHealth(t *testing.T, sink Sink, clk clock.Clock, st *statusLog, n *Notifier, in event.Instance) *Health {
	dir := t.TempDir()
	return &Health{Sink: sink, Notifier: n, Clock: clk, Log: zap.NewNop(), Status: st.fn, Instance: in,
		Interval: 30 * time.Second, Timeout: 2 * time.Second, Failures: 3, ScriptsDir: filepath.Join(dir, "health"),
		Runner: &hooks.Runner{PayloadDir: filepath.Join(dir, "payloads"), LogDir: filepath.Join(dir, "logs"), Keep: 3,
			KillGrace: 100 * time.Millisecond, Logger: zap.NewNop()}}
}

func TestHealthMarksUnhealthyOnceAfterNFailures(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts")
	}
	clk := clock.NewFake(t0)
	sink := &fakeSink{}
	st := &statusLog{}
	n := NewNotifier(clk, zap.NewNop(), nil)
	h := newHealth(t, sink, clk, st, n, testInstance)
	script(t, h.ScriptsDir, "10-app", "echo app is down; exit 1")
	ctx := context.Background()
	for round := 1; round <= 6; round++ {
		h.Round(ctx)
		want := 0
		if round >= 3 {
			want = 1
		}
		if got := len(sink.snapshot().unhealthy); got != want {
			t.Fatalf("after %d failed rounds: %d SetUnhealthy calls, want %d", round, got, want)
		}
	}
	hs := st.get("health")
	if len(hs.Checks) != 1 || hs.Checks[0].Name != ScriptsCheck || hs.Checks[0].Failures != 6 ||
		hs.Checks[0].LastError != "10-app exited 1: app is down" {
		t.Fatalf("status checks = %+v", hs.Checks)
	}
	items, _ := n.q.peek(10)
	var statuses []string
	for _, it := range items {
		statuses = append(statuses, it.Health.Status)
	}
	if len(statuses) != 3 || statuses[0] != Failing || statuses[1] != Unhealthy || statuses[2] != MarkedUnhealthy {
		t.Fatalf("verdicts notified = %v", statuses)
	}
	// Recovery resets the count; three new failures mark it again.
	script(t, h.ScriptsDir, "10-app", "exit 0")
	h.Round(ctx)
	if h.Verdict() != Healthy {
		t.Fatalf("verdict after a passing round = %s", h.Verdict())
	}
	script(t, h.ScriptsDir, "10-app", "exit 1")
	for range 3 {
		h.Round(ctx)
	}
	if got := len(sink.snapshot().unhealthy); got != 2 {
		t.Fatalf("SetUnhealthy calls after a second run of failures = %d, want 2", got)
	}
}

func TestHealthHangingScriptIsKilledAndFails(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts")
	}
	clk := clock.NewFake(t0)
	sink := &fakeSink{}
	st := &statusLog{}
	h := newHealth(t, sink, clk, st, nil, testInstance)
	h.Timeout = 300 * time.Millisecond
	script(t, h.ScriptsDir, "10-hang", "sleep 60")
	h.Round(context.Background())
	c := st.get("health").Checks
	if len(c) != 1 || c[0].OK || c[0].LastError != "10-hang timed out after 300ms and was killed" {
		t.Fatalf("checks = %+v", c)
	}
}

func TestHealthOutsideAGroupOnlyReports(t *testing.T) {
	clk := clock.NewFake(t0)
	sink := &fakeSink{}
	st := &statusLog{}
	in := testInstance
	in.AutoScalingGroup = ""
	h := newHealth(t, sink, clk, st, nil, in)
	h.Checks = []config.HealthCheck{{Name: "closed-port", TCP: "127.0.0.1:1"}}
	for range 4 {
		h.Round(context.Background())
	}
	if s := sink.snapshot(); len(s.unhealthy) != 0 {
		t.Fatalf("SetUnhealthy called outside a group")
	}
	if h.Verdict() != Unhealthy || st.get("health").LastError == "" {
		t.Fatalf("verdict %s, status %+v", h.Verdict(), st.get("health"))
	}
}

func TestHealthRetriesAFailedMark(t *testing.T) {
	clk := clock.NewFake(t0)
	sink := &fakeSink{}
	sink.setFail("unhealthy", errors.New("ValidationError: grace period"))
	st := &statusLog{}
	h := newHealth(t, sink, clk, st, nil, testInstance)
	h.Checks = []config.HealthCheck{{Name: "closed-port", TCP: "127.0.0.1:1"}}
	h.Failures = 1
	h.Round(context.Background())
	if !strings.Contains(st.get("health").LastError, "cannot mark Unhealthy") {
		t.Fatalf("status = %+v", st.get("health"))
	}
	sink.setFail("unhealthy", nil)
	h.Round(context.Background())
	h.Round(context.Background())
	if s := sink.snapshot(); len(s.unhealthy) != 1 {
		t.Fatalf("SetUnhealthy succeeded %d times, want 1", len(s.unhealthy))
	}
}
