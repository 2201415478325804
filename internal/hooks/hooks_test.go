//go:build linux

package hooks

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stackhand/stackhand/internal/event"
)

// fixture is a runner writing under a temporary directory, with a hooks directory
// named like an event's, and a directory for what test hooks write (OUT).
type fixture struct {
	t      *testing.T
	runner *Runner
	logs   *observer.ObservedLogs
	dir    string // hooks.d/deploy
	out    string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	core, logs := observer.New(zapcore.DebugLevel)
	f := &fixture{
		t:    t,
		logs: logs,
		dir:  filepath.Join(root, "hooks.d", "deploy"),
		out:  filepath.Join(root, "out"),
		runner: &Runner{
			PayloadDir: filepath.Join(root, "payloads"),
			LogDir:     filepath.Join(root, "logs"),
			KillGrace:  200 * time.Millisecond,
			Logger:     zap.New(core),
		},
	}
	mkdir(t, f.dir, 0o755)
	mkdir(t, f.out, 0o755)
	return f
}

// spec returns a deploy Spec for the fixture's hooks, with OUT in the environment.
func (f *fixture) spec(id string) Spec {
	return Spec{
		Event:      event.Deploy,
		EventID:    id,
		Reason:     "release changed",
		InstanceID: "i-0123456789abcdef0",
		Stack:      "web",
		Region:     "eu-west-1",
		Dir:        f.dir,
		Env:        []string{"OUT=" + f.out},
		Payload:    []byte(`{"event":"deploy"}`),
		Timeout:    10 * time.Second,
	}
}

// hook writes an executable shell hook into the fixture's hooks directory.
func (f *fixture) hook(name, body string) string {
	f.t.Helper()
	return writeFile(f.t, filepath.Join(f.dir, name), "#!/bin/sh\n"+body+"\n", 0o755)
}

func (f *fixture) read(name string) string {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.out, name))
	if err != nil {
		f.t.Fatalf("read hook output: %v", err)
	}
	return string(b)
}

func (f *fixture) exists(name string) bool {
	_, err := os.Stat(filepath.Join(f.out, name))
	return err == nil
}

func mkdir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: changes file owners and runs as another user")
	}
}

func hookNames(res Result) []string {
	var names []string
	for _, h := range res.Hooks {
		names = append(names, h.Name)
	}
	return names
}

func TestListSkipRules(t *testing.T) {
	dir := t.TempDir()
	type file struct {
		name string
		mode os.FileMode // 0: directory
		link string      // symlink target, when set
	}
	files := []file{
		{name: ".hidden", mode: 0o755},
		{name: "10-backup~", mode: 0o755},
		{name: "11-off.disabled", mode: 0o755},
		{name: "12.dpkg-old", mode: 0o755},
		{name: "13-x.dpkg-new", mode: 0o755},
		{name: "14-x.dpkg-dist", mode: 0o755},
		{name: "15-x.dpkg-tmp", mode: 0o755},
		{name: "16-x.rpmnew", mode: 0o755},
		{name: "17-x.rpmsave", mode: 0o755},
		{name: "18-x.rpmorig", mode: 0o755},
		{name: "20-subdir"},
		{name: "30-plain", mode: 0o644},
		{name: "40-run", mode: 0o755},
		{name: "50-run.sh", mode: 0o700},
		{name: "60-link", link: "40-run"},
		{name: "70-broken", link: "missing"},
		{name: "80-linkdir", link: "20-subdir"},
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		switch {
		case f.link != "":
			if err := os.Symlink(f.link, path); err != nil {
				t.Fatal(err)
			}
		case f.mode == 0:
			mkdir(t, path, 0o755)
		default:
			writeFile(t, path, "#!/bin/sh\n", f.mode)
		}
	}
	hooks, skipped, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hooks {
		got = append(got, h.Name)
		if want := filepath.Join(dir, h.Name); h.Path != want {
			t.Errorf("%s: Path = %s, want %s", h.Name, h.Path, want)
		}
	}
	if want := []string{"40-run", "50-run.sh", "60-link"}; !slices.Equal(got, want) {
		t.Errorf("hooks = %v, want %v", got, want)
	}
	tests := []struct {
		name   string
		reason string
		warn   bool
	}{
		{".hidden", "dotfile", false},
		{"10-backup~", "editor backup", false},
		{"11-off.disabled", "disabled", false},
		{"12.dpkg-old", "dpkg leftover", false},
		{"13-x.dpkg-new", "dpkg leftover", false},
		{"14-x.dpkg-dist", "dpkg leftover", false},
		{"15-x.dpkg-tmp", "dpkg leftover", false},
		{"16-x.rpmnew", "rpm leftover", false},
		{"17-x.rpmsave", "rpm leftover", false},
		{"18-x.rpmorig", "rpm leftover", false},
		{"20-subdir", "directory", false},
		{"30-plain", "not executable (mode 0644); run: chmod +x " + filepath.Join(dir, "30-plain"), true},
		{"70-broken", "cannot stat", true},
		{"80-linkdir", "directory", false},
	}
	bySkip := map[string]Skipped{}
	for _, s := range skipped {
		bySkip[s.Name] = s
	}
	if len(skipped) != len(tests) {
		t.Errorf("skipped %d files, want %d: %+v", len(skipped), len(tests), skipped)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := bySkip[tt.name]
			if !ok {
				t.Fatalf("not skipped")
			}
			if !strings.Contains(s.Reason, tt.reason) || s.Warn != tt.warn {
				t.Errorf("skipped as (%q, warn %v), want (%q, warn %v)", s.Reason, s.Warn, tt.reason, tt.warn)
			}
		})
	}
}

