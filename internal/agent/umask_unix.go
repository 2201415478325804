//go:build unix

package agent

import "syscall"

func setUmask(m uint32) { syscall.Umask(int(m)) }
