package cli

import (
	"os"
	"runtime"
	"testing"
)

func TestAgentRunsOnOneProcessorUnlessGOMAXPROCSIsSet(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(2)
	t.Setenv("GOMAXPROCS", "2")
	if n := agentProcs(); n != 2 || runtime.GOMAXPROCS(0) != 2 {
		t.Errorf("GOMAXPROCS=2 set: agentProcs %d, runtime %d; want 2", n, runtime.GOMAXPROCS(0))
	}
	// t.Setenv restores the variable at the end; unset it for the second half.
	unsetenv(t, "GOMAXPROCS")
	if n := agentProcs(); n != 1 || runtime.GOMAXPROCS(0) != 1 {
		t.Errorf("GOMAXPROCS unset: agentProcs %d, runtime %d; want 1", n, runtime.GOMAXPROCS(0))
	}
}

// unsetenv removes key for the rest of the test (after a t.Setenv of it, which puts the
// old value back at the end).
func unsetenv(t *testing.T, key string) {
	t.Helper()
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}
