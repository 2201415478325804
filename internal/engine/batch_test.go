package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/engine"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
)

// takeRequests hands n deploy requests to a fresh engine whose instance is not known yet
// (so nothing runs and every request merges into one waiting deploy), and returns how
// long until the state file holds them all and how many state writes that took.
func takeRequests(tb testing.TB, n int) (time.Duration, int) {
	tb.Helper()
	dir := tb.TempDir()
	clk := clock.NewFake(epoch)
	st, store, _, err := state.Open(dir, clk.Now())
	if err != nil {
		tb.Fatal(err)
	}
	cfg := config.Default()
	cfg.Mode = config.ModeLocal
	cfg.HooksDir = tb.TempDir()
	e, err := engine.New(engine.Options{Config: cfg, Store: store, State: st, Runner: newFakeRunner(),
		Clock: clk, Logger: zap.NewNop()})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	start := time.Now()
	go func() { defer close(done); e.Run(ctx) }()
	for i := range n {
		e.Update(ctx, source.Update{Source: "requests", Request: &source.Request{ID: fmt.Sprintf("r%05d", i),
			Event: event.Deploy, Time: clk.Now()}})
	}
	for {
		st, err := state.Read(dir)
		if err == nil && len(st.Queue) == 1 && len(st.Queue[0].Trigger.Requests) == n {
			break
		}
		if time.Since(start) > 5*time.Minute {
			tb.Fatalf("the state never held the %d requests", n)
		}
		time.Sleep(time.Millisecond)
	}
	took := time.Since(start)
	cancel()
	<-done
	return took, e.Saves()
}

// Requests that wait for the engine are taken in together and written once: 2,000
// requests handed over as fast as the engine takes them cost far fewer than 2,000 writes
// of a state file that grows with each (issue: 10,000 took 223 s).
func TestWaitingRequestsAreWrittenTogether(t *testing.T) {
	const n = 2000
	_, saves := takeRequests(t, n)
	if saves > n/4 {
		t.Errorf("%d requests took %d state writes, want them batched (at most %d)", n, saves, n/4)
	}
}

// BenchmarkTakeRequests prints how long 10,000 spooled requests take to reach the state
// file and how many writes that took.
func BenchmarkTakeRequests(b *testing.B) {
	const n = 10000
	for range b.N {
		took, saves := takeRequests(b, n)
		b.ReportMetric(float64(n)/took.Seconds(), "requests/s")
		b.ReportMetric(float64(saves), "state-writes")
		b.ReportMetric(0, "ns/op")
		fmt.Printf("%d requests: %s until the state held them all, %d state writes\n", n, took.Round(time.Millisecond), saves)
	}
}
