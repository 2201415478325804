package lifecycle

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/status"
)

// TestFlushBounds: the final flush gets lifecycle.flush_timeout, or less when a spot
// interruption's stop time (less FlushMargin) comes sooner; an operating system shutdown
// gets none (the service's stop drains the logs); what is left is counted in status.
func TestFlushBounds(t *testing.T) {
	now := time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		cause    string
		deadline time.Time
		want     time.Duration // from now; 0: no flush
	}{
		{"termination", "Terminated", time.Time{}, time.Minute},
		{"spot, stop time far", "spot-interruption", now.Add(2 * time.Hour), time.Minute},
		{"spot, stop time near", "spot-interruption", now.Add(40 * time.Second), 30 * time.Second},
		{"operating system", "system", time.Time{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got time.Duration
			called := false
			var c status.Component
			f := &Flush{Timeout: time.Minute, Clock: clock.NewFake(now), Log: zap.NewNop(),
				Logs: func(ctx context.Context) int64 {
					called = true
					d, _ := ctx.Deadline()
					got = d.Sub(now)
					return 12
				},
				Status: func(_ string, s status.Component) { c = s }}
			f.ShutdownStarted(tc.cause, tc.deadline)
			f.ShutdownFinished(true)
			if tc.want == 0 {
				if called {
					t.Fatal("flushed on an operating system shutdown")
				}
				return
			}
			if !called || got != tc.want {
				t.Fatalf("flush bound %s (called %v), want %s", got, called, tc.want)
			}
			if c.Counters["log_bytes_left"] != 12 || c.LastError == "" {
				t.Fatalf("status %+v, want 12 log bytes left and an error", c)
			}
		})
	}
}
