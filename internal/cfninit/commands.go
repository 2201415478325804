package cfninit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// What cfn-init does with commands, from aws-cfn-bootstrap's cfnbootstrap/command_tool.py,
// util.py (ProcessHelper, LoggingProcessHelper) and construction.py:
//   - commands run by name, sorted; a string runs through the shell (Python's
//     subprocess shell=True: /bin/sh -c on Unix, %COMSPEC% /c on Windows), a list
//     without one;
//   - env, when given, is the command's whole environment (Popen's env= replaces it),
//     for the test as for the command; cwd applies to both;
//   - test runs first; a non-zero exit skips the command ("Test failed with code N"
//     at info) and the command counts as not run;
//   - a failing command stops the config unless ignoreErrors is true; with it, the
//     command counts as run;
//   - output goes to cfn-init-cmd.log, framed by a line of 60 '=', 'Running command',
//     an output banner, each line indented by a tab, and 'Completed successfully.' or
//     'Exited with error code N';
//   - waitAfterCompletion is honoured on Windows only (construction.py runs Linux
//     commands straight through CommandTool.apply, which never waits); there its
//     default is 60 seconds, "forever" ends cfn-init expecting a reboot and --resume
//     to continue, and a command that did not run (its test failed) is not waited on.

// commandOS is the platform whose waitAfterCompletion rules apply; a variable so that
// tests on Linux can exercise Windows's.
var commandOS = runtime.GOOS

