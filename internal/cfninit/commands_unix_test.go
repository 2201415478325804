//go:build unix

package cfninit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/stackhand/stackhand/internal/testenv"
)

// syncBuffer is testenv.Buffer: written and read at the same time.
type syncBuffer = testenv.Buffer

func cmdRunner(t *testing.T) (*Runner, *syncBuffer) {
	r, _ := testRunner(t)
	var log syncBuffer
	r.CmdLog = &log
	return r, &log
}

func runCommands(ctx context.Context, r *Runner, cmds ...Command) (*Changes, *Result, error) {
	ch, res := newChanges(), &Result{}
	err := r.applyCommands(ctx, &Config{Name: "c", Commands: cmds}, ch, res)
	return ch, res, err
}

func TestCommandsOrderShellArgsEnvCwd(t *testing.T) {
	r, cmdLog := cmdRunner(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	t.Setenv("STACKHAND_TEST_INHERITED", "leak")
	ch, res, err := runCommands(context.Background(), r,
		Command{Name: "01-shell", Shell: "echo one >> " + out},
		// The list form runs without a shell: "a b" stays one argument, $X stays literal.
		Command{Name: "02-args", Args: []string{"/bin/sh", "-c", `printf '%s|%s\n' "$1" "$2" >> ` + out, "sh", "a b", "$X"}},
		// env replaces the environment: the inherited variable is gone.
		Command{Name: "03-env", Shell: `echo "env:$FOO:${STACKHAND_TEST_INHERITED:-none}" >> ` + out,
			Env: map[string]string{"FOO": "bar"}},
		// cwd: a relative path lands in it.
		Command{Name: "04-cwd", Shell: "pwd > here", Cwd: dir},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := "one\na b|$X\nenv:bar:none\n"
	if got := readString(t, out); got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if got := strings.TrimSpace(readString(t, filepath.Join(dir, "here"))); got != dir {
		t.Errorf("cwd %q, want %q", got, dir)
	}
	for _, n := range []string{"01-shell", "02-args", "03-env", "04-cwd"} {
		if !ch.Commands[n] {
			t.Errorf("%s not recorded as run", n)
		}
	}
	if len(res.Changed) != 4 {
		t.Errorf("changed %v", res.Changed)
	}
	log := cmdLog.String()
	for _, s := range []string{strings.Repeat("=", 60), "Command 01-shell", `Running command "echo one >> `, "Completed successfully."} {
		if !strings.Contains(log, s) {
			t.Errorf("command log lacks %q:\n%s", s, log)
		}
	}
}

func TestCommandsTestSkips(t *testing.T) {
	r, logs := testRunner(t)
	dir := t.TempDir()
	ch, res, err := runCommands(context.Background(), r,
		Command{Name: "a", Shell: "touch " + filepath.Join(dir, "a"), Test: "test -e /nonexistent-xyz"},
		// The test gets the command's env and cwd.
		Command{Name: "b", Shell: "touch b", Test: `test "$FOO" = bar && test "$(pwd)" = ` + dir,
			Env: map[string]string{"FOO": "bar", "PATH": os.Getenv("PATH")}, Cwd: dir},
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
		t.Error("a ran though its test failed")
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); err != nil {
		t.Error("b did not run though its test passed")
	}
	if ch.Commands["a"] || !ch.Commands["b"] || len(res.Changed) != 1 {
		t.Errorf("recorded %v", ch.Commands)
	}
	if !logged(logs, zapcore.InfoLevel, "command a: test failed with code 1, skipping command") {
		t.Errorf("no info line for the skip:\n%s", allLogs(logs))
	}
}

func TestCommandsFailureTailAndIgnoreErrors(t *testing.T) {
	r, cmdLog := cmdRunner(t)
	dir := t.TempDir()
	ch, _, err := runCommands(context.Background(), r,
		Command{Name: "1-ignored", Shell: "exit 3", IgnoreErrors: true},
		Command{Name: "2-fails", Shell: `for i in $(seq -w 1 30); do echo line-$i; done; echo oops >&2; exit 7`},
		Command{Name: "3-never", Shell: "touch " + filepath.Join(dir, "never")},
	)
	if err == nil {
		t.Fatal("no error for a failing command")
	}
	msg := err.Error()
	for _, s := range []string{"command 2-fails", "exit code 7", "line-12", "line-30", "oops"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error lacks %q: %s", s, msg)
		}
	}
	if strings.Contains(msg, "line-11") {
		t.Errorf("error carries more than the last %d lines: %s", tailLines, msg)
	}
	if !ch.Commands["1-ignored"] {
		t.Error("a failed command with ignoreErrors counts as run, as in cfn-init")
	}
	if _, err := os.Stat(filepath.Join(dir, "never")); err == nil {
		t.Error("a command after the failure ran")
	}
	log := cmdLog.String()
	for _, s := range []string{"Exited with error code 3", "Exited with error code 7", "\tline-01", "\toops",
		"-----------------------Command Output-----------------------"} {
		if !strings.Contains(log, s) {
			t.Errorf("command log lacks %q:\n%s", s, log)
		}
	}
}

func TestCommandsNotStartable(t *testing.T) {
	r, _ := testRunner(t)
	_, _, err := runCommands(context.Background(), r, Command{Name: "x", Args: []string{"/nonexistent/prog"}})
	if err == nil || !strings.Contains(err.Error(), "cannot start /nonexistent/prog") {
		t.Errorf("err = %v", err)
	}
	_, _, err = runCommands(context.Background(), r, Command{Name: "y", Shell: "true", Cwd: "/nonexistent-dir"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent-dir") {
		t.Errorf("err = %v", err)
	}
}

// procGone says whether pid has exited (gone, or a zombie no one has reaped yet).
func procGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] == 'Z'
}

func TestCommandKilledWithItsChildOnCancel(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc to see the child")
	}
	r, _ := testRunner(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, _, err := runCommands(ctx, r, Command{Name: "hang",
			Shell: "sleep 300 & echo $! > " + pidFile + ".tmp; mv " + pidFile + ".tmp " + pidFile + "; wait"})
		done <- err
	}()
	var child int
	testenv.WaitFor(t, "the command's child to start", func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return false
		}
		child, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(testenv.WaitLimit):
		t.Fatal("the command did not end when the context did")
	}
	testenv.WaitFor(t, "the child to be killed with its group", func() bool { return procGone(child) })
}

func TestWaitAfterCompletion(t *testing.T) {
	c := func(v string) *Command { return &Command{WaitAfterCompletion: v} }
	old := commandOS
	defer func() { commandOS = old }()
	commandOS = "linux"
	d, forever, err := commandWait(c("forever"))
	if d != 0 || forever || err != nil {
		t.Errorf("linux ignores waitAfterCompletion: %v %v %v", d, forever, err)
	}
	commandOS = "windows"
	for v, want := range map[string]time.Duration{"": 60 * time.Second, "0": 0, "45": 45 * time.Second} {
		if d, f, err := commandWait(c(v)); d != want || f || err != nil {
			t.Errorf("%q: %v %v %v, want %v", v, d, f, err, want)
		}
	}
	if _, f, err := commandWait(c("Forever")); !f || err != nil {
		t.Errorf("forever: %v %v", f, err)
	}
	if _, _, err := commandWait(c("soon")); err == nil {
		t.Error("a bad waitAfterCompletion is accepted")
	}
}
