package cfnboot

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stackhand/stackhand/internal/cfninit"
)

// Vectors of the C runtime's argument rules (Microsoft's "Parsing C command-line
// arguments"): 2n backslashes before a quote are n, 2n+1 are n and a literal quote,
// backslashes elsewhere are literal.
func TestWindowsQuote(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:                  `plain`,
		``:                       `""`,
		`two words`:              `"two words"`,
		`C:\dir\file`:            `C:\dir\file`,
		`C:\my dir\`:             `"C:\my dir\\"`,
		`a"b`:                    `"a\"b"`,
		`a\"b`:                   `"a\\\"b"`,
		`a\\"b c`:                `"a\\\\\"b c"`,
		"tab\there":              "\"tab\there\"",
		`http://proxy:3128`:      `http://proxy:3128`,
		`ends with \\`:           `"ends with \\\\"`,
		`\\server\share\with sp`: `"\\server\share\with sp"`,
	} {
		if got := windowsQuote(in); got != want {
			t.Errorf("windowsQuote(%q) = %s, want %s", in, got, want)
		}
		// And back: the parser's rules give the argument again.
		if got := splitWindowsArg(t, windowsQuote(in)); got != in {
			t.Errorf("windowsQuote(%q) = %s, which parses back as %q", in, windowsQuote(in), got)
		}
	}
}

