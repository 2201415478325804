//go:build windows

package hooks

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// prepareProc starts the hook in a process group of its own and, for cmd.exe, passes
// the raw command line (see windowsCmdLine).
func prepareProc(cmd *exec.Cmd, raw string) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= syscall.CREATE_NEW_PROCESS_GROUP
	cmd.SysProcAttr.HideWindow = true
	if raw != "" {
		cmd.SysProcAttr.CmdLine = raw
	}
}

// signalOf names the signal that ended a process: never one on Windows.
func signalOf(*os.ProcessState) string { return "" }

// endTree ends the process tree of the hook whose pid is pid with taskkill: first
// politely (WM_CLOSE), then, after grace, forcefully, and then every process of its job
// object cg (when it has one): taskkill /T follows parent links, so a descendant whose
// parent already exited is out of its reach, but not out of the job.
// It returns the hook's wait error, and whether the hook was reaped.
func endTree(pid int, cg *container, grace time.Duration, waited <-chan error) (error, bool) {
	taskkill(pid, false)
	var waitErr error
	exited := false
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	select {
	case waitErr = <-waited:
		exited = true
	case <-deadline.C:
	}
	if !exited {
		// Only while the hook is not reaped: afterwards its pid may belong to another process.
		taskkill(pid, true)
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
		select {
		case waitErr = <-waited:
			exited = true
		case <-time.After(reapWait):
		}
	}
	cg.kill() // what taskkill could not follow
	return waitErr, exited
}

func taskkill(pid int, force bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := []string{"/T", "/PID", strconv.Itoa(pid)}
	if force {
		args = append([]string{"/F"}, args...)
	}
	cmd := exec.CommandContext(ctx, "taskkill.exe", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{HideWindow: true}
	_ = cmd.Run()
}
