//go:build !windows

package service

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Run runs the agent body fn and returns its error. fn's context is canceled on the
// first SIGTERM or SIGINT, with cause (see context.Cause) ErrSystemShutdown when the
// operating system is shutting down and ErrStopped otherwise. Run waits for fn to
// return, however long it takes: fn bounds its own stop, and systemd's TimeoutStopSec
// bounds fn. Further signals are logged and otherwise ignored.
func Run(ctx context.Context, log *zap.Logger, fn func(ctx context.Context) error) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(sigs)
	return runSignals(ctx, log, fn, sigs, func() bool { return systemShuttingDown(systemState) })
}

// systemStateTimeout bounds the systemctl call that tells a stop from a shutdown.
const systemStateTimeout = 5 * time.Second

// systemState returns what `systemctl is-system-running` prints. It prints the
// manager's state even when it exits non-zero (it exits 0 only for "running"), so the
// exit status is ignored; when systemctl cannot be started at all the error is returned.
func systemState() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), systemStateTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "systemctl", "is-system-running").Output()
	if _, exited := err.(*exec.ExitError); exited {
		err = nil
	}
	return strings.TrimSpace(string(out)), err
}

// systemShuttingDown reports whether the operating system is shutting down, judged by
// state, which returns the output of `systemctl is-system-running`.
//
// The heuristic: systemd reports "stopping" from the moment a shutdown, reboot or
// halt job is queued until the machine goes down, and that is exactly when it sends
// SIGTERM to services; an operator's `systemctl stop stackhand` leaves the system
// "running" or "degraded". Without systemd (containers, other init systems), when
// systemctl is missing, fails or hangs, the stop is taken as a plain stop: running the
// shutdown hooks on a mere restart of the agent would be worse than missing them.
func systemShuttingDown(state func() (string, error)) bool {
	s, err := state()
	return err == nil && s == "stopping"
}

// Hangups delivers every SIGHUP from now on, which then no longer ends the process: the
// agent takes it as "reload the configuration". stop restores the default.
func Hangups() (hup <-chan os.Signal, stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	return ch, func() { signal.Stop(ch) }
}

// SurviveBrokenPipes keeps a write to a closed stdout or stderr (a log reader that went
// away) from killing the process with SIGPIPE: the write fails with EPIPE instead, as it
// does under systemd, which starts services with SIGPIPE ignored. It catches the signal
// rather than ignoring it, because an ignored signal stays ignored in the hooks the agent
// runs, and they are owed the default.
func SurviveBrokenPipes() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE) // never read: each delivery is dropped
}