// splitWindowsArg parses one argument with the C runtime's rules (the reference the
// quoting is checked against, written from the rules, not from windowsQuote).
func splitWindowsArg(t *testing.T, s string) string {
	t.Helper()
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); {
		n := 0
		for i < len(s) && s[i] == '\\' {
			n++
			i++
		}
		if i < len(s) && s[i] == '"' {
			b.WriteString(strings.Repeat(`\`, n/2))
			if n%2 == 1 {
				b.WriteByte('"')
			} else {
				quoted = !quoted
			}
			i++
			continue
		}
		b.WriteString(strings.Repeat(`\`, n))
		if i < len(s) {
			if !quoted && (s[i] == ' ' || s[i] == '\t') {
				t.Fatalf("%s splits into more than one argument", s)
			}
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

func TestResumeCommand(t *testing.T) {
	const exe = `C:\Program Files\stackhand\stackhand.exe`
	opts := InitOptions{Stack: "s", Resource: "R", ConfigSets: []string{"a", "b"},
		AWS: AWSFlags{Region: "eu-west-1", HTTPProxy: "http://proxy.internal:3128", HTTPSProxy: "http://u:p4ss@proxy.internal:3128",
			AccessKey: "AKIDEXAMPLE", SecretKey: "s3cr3t"}}
	argv, notes := resumeCommand(exe, opts)
	want := []string{exe, "cfn-init", "-v", "--resume", "--http-proxy", "http://proxy.internal:3128"}
	if !slices.Equal(argv, want) {
		t.Errorf("argv %q, want %q", argv, want)
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "--https-proxy carries credentials") || !strings.Contains(notes[1], "credentials flags are not carried over") {
		t.Errorf("notes %q", notes)
	}
	for _, s := range append(argv, notes...) {
		if strings.Contains(s, "s3cr3t") || strings.Contains(s, "p4ss") {
			t.Errorf("a secret in %q", s)
		}
	}
	// Through the drop-in, the program is cfn-init already.
	dropIn := `C:\Program Files\Amazon\cfn-bootstrap\cfn-init.exe`
	if argv, notes := resumeCommand(dropIn, InitOptions{}); !slices.Equal(argv, []string{dropIn, "-v", "--resume"}) || notes != nil {
		t.Errorf("drop-in: argv %q notes %q", argv, notes)
	}
	// A proxy without a scheme, user and password: left out too.
	if argv, _ := resumeCommand(exe, InitOptions{AWS: AWSFlags{HTTPSProxy: "user:pw@proxy:8080"}}); len(argv) != 4 {
		t.Errorf("schemeless proxy with credentials: argv %q", argv)
	}
}

func TestResumeTaskCreateArgs(t *testing.T) {
	args, err := resumeTaskCreateArgs([]string{`C:\Program Files\stackhand\stackhand.exe`, "cfn-init", "-v", "--resume", "--https-proxy", "http://proxy:3128"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/Create", "/TN", "stackhand cfn-init Resume Trigger", "/SC", "ONSTART", "/DELAY", "0000:30",
		"/RU", "SYSTEM", "/RL", "HIGHEST", "/F",
		"/TR", `"C:\Program Files\stackhand\stackhand.exe" cfn-init -v --resume --https-proxy http://proxy:3128`}
	if !slices.Equal(args, want) {
		t.Errorf("schtasks args\n%q\nwant\n%q", args, want)
	}
	if got := resumeTaskDeleteArgs(); !slices.Equal(got, []string{"/Delete", "/TN", "stackhand cfn-init Resume Trigger", "/F"}) {
		t.Errorf("delete args %q", got)
	}
	long := `C:\` + strings.Repeat("d", 250) + `\stackhand.exe`
	if _, err := resumeTaskCreateArgs([]string{long, "cfn-init", "-v", "--resume"}); err == nil || !strings.Contains(err.Error(), "over the 261") {
		t.Errorf("a /TR over 261 characters: err %v", err)
	}
}

func TestResumeTaskAction(t *testing.T) {
	reboot := &cfninit.Result{Reboot: true}
	done := &cfninit.Result{Configs: []string{"c"}}
	fail := errors.New("command failed")
	for _, tc := range []struct {
		name   string
		goos   string
		resume bool
		res    *cfninit.Result
		err    error
		want   taskAction
	}{
		{"linux never", "linux", true, reboot, nil, taskNone},
		{"stopped for a reboot", "windows", false, reboot, nil, taskCreate},
		{"resumed and stopped again", "windows", true, reboot, nil, taskCreate},
		{"plain run", "windows", false, done, nil, taskNone},
		{"plain run failed", "windows", false, nil, fail, taskNone},
		{"resumed to the end", "windows", true, done, nil, taskDelete},
		{"resumed and failed", "windows", true, &cfninit.Result{}, fail, taskDelete},
		{"resumed, nothing read", "windows", true, nil, fail, taskDelete},
	} {
		if got := resumeTaskAction(tc.goos, InitOptions{Resume: tc.resume}, tc.res, tc.err); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// fakeWindows makes this process look like Windows for the resume task and records
// schtasks.exe's argument vectors; fail makes every call fail.
func fakeWindows(t *testing.T, exe string, fail bool) *[][]string {
	t.Helper()
	var calls [][]string
	oldOS, oldRun, oldExe := taskOS, schtasks, executable
	taskOS = "windows"
	schtasks = func(_ context.Context, args []string) ([]byte, error) {
		calls = append(calls, args)
		if fail {
			return []byte("ERROR: Access is denied.\r\n"), errors.New("exit status 1")
		}
		return []byte("SUCCESS\r\n"), nil
	}
	executable = func() (string, error) { return exe, nil }
	t.Cleanup(func() { taskOS, schtasks, executable = oldOS, oldRun, oldExe })
	return &calls
}

func TestManageResumeTask(t *testing.T) {
	const exe = `C:\Program Files\stackhand\stackhand.exe`
	calls := fakeWindows(t, exe, false)
	var lines []string
	logf := func(warn bool, msg string) { lines = append(lines, msg) }
	err := manageResumeTask(context.Background(), InitOptions{AWS: AWSFlags{SecretKey: "s3cr3t", AccessKey: "AK"}},
		&cfninit.Result{Reboot: true}, nil, logf)
	if err != nil {
		t.Fatal(err)
	}
	if len(*calls) != 1 || (*calls)[0][0] != "/Create" || (*calls)[0][len((*calls)[0])-1] != `"`+exe+`" cfn-init -v --resume` {
		t.Errorf("schtasks calls %q", *calls)
	}
	if strings.Contains(strings.Join(lines, "\n"), "s3cr3t") || !strings.Contains(strings.Join(lines, "\n"), "Registered the scheduled task") {
		t.Errorf("log %q", lines)
	}

	// A task that cannot be registered fails the run, saying what to run by hand.
	calls = fakeWindows(t, exe, true)
	err = manageResumeTask(context.Background(), InitOptions{}, &cfninit.Result{Reboot: true}, nil, logf)
	if err == nil || !strings.Contains(err.Error(), "Access is denied") || !strings.Contains(err.Error(), `after the reboot run: "`+exe+`" cfn-init -v --resume`) {
		t.Errorf("failed registration: %v", err)
	}
	// One that cannot be deleted is only logged.
	lines = nil
	if err := manageResumeTask(context.Background(), InitOptions{Resume: true}, &cfninit.Result{}, nil, logf); err != nil {
		t.Errorf("failed deletion: %v", err)
	}
	if len(*calls) != 2 || (*calls)[1][0] != "/Delete" || len(lines) != 1 || !strings.Contains(lines[0], "could not delete") {
		t.Errorf("calls %q log %q", *calls, lines)
	}
}
