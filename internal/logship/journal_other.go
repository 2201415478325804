//go:build !linux

package logship

import "syscall"

// journalctlAttr: the journal is read on Linux only.
func journalctlAttr() *syscall.SysProcAttr { return nil }