func TestListWindows(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"10-a.ps1", "20-b.CMD", "30-c.bat", "40-d.exe", "50-e.sh", "60-f", ".70.ps1", "80.ps1.disabled"} {
		writeFile(t, filepath.Join(dir, name), "", 0o644) // modes do not matter on Windows
	}
	hooks, skipped, err := list(dir, "windows")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hooks {
		got = append(got, h.Name)
	}
	if want := []string{"10-a.ps1", "20-b.CMD", "30-c.bat", "40-d.exe"}; !slices.Equal(got, want) {
		t.Errorf("hooks = %v, want %v", got, want)
	}
	var warned []string
	for _, s := range skipped {
		if s.Warn {
			warned = append(warned, s.Name)
		}
	}
	if want := []string{"50-e.sh", "60-f"}; !slices.Equal(warned, want) {
		t.Errorf("warned about %v, want %v", warned, want)
	}
}

func TestListMissingDir(t *testing.T) {
	_, _, err := List(filepath.Join(t.TempDir(), "nope"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want a not-exist error", err)
	}
}

func TestRunOrder(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"20-b", "10-a", "100-c", "B", "a", "_x"} {
		f.hook(name, `echo "${0##*/}" >> "$OUT/order"`)
	}
	res := f.runner.Run(context.Background(), f.spec("ev-order"))
	if !res.OK {
		t.Fatalf("run failed: %+v", res)
	}
	want := []string{"10-a", "100-c", "20-b", "B", "_x", "a"}
	if got := strings.Fields(f.read("order")); !slices.Equal(got, want) {
		t.Errorf("ran %v, want %v", got, want)
	}
	if got := hookNames(res); !slices.Equal(got, want) {
		t.Errorf("Hooks = %v, want %v", got, want)
	}
	for _, h := range res.Hooks {
		if h.ExitCode != 0 || h.Duration <= 0 || h.LogFile != filepath.Join(f.runner.LogDir, "ev-order", h.Name+".log") {
			t.Errorf("%s: %+v", h.Name, h)
		}
	}
}

// envMap parses `env` output; it fails on a key seen twice.
func envMap(t *testing.T, dump string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for line := range strings.Lines(dump) {
		k, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		if !ok {
			continue // a continuation of a multi-line value
		}
		if _, dup := m[k]; dup {
			t.Errorf("%s is in the environment twice", k)
		}
		m[k] = v
	}
	return m
}

