//go:build unix

package cli

import "syscall"

func setUmask(m uint32) { syscall.Umask(int(m)) }
