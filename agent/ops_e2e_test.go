package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stackhand/stackhand/internal/event"
)

// readOnlyStateCommand runs the agent in a private mount namespace where its state
// directory is a read-only bind mount of itself: root cannot write it either.
func (w *world) readOnlyStateCommand(unshare string) *exec.Cmd {
	script := fmt.Sprintf("mount --bind %q %q && mount -o remount,bind,ro %q && exec %q run --config %q",
		w.state, w.state, w.state, binPath, w.cfg)
	return exec.Command(unshare, "-m", "sh", "-c", script)
}

func TestReadOnlyStateDirStillRunsEventsAndSaysSoOnce(t *testing.T) {
	unshare := needNamespace(t)
	w := newWorld(t, watchRelease)
	w.recordHooks(event.Setup, event.Deploy, event.Configure)
	w.writeLocal("metadata.json", `{"release": "v1"}`)
	a := w.start()
	w.waitEvents(a, 3)
	if code := a.stop(); code != 0 {
		t.Fatalf("exit %d\n%s", code, a.output())
	}

	// The state directory, its payloads/ included, exists and is read-only from now on.
	a = w.startCmd(w.readOnlyStateCommand(unshare))
	for i, release := range []string{"v2", "v3", "v4"} {
		w.writeLocal("metadata.json", `{"release": "`+release+`"}`)
		w.until("deploy of "+release, a, func() bool { return len(w.records()) >= 4+i })
	}
	if got, want := w.events(), []string{"setup", "deploy", "configure", "deploy", "deploy", "deploy"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v\n%s", got, want, a.output())
	}
	for _, id := range w.ids()[3:] {
		if p := w.payload(id); p.ID != id {
			t.Errorf("payload of %s names event %q", id, p.ID)
		}
	}
	out := a.output()
	if n := strings.Count(out, "cannot write the state file"); n != 1 {
		t.Errorf("the state file error is logged %d times, want once:\n%s", n, out)
	}
	if n := strings.Count(out, "cannot write payloads into the state directory"); n != 1 {
		t.Errorf("the payload fallback is logged %d times, want once:\n%s", n, out)
	}
	a.stop()
}

func TestCorruptStateContinuesFromLastGoodCopy(t *testing.T) {
	w := newWorld(t, watchRelease)
	w.recordHooks(event.Setup, event.Deploy, event.Configure)
	w.writeLocal("metadata.json", `{"release": "v1"}`)
	a := w.start()
	w.waitEvents(a, 3)
	w.writeLocal("metadata.json", `{"release": "v2"}`)
	w.waitEvents(a, 4)
	if code := a.stop(); code != 0 {
		t.Fatalf("exit %d\n%s", code, a.output())
	}
	// The file is overwritten in place, as a broken disk or an editor's accident would.
	if err := os.WriteFile(filepath.Join(w.state, "state.json"), []byte("{\"version\": 1, \"seq\": tru"), 0o600); err != nil {
		t.Fatal(err)
	}
	a = w.start()
	w.writeLocal("metadata.json", `{"release": "v3"}`)
	w.waitEvents(a, 5)
	if got, want := w.events(), []string{"setup", "deploy", "configure", "deploy", "deploy"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v (no second setup)\n%s", got, want, a.output())
	}
	assertIDsNeverRepeat(t, w.ids())
	if !strings.Contains(a.output(), "STATE FILE CORRUPT") || !strings.Contains(a.output(), "last-good") {
		t.Errorf("no loud message naming the last good copy:\n%s", a.output())
	}
	a.stop()
}

func TestLostStateContinuesEventIDsPastTheHookLogs(t *testing.T) {
	w := newWorld(t, watchRelease)
	w.recordHooks(event.Setup, event.Deploy, event.Configure)
	w.writeLocal("metadata.json", `{"release": "v1"}`)
	a := w.start()
	w.waitEvents(a, 3)
	if code := a.stop(); code != 0 {
		t.Fatalf("exit %d\n%s", code, a.output())
	}
	// Corrupt with no good copy to go back to: setup runs again, but with new ids.
	for _, name := range []string{"state.json", "state.json.last-good"} {
		os.Remove(filepath.Join(w.state, name))
	}
	os.WriteFile(filepath.Join(w.state, "state.json"), []byte("garbage"), 0o600)
	a = w.start()
	w.waitEvents(a, 6)
	assertIDsNeverRepeat(t, w.ids())
	a.stop()
}

func assertIDsNeverRepeat(t *testing.T, ids []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, id := range ids {
		seq := id[strings.LastIndexByte(id, '-')+1:]
		if seen[seq] {
			t.Fatalf("event sequence number %s used twice: %v", seq, ids)
		}
		seen[seq] = true
	}
}

func TestTriggerFailsFastWhenTheAgentRefusesItsSpool(t *testing.T) {
	w := newWorld(t, "")
	w.recordHooks(event.Setup)
	spool := filepath.Join(w.state, "requests")
	os.MkdirAll(spool, 0o700)
	os.Chmod(spool, 0o777)
	a := w.start()
	w.waitEvents(a, 1)
	// --timeout only bounds the test if trigger waits; it must give up on its own at once.
	_, errOut, code := w.cli("trigger", "deploy", "--timeout", "20s")
	if code != 1 || !strings.Contains(errOut, "writable by group or others") || !strings.Contains(errOut, "chmod 0700 "+spool) {
		t.Errorf("trigger: exit %d, want 1 with the reason and the fix\n%s", code, errOut)
	}
	a.stop()
}

func TestTriggerShowsASkippedHookAsAWarning(t *testing.T) {
	w := newWorld(t, "")
	w.recordHooks(event.Setup, event.Deploy)
	// Not executable: skipped, with a warning in the outcome.
	os.WriteFile(filepath.Join(w.hooks, "deploy", "20-forgot-chmod"), []byte("#!/bin/sh\n"), 0o644)
	a := w.start()
	w.waitEvents(a, 1)
	out, errOut, code := w.cli("trigger", "deploy")
	if code != 0 {
		t.Fatalf("trigger: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out+errOut, "warning") || !strings.Contains(out+errOut, "20-forgot-chmod") {
		t.Errorf("trigger's output does not show the skipped hook:\n%s%s", out, errOut)
	}
	a.stop()
}
