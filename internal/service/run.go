package service

import (
	"context"
	"os"

	"go.uber.org/zap"
)

// runSignals runs fn and returns its error. The first signal received on sigs cancels
// fn's context with cause ErrSystemShutdown when shuttingDown reports that the
// operating system is going down, else with ErrStopped. Later signals are only logged:
// the agent bounds its own stop, and a second Ctrl-C must not cut shutdown hooks short.
func runSignals(ctx context.Context, log *zap.Logger, fn func(context.Context) error, sigs <-chan os.Signal, shuttingDown func() bool) error {
	fctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	done := make(chan error, 1)
	go func() { done <- fn(fctx) }()

	stopping := false
	for {
		select {
		case err := <-done:
			return err
		case sig := <-sigs:
			if stopping {
				log.Warn("signal received while stopping; still waiting for the agent to finish its stop",
					zap.Stringer("signal", sig))
				continue
			}
			stopping = true
			cause := ErrStopped
			if shuttingDown() {
				cause = ErrSystemShutdown
			}
			log.Info("stopping", zap.Stringer("signal", sig), zap.NamedError("reason", cause))
			cancel(cause)
		}
	}
}
