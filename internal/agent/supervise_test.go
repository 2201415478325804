package agent

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/testenv"
)

// flaky is a source whose Run fails the first failures times, then reports once and runs
// until its context ends.
type flaky struct {
	mu       sync.Mutex
	failures int
	runs     int
}

func (*flaky) Name() string { return "flaky" }

func (f *flaky) Run(ctx context.Context, emit func(source.Update)) error {
	f.mu.Lock()
	f.runs++
	fail := f.runs <= f.failures
	f.mu.Unlock()
	if fail {
		return errors.New("cannot open what it watches")
	}
	emit(source.Update{Source: "flaky"})
	<-ctx.Done()
	return nil
}

func (f *flaky) count() int { f.mu.Lock(); defer f.mu.Unlock(); return f.runs }

// A source whose Run returns an error is started again with backoff (1 s, then 2 s) until
// it runs, each stop reported as the source's error; its first good reading follows.
func TestSuperviseRestartsAStoppedSourceWithBackoff(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	src := &flaky{failures: 2}
	var mu sync.Mutex
	var got []source.Update
	emit := func(u source.Update) { mu.Lock(); got = append(got, u); mu.Unlock() }
	updates := func() []source.Update { mu.Lock(); defer mu.Unlock(); return append([]source.Update(nil), got...) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); supervise(ctx, src, emit, clk, zap.NewNop()) }()

	testenv.WaitFor(t, "the first stop reported and its restart armed", func() bool { return len(updates()) == 1 && clk.Pending() == 1 })
	if u := updates()[0]; u.Err == nil || !strings.Contains(u.Err.Error(), "cannot open what it watches") || !strings.Contains(u.Err.Error(), "restarting it in 1s") {
		t.Fatalf("first stop: %+v", u)
	}
	clk.Advance(999 * time.Millisecond)
	if n := src.count(); n != 1 {
		t.Fatalf("restarted before its 1 s backoff: %d runs", n)
	}
	clk.Advance(time.Millisecond)
	testenv.WaitFor(t, "the second stop", func() bool { return len(updates()) == 2 && clk.Pending() == 1 })
	if u := updates()[1]; !strings.Contains(u.Err.Error(), "restarting it in 2s") {
		t.Fatalf("second stop: %v", u.Err)
	}
	clk.Advance(2 * time.Second)
	testenv.WaitFor(t, "the source to run and report", func() bool { return len(updates()) == 3 })
	if u := updates()[2]; u.Err != nil {
		t.Fatalf("after the restart: %v", u.Err)
	}
	cancel()
	<-done
	if n := src.count(); n != 3 {
		t.Errorf("%d runs, want 3", n)
	}
}
