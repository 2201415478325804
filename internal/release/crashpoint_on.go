//go:build crashpoints

package release

import (
	"os"
	"sync"
)

// The end-to-end tests build the agent with -tags crashpoints: started with
// STACKHAND_CRASH_AT=<phase> (one of the phases Manager.at names), the agent kills itself
// with SIGKILL (TerminateProcess on Windows) when a deploy reaches that phase, so that a
// test can kill the real binary at a point no outside observer could catch reliably. The
// binaries that ship are built without the tag and have no such variable.
var crashAt = sync.OnceValue(func() string { return os.Getenv("STACKHAND_CRASH_AT") })

func crashpoint(phase string) {
	if phase != crashAt() {
		return
	}
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Kill()
	}
	select {} // until the kill lands
}
