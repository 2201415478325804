package engine

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/state"
)

// MinShutdownWindow is the least time the shutdown hooks get, whatever the deadline says:
// a spot notice read late (the agent was down, IMDS slow) must still run them, not skip
// them because the deadline has passed.
const MinShutdownWindow = 5 * time.Second

// shutdownContext bounds the shutdown hooks by deadline when it is set, giving them at least
// MinShutdownWindow from now; it logs when the deadline is already past or too close.
func (e *Engine) shutdownContext(deadline time.Time) (context.Context, context.CancelFunc) {
	if deadline.IsZero() {
		return context.WithCancel(context.Background())
	}
	left := deadline.Sub(e.clk.Now())
	if left < MinShutdownWindow {
		msg := "the shutdown deadline is too close; the shutdown hooks get the minimum window"
		if left <= 0 {
			msg = "the shutdown deadline has already passed; the shutdown hooks get the minimum window"
		}
		e.log.Warn(msg, zap.Time("deadline", deadline.UTC()), zap.Duration("left", left),
			zap.Duration("window", MinShutdownWindow))
		left = MinShutdownWindow
	}
	return context.WithTimeout(context.Background(), left)
}

// beginShutdown preempts the queue: pending events are dropped (their requesters told), the
// running event gets the shutdown grace, then the shutdown event runs, bounded by deadline
// when the instance's end is known (a spot notice). forInstance is set when the instance is
// terminating, so the shutdown is remembered and not run again after a restart.
func (e *Engine) beginShutdown(reason string, deadline time.Time, forInstance string) {
	if e.terminating {
		return
	}
	e.terminating = true
	e.shutdownWhy = reason
	e.shutdownUntil = deadline
	e.shutdownFor = forInstance
	e.log.Warn("shutdown: pending events are dropped and the shutdown hooks run", zap.String("reason", reason),
		zap.Int("dropped", len(e.st.Queue)), zap.Bool("event_running", e.running != nil))
	queue := e.st.Queue
	e.st.Queue = []state.Pending{}
	for _, p := range queue {
		e.drop(p, state.Dropped, "shutdown preempts pending events: "+reason)
	}
	if e.running != nil {
		grace := e.clk.Now().Add(e.cfg.ShutdownGrace.D())
		if !deadline.IsZero() {
			// Leave the shutdown hooks at least half of what remains.
			if half := e.clk.Now().Add(deadline.Sub(e.clk.Now()) / 2); half.Before(grace) {
				grace = half
			}
		}
		e.running.graceAt = grace
		e.log.Info("the running event may finish within the shutdown grace", zap.String("event_id", e.running.p.ID),
			zap.Time("until", grace.UTC()))
		e.wakeAt(grace)
	}
	e.save()
}

// checkGrace ends the running event when its shutdown grace is over.
func (e *Engine) checkGrace() {
	r := e.running
	if r == nil || r.graceAt.IsZero() || r.cancelled || e.clk.Now().Before(r.graceAt) {
		return
	}
	e.log.Warn("shutdown grace over: ending the running event and its hooks", zap.String("event_id", r.p.ID))
	r.cancelled = true
	r.cancel()
}
