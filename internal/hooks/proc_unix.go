//go:build unix

package hooks

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

// pollInterval paces the checks for a dying process tree.
const pollInterval = 20 * time.Millisecond

// prepareProc makes the hook the leader of a process group of its own, so that its
// whole tree can be signalled. The raw command line is a Windows matter.
func prepareProc(cmd *exec.Cmd, _ string) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// signalOf names the signal that ended a process, or "" when it exited.
func signalOf(ps *os.ProcessState) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal().String()
	}
	return ""
}

// signal sends sig to pid (to a process group when pid is negative), ignoring a target
// that is already gone. Whatever a stale pid says, it never signals init, the agent or
// the agent's own process group.
func signal(pid int, sig syscall.Signal) {
	target := max(pid, -pid)
	if target <= 1 || (pid > 0 && pid == os.Getpid()) || (pid < 0 && target == syscall.Getpgrp()) {
		return
	}
	_ = syscall.Kill(pid, sig)
}