// sleepCtx waits d or until ctx ends; a variable so that tests do not sleep.
var sleepCtx = func(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// tailLines is how many of a failing command's last output lines its error carries.
const tailLines = 20

// applyCommands runs the config's commands in order.
func (r *Runner) applyCommands(ctx context.Context, c *Config, ch *Changes, res *Result) error {
	for i := range c.Commands {
		cmd := &c.Commands[i]
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.progress.commandDone(c.Name, cmd.Name) {
			r.Log.Info("command " + cmd.Name + " already ran before the reboot, skipping (--resume)")
			ch.Commands[cmd.Name] = true
			continue
		}
		ran, err := r.runCommand(ctx, cmd)
		if err != nil {
			return fmt.Errorf("command %s: %w", cmd.Name, err)
		}
		if !ran {
			continue
		}
		ch.Commands[cmd.Name] = true
		res.Changed = append(res.Changed, "command "+cmd.Name)
		wait, forever, err := commandWait(cmd)
		if err != nil {
			return fmt.Errorf("command %s: %w", cmd.Name, err)
		}
		if wait == 0 && !forever {
			continue
		}
		if err := r.progress.recordCommand(c.Name, cmd.Name, ch); err != nil {
			return err
		}
		if forever {
			r.Log.Info("command " + cmd.Name + ": waitAfterCompletion forever, stopping for the reboot; continue with --resume")
			res.Reboot = true
			return nil
		}
		r.Log.Info(fmt.Sprintf("command %s: waiting %v (waitAfterCompletion)", cmd.Name, wait))
		if err := sleepCtx(ctx, wait); err != nil {
			return err
		}
	}
	return nil
}

// commandWait returns how long to wait after cmd ran, or forever; zero on Linux.
func commandWait(c *Command) (time.Duration, bool, error) {
	if commandOS != "windows" {
		return 0, false, nil
	}
	v := strings.TrimSpace(c.WaitAfterCompletion)
	switch {
	case v == "":
		return 60 * time.Second, false, nil
	case strings.EqualFold(v, "forever"):
		return 0, true, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false, fmt.Errorf("waitAfterCompletion %q is neither a number of seconds nor \"forever\"", c.WaitAfterCompletion)
	}
	return time.Duration(n) * time.Second, false, nil
}

// runCommand runs cmd's test and then cmd; ran is false when the test skipped it.
func (r *Runner) runCommand(ctx context.Context, c *Command) (ran bool, err error) {
	env := commandEnv(c.Env)
	if c.Test != "" {
		out, code, err := r.exec(ctx, shellArgs(c.Test), env, c.Cwd)
		if err != nil {
			return false, fmt.Errorf("test %q: %w", c.Test, err)
		}
		r.Log.Debug("test output", zap.String("command", c.Name), zap.ByteString("output", out))
		if code != 0 {
			r.Log.Info(fmt.Sprintf("command %s: test failed with code %d, skipping command", c.Name, code))
			return false, nil
		}
	}
	argv := c.Args
	shown := strings.Join(c.Args, " ")
	if len(argv) == 0 {
		argv = shellArgs(c.Shell)
		shown = c.Shell
	}
	start := time.Now()
	out, code, err := r.exec(ctx, argv, env, c.Cwd)
	if err != nil {
		return false, err
	}
	r.writeCmdLog(c.Name, shown, out, code)
	if code == 0 {
		r.Log.Info("command "+c.Name+" succeeded", zap.Duration("took", time.Since(start)))
		return true, nil
	}
	if c.IgnoreErrors {
		r.Log.Info(fmt.Sprintf("command %s failed with exit code %d; ignoreErrors is set, continuing", c.Name, code))
		return true, nil
	}
	return false, fmt.Errorf("failed with exit code %d (ignoreErrors is not set; the whole output is in the command log); last output:\n%s", code, tail(out, tailLines))
}

// commandEnv is the environment of a command: env alone when given (cfn-init
// replaces the environment), else the agent's.
func commandEnv(env map[string]string) []string {
	if len(env) == 0 {
		return os.Environ()
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// exec runs argv in its own process group (killed as a group when ctx ends), with
// stdout and stderr together in a private temporary file, not a pipe: a command that
// leaves a daemon behind holding its output returns when it exits, not when the
// daemon closes the pipe. It returns the output and the exit code; err is for a
// command that could not be started or was ended by ctx.
func (r *Runner) exec(ctx context.Context, argv []string, env []string, cwd string) ([]byte, int, error) {
	outf, err := os.CreateTemp("", "stackhand-cfn-cmd-*")
	if err != nil {
		return nil, -1, fmt.Errorf("a temporary file for the output: %v", err)
	}
	defer os.Remove(outf.Name())
	defer outf.Close()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = cwd
	cmd.Stdout = outf
	cmd.Stderr = outf
	inGroup(cmd) // the packages section's helper: a process group, killed whole on cancel
	shellCommandLine(cmd, argv)
	werr := cmd.Run()
	if ctx.Err() != nil {
		out := readAll(outf)
		if cmd.ProcessState == nil { // never started
			return out, -1, ctx.Err()
		}
		return out, -1, fmt.Errorf("ended (with its process group) because the run was stopped: %w", ctx.Err())
	}
	if cmd.ProcessState == nil {
		where := ""
		if cwd != "" {
			where = " in " + cwd
		}
		return nil, -1, fmt.Errorf("cannot start %s%s: %v", argv[0], where, werr)
	}
	// A group the command left behind is not the run's to keep: on Unix the leader is
	// gone, what remains was started by it and is left to run (cfn-init leaves it too:
	// commands routinely start daemons).
	out := readAll(outf)
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return out, -1, werr
	}
	code := cmd.ProcessState.ExitCode()
	if code == -1 {
		return out, -1, fmt.Errorf("ended by %s; last output:\n%s", cmd.ProcessState.String(), tail(out, tailLines))
	}
	return out, code, nil
}

func readAll(f *os.File) []byte {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(f)
	return b
}

// tail returns the last n lines of out.
func tail(out []byte, n int) string {
	s := strings.TrimRight(string(out), "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writeCmdLog writes one command's run to CmdLog in cfn-init-cmd.log's shape.
func (r *Runner) writeCmdLog(name, shown string, out []byte, code int) {
	if r.CmdLog == nil {
		return
	}
	ts := time.Now().UTC().Format("2006-01-02 15:04:05,000")
	var b bytes.Buffer
	line := func(level, s string) { fmt.Fprintf(&b, "%s P%d [%s] %s\n", ts, os.Getpid(), level, s) }
	line("INFO", strings.Repeat("=", 60))
	line("INFO", "Command "+name)
	line("INFO", fmt.Sprintf("Running command %q", shown))
	if len(out) > 0 {
		line("INFO", center("Command Output", 60, '-'))
		for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			line("INFO", "\t"+l)
		}
		line("INFO", strings.Repeat("-", 60))
	}
	if code != 0 {
		line("ERROR", fmt.Sprintf("Exited with error code %d", code))
	} else {
		line("INFO", "Completed successfully.")
	}
	r.CmdLog.Write(b.Bytes())
}

// center pads s with c on both sides to width, as Python's str.center does.
func center(s string, width int, c byte) string {
	if len(s) >= width {
		return s
	}
	pad := width - len(s)
	left := pad / 2
	if pad%2 == 1 && len(s)%2 == 1 {
		left++
	}
	return strings.Repeat(string(c), left) + s + strings.Repeat(string(c), pad-left)
}
