//go:build unix

package cfninit

import "os/exec"

// shellArgs runs a command string as Python's subprocess does with shell=True.
func shellArgs(s string) []string { return []string{"/bin/sh", "-c", s} }

// shellCommandLine has nothing to do on Unix: argv is passed as it is.
func shellCommandLine(*exec.Cmd, []string) {}
