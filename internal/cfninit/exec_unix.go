//go:build !windows

package cfninit

import (
	"os/exec"
	"syscall"
)

// inGroup makes the tool the leader of a new process group and has the context's end
// kill the whole group, not only the leader.
func inGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The group's id is the leader's pid (Setpgid with Pgid 0).
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
