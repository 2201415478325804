package logship

import "syscall"

// journalctlAttr makes the kernel send journalctl SIGTERM when the agent dies, SIGKILL
// included: following a quiet journal, an orphaned journalctl would otherwise wait, with
// the journal open, until the next entry met a closed pipe.
func journalctlAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
