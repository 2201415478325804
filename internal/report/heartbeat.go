package report

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/status"
)

// HeartbeatMetric is the heartbeat's metric name.
const HeartbeatMetric = "Heartbeat"

// heartbeatQueue bounds heartbeats waiting for CloudWatch: a late heartbeat still fills
// its period, so an hour of them is kept.
const heartbeatQueue = 60

// alarmDeleteWait bounds how long the agent's exit waits for the alarm's deletion.
const alarmDeleteWait = 15 * time.Second

// Heartbeat sends the Heartbeat metric every interval and keeps the per-instance alarm on
// it. The alarm treats missing data as breaching, so an instance whose agent (or whole
// system) falls silent for Periods intervals is rebooted or recovered by AWS, or its
// SNS topic told. The alarm is deleted when the instance terminates (Terminating), never
// on a plain restart of the agent.
type Heartbeat struct {
	Sink      Sink
	Notifier  *Notifier // may be nil
	Clock     clock.Clock
	Log       *zap.Logger
	Status    StatusFunc // may be nil
	Instance  event.Instance
	Namespace string
	Interval  time.Duration
	Periods   int
	// Action is reboot, recover, none, or an SNS topic ARN.
	Action string

	once    sync.Once
	q       *queue[Datum]
	mu      sync.Mutex
	stopped bool
	deleted chan struct{}
	alarmOK bool
	health  status.Component
	// sendErr and alarmErr are the current problems, "" when none.
	sendErr, alarmErr string
}

// AlarmName is the heartbeat alarm's name for an instance.
func AlarmName(instanceID string) string { return "stackhand-heartbeat-" + instanceID }

// Dims are the heartbeat's dimensions: InstanceId, and AutoScalingGroupName in a group.
func (h *Heartbeat) Dims() []Dim {
	d := []Dim{{"InstanceId", h.Instance.InstanceID}}
	if h.Instance.AutoScalingGroup != "" {
		d = append(d, Dim{"AutoScalingGroupName", h.Instance.AutoScalingGroup})
	}
	return d
}

// Spec is the alarm the heartbeat keeps.
func (h *Heartbeat) Spec() AlarmSpec {
	var actions []string
	switch {
	case h.Action == "reboot" || h.Action == "recover":
		actions = []string{fmt.Sprintf("arn:aws:automate:%s:ec2:%s", h.Instance.Region, h.Action)}
	case strings.HasPrefix(h.Action, "arn:"):
		actions = []string{h.Action}
	}
	return AlarmSpec{
		Name: AlarmName(h.Instance.InstanceID),
		Description: fmt.Sprintf("stackhand on %s has sent no heartbeat for %d periods of %s (kept by the agent; deleted when the instance terminates)",
			h.Instance.InstanceID, h.Periods, h.Interval),
		Namespace: h.Namespace, Metric: HeartbeatMetric, Dims: h.Dims(),
		Period: h.Interval, EvaluationPeriods: h.Periods, Actions: actions,
	}
}

func (h *Heartbeat) init() {
	h.once.Do(func() {
		h.q = newQueue[Datum](heartbeatQueue)
		h.deleted = make(chan struct{})
	})
}

// Run sends heartbeats until ctx ends or the instance terminates.
func (h *Heartbeat) Run(ctx context.Context) {
	h.init()
	stop := startDrain(ctx, h.Clock, h.q, MaxMetricBatch, func(ctx context.Context, d []Datum) error {
		return h.Sink.PutMetrics(ctx, h.Namespace, d)
	}, h.sent)
	defer stop()
	for !h.isStopped() {
		h.beat(ctx)
		if !clock.Sleep(ctx, h.Clock, h.Interval) {
			return
		}
	}
}

