package hooks

import (
	"fmt"
	"strings"
)

// commandLine returns the argv that runs the hook file at path on goos.
//
// On Windows the interpreter follows the extension: .ps1 runs under PowerShell, .cmd and
// .bat under cmd.exe, .exe directly; anything else is not runnable. When argv[0] is
// cmd.exe, the last element is the text cmd runs, verbatim (here the quoted path); see
// windowsCmdLine. Everywhere else the file is executed directly (the kernel reads the #!).
func commandLine(goos, path string) ([]string, error) {
	if goos != "windows" {
		return []string{path}, nil
	}
	switch ext := strings.ToLower(windowsExt(path)); ext {
	case ".ps1":
		return []string{"powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", path}, nil
	case ".cmd", ".bat":
		return []string{"cmd.exe", "/C", `"` + path + `"`}, nil
	case ".exe":
		return []string{path}, nil
	case "":
		return nil, fmt.Errorf("not runnable on Windows (no extension; use .ps1, .cmd, .bat or .exe)")
	default:
		return nil, fmt.Errorf("not runnable on Windows (%s; use .ps1, .cmd, .bat or .exe)", ext)
	}
}

// shellCommand returns the argv that runs command, a cfn-hup action, through the
// platform's shell: /bin/sh -c on Unix, cmd.exe /C on Windows (the command verbatim,
// see windowsCmdLine).
func shellCommand(goos, command string) []string {
	if goos == "windows" {
		return []string{"cmd.exe", "/C", command}
	}
	return []string{"/bin/sh", "-c", command}
}

// windowsCmdLine returns the raw Windows command line for argv when argv runs cmd.exe,
// or "" when Go's usual argument quoting is right. cmd.exe does not parse its command
// line like other programs, so the text after /C is passed verbatim, wrapped in the
// quotes that /S strips again: cmd.exe /S /C "<text>".
func windowsCmdLine(argv []string) string {
	if len(argv) != 3 || !strings.EqualFold(argv[0], "cmd.exe") || !strings.EqualFold(argv[1], "/C") {
		return ""
	}
	return `cmd.exe /S /C "` + argv[2] + `"`
}

// windowsExt is filepath.Ext for a Windows path, whichever OS runs it.
func windowsExt(path string) string {
	base := path[strings.LastIndexAny(path, `/\:`)+1:]
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		return base[i:]
	}
	return ""
}
