package report

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/status"
)

// notifyQueue bounds the notifications waiting for the sink: at one a minute, a day of
// outage.
const notifyQueue = 1000

// finalFlush is how long notifications still queued when the agent stops get to go out
// (the shutdown event's own result among them).
const finalFlush = 5 * time.Second

// Notifier publishes notifications through a sink, oldest first, from a bounded queue. It
// is the engine's Notifier; the other reporters hand it their changes too. It queues from
// the start; Run, given the sink once the agent knows where it is, publishes.
type Notifier struct {
	clk    clock.Clock
	log    *zap.Logger
	status StatusFunc
	q      *queue[Notification]
	health status.Component
}

// NewNotifier returns a Notifier that queues until Run. status may be nil.
func NewNotifier(clk clock.Clock, log *zap.Logger, status StatusFunc) *Notifier {
	return &Notifier{clk: clk, log: log, status: status, q: newQueue[Notification](notifyQueue)}
}

// EventDone queues a finished event's outcome.
func (n *Notifier) EventDone(o state.Outcome, in event.Instance) {
	n.Notify(Notification{Kind: KindEvent, Time: o.End, Instance: in, Event: &o})
}

// Notify queues a notification; it never blocks.
func (n *Notifier) Notify(x Notification) {
	if x.Time.IsZero() {
		x.Time = n.clk.Now().UTC()
	}
	if dropped := n.q.push(x); dropped > 0 {
		n.log.Warn("notification queue full; dropped the oldest", zap.Int("dropped", dropped), zap.Int("bound", notifyQueue))
	}
}

// Run publishes to sink until ctx ends, then gives what is still queued a last few
// seconds.
func (n *Notifier) Run(ctx context.Context, sink Sink) {
	drain(ctx, n.clk, n.q, MaxPublishBatch, sink.Publish, n.report)
	if n.q.len() == 0 {
		return
	}
	last, cancel := context.WithTimeout(context.Background(), finalFlush)
	defer cancel()
	for n.q.len() > 0 && last.Err() == nil {
		items, first := n.q.peek(MaxPublishBatch)
		if err := sink.Publish(last, items); err != nil {
			n.log.Warn("could not publish the last notifications before stopping", zap.Int("left", n.q.len()), zap.Error(err))
			return
		}
		n.q.done(len(items), first)
	}
}

func (n *Notifier) report(err error) {
	h := n.health
	h.Counters = map[string]int64{"queued": int64(n.q.len()), "dropped": n.q.drops()}
	changed := h.Settle(err, n.clk.Now().UTC())
	switch {
	case changed && err != nil:
		n.log.Error("cannot publish notifications; retrying with backoff", zap.Error(err), zap.Int("queued", n.q.len()))
	case changed:
		n.log.Info("notifications are published again")
	}
	n.health = h
	n.status.tell("notify", h)
}
