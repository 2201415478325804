package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/contract"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/status"
)

// hostileTail is a hook's output that, printed raw, retitles the terminal window, clears
// the screen, moves the cursor home and prints a fake success over the failure.
const hostileTail = "\x1b]0;all good\x07\x1b[2J\x1b[Hdeploy succeeded\r\x9b31m\n\tindented line\nbad byte \xff end\n"

func TestEscapeControl(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, ünïcode ✓\n\ttab": "plain text, ünïcode ✓\n\ttab",
		"\x1b[2J":                      `\x1b[2J`,
		"a\rb\x00c\x7f":                `a\x0db\x00c\x7f`,
		"csi \u009b31m":                `csi \u009b31m`,
		"invalid \xff\xfe":             `invalid \xff\xfe`,
	} {
		if got := string(escapeControl([]byte(in))); got != want {
			t.Errorf("escapeControl(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStatusEscapesHookOutputGolden: status shows a hook's control characters escaped,
// keeping the tail's lines and tabs (README, "Security model").
func TestStatusEscapesHookOutputGolden(t *testing.T) {
	ago := func(d time.Duration) time.Time { return statusNow.Add(-d) }
	st := &state.State{
		Identity: event.Instance{InstanceID: "i-0123456789abcdef0"},
		Last: map[event.Kind]*state.Outcome{
			event.Deploy: {ID: "deploy-000007", Kind: event.Deploy, Reason: "release \x1b[32mv2",
				Result: state.Failed, End: ago(time.Minute), Duration: state.Duration(time.Second),
				Failed: "10-app", Error: "hook 10-app exited 1: \x1b[2Jboom",
				Hooks: []state.HookOutcome{{Name: "10-app", ExitCode: 1}}, Tail: hostileTail},
		},
		Queue:     []state.Pending{},
		UpdatedAt: ago(time.Minute),
	}
	s := withVerdict(contract.NewStatus("/var/lib/stackhand", st, &status.Snapshot{}, true, 42))
	var out bytes.Buffer
	renderStatus(&out, s, statusNow)
	if bytes.ContainsAny(out.Bytes(), "\x1b\x07\r\x9b") {
		t.Errorf("status output holds raw control characters:\n%q", out.String())
	}
	golden(t, "status/escapes.golden", out.Bytes())
}

// TestTriggerEscapesHookOutputGolden: trigger prints a failed event's tail escaped too.
func TestTriggerEscapesHookOutputGolden(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := printOutcome(Env{Stdout: &stdout, Stderr: &stderr}, state.Outcome{ID: "deploy-000007", Kind: event.Deploy,
		Result: state.Failed, Error: "hook 10-app exited 1: \x1b[2Jboom", Tail: hostileTail})
	if code != ExitFailed {
		t.Errorf("exit code %d", code)
	}
	if bytes.ContainsAny(stderr.Bytes(), "\x1b\x07\r\x9b") {
		t.Errorf("trigger output holds raw control characters:\n%q", stderr.String())
	}
	golden(t, "trigger/escapes.golden", stderr.Bytes())
}
