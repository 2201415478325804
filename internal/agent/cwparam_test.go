package agent

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/status"
)

// fakeParams answers GetParameter from a version and an error it is told.
type fakeParams struct {
	mu      sync.Mutex
	version int64
	err     error
	reads   int
}

func (f *fakeParams) GetParameter(context.Context, string) (awsenv.SSMParameter, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return awsenv.SSMParameter{Value: "{}", Version: f.version}, f.err
}

func (f *fakeParams) set(version int64, err error) {
	f.mu.Lock()
	f.version, f.err = version, err
	f.mu.Unlock()
}

func (f *fakeParams) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// TestParamWatch: the watch on --cwagent-config ssm:NAME asks for a reload once per new
// version, not at every read of it; a read that fails is shown in status with the version
// the agent still runs, and clears when reads succeed again.
func TestParamWatch(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	reg := status.NewRegistry(t.TempDir(), clk, zap.NewNop())
	ssm := &fakeParams{version: 3}
	var mu sync.Mutex
	var reasons []string
	pw := &paramWatch{SSM: ssm, Name: "cw", Version: 3, Interval: time.Minute, Clock: clk, Status: reg,
		Changed: func(r string) { mu.Lock(); reasons = append(reasons, r); mu.Unlock() }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pw.run(ctx) }()
	defer func() { cancel(); <-done }()
	// poll advances the clock by one interval and waits for the read it causes.
	poll := func() {
		t.Helper()
		n := ssm.count()
		waitFor(t, 10*time.Second, "the poll timer", func() bool { return clk.Pending() >= 1 })
		clk.Advance(time.Minute)
		waitFor(t, 10*time.Second, "the read", func() bool { return ssm.count() > n && clk.Pending() >= 1 })
	}
	got := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), reasons...) }
	poll()
	if r := got(); len(r) != 0 {
		t.Fatalf("reload asked for the version running: %q", r)
	}
	ssm.set(4, nil)
	poll()
	poll()
	if r := got(); len(r) != 1 || !strings.Contains(r[0], "version 4, running on 3") {
		t.Fatalf("reloads asked %q, want one for version 4", r)
	}
	ssm.set(4, errors.New("connection refused"))
	poll()
	if c := reg.Snapshot().Sources[cwParamSource]; c == nil || !strings.Contains(c.LastError, "still running on version 3") {
		t.Fatalf("status after a failed read: %+v", c)
	}
	ssm.set(5, nil)
	poll()
	if c := reg.Snapshot().Sources[cwParamSource]; c.LastError != "" {
		t.Fatalf("status after reads recovered: %+v", c)
	}
	if r := got(); len(r) != 2 || !strings.Contains(r[1], "version 5") {
		t.Fatalf("reloads asked %q, want a second for version 5", r)
	}
}
