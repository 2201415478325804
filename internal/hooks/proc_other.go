//go:build unix && !linux

package hooks

import (
	"errors"
	"os/exec"
	"syscall"
	"time"
)

// container stands for a hook's container, which these systems do not give: always nil.
type container struct{}

func contain(*exec.Cmd, string) (*container, error) {
	return nil, errors.New("no cgroups on this system")
}

func (c *container) name() string { return "" }
func (c *container) started(int)  {}
func (c *container) release()     {}

// procStart returns 0: without /proc a reused pid cannot be told apart.
func procStart(int) uint64 { return 0 }

// endLeftover does nothing here: without a start time, a recorded pid or group may
// belong to another process by now.
func endLeftover(runningHook, time.Duration) int { return 0 }

// endTree ends the process group of the hook whose pid is pid: SIGTERM, then SIGKILL to
// what is left after grace. Without /proc, descendants that left the group are out of
// reach. It returns the hook's wait error, and whether the hook was reaped.
func endTree(pid int, _ *container, grace time.Duration, waited <-chan error) (error, bool) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	_ = syscall.Kill(-pid, syscall.SIGCONT)
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var waitErr error
	exited := false
wait:
	for {
		select {
		case waitErr = <-waited:
			exited, waited = true, nil
		case <-tick.C:
			if exited && syscall.Kill(-pid, 0) != nil {
				return waitErr, true
			}
		case <-deadline.C:
			break wait
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	if !exited {
		select {
		case waitErr = <-waited:
			exited = true
		case <-time.After(reapWait):
		}
	}
	return waitErr, exited
}

// startHook starts cmd.
func startHook(cmd *exec.Cmd) error { return cmd.Start() }

// waitHook waits for cmd.
func waitHook(cmd *exec.Cmd) error { return cmd.Wait() }
