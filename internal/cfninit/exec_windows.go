package cfninit

import (
	"os/exec"
	"syscall"
)

// inGroup starts the tool in a new process group; on cancel exec kills the process
// (msiexec's children are its own service's, which Windows Installer manages).
func inGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}
