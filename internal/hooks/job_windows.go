package hooks

import (
	"fmt"
	"os/exec"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// container is the job object one hook run is contained in. The job is made with
// JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, and only the agent holds its handle: when the agent
// dies, however it dies, Windows closes the handle and ends every process in the job, so
// no hook outlives a crashed agent. Processes the hook starts join its job.
type container struct {
	job windows.Handle
}

// contain makes the job object for the hook cmd is about to start. The hook joins it as
// soon as it started (see started): os/exec gives no way to start a process suspended
// and resume it, so a child made in that first instant would not be in the job.
func contain(*exec.Cmd, string) (*container, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("create a job object: %w", err)
	}
	if err := setKillOnClose(job, true); err != nil {
		_ = windows.CloseHandle(job)
		return nil, fmt.Errorf("job object: set kill-on-close: %w", err)
	}
	return &container{job: job}, nil
}

func setKillOnClose(job windows.Handle, on bool) error {
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	if on {
		info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	}
	_, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)))
	return err
}

// name is what the record keeps of the container: nothing, the job dies with the agent.
func (c *container) name() string { return "" }

// started puts the hook whose pid is pid in the job; pid 0 means it did not start.
func (c *container) started(pid int) {
	if c == nil || pid == 0 {
		return
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		return
	}
	defer windows.CloseHandle(h)
	_ = windows.AssignProcessToJobObject(c.job, h)
}

// kill ends every process in the job.
func (c *container) kill() {
	if c != nil {
		_ = windows.TerminateJobObject(c.job, 1)
	}
}

// release closes the job once the hook's run is over. What a hook that exited normally
// left running (a service it started) is left alone: kill-on-close is cleared first.
func (c *container) release() {
	if c == nil {
		return
	}
	_ = setKillOnClose(c.job, false)
	_ = windows.CloseHandle(c.job)
	c.job = 0
}

// procStart returns 0: the job object, not the record, ends a dead agent's hooks here.
func procStart(int) uint64 { return 0 }

// endLeftover has nothing to do on Windows: the hooks of an agent that died were in its
// job objects, which ended them when it died.
func endLeftover(runningHook, time.Duration) int { return 0 }

// startHook starts cmd.
func startHook(cmd *exec.Cmd) error { return cmd.Start() }

// waitHook waits for cmd.
func waitHook(cmd *exec.Cmd) error { return cmd.Wait() }
