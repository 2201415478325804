package hooks

import (
	"slices"
	"testing"
)

func TestCommandLine(t *testing.T) {
	tests := []struct {
		goos, path string
		want       []string
		wantErr    bool
	}{
		{"linux", "/etc/stackhand/hooks.d/deploy/10-app", []string{"/etc/stackhand/hooks.d/deploy/10-app"}, false},
		{"linux", "/etc/stackhand/hooks.d/deploy/10-app.ps1", []string{"/etc/stackhand/hooks.d/deploy/10-app.ps1"}, false},
		{"windows", `C:\ProgramData\stackhand\hooks.d\deploy\10-app.ps1`,
			[]string{"powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", `C:\ProgramData\stackhand\hooks.d\deploy\10-app.ps1`}, false},
		{"windows", `C:\hooks.d\deploy\20-iis.PS1`,
			[]string{"powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", `C:\hooks.d\deploy\20-iis.PS1`}, false},
		{"windows", `C:\Program Files\x\30-a.cmd`, []string{"cmd.exe", "/C", `"C:\Program Files\x\30-a.cmd"`}, false},
		{"windows", `C:\x\31-a.bat`, []string{"cmd.exe", "/C", `"C:\x\31-a.bat"`}, false},
		{"windows", `C:\x\40-tool.exe`, []string{`C:\x\40-tool.exe`}, false},
		{"windows", `C:\x\50-a.sh`, nil, true},
		{"windows", `C:\x.d\60-noext`, nil, true}, // the dot is in the directory, not the file
	}
	for _, tt := range tests {
		got, err := commandLine(tt.goos, tt.path)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("commandLine(%s, %s) = %q, %v; want %q (error: %v)", tt.goos, tt.path, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestShellCommand(t *testing.T) {
	cmd := `echo "a b" && touch /tmp/x`
	if got := shellCommand("linux", cmd); !slices.Equal(got, []string{"/bin/sh", "-c", cmd}) {
		t.Errorf("linux: %q", got)
	}
	win := shellCommand("windows", cmd)
	if !slices.Equal(win, []string{"cmd.exe", "/C", cmd}) {
		t.Errorf("windows: %q", win)
	}
	if got, want := windowsCmdLine(win), `cmd.exe /S /C "echo "a b" && touch /tmp/x"`; got != want {
		t.Errorf("windowsCmdLine = %s, want %s", got, want)
	}
	ps, _ := commandLine("windows", `C:\x\a.ps1`)
	if got := windowsCmdLine(ps); got != "" {
		t.Errorf("windowsCmdLine(powershell) = %q, want Go's quoting", got)
	}
	bat, _ := commandLine("windows", `C:\a b\x.bat`)
	if got, want := windowsCmdLine(bat), `cmd.exe /S /C ""C:\a b\x.bat""`; got != want {
		t.Errorf("windowsCmdLine(bat) = %s, want %s", got, want)
	}
}

func TestMergeEnv(t *testing.T) {
	tests := []struct {
		name  string
		fold  bool
		lists [][]string
		want  []string
	}{
		{"later wins at the first position", false,
			[][]string{{"A=1", "B=2"}, {"C=3", "A=4"}, {"B=5"}},
			[]string{"A=4", "B=5", "C=3"}},
		{"case matters on unix", false,
			[][]string{{"Path=a"}, {"PATH=b"}},
			[]string{"Path=a", "PATH=b"}},
		{"case folds on windows", true,
			[][]string{{"Path=a"}, {"PATH=b"}},
			[]string{"PATH=b"}},
		{"values with = and windows drive entries", true,
			[][]string{{"=C:=C:\\x", "X=a=b", "junk"}, {"X=c"}},
			[]string{"=C:=C:\\x", "X=c"}},
	}
	for _, tt := range tests {
		if got := mergeEnv(tt.fold, tt.lists...); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCutTail(t *testing.T) {
	tests := []struct {
		in   string
		cut  bool
		want string
	}{
		{"whole\noutput\n", false, "whole\noutput\n"},
		{"tial line\nlast\n", true, "last\n"},
		{"one long line cut", true, "one long line cut"},
		{"ends at\n", true, "ends at\n"},
	}
	for _, tt := range tests {
		if got := cutTail([]byte(tt.in), tt.cut); got != tt.want {
			t.Errorf("cutTail(%q, %v) = %q, want %q", tt.in, tt.cut, got, tt.want)
		}
	}
}

func TestConventionalSkip(t *testing.T) {
	for name, skip := range map[string]bool{
		"10-app": false, "10-app.sh": false, "10.app.d": false, "install.rpm": true,
		".x": true, "x~": true, "x.disabled": true, "x.DISABLED": true, "x.dpkg-bak": true, "x.rpmnew": true,
	} {
		if got := conventionalSkip(name) != ""; got != skip {
			t.Errorf("conventionalSkip(%q) skips = %v, want %v", name, got, skip)
		}
	}
}
