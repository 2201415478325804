package cfninit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// toolTimeout bounds one call of a system tool (a package manager, useradd, systemctl). A
// package install may download for minutes; it must never hang a run for ever.
const toolTimeout = 30 * time.Minute

// outputCap is how much of a tool's output is kept: the tail, where package managers
// print the reason they failed.
const outputCap = 64 << 10

// system is how the sections reach the machine's tools. The zero value is the machine
// itself; tests set fields to point the sections at a local apt repository or to say
// whether systemd runs.
type system struct {
	// aptOptions are passed to every apt-get call before its command ("-o", "Dir::..."),
	// so a test installs from its own repository without touching the machine's sources.
	aptOptions []string
	// systemd overrides the check for a running systemd (/run/systemd/system).
	systemd *bool
	// initDir overrides /etc/init.d, where init scripts live without systemd.
	initDir string
	// timeout overrides toolTimeout.
	timeout time.Duration
	// sbinDirs, when not nil, replaces the directories searched after PATH, so tests
	// see only their recording tools.
	sbinDirs []string
}

func (r *Runner) sysCfg() *system {
	if r.sys == nil {
		return &system{}
	}
	return r.sys
}

// toolResult is one finished call of a tool.
type toolResult struct {
	argv []string
	code int
	out  []byte // stdout and stderr as they interleaved, at most outputCap (the tail)
}

// tail returns the last n non-empty lines of the output, for an error message.
func (t toolResult) tail(n int) string {
	lines := strings.Split(strings.TrimSpace(string(t.out)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// failure is the error for a tool that exited non-zero: the command, the code and the
// tool's own last lines, which say why (a package that does not exist, a bad uid).
func (t toolResult) failure(what string) error {
	msg := fmt.Sprintf("%s: %s exited with code %d", what, strings.Join(t.argv, " "), t.code)
	if tl := t.tail(10); tl != "" {
		msg += ":\n" + tl
	}
	return errors.New(msg)
}

// tailBuffer keeps the last outputCap bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - outputCap; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// runTool runs a system tool with a deadline, in its own process group (killed as a group
// when the deadline passes or ctx ends, so a package manager's children do not linger),
// with stdin closed. extraEnv adds to the agent's environment. A non-zero exit is not an
// error: it is in the result, for the caller to judge (a query's "not installed"); the
// error is for a tool that could not run or was stopped.
func (r *Runner) runTool(ctx context.Context, extraEnv []string, name string, args ...string) (toolResult, error) {
	argv := append([]string{name}, args...)
	res := toolResult{argv: argv, code: -1}
	timeout := r.sysCfg().timeout
	if timeout <= 0 {
		timeout = toolTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	path, err := r.lookTool(name)
	if err != nil {
		return res, err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	var out tailBuffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	inGroup(cmd)
	// A grandchild that keeps the output pipe open must not hold the run after the
	// tool itself is gone.
	cmd.WaitDelay = 5 * time.Second
	if r.Log != nil {
		r.Log.Debug("running " + strings.Join(argv, " "))
	}
	err = cmd.Run()
	res.out = out.buf
	if cmd.ProcessState != nil {
		res.code = cmd.ProcessState.ExitCode()
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return res, fmt.Errorf("%s did not finish within %s and was stopped; output:\n%s", strings.Join(argv, " "), timeout, res.tail(10))
		}
		return res, fmt.Errorf("%s: %w", strings.Join(argv, " "), ctxErr)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return res, fmt.Errorf("run %s: %w", strings.Join(argv, " "), err)
	}
	return res, nil
}

// sbinDirs are where the system administration tools live when PATH lacks them (an agent
// started with a minimal PATH): cfn-init calls /usr/sbin/useradd and /sbin/service by
// their full paths (aws-cfn-bootstrap posix_security.py, service_tools.py).
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"}

// lookTool finds a tool on PATH, then in the system directories. A path (an init
// script) is taken as it is.
func (r *Runner) lookTool(name string) (string, error) {
	if filepath.IsAbs(name) {
		return name, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs := sbinDirs
	if r.sysCfg().sbinDirs != nil {
		dirs = r.sysCfg().sbinDirs
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed (not on PATH nor in %s)", name, strings.Join(dirs, ", "))
}

// haveTool says whether a tool is on PATH (only PATH: used to choose between managers).
func haveTool(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// trimOut is a tool's output as one trimmed string.
func trimOut(t toolResult) string { return string(bytes.TrimSpace(t.out)) }
