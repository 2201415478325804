package testenv

import (
	"testing"
	"time"
)

// WaitLimit bounds every wait of WaitFor: a condition that never holds fails the test
// instead of hanging it.
const WaitLimit = 10 * time.Second

// WaitFor polls cond every millisecond until it holds, and fails the test naming what it
// waited for after WaitLimit. It is the one poll-until of the tests: for what happens on
// another goroutine or in another process, never in place of a fake clock.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", WaitLimit, what)
		}
		time.Sleep(time.Millisecond)
	}
}