func TestRunEnv(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*Spec)
		agentEnv map[string]string
		want     map[string]string
		absent   []string
	}{
		{
			name: "contract",
			want: map[string]string{
				"STACKHAND_EVENT":       "deploy",
				"STACKHAND_EVENT_ID":    "ev-env",
				"STACKHAND_REASON":      "release changed",
				"STACKHAND_INSTANCE_ID": "i-0123456789abcdef0",
				"STACKHAND_STACK":       "web",
				"AWS_REGION":            "eu-west-1",
				"AGENT_ONLY":            "kept",
			},
			agentEnv: map[string]string{"AGENT_ONLY": "kept", "STACKHAND_RETRY": "1", "AWS_REGION": "us-east-1"},
			absent:   []string{"STACKHAND_RETRY"},
		},
		{
			name:   "retry",
			edit:   func(s *Spec) { s.Retry = true },
			want:   map[string]string{"STACKHAND_RETRY": "1"},
			absent: nil,
		},
		{
			name: "spec env overrides, last wins",
			edit: func(s *Spec) {
				s.Env = append(s.Env, "FOO=1", "STACKHAND_REASON=from config", "FOO=2", "CFN_NEW_X=new")
			},
			want: map[string]string{"FOO": "2", "STACKHAND_REASON": "from config", "CFN_NEW_X": "new"},
		},
		{
			name:     "empty region keeps the agent's",
			edit:     func(s *Spec) { s.Region = "" },
			agentEnv: map[string]string{"AWS_REGION": "us-east-1"},
			want:     map[string]string{"AWS_REGION": "us-east-1"},
		},
		{
			name:     "default PATH",
			agentEnv: map[string]string{"PATH": ""},
			want:     map[string]string{"PATH": defaultPath},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.agentEnv {
				t.Setenv(k, v)
			}
			f := newFixture(t)
			f.hook("10-env", `env > "$OUT/env"; cat > "$OUT/stdin"`)
			s := f.spec("ev-env")
			if tt.edit != nil {
				tt.edit(&s)
			}
			res := f.runner.Run(context.Background(), s)
			if !res.OK {
				t.Fatalf("run failed: %+v", res)
			}
			env := envMap(t, f.read("env"))
			for k, v := range tt.want {
				if got, ok := env[k]; !ok || got != v {
					t.Errorf("%s = %q (set: %v), want %q", k, got, ok, v)
				}
			}
			for _, k := range tt.absent {
				if v, ok := env[k]; ok {
					t.Errorf("%s = %q, want it unset", k, v)
				}
			}
			if got := env["STACKHAND_EVENT_FILE"]; got != res.PayloadFile || !filepath.IsAbs(got) {
				t.Errorf("STACKHAND_EVENT_FILE = %q, want the absolute payload path %q", got, res.PayloadFile)
			}
		})
	}
}

func TestRunPayload(t *testing.T) {
	big := bytes.Repeat([]byte(`{"k":"0123456789abcdef"},`), 2<<20/25+1)
	big = append(append([]byte("["), big...), []byte(`{}]`)...)
	tests := []struct {
		name    string
		payload []byte
		want    []byte
	}{
		{"small", []byte(`{"event":"deploy","peers":[]}`), []byte(`{"event":"deploy","peers":[]}`)},
		{"empty becomes {}", nil, []byte(`{}`)},
		{"over 2 MiB", big, big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.hook("10-payload", `cat > "$OUT/stdin"; cat "$STACKHAND_EVENT_FILE" > "$OUT/file"`)
			s := f.spec("ev-payload")
			s.Payload = tt.payload
			res := f.runner.Run(context.Background(), s)
			if !res.OK {
				t.Fatalf("run failed: %+v", res)
			}
			if got := f.read("stdin"); got != string(tt.want) {
				t.Errorf("stdin: %d bytes, want %d", len(got), len(tt.want))
			}
			if got := f.read("file"); got != string(tt.want) {
				t.Errorf("event file: %d bytes, want %d", len(got), len(tt.want))
			}
			if want := filepath.Join(f.runner.PayloadDir, "ev-payload.json"); res.PayloadFile != want {
				t.Errorf("PayloadFile = %s, want %s", res.PayloadFile, want)
			}
			for path, mode := range map[string]os.FileMode{res.PayloadFile: 0o600, f.runner.PayloadDir: 0o700} {
				if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
					t.Errorf("%s: mode %v (%v), want %04o", path, fi.Mode().Perm(), err, mode)
				}
			}
		})
	}
}

func TestRunFailFast(t *testing.T) {
	f := newFixture(t)
	f.hook("10-ok", `echo one; touch "$OUT/10"`)
	f.hook("20-fail", `i=0; while [ $i -lt 300 ]; do echo "filler line $i of output"; i=$((i+1)); done
echo "error: the database is gone" >&2
exit 3`)
	f.hook("30-never", `touch "$OUT/30"`)
	res := f.runner.Run(context.Background(), f.spec("ev-fail"))
	if res.OK || res.Failed != "20-fail" {
		t.Fatalf("OK = %v, Failed = %q; want a failure at 20-fail", res.OK, res.Failed)
	}
	if !f.exists("10") || f.exists("30") {
		t.Errorf("10 ran: %v, 30 ran: %v; want only 10", f.exists("10"), f.exists("30"))
	}
	if got := hookNames(res); !slices.Equal(got, []string{"10-ok", "20-fail"}) {
		t.Errorf("Hooks = %v", got)
	}
	if !slices.Equal(res.NotRun, []string{"30-never"}) {
		t.Errorf("NotRun = %v", res.NotRun)
	}
	h := res.Hooks[1]
	if h.ExitCode != 3 || h.TimedOut || h.Canceled || h.Signal != "" || h.OK() {
		t.Errorf("hook result %+v, want exit code 3", h)
	}
	if !strings.HasSuffix(res.Tail, "filler line 299 of output\nerror: the database is gone\n") {
		t.Errorf("Tail ends %q", res.Tail[max(0, len(res.Tail)-80):])
	}
	if len(res.Tail) > tailSize || !strings.HasPrefix(res.Tail, "filler line ") {
		t.Errorf("Tail is %d bytes and starts %q; want at most %d from a line start", len(res.Tail), res.Tail[:20], tailSize)
	}
}

