package source

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

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

// TestAWSLifecyclePollIMDSRequests counts what each lifecycle poll asks IMDS, against the
// metadata mock: an instance that is not Spot costs one request a poll (the lifecycle
// state), a Spot Instance three (and its spot notice and rebalance recommendation); the
// purchasing option is asked once, the session token once, over one connection. README's
// "what idle costs per hour" counts on it.
func TestAWSLifecyclePollIMDSRequests(t *testing.T) {
	for _, tt := range []struct {
		lifeCycle string
		perPoll   []string
	}{
		{"on-demand", []string{"autoscaling/target-lifecycle-state"}},
		{"spot", []string{"autoscaling/target-lifecycle-state", "spot/instance-action", "events/recommendations/rebalance"}},
	} {
		t.Run(tt.lifeCycle, func(t *testing.T) {
			mock := imdsmock.Start(t, imdsmock.Config{LifeCycle: tt.lifeCycle})
			clk := awsTestClock()
			s := AWSLifecycle{IMDS: newIMDSTestClient(mock.URL), Clock: clk, Interval: 5 * time.Second}
			ctx, cancel := context.WithCancel(awsTestCtx(t))
			updates := make(chan Update, 16)
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = s.Run(ctx, func(u Update) { updates <- u })
			}()
			defer func() { cancel(); <-done }()
			const polls = 4
			for i := range polls {
				select {
				case u := <-updates:
					if u.Err != nil || u.Lifecycle == nil || u.Lifecycle.State != InService {
						t.Fatalf("poll %d: %+v", i+1, u)
					}
				case <-time.After(waitLimit):
					t.Fatalf("no update %d within %s", i+1, waitLimit)
				}
				if i < polls-1 {
					waitPending(t, clk, 1)
					clk.Advance(5 * time.Second)
				}
			}
			count := map[string]int{}
			for _, r := range mock.Requests() {
				count[strings.TrimPrefix(strings.TrimPrefix(r.Path, "/latest/"), "meta-data/")]++
			}
			want := map[string]int{"api/token": 1, "instance-life-cycle": 1}
			for _, p := range tt.perPoll {
				want[p] = polls
			}
			if !maps.Equal(count, want) {
				t.Errorf("IMDS requests over %d polls: %v, want %v", polls, count, want)
			}
			if n := mock.Conns(); n != 1 {
				t.Errorf("%d connections to IMDS over %d polls, want 1 (kept alive)", n, polls)
			}
		})
	}
}
