//go:build windows

package cfninit

import (
	"os"
	"os/exec"
)

// shellMarker marks shellArgs' result, so that shellCommandLine writes the command
// line cmd.exe expects instead of Go's argument quoting.
const shellMarker = "\x00shell"

// shellArgs runs a command string as Python's subprocess does with shell=True on
// Windows: %COMSPEC% /c "command".
func shellArgs(s string) []string {
	comspec := os.Getenv("ComSpec")
	if comspec == "" {
		comspec = `C:\Windows\System32\cmd.exe`
	}
	return []string{comspec, shellMarker, s}
}

// shellCommandLine gives a shell command the command line exactly as subprocess
// builds it; inGroup has set SysProcAttr.
func shellCommandLine(cmd *exec.Cmd, argv []string) {
	if len(argv) == 3 && argv[1] == shellMarker {
		cmd.Args = []string{argv[0]}
		cmd.SysProcAttr.CmdLine = `"` + argv[0] + `" /c "` + argv[2] + `"`
	}
}
