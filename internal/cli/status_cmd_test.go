package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/contract"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
)

func TestStatusJSONEmptyState(t *testing.T) {
	cfg := localConfig(t, "")
	r := run(t, "status", "--json", "--config", cfg)
	r.check(t, ExitOK, nil, nil)
	var s struct {
		Agent struct {
			Running *bool `json:"running"`
			PID     int   `json:"pid"`
		} `json:"agent"`
		StateDir string         `json:"state_dir"`
		Queue    []any          `json:"queue"`
		Last     map[string]any `json:"last"`
		Sources  map[string]any `json:"sources"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("status --json printed invalid JSON: %v\n%s", err, r.stdout)
	}
	if s.Agent.Running == nil || *s.Agent.Running || s.Agent.PID != 0 {
		t.Errorf("agent = %+v, want running false and no pid", s.Agent)
	}
	if want := filepath.Join(filepath.Dir(cfg), "state"); s.StateDir != want {
		t.Errorf("state_dir = %q, want %q", s.StateDir, want)
	}
	if s.Queue == nil || len(s.Queue) != 0 || s.Last == nil || s.Sources == nil {
		t.Errorf("empty state printed as %s; want [] and {} rather than null", r.stdout)
	}
}

func TestStatusFromStateFile(t *testing.T) {
	cfg := localConfig(t, "")
	dir := filepath.Join(filepath.Dir(cfg), "state")
	st, store, _, err := state.Open(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st.Identity = event.Instance{InstanceID: "i-0abc", AvailabilityZone: "local-1a"}
	st.Setup = state.Setup{InstanceID: "i-0abc", Done: true, At: time.Now().Add(-time.Hour), EventID: "setup-000001"}
	st.Record(state.Outcome{ID: "deploy-000002", Kind: event.Deploy, Result: state.Failed, End: time.Now(), Error: "hook 10-app exited with status 2"})
	st.UpdatedAt = time.Now()
	if err := store.Save(st); err != nil {
		t.Fatal(err)
	}
	holdLock(t, cfg)

	r := run(t, "status", "--config", cfg)
	r.check(t, ExitOK, []string{
		"agent      running (pid " + strconv.Itoa(os.Getpid()) + ")",
		"instance   i-0abc (local-1a)",
		"setup      done",
		"deploy deploy-000002 failed: hook 10-app exited with status 2",
	}, nil)

	r = run(t, "status", "--json", "--config", cfg)
	var s contract.Status
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, r.stdout)
	}
	if !s.Agent.Running || s.Agent.PID != os.Getpid() || s.Last["deploy"] == nil || s.Last["deploy"].Result != string(state.Failed) {
		t.Errorf("status --json = %+v", s)
	}
}

func TestStatusCorruptState(t *testing.T) {
	cfg := localConfig(t, "")
	dir := filepath.Join(filepath.Dir(cfg), "state")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, state.FileName), []byte(`{"version": 1, "seq": `), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, "status", "--config", cfg)
	r.check(t, ExitInternal, nil, []string{filepath.Join(dir, state.FileName) + " is corrupt"})
}

// TestStatusOfAStoppedLocalAgentSaysHowToStartIt: local mode is not a service, so the hint
// is the foreground command with this config, not "stackhand service start".
func TestStatusOfAStoppedLocalAgentSaysHowToStartIt(t *testing.T) {
	cfg := localConfig(t, "")
	r := run(t, "status", "--config", cfg)
	r.check(t, ExitOK, nil, nil)
	golden(t, "status/local-not-running.golden", []byte(strings.ReplaceAll(r.stdout, filepath.Dir(cfg), "$DIR")))
}
