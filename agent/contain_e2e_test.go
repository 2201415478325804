package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// killAtEnd SIGKILLs, at the end of the test, the processes whose pids the files hold, so
// that a failing test leaves nothing behind.
func killAtEnd(t *testing.T, files ...string) {
	t.Cleanup(func() {
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, s := range strings.Fields(string(b)) {
				var pid int
				if _, err := fmt.Sscan(s, &pid); err == nil && pid > 1 {
					if p, err := os.FindProcess(pid); err == nil {
						p.Kill()
					}
				}
			}
		}
	})
}

// A hook's daemon that double-forked and called setsid (its parent gone, reparented to
// init, in a session of its own) is ended with the hook at the timeout.
func TestHookTimeoutKillsADaemonThatLeftItsSession(t *testing.T) {
	w := newWorld(t, "timeouts:\n  deploy: 1s\n")
	daemon := filepath.Join(w.dir, "daemon.pid")
	killAtEnd(t, daemon)
	w.hook("deploy", "10-daemon", fmt.Sprintf(`( setsid sleep 300 > /dev/null 2>&1 < /dev/null & echo $! > %q )
sleep 300`, daemon))
	a := w.start()
	w.until("setup's deploy to time out", a, func() bool { return lastResult(w, "deploy") == "failed" })
	pid := readPID(t, daemon)
	w.until(fmt.Sprintf("the daemon %d to be gone", pid), a, func() bool { return !alive(pid) })
	a.stop()
}

// After a SIGKILL of the agent, what the running hook started — a background child, a
// daemon in its own session — is ended before the event runs again: the re-run runs
// alone, not beside its previous run.
func TestOrphansOfAKilledAgentsHookAreEndedBeforeTheReRun(t *testing.T) {
	w := newWorld(t, watchRelease)
	marker := filepath.Join(w.dir, "first-attempt")
	pids := filepath.Join(w.dir, "pids")
	seen := filepath.Join(w.dir, "alive-at-rerun")
	killAtEnd(t, pids)
	w.hook("deploy", "10-record", w.recordLine()+fmt.Sprintf(`
if [ ! -e %[1]q ]; then
  touch %[1]q
  sleep 300 &
  echo $! >> %[2]q
  ( setsid sleep 300 > /dev/null 2>&1 < /dev/null & echo $! >> %[2]q )
  echo $$ >> %[2]q
  wait
else
  for p in $(cat %[2]q); do
    if grep -qs '^State:.*[RSD]' /proc/$p/status; then echo $p >> %[3]q; fi
  done
  touch %[3]q
fi`, marker, pids, seen))
	w.writeLocal("metadata.json", `{"release": "v1"}`)
	a := w.start()
	w.waitEvents(a, 1)
	w.until("the first run's three processes", a, func() bool {
		b, _ := os.ReadFile(pids)
		return len(strings.Fields(string(b))) == 3
	})
	a.kill()

	a = w.start()
	w.waitEvents(a, 2)
	w.until("the re-run's look at the first run's processes", a, func() bool { _, err := os.Stat(seen); return err == nil })
	if b, _ := os.ReadFile(seen); len(b) > 0 {
		t.Errorf("still running when the deploy ran again: %s", b)
	}
	if !strings.Contains(a.output(), "ended what a hook left running") {
		t.Errorf("the agent does not say it ended the leftover processes:\n%s", a.output())
	}
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}
