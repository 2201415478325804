package main

import (
	"os/exec"
	"strings"
	"testing"
)

// A setup hook that reboots the machine (here: SIGKILLs the agent) must not run at every
// start forever: it runs, is re-run twice, and the fourth start records it as failed.
func TestHookThatKillsTheAgentRunsAtMostThreeTimes(t *testing.T) {
	w := newWorld(t, "")
	w.hook("setup", "10-reboot", w.recordLine()+"\nkill -9 $PPID\nsleep 5")
	for i := 1; i <= 3; i++ {
		a := w.launch(exec.Command(binPath, "run", "--config", w.cfg))
		if code := a.exited(); code != -1 {
			t.Fatalf("start %d: exit %d, want death by SIGKILL\n%s", i, code, a.output())
		}
		if n := len(w.records()); n != i {
			t.Fatalf("start %d: the setup hook ran %d times, want %d", i, n, i)
		}
	}
	a := w.start()
	w.until("setup recorded as failed", a, func() bool { return lastResult(w, "setup") == "failed" })
	if got := w.records(); len(got) != 3 {
		t.Errorf("the setup hook ran %d times, want 3 (once and two re-runs): %v", len(got), got)
	}
	out, _, _ := w.cli("status")
	for _, want := range []string{"interrupted 3 times", "stackhand trigger setup"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(a.output(), "interrupted too many times") {
		t.Errorf("the agent log does not say why setup was not re-run:\n%s", a.output())
	}
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}
