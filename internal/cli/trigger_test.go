package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
)

// waitLimit bounds every wait for something another goroutine does.
const waitLimit = 10 * time.Second

// spooled returns the requests waiting in the spool of the config at cfg.
func spooled(t *testing.T, cfg string) []source.Request {
	t.Helper()
	dir := filepath.Join(filepath.Dir(cfg), "state", source.RequestsDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []source.Request
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var req source.Request
		if err := json.Unmarshal(b, &req); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if e.Name() != req.ID+".json" {
			t.Errorf("request file %s holds id %s", e.Name(), req.ID)
		}
		out = append(out, req)
	}
	return out
}

func TestTriggerUnknownEvent(t *testing.T) {
	cfg := localConfig(t, "")
	r := run(t, "trigger", "bogus", "--config", cfg)
	r.check(t, ExitUsage, nil, []string{`unknown event "bogus"`, "setup", "configure", "deploy", "undeploy", "shutdown"})
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), "state")); err == nil {
		t.Error("a refused trigger created the state directory")
	}
}

func TestTriggerWithoutAgent(t *testing.T) {
	cfg := localConfig(t, "")
	stateDir := filepath.Join(filepath.Dir(cfg), "state")
	r := run(t, "trigger", "deploy", "--reason", "hotfix 1234", "--config", cfg)
	r.check(t, ExitNoAgent, nil, []string{"no agent is running with state directory " + stateDir, "is queued and runs when the agent starts"})
	reqs := spooled(t, cfg)
	if len(reqs) != 1 || reqs[0].Event != event.Deploy || reqs[0].Reason != "hotfix 1234" || !strings.HasPrefix(reqs[0].ID, "req-") {
		t.Fatalf("spool holds %+v, want one deploy request with the reason", reqs)
	}
	if !strings.Contains(r.stderr, reqs[0].ID) {
		t.Errorf("stderr does not name request %s:\n%s", reqs[0].ID, r.stderr)
	}

	r = run(t, "trigger", "configure", "--no-wait", "--config", cfg)
	r.check(t, ExitOK, nil, []string{"no agent is running"})
	if reqs := spooled(t, cfg); len(reqs) != 2 {
		t.Errorf("spool holds %d requests, want 2", len(reqs))
	}
}

// holdLock makes the state directory of cfg look like a running agent's.
func holdLock(t *testing.T, cfg string) {
	t.Helper()
	lock, err := state.Acquire(filepath.Join(filepath.Dir(cfg), "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })
}

// answer plays the agent: it answers the first request that appears in cfg's spool with o.
func answer(t *testing.T, cfg string, o state.Outcome) <-chan struct{} {
	done := make(chan struct{})
	stateDir := filepath.Join(filepath.Dir(cfg), "state")
	go func() {
		defer close(done)
		deadline := time.Now().Add(waitLimit)
		for time.Now().Before(deadline) {
			entries, _ := os.ReadDir(filepath.Join(stateDir, source.RequestsDir))
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					continue
				}
				id := strings.TrimSuffix(e.Name(), ".json")
				s := &source.Spool{StateDir: stateDir}
				s.Remove(id)
				if err := s.Answer(id, o); err != nil {
					t.Error(err)
				}
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Error("no request appeared in the spool")
	}()
	return done
}

func TestTriggerWithAgent(t *testing.T) {
	tests := []struct {
		name           string
		args           []string
		outcome        *state.Outcome // nil: the agent never answers
		code           int
		stdout, stderr []string
	}{
		{
			name: "no wait", args: []string{"--no-wait"}, code: ExitOK,
			stdout: []string{"handed to the agent (pid " + strconv.Itoa(os.Getpid()) + ")"},
		},
		{
			name:    "succeeded",
			outcome: &state.Outcome{ID: "deploy-000003", Kind: event.Deploy, Result: state.Succeeded, Duration: state.Duration(1500 * time.Millisecond)},
			code:    ExitOK, stdout: []string{"deploy deploy-000003 succeeded in 1.5s"}, stderr: []string{"waiting for deploy"},
		},
		{
			name: "failed",
			outcome: &state.Outcome{ID: "deploy-000004", Kind: event.Deploy, Result: state.Failed,
				Error: "hook 20-migrate exited with status 1", Tail: "step 1\nboom\n"},
			code:   ExitFailed,
			stderr: []string{"deploy deploy-000004 failed: hook 20-migrate exited with status 1", "output tail:\n  | step 1\n  | boom\n"},
		},
		{
			name:    "superseded",
			outcome: &state.Outcome{ID: "deploy-000005", Kind: event.Deploy, Result: state.Superseded, Error: "a newer deploy runs instead"},
			code:    ExitNoAgent, stderr: []string{"deploy deploy-000005 was not run (superseded): a newer deploy runs instead"},
		},
		{
			name: "timeout", args: []string{"--timeout", "200ms"}, code: ExitNoAgent,
			stderr: []string{"no result for request", "within 200ms", "still queued or running"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := localConfig(t, "")
			holdLock(t, cfg)
			var answered <-chan struct{}
			if tt.outcome != nil {
				answered = answer(t, cfg, *tt.outcome)
			}
			r := run(t, append([]string{"trigger", "deploy", "--config", cfg}, tt.args...)...)
			r.check(t, tt.code, tt.stdout, tt.stderr)
			if answered != nil {
				<-answered
				results, _ := os.ReadDir(filepath.Join(filepath.Dir(cfg), "state", source.ResultsDir))
				if len(results) != 0 {
					t.Errorf("result files left behind: %v", results)
				}
			}
		})
	}
}
