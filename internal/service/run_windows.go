package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/kardianos/service"
	"go.uber.org/zap"
	"golang.org/x/sys/windows/registry"
)

// stopWait bounds how long a Stop from the Service Control Manager waits for the agent
// to finish: the default shutdown-hook timeout (2 min) plus its grace (30 s), with room,
// as TimeoutStopSec does for systemd.
const stopWait = 180 * time.Second

// Run runs the agent body fn and returns its error.
//
// Under the Service Control Manager, fn runs as the service: a Stop request cancels
// fn's context with cause (see context.Cause) ErrStopped, a system shutdown with
// ErrSystemShutdown, and the service reports stopped once fn has returned, or once
// the wait runs out (3 min for a stop, WaitToKillServiceTimeout for a shutdown, after
// which Windows ends the process anyway). If fn returns while nobody asked the service
// to stop, the process exits with status 1 so that the recovery actions restart it
// (set by `stackhand service install`, or by the agent itself at its first start as a
// service when the MSI installed it). Under the Service Control Manager it first
// restricts hooks.d, state and logs under %ProgramData%\stackhand to SYSTEM and
// Administrators (Users may read hooks.d and logs), as lockDownDirs says.
//
// Run interactively (from a console), it behaves as on Linux: the first Ctrl-C, or a
// console close, logoff or shutdown event, cancels fn's context with ErrStopped.
func Run(ctx context.Context, log *zap.Logger, fn func(ctx context.Context) error) error {
	if service.Interactive() {
		sigs := make(chan os.Signal, 2)
		// Go delivers Ctrl-C and Ctrl-Break as os.Interrupt and console close,
		// logoff and shutdown events as SIGTERM; a console cannot tell a shutdown
		// from a closed window reliably, so both count as a plain stop.
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sigs)
		return runSignals(ctx, log, fn, sigs, func() bool { return false })
	}
	// The MSI registers the service without failure actions (wixl cannot write
	// them): the agent gives itself its recovery, once; a failure to do so is no
	// reason not to run.
	if changed, err := ensureRecovery(); err != nil {
		log.Warn("could not check the service's recovery actions; set them with: stackhand service install",
			zap.Error(err))
	} else if changed {
		log.Info("service recovery actions set: restart after 5 s, 5 s, 30 s")
	}
	// %ProgramData% lets any user create files, and hooks run as LocalSystem: the
	// agent's directories there are restricted before fn can run a hook. This runs
	// once the service has reported itself started, not before it has even reached
	// the Service Control Manager: the first restriction rewrites the ACL of every
	// file below, and the manager gives a starting service only 30 s to connect.
	body := func(ctx context.Context) error {
		lockDownDirs(log)
		return fn(ctx)
	}
	p := &program{parent: ctx, log: log, fn: body, done: make(chan struct{})}
	s, err := service.New(p, &service.Config{Name: Name})
	if err != nil {
		return fmt.Errorf("run as a Windows service: %w", err)
	}
	runErr := s.Run()
	select {
	case <-p.done:
		if p.err != nil {
			return p.err
		}
	default:
		// Start never ran, or Stop gave up waiting: the process ends now anyway.
		if runErr == nil {
			runErr = errors.New("agent still running after the service stopped")
		}
	}
	if runErr != nil {
		return fmt.Errorf("run as a Windows service: %w", runErr)
	}
	return nil
}

// program adapts the agent body to kardianos/service: it implements service.Interface
// and service.Shutdowner.
type program struct {
	parent context.Context
	log    *zap.Logger
	fn     func(context.Context) error

	mu     sync.Mutex
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when fn has returned
	err    error         // fn's error, set before done is closed
}

// Start launches fn; it returns at once, as the Service Control Manager expects.
func (p *program) Start(service.Service) error {
	ctx, cancel := context.WithCancelCause(p.parent)
	p.mu.Lock()
	p.cancel = cancel
	p.mu.Unlock()
	go func() {
		err := p.fn(ctx)
		stopped := ctx.Err() != nil
		p.err = err
		close(p.done)
		if !stopped {
			p.log.Error("agent exited while the service was meant to run; exiting with status 1 so Windows restarts it",
				zap.Error(err))
			_ = p.log.Sync()
			os.Exit(1)
		}
	}()
	return nil
}

// Stop is a Stop request from the Service Control Manager.
func (p *program) Stop(service.Service) error {
	return p.stop(ErrStopped, stopWait)
}

// Shutdown is the system shutdown notice from the Service Control Manager.
func (p *program) Shutdown(service.Service) error {
	return p.stop(ErrSystemShutdown, waitToKillServiceTimeout())
}

// stop cancels fn with cause and waits up to wait for it to return.
func (p *program) stop(cause error, wait time.Duration) error {
	p.log.Info("stopping", zap.NamedError("reason", cause), zap.Duration("wait", wait))
	p.mu.Lock()
	cancel := p.cancel
	p.mu.Unlock()
	if cancel == nil {
		return errors.New("stop before start")
	}
	cancel(cause)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
		p.log.Error("agent did not stop in time; the service stops without it", zap.Duration("wait", wait))
		return fmt.Errorf("agent did not stop within %s", wait)
	}
}

// waitToKillServiceTimeout is how long Windows lets services stop at shutdown before
// it ends them (HKLM\SYSTEM\CurrentControlSet\Control\WaitToKillServiceTimeout, in ms;
// 20 s when unset).
func waitToKillServiceTimeout() time.Duration {
	const fallback = 20 * time.Second
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Control`, registry.READ)
	if err != nil {
		return fallback
	}
	defer k.Close()
	v, _, err := k.GetStringValue("WaitToKillServiceTimeout")
	if err != nil {
		return fallback
	}
	ms, err := strconv.Atoi(v)
	if err != nil || ms <= 0 {
		return fallback
	}
	return time.Duration(ms) * time.Millisecond
}

// Hangups delivers nothing on Windows, which has no SIGHUP: a changed configuration takes
// effect when the service restarts.
func Hangups() (hup <-chan os.Signal, stop func()) { return nil, func() {} }

// SurviveBrokenPipes does nothing on Windows: a write to a closed pipe fails, it does not
// raise a signal.
func SurviveBrokenPipes() {}