// beat queues one heartbeat and, until it exists as wanted, makes sure of the alarm.
func (h *Heartbeat) beat(ctx context.Context) {
	now := h.Clock.Now().UTC()
	h.q.push(Datum{Name: HeartbeatMetric, Unit: "Count", Dims: h.Dims(), Time: now, Value: 1,
		HighResolution: h.Interval < time.Minute})
	h.mu.Lock()
	ok := h.alarmOK
	h.mu.Unlock()
	if ok {
		return
	}
	spec := h.Spec()
	change, err := h.Sink.EnsureAlarm(ctx, spec)
	if err != nil {
		if ctx.Err() == nil {
			h.problem("alarm", err)
		}
		return
	}
	h.mu.Lock()
	if h.stopped {
		// The instance began terminating while the alarm was being written: the deletion
		// may have run before, so it runs again.
		h.mu.Unlock()
		_ = h.Sink.DeleteAlarm(ctx, spec.Name)
		return
	}
	h.alarmOK = true
	h.mu.Unlock()
	h.problem("alarm", nil)
	if change != "" {
		h.Log.Info("heartbeat alarm "+change, zap.String("alarm", spec.Name), zap.String("action", h.Action),
			zap.Int("periods", h.Periods), zap.Duration("period", h.Interval))
		h.notify(AlarmChange{Name: spec.Name, Change: change, Action: h.Action})
	}
}

func (h *Heartbeat) notify(c AlarmChange) {
	if h.Notifier != nil {
		h.Notifier.Notify(Notification{Kind: KindAlarm, Instance: h.Instance, Alarm: &c})
	}
}

func (h *Heartbeat) isStopped() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stopped
}

func (h *Heartbeat) sent(err error) { h.problem("heartbeat", err) }

// problem records the outcome of sending heartbeats ("heartbeat") or keeping the alarm
// ("alarm"); the status shows both problems, each logged when it first appears.
func (h *Heartbeat) problem(what string, err error) {
	msg := ""
	if err != nil {
		msg = what + ": " + err.Error()
	}
	now := h.Clock.Now().UTC()
	h.mu.Lock()
	prev := h.sendErr
	if what == "alarm" {
		prev = h.alarmErr
		h.alarmErr = msg
	} else {
		h.sendErr = msg
		if err == nil {
			h.health.LastOK = now
		}
	}
	if err != nil {
		h.health.ErrorAt = now
	}
	h.health.LastError = strings.Trim(h.sendErr+"; "+h.alarmErr, "; ")
	h.health.Counters = map[string]int64{"dropped": h.q.drops()}
	h.health.Detail = "alarm " + AlarmName(h.Instance.InstanceID)
	hs := h.health
	h.mu.Unlock()
	switch {
	case msg != "" && msg != prev:
		h.Log.Error("heartbeat problem; retrying", zap.String("what", what), zap.Error(err))
	case msg == "" && prev != "":
		h.Log.Info("heartbeat problem solved", zap.String("what", what))
	}
	h.Status.tell("heartbeat", hs)
}

// Terminating stops the heartbeats and deletes the alarm: the instance is going away on
// purpose, and an alarm left behind would fire on its missing data. It returns at once;
// Wait waits for the deletion.
func (h *Heartbeat) Terminating() {
	h.init()
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return
	}
	h.stopped = true
	h.mu.Unlock()
	go func() {
		defer close(h.deleted)
		name := AlarmName(h.Instance.InstanceID)
		ctx, cancel := context.WithTimeout(context.Background(), alarmDeleteWait)
		defer cancel()
		for attempt := 1; ; attempt++ {
			err := h.Sink.DeleteAlarm(ctx, name)
			if err == nil {
				h.Log.Info("heartbeat alarm deleted: the instance is terminating", zap.String("alarm", name))
				h.notify(AlarmChange{Name: name, Change: "deleted", Reason: "the instance is terminating"})
				return
			}
			if !clock.Sleep(ctx, h.Clock, backoff(attempt)/4) {
				h.Log.Error("could not delete the heartbeat alarm; delete it by hand", zap.String("alarm", name), zap.Error(err))
				return
			}
		}
	}()
}

// Wait returns when a deletion started by Terminating is done (or gave up); at once if
// none was started.
func (h *Heartbeat) Wait() {
	h.init()
	if h.isStopped() {
		<-h.deleted
	}
}