func TestRunStartError(t *testing.T) {
	f := newFixture(t)
	writeFile(t, filepath.Join(f.dir, "10-noshebang"), "echo hi\n", 0o755)
	res := f.runner.Run(context.Background(), f.spec("ev-start"))
	if res.OK || res.Failed != "10-noshebang" {
		t.Fatalf("OK = %v, Failed = %q", res.OK, res.Failed)
	}
	h := res.Hooks[0]
	if h.ExitCode != -1 || !strings.Contains(h.Err, "#!") || !strings.Contains(res.Tail, "#!") {
		t.Errorf("hook %+v, tail %q; want a #! hint", h, res.Tail)
	}
}

// treeHook starts children the way hooks leave them behind (background, setsid,
// double fork, ignoring SIGTERM), records their pids in $PIDS, and sleeps.
const treeHook = `echo $$ >> "$PIDS"
sh -c 'echo $$ >> "$PIDS"; exec sleep 300' &
setsid sh -c 'echo $$ >> "$PIDS"; exec sleep 300' &
(sh -c 'echo $$ >> "$PIDS"; exec sleep 300' &)
sh -c 'trap "" TERM; echo $$ >> "$PIDS"; exec sleep 300' &
echo started
sleep 300`

const treeSize = 5

func readPids(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var pids []int
	for _, s := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("pid file %s: %v", path, err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// running reports whether pid is a live process (a zombie waiting for its reaper is not).
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	p, err := parseStat(b)
	return err == nil && p.running()
}

// waitGone waits, with a deadline, for every pid to stop running.
func waitGone(t *testing.T, pids []int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for running(pid) {
			if time.Now().After(deadline) {
				t.Errorf("pid %d still runs after the hook was ended", pid)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// killAtCleanup ends, by pid, what a test hook started, should the runner have missed it.
func killAtCleanup(t *testing.T, pidFile string) {
	t.Cleanup(func() {
		for _, pid := range readPids(t, pidFile) {
			if running(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
}

func TestRunEndsProcessTree(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		cancel  bool
	}{
		{name: "timeout", timeout: time.Second},
		{name: "context canceled", cancel: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			pidFile := filepath.Join(f.out, "pids")
			killAtCleanup(t, pidFile)
			f.hook("10-tree", treeHook)
			f.hook("20-never", `touch "$OUT/20"`)
			s := f.spec("ev-tree")
			s.Timeout = tt.timeout
			s.Env = append(s.Env, "PIDS="+pidFile)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				go func() {
					deadline := time.Now().Add(10 * time.Second)
					for len(readPids(t, pidFile)) < treeSize && time.Now().Before(deadline) {
						time.Sleep(10 * time.Millisecond)
					}
					cancel()
				}()
			}
			res := f.runner.Run(ctx, s)

			if res.OK || res.Failed != "10-tree" || len(res.Hooks) != 1 || f.exists("20") {
				t.Fatalf("result %+v; want a failure at 10-tree and nothing after", res)
			}
			h := res.Hooks[0]
			if h.TimedOut != !tt.cancel || h.Canceled != tt.cancel {
				t.Errorf("TimedOut = %v, Canceled = %v", h.TimedOut, h.Canceled)
			}
			if h.ExitCode != -1 || h.Signal != "terminated" || h.Duration <= 0 {
				t.Errorf("ExitCode = %d, Signal = %q, Duration = %v; want -1, terminated", h.ExitCode, h.Signal, h.Duration)
			}
			if !strings.HasPrefix(res.Tail, "started\n") || !strings.Contains(res.Tail, "process tree was ended") {
				t.Errorf("Tail = %q", res.Tail)
			}
			pids := readPids(t, pidFile)
			if len(pids) != treeSize {
				t.Fatalf("hook recorded %d pids, want %d", len(pids), treeSize)
			}
			waitGone(t, pids)
		})
	}
}

func TestRunDoesNotWaitForBackgroundChild(t *testing.T) {
	f := newFixture(t)
	pidFile := filepath.Join(f.out, "pids")
	killAtCleanup(t, pidFile)
	// The child keeps the hook's stdout and stderr open after the hook exits.
	f.hook("10-daemon", `sh -c 'echo $$ >> "$PIDS"; exec sleep 300' &
echo launched`)
	s := f.spec("ev-bg")
	s.Env = append(s.Env, "PIDS="+pidFile)
	res := f.runner.Run(context.Background(), s)
	if !res.OK || res.Tail != "launched\n" {
		t.Fatalf("result %+v", res)
	}
	// A hook that exits 0 may leave a service running: the runner does not end it.
	deadline := time.Now().Add(10 * time.Second)
	for len(readPids(t, pidFile)) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if pids := readPids(t, pidFile); len(pids) != 1 || !running(pids[0]) {
		t.Errorf("background child %v should still run", pids)
	}
}

func TestRunRefused(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name  string
		setup func(t *testing.T, f *fixture) string // returns the path the fix names
		want  string                                // with %s for that path
	}{
		{
			name: "group-writable",
			setup: func(t *testing.T, f *fixture) string {
				return writeFile(t, filepath.Join(f.dir, "10-app"), "#!/bin/sh\n", 0o775)
			},
			want: "deploy/10-app is writable by group (mode 0775); run: chmod go-w %s",
		},
		{
			name: "other-writable",
			setup: func(t *testing.T, f *fixture) string {
				return writeFile(t, filepath.Join(f.dir, "10-app"), "#!/bin/sh\n", 0o757)
			},
			want: "deploy/10-app is writable by others (mode 0757); run: chmod go-w %s",
		},
		{
			name: "owned by nobody",
			setup: func(t *testing.T, f *fixture) string {
				p := f.hook("10-app", "")
				if err := os.Chown(p, 65534, 65534); err != nil {
					t.Fatal(err)
				}
				return p
			},
			want: "deploy/10-app is owned by uid 65534 (nobody), not root; run: chown root %s",
		},
		{
			name: "writable directory",
			setup: func(t *testing.T, f *fixture) string {
				f.hook("10-app", "")
				mkdir(t, f.dir, 0o777)
				return f.dir
			},
			want: "deploy/10-app: directory %[1]s is writable by group and others (mode 0777); run: chmod go-w %[1]s",
		},
		{
			name: "symlink to a group-writable target",
			setup: func(t *testing.T, f *fixture) string {
				lib := filepath.Join(filepath.Dir(f.dir), "lib")
				mkdir(t, lib, 0o755)
				target := writeFile(t, filepath.Join(lib, "app.sh"), "#!/bin/sh\n", 0o775)
				if err := os.Symlink(target, filepath.Join(f.dir, "10-app")); err != nil {
					t.Fatal(err)
				}
				return target
			},
			want: "deploy/10-app (-> %[1]s) is writable by group (mode 0775); run: chmod go-w %[1]s",
		},
		{
			name: "symlink into a writable directory",
			setup: func(t *testing.T, f *fixture) string {
				lib := filepath.Join(filepath.Dir(f.dir), "lib")
				mkdir(t, lib, 0o775)
				target := writeFile(t, filepath.Join(lib, "app.sh"), "#!/bin/sh\n", 0o755)
				if err := os.Symlink(target, filepath.Join(f.dir, "10-app")); err != nil {
					t.Fatal(err)
				}
				return lib
			},
			want: "deploy/10-app: directory %[1]s is writable by group (mode 0775); run: chmod go-w %[1]s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			path := tt.setup(t, f)
			f.hook("20-after", `touch "$OUT/20"`)
			res := f.runner.Run(context.Background(), f.spec("ev-refused"))
			if res.OK || res.Failed != "10-app" || len(res.Hooks) != 1 {
				t.Fatalf("result %+v; want 10-app refused", res)
			}
			want := strings.ReplaceAll(tt.want, "%s", path)
			want = strings.ReplaceAll(want, "%[1]s", path)
			if got := res.Hooks[0].Refused; got != want {
				t.Errorf("Refused =\n  %s\nwant\n  %s", got, want)
			}
			if res.Hooks[0].ExitCode != -1 || res.Hooks[0].LogFile != "" {
				t.Errorf("refused hook %+v should not have run", res.Hooks[0])
			}
			if f.exists("20") || !slices.Equal(res.NotRun, []string{"20-after"}) {
				t.Errorf("20-after ran: %v, NotRun = %v", f.exists("20"), res.NotRun)
			}
		})
	}
}

// TestRunLogsOnlyFieldsThatAreSet: a hook's log lines carry signal, refused, not_run and
// the like only when they say something, never as "" or false on every line.
func TestRunLogsOnlyFieldsThatAreSet(t *testing.T) {
	type line struct {
		msg       string
		has, lack []string
	}
	tests := []struct {
		name  string
		root  bool
		setup func(f *fixture)
		lines []line
	}{
		{
			name:  "success",
			setup: func(f *fixture) { f.hook("10-ok", "true") },
			lines: []line{{"hook finished", []string{"hook", "exit_code", "duration"}, []string{"signal", "timed_out", "canceled", "refused", "not_run", "error"}}},
		},
		{
			name: "refused",
			root: true,
			setup: func(f *fixture) {
				writeFile(f.t, filepath.Join(f.dir, "10-app"), "#!/bin/sh\n", 0o775)
				f.hook("20-after", "true")
			},
			lines: []line{{"hook failed; later hooks of this event skipped", []string{"hook", "exit_code", "refused", "not_run"},
				[]string{"signal", "timed_out", "canceled", "error", "duration", "log_file", "tail"}}},
		},
		{
			name: "killed",
			setup: func(f *fixture) {
				f.hook("10-killed", "echo dying; kill -KILL $$")
				f.hook("20-after", "true")
			},
			lines: []line{
				{"hook finished", []string{"hook", "exit_code", "signal", "duration"}, []string{"timed_out", "canceled", "refused", "not_run"}},
				{"hook failed; later hooks of this event skipped", []string{"hook", "exit_code", "signal", "not_run", "duration", "log_file", "tail"},
					[]string{"timed_out", "canceled", "refused", "error"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root {
				requireRoot(t)
			}
			f := newFixture(t)
			tt.setup(f)
			f.runner.Run(context.Background(), f.spec("ev-fields"))
			for _, l := range tt.lines {
				entries := f.logs.FilterMessage(l.msg).AllUntimed()
				if len(entries) != 1 {
					t.Fatalf("%d %q lines, want 1; all: %v", len(entries), l.msg, f.logs.AllUntimed())
				}
				fields := entries[0].ContextMap()
				for _, k := range l.has {
					if _, ok := fields[k]; !ok {
						t.Errorf("%q lacks %s: %v", l.msg, k, fields)
					}
				}
				for _, k := range l.lack {
					if v, ok := fields[k]; ok {
						t.Errorf("%q has %s = %#v: %v", l.msg, k, v, fields)
					}
				}
			}
		})
	}
}

func TestCheckAgentNotRoot(t *testing.T) {
	requireRoot(t) // to chown
	dir := t.TempDir()
	mkdir(t, dir, 0o755)
	const agent = 65534
	tests := []struct {
		name  string
		owner int
		want  string
	}{
		{"owned by root", 0, ""},
		{"owned by the agent's user", agent, ""},
		{"owned by someone else", 1234, "is owned by uid 1234, not root or uid 65534 (the agent's user); run: chown root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, filepath.Join(dir, "hook"), "#!/bin/sh\n", 0o755)
			if err := os.Chown(p, tt.owner, 0); err != nil {
				t.Fatal(err)
			}
			_, err := check(p, "deploy/hook", agent)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("check = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRunNonExecutableAndMissingDir(t *testing.T) {
	f := newFixture(t)
	writeFile(t, filepath.Join(f.dir, "05-README"), "notes\n", 0o644)
	f.hook("10-ok", `touch "$OUT/10"`)
	res := f.runner.Run(context.Background(), f.spec("ev-noexec"))
	if !res.OK || !f.exists("10") {
		t.Fatalf("result %+v; a non-executable file must not fail the event", res)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "deploy/05-README skipped: not executable (mode 0644); run: chmod +x") {
		t.Errorf("Warnings = %q", res.Warnings)
	}

	s := f.spec("ev-missing")
	s.Dir = filepath.Join(filepath.Dir(f.dir), "undeploy")
	res = f.runner.Run(context.Background(), s)
	if !res.OK || len(res.Hooks) != 0 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "does not exist") {
		t.Errorf("missing dir: result %+v; want OK with a warning", res)
	}
}

func TestRunCommand(t *testing.T) {
	const show = `id -u; printf 'meta=%s\n' "$CFN_NEW_METADATA"; echo "user=$USER home=$HOME event=$STACKHAND_EVENT"; head -c 18 -`
	tests := []struct {
		name  string
		runAs string
		euid  int
		root  bool
		ok    bool
		want  []string // in Tail, or in the hook's Err when it fails
	}{
		{name: "as the agent", ok: true, want: []string{strconv.Itoa(os.Geteuid()) + "\n", `meta={"release":"v2"}`, "event=deploy", `{"event":"deploy"}`}},
		{name: "runas nobody", runAs: "nobody", root: true, ok: true, want: []string{"65534\n", `meta={"release":"v2"}`, "user=nobody", `{"event":"deploy"}`}},
		{name: "runas numeric uid", runAs: "65534", root: true, ok: true, want: []string{"65534\n"}},
		{name: "runas root as root", runAs: "root", root: true, ok: true, want: []string{"0\n"}},
		{name: "unknown user", runAs: "no-such-user-sh", want: []string{"runas no-such-user-sh: user: unknown user no-such-user-sh"}},
		{name: "agent not root", runAs: "nobody", euid: 1000, want: []string{"needs the agent to run as root, and it runs as uid 1000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root {
				requireRoot(t)
			}
			f := newFixture(t)
			if tt.euid != 0 {
				f.runner.euid = func() int { return tt.euid }
			}
			s := f.spec("ev-cmd")
			s.Dir = ""
			s.Command = show
			s.RunAs = tt.runAs
			s.Env = append(s.Env, `CFN_NEW_METADATA={"release":"v2"}`)
			res := f.runner.Run(context.Background(), s)
			if res.OK != tt.ok || len(res.Hooks) != 1 || res.Hooks[0].Name != CommandName {
				t.Fatalf("result %+v; want OK = %v", res, tt.ok)
			}
			got := res.Tail
			if !tt.ok {
				got = res.Hooks[0].Err
				if res.Failed != CommandName {
					t.Errorf("Failed = %q", res.Failed)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q does not hold %q", got, w)
				}
			}
		})
	}
}

// TestRunCommandNamedAfterItsRule: two commands are told apart by their rule's name in
// the result and the log file, and no name, however hostile, writes outside the event's
// log directory.
func TestRunCommandNamedAfterItsRule(t *testing.T) {
	f := newFixture(t)
	for i, tc := range []struct{ name, file string }{
		{"cfn-hup:release-hook", "cfn-hup_release-hook.log"},
		{"cfn-hup:cfn-auto-reloader-hook", "cfn-hup_cfn-auto-reloader-hook.log"},
		{"", CommandName + ".log"},
		{"../../etc/x", "_._.._etc_x.log"},
		{"/abs/path", "_abs_path.log"},
		{"a\x00/../b", "a__.._b.log"},
	} {
		id := "ev-" + strconv.Itoa(i)
		s := f.spec(id)
		s.Dir, s.Command, s.Name = "", "echo ran "+strconv.Quote(tc.file), tc.name
		res := f.runner.Run(context.Background(), s)
		want := tc.name
		if want == "" {
			want = CommandName
		}
		if !res.OK || len(res.Hooks) != 1 || res.Hooks[0].Name != want {
			t.Fatalf("name %q: result %+v; want one hook named %q", tc.name, res, want)
		}
		runDir := filepath.Join(f.runner.LogDir, id)
		if got := res.Hooks[0].LogFile; got != filepath.Join(runDir, tc.file) {
			t.Errorf("name %q: log file %s, want %s", tc.name, got, filepath.Join(runDir, tc.file))
		}
		if b, err := os.ReadFile(filepath.Join(runDir, tc.file)); err != nil || !strings.Contains(string(b), "ran") {
			t.Errorf("name %q: log file holds %q (%v)", tc.name, b, err)
		}
	}
	// Nothing but the run directories and their one log each.
	var stray []string
	root := filepath.Dir(f.runner.LogDir)
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		if !d.IsDir() && !strings.HasPrefix(rel, "payloads/") && filepath.Dir(filepath.Dir(rel)) != "logs" {
			stray = append(stray, rel)
		}
		return nil
	})
	if len(stray) > 0 {
		t.Errorf("files outside a run's log directory: %v", stray)
	}
}

func TestRunLogsOutput(t *testing.T) {
	f := newFixture(t)
	// Two short lines, then 1.5 MiB of 1000-byte lines.
	f.hook("10-chatty", `echo "first line"; echo "second line" >&2
awk 'BEGIN { s = sprintf("%999s", ""); gsub(/ /, "x", s); for (i = 0; i < 1536; i++) print s }'`)
	res := f.runner.Run(context.Background(), f.spec("ev-log"))
	if !res.OK {
		t.Fatalf("run failed: %+v", res)
	}
	out := f.logs.FilterField(zap.String("stream", "output"))
	entries := out.AllUntimed()
	if len(entries) < 3 || entries[0].Message != "first line" || entries[1].Message != "second line" {
		t.Fatalf("first output entries: %+v", entries[:min(3, len(entries))])
	}
	for _, e := range entries[:1] {
		fields := e.ContextMap()
		for k, v := range map[string]string{"event": "deploy", "event_id": "ev-log", "hook": "10-chatty", "stream": "output"} {
			if fields[k] != v {
				t.Errorf("field %s = %v, want %s", k, fields[k], v)
			}
		}
		if e.Level != zapcore.InfoLevel {
			t.Errorf("level %v", e.Level)
		}
	}
	var logged int
	for _, e := range entries[:len(entries)-1] {
		logged += len(e.Message)
	}
	if logged > logCap {
		t.Errorf("logged %d bytes of output, cap %d", logged, logCap)
	}
	last := entries[len(entries)-1].Message
	if !strings.HasPrefix(last, "output truncated after 1048576 bytes;") || !strings.Contains(last, res.Hooks[0].LogFile) {
		t.Errorf("last entry %q, want a truncation note", last)
	}
	if fi, err := os.Stat(res.Hooks[0].LogFile); err != nil || fi.Size() != 11+12+1536*1000 || fi.Mode().Perm() != 0o640 {
		t.Errorf("log file: %v, %v; want all output, mode 0640", fi, err)
	}
	if fi, err := os.Stat(filepath.Dir(res.Hooks[0].LogFile)); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("run log dir: %v, %v; want mode 0750", fi, err)
	}
}

func TestPrune(t *testing.T) {
	f := newFixture(t)
	f.runner.Keep = 3
	mkdir(t, f.runner.PayloadDir, 0o700)
	mkdir(t, f.runner.LogDir, 0o750)
	base := time.Now().Add(-time.Hour)
	for i := 1; i <= 5; i++ {
		id := "old" + strconv.Itoa(i)
		mod := base.Add(time.Duration(i) * time.Minute)
		p := writeFile(t, filepath.Join(f.runner.PayloadDir, id+".json"), "{}", 0o600)
		d := filepath.Join(f.runner.LogDir, id)
		mkdir(t, d, 0o750)
		writeFile(t, filepath.Join(d, "10-a.log"), "out\n", 0o640)
		for _, path := range []string{p, d} {
			if err := os.Chtimes(path, mod, mod); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Not the runner's: left alone, however old.
	writeFile(t, filepath.Join(f.runner.PayloadDir, "notes.txt"), "", 0o600)
	mkdir(t, filepath.Join(f.runner.LogDir, "other"), 0o750)
	writeFile(t, filepath.Join(f.runner.LogDir, "other", "data.db"), "", 0o600)
	writeFile(t, filepath.Join(f.runner.LogDir, "agent.log"), "", 0o600)
	for _, p := range []string{filepath.Join(f.runner.LogDir, "other"), filepath.Join(f.runner.PayloadDir, "notes.txt")} {
		if err := os.Chtimes(p, base, base); err != nil {
			t.Fatal(err)
		}
	}

	f.hook("10-a", "true")
	if res := f.runner.Run(context.Background(), f.spec("current")); !res.OK {
		t.Fatalf("run failed: %+v", res)
	}
	names := func(dir string) []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, e := range entries {
			n = append(n, e.Name())
		}
		return n
	}
	if got, want := names(f.runner.PayloadDir), []string{"current.json", "notes.txt", "old4.json", "old5.json"}; !slices.Equal(got, want) {
		t.Errorf("payloads = %v, want %v", got, want)
	}
	if got, want := names(f.runner.LogDir), []string{"agent.log", "current", "old4", "old5", "other"}; !slices.Equal(got, want) {
		t.Errorf("logs = %v, want %v", got, want)
	}
}

func TestRunRejectsUnsafeEventID(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"", "../etc/passwd", ".hidden", "a/b"} {
		res := f.runner.Run(context.Background(), Spec{Event: event.Deploy, EventID: id, Dir: f.dir})
		if res.OK || res.Err == "" {
			t.Errorf("event id %q: result %+v, want an error", id, res)
		}
	}
}
