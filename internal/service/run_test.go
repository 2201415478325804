package service

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// runInBackground starts runSignals with an injected signal channel and returns that
// channel, a channel that receives fn's context cause once fn sees its context end,
// and a channel with runSignals' result.
func runInBackground(t *testing.T, ctx context.Context, log *zap.Logger, shuttingDown func() bool, fnErr error) (chan<- os.Signal, <-chan error, <-chan error, chan<- struct{}) {
	t.Helper()
	sigs := make(chan os.Signal, 2)
	causes := make(chan error, 1)
	release := make(chan struct{})
	result := make(chan error, 1)
	fn := func(ctx context.Context) error {
		<-ctx.Done()
		causes <- context.Cause(ctx)
		<-release
		return fnErr
	}
	go func() { result <- runSignals(ctx, log, fn, sigs, shuttingDown) }()
	return sigs, causes, result, release
}

func wait[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestRunSignalCause(t *testing.T) {
	for _, tc := range []struct {
		name         string
		sig          os.Signal
		shuttingDown bool
		want         error
	}{
		{"SIGTERM, system running", syscall.SIGTERM, false, ErrStopped},
		{"SIGINT, system running", os.Interrupt, false, ErrStopped},
		{"SIGTERM, system shutting down", syscall.SIGTERM, true, ErrSystemShutdown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fnErr := errors.New("fn result")
			sigs, causes, result, release := runInBackground(t, context.Background(), zap.NewNop(),
				func() bool { return tc.shuttingDown }, fnErr)
			sigs <- tc.sig
			if got := wait(t, causes, "fn to see its context end"); !errors.Is(got, tc.want) {
				t.Errorf("context cause = %v, want %v", got, tc.want)
			}
			close(release)
			if got := wait(t, result, "runSignals to return"); !errors.Is(got, fnErr) {
				t.Errorf("runSignals returned %v, want fn's error %v", got, fnErr)
			}
		})
	}
}

func TestRunSecondSignalOnlyLogged(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	calls := 0
	sigs, causes, result, release := runInBackground(t, context.Background(), zap.New(core),
		func() bool { calls++; return false }, nil)
	sigs <- syscall.SIGTERM
	wait(t, causes, "fn to see its context end")
	sigs <- syscall.SIGINT
	// The second signal must not end Run while fn is still running.
	deadline := time.Now().Add(10 * time.Second)
	for logs.FilterMessageSnippet("while stopping").Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("second signal was not logged")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-result:
		t.Fatalf("runSignals returned %v before fn returned", err)
	default:
	}
	close(release)
	if err := wait(t, result, "runSignals to return"); err != nil {
		t.Errorf("runSignals = %v, want nil", err)
	}
	if calls != 1 {
		t.Errorf("shutdown detector called %d times, want 1 (first signal only)", calls)
	}
}

func TestRunFnReturnsOnItsOwn(t *testing.T) {
	want := errors.New("config broken")
	err := runSignals(context.Background(), zap.NewNop(), func(context.Context) error { return want },
		make(chan os.Signal), func() bool { t.Error("detector called without a signal"); return false })
	if !errors.Is(err, want) {
		t.Errorf("runSignals = %v, want %v", err, want)
	}
}

func TestRunParentCanceled(t *testing.T) {
	parentCause := errors.New("parent gone")
	ctx, cancel := context.WithCancelCause(context.Background())
	_, causes, result, release := runInBackground(t, ctx, zap.NewNop(), func() bool { return false }, nil)
	cancel(parentCause)
	if got := wait(t, causes, "fn to see its context end"); !errors.Is(got, parentCause) {
		t.Errorf("context cause = %v, want %v", got, parentCause)
	}
	close(release)
	wait(t, result, "runSignals to return")
}

// TestRunLogsOneStoppingLine: one stop logs one "stopping" line, naming the signal and why
// it stops; a further signal is logged as such, never as a second "stopping".
func TestRunLogsOneStoppingLine(t *testing.T) {
	for _, tc := range []struct {
		name         string
		sig, again   os.Signal
		shuttingDown bool
		reason       error
	}{
		{"Ctrl-C", os.Interrupt, os.Interrupt, false, ErrStopped},
		{"SIGTERM", syscall.SIGTERM, os.Interrupt, false, ErrStopped},
		{"SIGTERM at shutdown", syscall.SIGTERM, syscall.SIGTERM, true, ErrSystemShutdown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			sigs, causes, result, release := runInBackground(t, context.Background(), zap.New(core),
				func() bool { return tc.shuttingDown }, nil)
			sigs <- tc.sig
			wait(t, causes, "fn to see its context end")
			sigs <- tc.again
			deadline := time.Now().Add(10 * time.Second)
			for logs.FilterMessageSnippet("while stopping").Len() == 0 {
				if time.Now().After(deadline) {
					t.Fatal("second signal was not logged")
				}
				time.Sleep(time.Millisecond)
			}
			close(release)
			wait(t, result, "runSignals to return")

			stopping := logs.FilterMessage("stopping").AllUntimed()
			if len(stopping) != 1 {
				t.Fatalf("%d \"stopping\" lines, want 1: %v", len(stopping), logs.AllUntimed())
			}
			f := stopping[0].ContextMap()
			if f["signal"] != tc.sig.String() || f["reason"] != tc.reason.Error() {
				t.Errorf("stopping line %v; want signal %q, reason %q", f, tc.sig, tc.reason)
			}
			again := logs.FilterMessageSnippet("while stopping").AllUntimed()
			if f := again[0].ContextMap(); f["signal"] != tc.again.String() {
				t.Errorf("second signal's line %v; want signal %q", f, tc.again)
			}
		})
	}
}
