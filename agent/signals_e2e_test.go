package main

import (
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

	"github.com/stackhand/stackhand/internal/event"
)

// With its stdout and stderr a pipe nobody reads any more (a terminal closed, `| head`
// gone), the agent goes on — logging to its own log file — instead of dying of SIGPIPE,
// and its hooks still get SIGPIPE's default action.
func TestBrokenStdoutPipeDoesNotKillTheAgent(t *testing.T) {
	w := newWorld(t, "")
	sigIgn := filepath.Join(w.dir, "sigign")
	w.hook("configure", "10-record", w.recordLine()+fmt.Sprintf(`
grep SigIgn /proc/self/status > %q`, sigIgn))
	r, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	cmd := exec.Command(binPath, "run", "--config", w.cfg)
	cmd.Stdout, cmd.Stderr = wr, wr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wr.Close()
	done := make(chan struct{})
	var state *os.ProcessState
	go func() { state, _ = cmd.Process.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
	})
	agentLog := func() string { b, _ := os.ReadFile(filepath.Join(w.dir, "log", "agent.log")); return string(b) }
	exited := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	w.until("the configure after setup, or the agent's death", nil, func() bool { return len(w.records()) == 1 || exited() })
	if exited() {
		t.Fatalf("the agent died with its stdout a broken pipe: %v\n%s", state, agentLog())
	}
	if _, errOut, code := w.cli("trigger", "configure"); code != 0 {
		t.Fatalf("trigger configure: exit %d %s", code, errOut)
	}
	b, _ := os.ReadFile(sigIgn)
	f := strings.Fields(string(b))
	if len(f) != 2 {
		t.Fatalf("SigIgn of the hook: %q", b)
	}
	mask, err := strconv.ParseUint(f[1], 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	if mask&(1<<(syscall.SIGPIPE-1)) != 0 {
		t.Errorf("the hook runs with SIGPIPE ignored (SigIgn %s): it must get the default", f[1])
	}
	cmd.Process.Signal(syscall.SIGTERM)
	<-done
	if !state.Success() {
		t.Errorf("after SIGTERM: %v, want exit 0\n%s", state, agentLog())
	}
}

// SIGHUP reloads the configuration: a valid one takes effect (a new watch rule fires)
// once the running event has finished, in the same process; an invalid one is refused,
// the agent goes on with the old one, and log and status say why.
func TestSIGHUPReloadsTheConfiguration(t *testing.T) {
	w := newWorld(t, watchRelease)
	hold := filepath.Join(w.dir, "hold")
	w.hook("deploy", "10-record", w.recordLine()+fmt.Sprintf(`
while [ -e %q ]; do sleep 0.05; done`, hold))
	w.writeLocal("metadata.json", `{"release": "v1", "other": "a"}`)
	a := w.start()
	w.waitEvents(a, 1)

	// A deploy runs when the valid new configuration comes.
	w.writeFile(hold, "")
	w.writeLocal("metadata.json", `{"release": "v2", "other": "a"}`)
	w.waitEvents(a, 2)
	held := w.ids()[1]
	w.writeFile(w.cfg, baseConfig+watchRelease+"  - name: other\n    metadata: other\n")
	a.cmd.Process.Signal(syscall.SIGHUP)
	w.until("the reload to wait for the running deploy", a, func() bool {
		return strings.Contains(a.output(), "waiting for the running event to finish")
	})
	os.Remove(hold)
	w.until("the agent to restart on the new configuration", a, func() bool {
		return strings.Count(a.output(), "engine started") == 2
	})
	if o := fromHistory(t, w, held); o["result"] != "succeeded" {
		t.Errorf("the deploy running at the reload: %v, want succeeded", o)
	}
	// The new rule takes effect: its value, never applied, deploys.
	w.waitEvents(a, 3)
	if p := w.payload(w.ids()[2]); len(p.Trigger.Rules) != 1 || p.Trigger.Rules[0] != "other" || p.Retry {
		t.Errorf("after the reload: deploy trigger %+v retry %v, want the new rule other", p.Trigger, p.Retry)
	}

	// An invalid configuration is refused; the agent goes on with the one it has.
	w.writeFile(w.cfg, baseConfig+"intervl: 5m\n"+watchRelease)
	a.cmd.Process.Signal(syscall.SIGHUP)
	w.until("the reload to be refused", a, func() bool { return strings.Contains(a.output(), "the new configuration is invalid") })
	if !strings.Contains(a.output(), "did you mean") {
		t.Errorf("the log does not say what is wrong with the configuration:\n%s", a.output())
	}
	// status reads the configuration too: with the broken file it says what is wrong;
	// with the one the agent runs on, it shows the refused reload.
	if _, errOut, code := w.cli("status"); code == 0 || !strings.Contains(errOut, "intervl") {
		t.Errorf("status with the broken configuration: exit %d %s", code, errOut)
	}
	good := filepath.Join(w.dir, "good.yaml")
	w.writeFile(good, baseConfig+watchRelease+"  - name: other\n    metadata: other\n")
	st := exec.Command(binPath, "status", "--config", good)
	out, _ := st.Output()
	if !strings.Contains(string(out), "reload refused") || !strings.Contains(string(out), "intervl") {
		t.Errorf("status does not show the refused reload:\n%s", out)
	}
	w.writeLocal("metadata.json", `{"release": "v3", "other": "c"}`)
	if got := w.waitEvents(a, 4); got[3] != string(event.Deploy) {
		t.Errorf("after a refused reload: %v", got)
	}
	if p := w.payload(w.ids()[3]); len(p.Trigger.Rules) != 2 {
		t.Errorf("after a refused reload: deploy trigger %+v, want both rules of the configuration still in force", p.Trigger)
	}
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// fromHistory returns the outcome of event id from the state file's history.
func fromHistory(t *testing.T, w *world, id string) map[string]any {
	t.Helper()
	// Between the two renames of a save the state is in its last-good copy.
	b, err := os.ReadFile(filepath.Join(w.state, "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		b, err = os.ReadFile(filepath.Join(w.state, "state.json.last-good"))
	}
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		History []map[string]any `json:"history"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	for _, o := range st.History {
		if o["id"] == id {
			return o
		}
	}
	return nil
}
