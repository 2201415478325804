package report

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/metrics"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

// awsSink is an AWSSink whose real SDK clients talk to a stand-in, one attempt per call
// (the queues retry).
func awsSink(srv *awsfake.Server) *AWSSink {
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 1; o.RateLimiter = ratelimit.None })
		}}
	return &AWSSink{CloudWatch: cloudwatch.NewFromConfig(cfg), AutoScaling: autoscaling.NewFromConfig(cfg),
		EventBridge: eventbridge.NewFromConfig(cfg)}
}

func TestAWSSinkAlarmIsIdempotent(t *testing.T) {
	srv := awsfake.Start(t)
	sink := awsSink(srv)
	hb := &Heartbeat{Instance: testInstance, Namespace: "Stackhand", Interval: time.Minute, Periods: 5, Action: "reboot"}
	ctx := context.Background()
	for i, want := range []string{"created", "", ""} {
		change, err := sink.EnsureAlarm(ctx, hb.Spec())
		if err != nil || change != want {
			t.Fatalf("EnsureAlarm #%d = %q, %v; want %q", i+1, change, err, want)
		}
	}
	if n := srv.Calls("monitoring", "PutMetricAlarm"); n != 1 {
		t.Fatalf("PutMetricAlarm called %d times for three ensures", n)
	}
	a := srv.Alarms()[0]
	if a.Statistic != "SampleCount" || a.DatapointsToAlarm != 5 || a.Tags["stackhand:managed"] != "true" || !a.ActionsEnabled {
		t.Fatalf("alarm %+v", a)
	}
	// A changed config updates the alarm once.
	hb.Action, hb.Periods = "none", 3
	if change, err := sink.EnsureAlarm(ctx, hb.Spec()); err != nil || change != "updated" {
		t.Fatalf("EnsureAlarm after a change = %q, %v", change, err)
	}
	if a := srv.Alarms()[0]; len(a.AlarmActions) != 0 || a.EvaluationPeriods != 3 {
		t.Fatalf("updated alarm %+v", a)
	}
	if err := sink.DeleteAlarm(ctx, hb.Spec().Name); err != nil || len(srv.Alarms()) != 0 {
		t.Fatalf("DeleteAlarm: %v, left %v", err, srv.Alarms())
	}
	if err := sink.DeleteAlarm(ctx, hb.Spec().Name); err != nil {
		t.Fatalf("deleting an alarm that is gone: %v", err)
	}
}

func TestAWSSinkPublishAndSetUnhealthy(t *testing.T) {
	srv := awsfake.Start(t)
	srv.PutInstance(awsfake.Instance{ID: "i-0abc"})
	srv.PutGroup(awsfake.Group{Name: "web", Instances: awsfake.InService("i-0abc"), HealthCheckGracePeriod: -1})
	sink := awsSink(srv)
	ctx := context.Background()
	o := state.Outcome{ID: "setup-000001", Kind: event.Setup, Result: state.Failed, Error: "hook 10-packages exited with status 1",
		Failed: "10-packages", End: t0, Duration: state.Duration(3 * time.Second)}
	ns := []Notification{{Kind: KindEvent, Time: t0, Instance: testInstance, Event: &o},
		{Kind: KindHealth, Time: t0, Instance: testInstance, Health: &Verdict{Status: Unhealthy, Failures: 3}}}
	if err := sink.Publish(ctx, ns); err != nil {
		t.Fatal(err)
	}
	evs := srv.Events()
	if len(evs) != 2 || evs[0].Source != "stackhand" || evs[0].DetailType != "Stackhand Lifecycle Event" ||
		evs[1].DetailType != "Stackhand Health Verdict" || !evs[0].Time.Equal(t0) {
		t.Fatalf("events %+v", evs)
	}
	// The detail is the public contract's, and carries what the README's rule matches on.
	if want, _ := json.Marshal(ns[0].Detail()); evs[0].Detail != string(want) {
		t.Errorf("detail %s, want %s", evs[0].Detail, want)
	}
	var d struct {
		Event struct {
			Event, Result string
		}
		Instance struct {
			InstanceID string `json:"instance_id"`
			Stack      string
		}
	}
	if err := json.Unmarshal([]byte(evs[0].Detail), &d); err != nil || d.Event.Event != "setup" || d.Event.Result != "failed" ||
		d.Instance.InstanceID != "i-0abc" || d.Instance.Stack != "prod" {
		t.Fatalf("detail %s (%v)", evs[0].Detail, err)
	}
	if err := sink.SetUnhealthy(ctx, "i-0abc"); err != nil {
		t.Fatal(err)
	}
	if hc := srv.HealthCalls(); len(hc) != 1 || hc[0].Status != "Unhealthy" || !hc[0].RespectGrace {
		t.Fatalf("health calls %+v", hc)
	}
}

// TestMetricsSurviveAnOutage: CloudWatch answers 500 for a while; the data wait in the
// bounded queue and arrive, in limits, once it is back.
func TestMetricsSurviveAnOutage(t *testing.T) {
	srv := awsfake.Start(t)
	srv.SetFaults(awsfake.Faults{ServerErrorRate: 1, Only: map[string]bool{"monitoring:*": true}})
	// CloudWatch refuses data more than two hours ahead of its own clock: start an hour
	// back and move only as far as the test needs.
	clk := clock.NewFake(time.Now().Add(-time.Hour).Truncate(time.Second))
	st := &statusLog{}
	m := &Metrics{Sink: awsSink(srv), Clock: clk, Log: zap.NewNop(), Status: st.fn, Instance: testInstance,
		Namespace: "CWAgent", Interval: time.Minute,
		Collector: metrics.New(metrics.Options{Statfs: func(string) (metrics.FSStats, error) {
			return metrics.FSStats{BlockSize: 4096, Blocks: 1000, BlocksFree: 400, BlocksAvail: 300, Files: 100, FilesFree: 50}, nil
		}})}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); m.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	// Three intervals' worth while CloudWatch fails.
	for range 3 * samplesPerInterval {
		until(t, "the collection timer", func() bool { return clk.Pending() >= 1 })
		clk.Advance(10 * time.Second)
	}
	until(t, "the error in the status", func() bool { return st.get("metrics").LastError != "" })
	if n := len(srv.MetricData()); n != 0 {
		t.Fatalf("%d data accepted during the outage", n)
	}
	srv.SetFaults(awsfake.Faults{})
	until(t, "the data after the outage", func() bool {
		if clk.Pending() >= 2 { // the collection timer and the retry's
			clk.Advance(retryMax)
		}
		return st.get("metrics").LastError == "" && m.q.len() == 0
	})
	data := srv.MetricData()
	intervals := map[time.Time]bool{}
	for _, d := range data {
		intervals[d.Timestamp] = true
		if d.StatisticValues == nil || d.StatisticValues.SampleCount < 1 {
			t.Fatalf("datum %+v is not a statistic set", d)
		}
	}
	if len(intervals) < 3 {
		t.Fatalf("data of %d intervals arrived, want the 3 of the outage", len(intervals))
	}
	if h := st.get("metrics"); h.Counters["dropped"] != 0 {
		t.Fatalf("dropped %d under the bound", h.Counters["dropped"])
	}
}
