package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/event"
)

// A spot notice whose time has already passed when the agent reads it still runs the
// shutdown hooks (within the minimum window), and the log says the deadline had passed.
func TestSpotNoticePastItsDeadlineRunsShutdownHooks(t *testing.T) {
	w := newWorld(t, "")
	w.recordHooks(event.Configure, event.Shutdown)
	a := w.start()
	w.waitEvents(a, 1)
	w.writeLocal("lifecycle", "spot "+time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)+"\n")
	if code := a.exited(); code != 0 {
		t.Fatalf("exit %d after the spot notice\n%s", code, a.output())
	}
	if got := w.events(); !reflect.DeepEqual(got, []string{"configure", "shutdown"}) {
		t.Fatalf("events %v, want the shutdown hooks run", got)
	}
	if !strings.Contains(a.output(), "deadline has already passed") {
		t.Errorf("the log does not say the deadline had passed:\n%s", a.output())
	}
}
