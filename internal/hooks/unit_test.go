package hooks

import (
	"path/filepath"
	"slices"
	"strings"
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

func TestLogFileName(t *testing.T) {
	long := strings.Repeat("a", 300)
	for _, tc := range []struct{ name, want string }{
		{"cfn-hup:release-hook", "cfn-hup_release-hook.log"},
		{"release", "release.log"},
		{"Resources.LC.Metadata.AWS::CloudFormation::Init", "Resources.LC.Metadata.AWS__CloudFormation__Init.log"},
		{"tag:Role", "tag_Role.log"},
		{"../../etc/x", "_._.._etc_x.log"},
		{`..\..\Windows\x`, "_._.._Windows_x.log"},
		{"..", "_..log"},
		{".hidden", "_hidden.log"},
		{"a/b", "a_b.log"},
		{"line\nbreak\x00\x1b[31m", "line_break___31m.log"},
		{"déploiement", "d_ploiement.log"},
		{"con", "_con.log"},
		{"NUL.txt", "_NUL.txt.log"},
		{"com1", "_com1.log"},
		{"console", "console.log"},
		{long, strings.Repeat("a", maxLogName) + ".log"},
	} {
		if got := logFileName(tc.name); got != tc.want {
			t.Errorf("logFileName(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// FuzzLogFileName checks that no name, however hostile, makes a log file name that leaves
// the run's log directory, hides, or runs long.
func FuzzLogFileName(f *testing.F) {
	for _, s := range []string{"cfn-hup:release-hook", "../../etc/x", "..", "/", `C:\x`, "con", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := logFileName(name)
		if !strings.HasSuffix(got, ".log") || got[0] == '.' || len(got) > maxLogName+len("_.log") {
			t.Fatalf("logFileName(%q) = %q", name, got)
		}
		for _, c := range got {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				t.Fatalf("logFileName(%q) = %q holds %q", name, got, c)
			}
		}
		if filepath.Base(got) != got || !filepath.IsLocal(got) {
			t.Fatalf("logFileName(%q) = %q is not a plain file name", name, got)
		}
	})
}
