// Package report holds the agent's reporters: what it tells the world besides running
// hooks.
//
//   - heartbeat.go: a Heartbeat metric every interval and the per-instance alarm on it
//     that lets AWS reboot or recover an instance whose agent fell silent.
//   - health.go: health checks (hooks.d/health/ scripts, HTTP and TCP checks); after N
//     failures in a row the instance marks itself Unhealthy in its Auto Scaling group.
//   - metrics.go: memory, swap, disk and CPU metrics, aggregated into statistic sets.
//   - notify.go: every event result, health verdict and alarm change, as notifications,
//     published as the public contract.Detail.
//
// Each reporter writes to a Sink: CloudWatch, Auto Scaling and EventBridge in mode aws
// (aws.go), JSON-lines files in local.dir in mode local (local.go). What a sink could not
// take yet waits in a bounded queue (queue.go) and is retried with backoff; beyond the
// bound the oldest is dropped and counted, never silently.
package report

import (
	"context"
	"time"

	"github.com/stackhand/stackhand/internal/contract"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/status"
)

// Notification kinds: the contract's (contract.KindEvent and so on).
const (
	KindEvent  = contract.KindEvent  // a lifecycle event finished
	KindHealth = contract.KindHealth // the health verdict changed, or the instance was marked Unhealthy
	KindAlarm  = contract.KindAlarm  // the heartbeat alarm was created, updated or deleted
)

// Notification is one thing the fleet may want to alert on, as the reporters hand it to
// the Notifier. It is internal: sinks publish its Detail, the public contract.
type Notification struct {
	Kind     string
	Time     time.Time
	Instance event.Instance
	// Event is set for KindEvent: the event's outcome.
	Event *state.Outcome
	// Health is set for KindHealth.
	Health *Verdict
	// Alarm is set for KindAlarm.
	Alarm *AlarmChange
}

// Verdict is a health verdict (published as contract.Health).
type Verdict struct {
	// Status is "healthy", "failing" (a check failed, fewer than N times in a row),
	// "unhealthy" (N failures in a row) or "marked-unhealthy" (reported to Auto Scaling).
	Status   string
	Failures int
	Checks   []status.Check
}

// AlarmChange is a change made to the heartbeat alarm (published as contract.Alarm).
type AlarmChange struct {
	Name   string
	Change string // created, updated, deleted
	Action string
	Reason string
}

// Datum is one metric value, or a statistic set when Count > 0.
type Datum struct {
	Name  string
	Unit  string // CloudWatch StandardUnit: Count, Percent, Bytes
	Dims  []Dim
	Time  time.Time
	Value float64
	// Min, Max, Sum and Count make a statistic set; Value is ignored when Count > 0.
	Min, Max, Sum, Count float64
	// HighResolution stores the datum at one-second resolution.
	HighResolution bool
}

// Dim is a metric dimension.
type Dim struct{ Name, Value string }

// AlarmSpec is the heartbeat alarm as the agent wants it.
type AlarmSpec struct {
	Name              string
	Description       string
	Namespace, Metric string
	Dims              []Dim
	Period            time.Duration
	EvaluationPeriods int
	// Actions are the ARNs run when the alarm fires; none for action "none".
	Actions []string
}

// Sink is where the reporters' output goes. Every method may fail; callers retry.
type Sink interface {
	// PutMetrics stores data in namespace; at most MaxMetricBatch data at a time.
	PutMetrics(ctx context.Context, namespace string, data []Datum) error
	// EnsureAlarm creates the alarm or brings it to spec; it reports what it changed
	// ("" when the alarm already matched).
	EnsureAlarm(ctx context.Context, spec AlarmSpec) (change string, err error)
	// DeleteAlarm deletes the alarm; an alarm that does not exist is not an error.
	DeleteAlarm(ctx context.Context, name string) error
	// SetUnhealthy marks the instance Unhealthy in its Auto Scaling group, respecting
	// the group's health check grace period.
	SetUnhealthy(ctx context.Context, instanceID string) error
	// Publish sends notifications; at most MaxPublishBatch at a time.
	Publish(ctx context.Context, ns []Notification) error
}

// Batch limits, the smaller of the AWS limit and what the local sink needs.
const (
	// MaxMetricBatch is PutMetricData's limit of MetricData entries per request
	// (1,000 since 2023; see the PutMetricData API reference).
	MaxMetricBatch = 1000
	// MaxPublishBatch is PutEvents's limit of entries per request.
	MaxPublishBatch = 10
)

// StatusFunc receives a reporter's status for `stackhand status`.
type StatusFunc func(name string, h status.Component)

// tell passes a reporter's status to f; a nil f takes none.
func (f StatusFunc) tell(name string, h status.Component) {
	if f != nil {
		f(name, h)
	}
}

// Detail returns n as the public document sinks write: the EventBridge detail, the line of
// events.jsonl.
func (n Notification) Detail() contract.Detail {
	d := contract.NewDetail(n.Kind, n.Time, n.Instance)
	if n.Event != nil {
		e := contract.FromOutcome(*n.Event)
		d.Event = &e
	}
	if n.Health != nil {
		d.Health = &contract.Health{Status: n.Health.Status, Failures: n.Health.Failures, Checks: contract.FromChecks(n.Health.Checks)}
	}
	if n.Alarm != nil {
		d.Alarm = &contract.Alarm{Name: n.Alarm.Name, Change: n.Alarm.Change, Action: n.Alarm.Action, Reason: n.Alarm.Reason}
	}
	return d
}
