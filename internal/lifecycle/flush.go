package lifecycle

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/status"
)

// FlushMargin is kept back from a spot interruption's stop time: the flush ends that long
// before it, so that the instance's last calls are not cut off mid-way.
const FlushMargin = 10 * time.Second

// Flush ships what the instance has left to say once its shutdown hooks are done: the
// lines they and the agent wrote, and the running interval's metrics. It comes first in
// Observers, so the lifecycle action (Action, which goes on heartbeating meanwhile) is
// completed only after it. It is bounded by Timeout, and for a spot interruption by the
// stop time less FlushMargin; what it could not send by then is counted in the log and
// in status, and the shutdown goes on.
type Flush struct {
	// Logs ships the followed files to their end and returns the bytes left (nil: no log
	// shipping); Metrics publishes the running interval and returns the data left (nil:
	// no metrics). Both run at once.
	Logs    func(ctx context.Context) int64
	Metrics func(ctx context.Context) int
	Timeout time.Duration
	Clock   clock.Clock
	Log     *zap.Logger
	// Status receives the outcome as the reporter "final-flush"; may be nil.
	Status func(name string, c status.Component)

	mu       sync.Mutex
	deadline time.Time
	system   bool
}

// ShutdownStarted notes a spot interruption's stop time, and whether the operating system
// is what shuts down: then the service's own stop drains the logs (logship.DrainGrace)
// within systemd's stop timeout, and there is no lifecycle action to hold.
func (f *Flush) ShutdownStarted(cause string, deadline time.Time) {
	f.mu.Lock()
	f.deadline, f.system = deadline, cause == string(event.CauseSystem)
	f.mu.Unlock()
}

// ShutdownFinished ships what is left, within the bound, before the observers after it.
func (f *Flush) ShutdownFinished(bool) {
	f.mu.Lock()
	system := f.system
	f.mu.Unlock()
	if system || (f.Logs == nil && f.Metrics == nil) {
		return
	}
	clk := f.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	start := clk.Now()
	until := start.Add(f.Timeout)
	f.mu.Lock()
	if stop := f.deadline.Add(-FlushMargin); !f.deadline.IsZero() && stop.Before(until) {
		until = stop
	}
	f.mu.Unlock()
	ctx, cancel := context.WithDeadline(context.Background(), until)
	defer cancel()
	var wg sync.WaitGroup
	var logsLeft int64
	var metricsLeft int
	if f.Logs != nil {
		wg.Add(1)
		go func() { defer wg.Done(); logsLeft = f.Logs(ctx) }()
	}
	if f.Metrics != nil {
		wg.Add(1)
		go func() { defer wg.Done(); metricsLeft = f.Metrics(ctx) }()
	}
	wg.Wait()
	took := clk.Now().Sub(start).Round(time.Millisecond)
	c := status.Component{Counters: map[string]int64{"log_bytes_left": logsLeft, "metrics_left": int64(metricsLeft)}}
	if logsLeft == 0 && metricsLeft == 0 {
		c.LastOK, c.Detail = clk.Now().UTC(), fmt.Sprintf("everything shipped before the instance was let go, in %s", took)
		f.Log.Info("final flush: every log line and the last metrics were accepted before the instance is let go", zap.Duration("took", took))
	} else {
		c.ErrorAt = clk.Now().UTC()
		c.LastError = fmt.Sprintf("the final flush ran out of time after %s: %d bytes of logs and %d metric data were not accepted", took, logsLeft, metricsLeft)
		f.Log.Error("final flush: not everything was accepted in time; the shutdown goes on without it",
			zap.Int64("log_bytes_left", logsLeft), zap.Int("metrics_left", metricsLeft), zap.Duration("took", took), zap.Time("deadline", until.UTC()))
	}
	if f.Status != nil {
		f.Status("final-flush", c)
	}
}
