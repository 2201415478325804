package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/testenv"

	"github.com/stackhand/stackhand/internal/event"
)

// The end-to-end tests build the real binary once and drive it only through files and
// its command line, as a fleet owner would.

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stackhand-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "stackhand")
	// -tags crashpoints: STACKHAND_CRASH_AT lets a test SIGKILL a deploy at a chosen
	// phase (internal/release/crashpoint_on.go); without the variable it does nothing.
	build := exec.Command("go", "build", "-race", "-tags", "crashpoints", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build the agent:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// waitLimit bounds every wait for the agent to do something.
const waitLimit = 30 * time.Second

// world is one instance's worth of files: config, local-mode sources, hooks, state.
type world struct {
	t     testing.TB
	dir   string
	local string
	hooks string
	state string
	cfg   string
	rec   string
}

const baseConfig = `mode: local
stack: e2e-stack
resource: WebServer
interval: 60s
hooks_dir: hooks.d
state_dir: state
log_dir: log
kill_grace: 200ms
shutdown_grace: 2s
local:
  dir: local
`

// newWorld makes a world whose config is baseConfig followed by extra.
func newWorld(t testing.TB, extra string) *world {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, dir: dir, local: filepath.Join(dir, "local"), hooks: filepath.Join(dir, "hooks.d"),
		state: filepath.Join(dir, "state"), cfg: filepath.Join(dir, "stackhand.yaml"), rec: filepath.Join(dir, "record")}
	for _, d := range []string{w.local, w.hooks, filepath.Join(dir, "payloads")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w.writeFile(w.cfg, baseConfig+extra)
	w.writeLocal("instance.json", `{"instance_id": "i-0e2e0000000000001", "region": "eu-west-1", "az": "eu-west-1a", "private_ip": "10.0.0.1"}`)
	return w
}

func (w *world) writeFile(path, content string) {
	w.t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		w.t.Fatal(err)
	}
}

// writeLocal replaces a local-mode source file in one step, as an editor saving it would.
func (w *world) writeLocal(name, content string) { w.writeFile(filepath.Join(w.local, name), content) }

// hook installs an executable hook with the given shell body.
func (w *world) hook(ev, name, body string) {
	w.t.Helper()
	dir := filepath.Join(w.hooks, ev)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		w.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.Chmod(path, 0o755); err != nil {
		w.t.Fatal(err)
	}
}

// recordLine is the shell that appends "<event> <id> retry=<0|1>" to the record file and
// keeps a copy of the payload.
func (w *world) recordLine() string {
	// The payload is copied before the line is written: a test that sees the line may read it.
	return fmt.Sprintf(`cp "$STACKHAND_EVENT_FILE" %q/"$STACKHAND_EVENT_ID".json
echo "$STACKHAND_EVENT $STACKHAND_EVENT_ID retry=${STACKHAND_RETRY:-0}" >> %q`, filepath.Join(w.dir, "payloads"), w.rec)
}

// recordHooks installs a recording hook for each event named.
func (w *world) recordHooks(events ...event.Kind) {
	for _, e := range events {
		w.hook(string(e), "10-record", w.recordLine())
	}
}

// records returns the record file's lines.
func (w *world) records() []string {
	b, err := os.ReadFile(w.rec)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		w.t.Fatal(err)
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}

// events returns "<event>" for each recorded line, in order.
func (w *world) events() []string {
	var out []string
	for _, r := range w.records() {
		out = append(out, strings.Fields(r)[0])
	}
	return out
}

// ids returns the event id of each recorded line, in order.
func (w *world) ids() []string {
	var out []string
	for _, r := range w.records() {
		out = append(out, strings.Fields(r)[1])
	}
	return out
}

// payload reads the payload a recording hook kept for event id.
func (w *world) payload(id string) event.Payload {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, "payloads", id+".json"))
	if err != nil {
		w.t.Fatal(err)
	}
	var p event.Payload
	if err := json.Unmarshal(b, &p); err != nil {
		w.t.Fatalf("payload %s: %v", id, err)
	}
	return p
}

// until waits for cond, failing the test with what the agent said if it never holds.
func (w *world) until(what string, a *agent, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			out := ""
			if a != nil {
				out = a.output()
			}
			w.t.Fatalf("timed out waiting for %s; records %v\nagent output:\n%s", what, w.records(), out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEvents waits until n events were recorded and returns their names.
func (w *world) waitEvents(a *agent, n int) []string {
	w.t.Helper()
	w.until(fmt.Sprintf("%d recorded events", n), a, func() bool { return len(w.records()) >= n })
	return w.events()
}

// cli runs a stackhand command against this world's config.
func (w *world) cli(args ...string) (stdout, stderr string, code int) {
	w.t.Helper()
	cmd := exec.Command(binPath, append(args, "--config", w.cfg)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		w.t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// statusJSON returns `stackhand status --json` decoded loosely.
func (w *world) statusJSON() map[string]any {
	w.t.Helper()
	out, errOut, code := w.cli("status", "--json")
	if code != 0 {
		w.t.Fatalf("status --json exit %d: %s", code, errOut)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		w.t.Fatalf("status --json: %v\n%s", err, out)
	}
	return m
}

// agent is a running `stackhand run`.
type agent struct {
	t    testing.TB
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	code int
}

// syncBuffer is testenv.Buffer: written and read at the same time.
type syncBuffer = testenv.Buffer

// start runs the agent on this world; extra arguments follow `run --config`.
func (w *world) start(extra ...string) *agent {
	w.t.Helper()
	return w.startCmd(exec.Command(binPath, append([]string{"run", "--config", w.cfg}, extra...)...))
}

func (w *world) startCmd(cmd *exec.Cmd) *agent {
	w.t.Helper()
	a := w.launch(cmd)
	// Wait until the agent holds its state directory and its engine runs (or it exited),
	// so that a command run next finds it.
	w.until("the agent to start", a, func() bool {
		select {
		case <-a.done:
			return true
		default:
		}
		return strings.Contains(a.output(), "engine started")
	})
	return a
}

// launch starts cmd as the agent and returns at once; the test's end kills it if it still
// runs.
func (w *world) launch(cmd *exec.Cmd) *agent {
	w.t.Helper()
	a := &agent{t: w.t, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = a.out, a.out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		a.code = 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			a.code = ee.ExitCode()
		}
		close(a.done)
	}()
	w.t.Cleanup(func() {
		select {
		case <-a.done:
		default:
			cmd.Process.Kill()
			<-a.done
		}
	})
	return a
}

func (a *agent) output() string { return a.out.String() }

// exited waits for the agent to end and returns its exit code.
func (a *agent) exited() int {
	a.t.Helper()
	select {
	case <-a.done:
		return a.code
	case <-time.After(waitLimit):
		a.t.Fatalf("the agent did not exit\n%s", a.output())
	}
	return -1
}

// stop sends SIGTERM and waits for the exit code.
func (a *agent) stop() int {
	a.t.Helper()
	a.cmd.Process.Signal(syscall.SIGTERM)
	return a.exited()
}

// kill sends SIGKILL and waits until the process is gone.
func (a *agent) kill() {
	a.t.Helper()
	a.cmd.Process.Kill()
	a.exited()
}

// alive reports whether pid runs (a zombie counts as gone: nothing reaps orphans here).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

func readPID(t testing.TB, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Scan()
	pid, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pid
}
