package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackhand/stackhand/internal/state"
)

// result is what one in-process run of stackhand printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// run runs stackhand with args in-process.
func run(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(Env{Stdout: &stdout, Stderr: &stderr, Args: append([]string{"stackhand"}, args...)})
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// check fails unless r has exit code code and its stdout and stderr contain the given parts.
func (r result) check(t *testing.T, code int, stdout, stderr []string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout does not contain %q:\n%s", s, r.stdout)
		}
	}
	for _, s := range stderr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr does not contain %q:\n%s", s, r.stderr)
		}
	}
}

// localConfig writes a mode: local stackhand.yaml into a new temporary directory, with
// extra appended, and returns its path. Its directories (local, state, log, hooks.d) are
// relative to the file, so they are all inside that directory.
func localConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := "mode: local\nstack: demo\nresource: WebServer\nstate_dir: state\nlog_dir: log\nhooks_dir: hooks.d\nlocal:\n  dir: local\n" + extra
	path := filepath.Join(dir, "stackhand.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMainCommandLine(t *testing.T) {
	commands := []string{"run", "validate", "status", "trigger", "service", "version"}
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr []string
	}{
		{name: "no arguments print the usage", code: ExitUsage, stdout: append([]string{"Usage: stackhand COMMAND"}, commands...)},
		{name: "help", args: []string{"help"}, code: ExitOK, stdout: append([]string{"Usage: stackhand COMMAND", "Exit codes"}, commands...)},
		{name: "--help", args: []string{"--help"}, code: ExitOK, stdout: []string{"Usage: stackhand COMMAND"}},
		{name: "unknown command", args: []string{"statsu"}, code: ExitUsage, stderr: []string{`unknown command "statsu"`, "Usage: stackhand COMMAND"}},
		{name: "version", args: []string{"version"}, code: ExitOK, stdout: []string{"stackhand " + Version + " (go"}},
		{name: "a command's --help", args: []string{"status", "--help"}, code: ExitOK, stdout: []string{"Usage: stackhand status", "--json"}},
		{name: "unknown flag", args: []string{"status", "--jsno"}, code: ExitUsage, stderr: []string{"flag provided but not defined: --jsno"}},
		{name: "trigger without an event", args: []string{"trigger"}, code: ExitUsage,
			stderr: []string{"trigger takes one event: setup, configure, deploy, undeploy, shutdown"}},
		{name: "trigger with two events", args: []string{"trigger", "setup", "deploy"}, code: ExitUsage,
			stderr: []string{"trigger takes one event"}},
		{name: "service without an action", args: []string{"service"}, code: ExitUsage, stderr: []string{"service takes one action"}},
		{name: "unknown service action", args: []string{"service", "frobnicate"}, code: ExitUsage,
			stderr: []string{`unknown service action "frobnicate"`, "install", "uninstall", "start", "stop", "status"}},
		{name: "missing config file", args: []string{"status", "--config", "/nonexistent/stackhand.yaml"}, code: ExitFailed,
			stderr: []string{"config file /nonexistent/stackhand.yaml does not exist", "--config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, tt.args...).check(t, tt.code, tt.stdout, tt.stderr)
		})
	}
}

func TestRunStopsOnBadFlagsAndAHeldStateDir(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "stackhand.yaml")
	if err := os.WriteFile(cfg, []byte("mode: aws\nresource: WebServer\nstate_dir: state\nlog_dir: log\nhooks_dir: hooks.d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "run", "--config", cfg, "--cfn-hup-dir", "", "--log-level", "bogus")
	r.check(t, ExitUsage, nil, []string{`--log-level "bogus": want debug, info, warn or error`})

	// Another agent holds the state directory: this one stops at once and says why.
	lock, err := state.Acquire(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	r = run(t, "run", "--config", cfg)
	r.check(t, ExitFailed, nil, []string{"the agent stopped on an error", "already running"})
	b, err := os.ReadFile(filepath.Join(dir, "log", "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "already running") {
		t.Errorf("agent.log does not say why the agent stopped:\n%s", b)
	}
}
