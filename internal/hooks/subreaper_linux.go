package hooks

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Where no cgroup can be made, the agent makes itself a child subreaper
// (PR_SET_CHILD_SUBREAPER): a process whose parent exits is reparented to the agent rather
// than to init, so a hook's double-forked daemon stays below the agent. The tree walk then
// takes in the agent's adopted children that carry the hook run's STACKHAND_EVENT_ID, and
// the agent reaps the adopted children that die, as a subreaper must.

var (
	subreaperOnce sync.Once
	subreaperErr  error
	isSubreaper   atomic.Bool

	// execMu is held across a hook's start and its entry in execd, and while adopted
	// children are reaped, so that reaping never takes an exit status os/exec waits for.
	execMu sync.Mutex
	// execd holds the pids os/exec started here and has not reaped yet.
	execd = map[int]bool{}
	// hookGroups holds the process groups of the hooks started here: a dead child of the
	// agent in one of them is an adopted orphan.
	hookGroups = map[int]bool{}
	// adopted holds the children of the agent seen alive with a hook's environment.
	adopted = map[int]bool{}
)

// becomeSubreaper makes the agent a child subreaper, once per process.
func becomeSubreaper() error {
	subreaperOnce.Do(func() {
		subreaperErr = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
		isSubreaper.Store(subreaperErr == nil)
	})
	return subreaperErr
}

// startHook starts cmd and registers it as started by os/exec.
func startHook(cmd *exec.Cmd) error {
	execMu.Lock()
	defer execMu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	execd[cmd.Process.Pid] = true
	hookGroups[cmd.Process.Pid] = true // each hook leads a process group of its own
	return nil
}

// waitHook waits for cmd like cmd.Wait and then forgets it.
func waitHook(cmd *exec.Cmd) error {
	err := cmd.Wait()
	execMu.Lock()
	delete(execd, cmd.Process.Pid)
	execMu.Unlock()
	return err
}

// adoptedOf returns the agent's adopted children (not started by os/exec here) that run
// with the environment of hook run eventID; it reaps the adopted children that died.
func adoptedOf(procs map[int]procInfo, eventID string) []int {
	self := os.Getpid()
	token := []byte("STACKHAND_EVENT_ID=" + eventID + "\x00")
	execMu.Lock()
	defer execMu.Unlock()
	var out []int
	for pid, p := range procs {
		if p.ppid != self || execd[pid] {
			continue
		}
		if !p.running() {
			if adopted[pid] || hookGroups[p.pgrp] {
				var ws unix.WaitStatus
				if _, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err == nil {
					delete(adopted, pid)
				}
			}
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
		if err != nil || !bytes.Contains(env, []byte("STACKHAND_EVENT_ID=")) {
			continue
		}
		adopted[pid] = true
		if eventID != "" && (bytes.HasPrefix(env, token) || bytes.Contains(env, append([]byte{0}, token...))) {
			out = append(out, pid)
		}
	}
	return out
}

// reapAdopted reaps the adopted children that died.
func reapAdopted() {
	if isSubreaper.Load() {
		adoptedOf(scanProcs("/proc"), "")
	}
}
