//go:build linux

package hooks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A payload directory that stops taking files while the agent runs (a state directory made
// read-only, a full disk) must not fail the events: each payload goes elsewhere, said once.
func TestPayloadThatCannotBeWrittenGoesToAFallbackAndTheEventRuns(t *testing.T) {
	f := newFixture(t)
	f.hook("10-copy", `cat "$STACKHAND_EVENT_FILE" > "$OUT/payload-$STACKHAND_EVENT_ID"`)
	if res := f.runner.Run(context.Background(), f.spec("deploy-000001")); !res.OK || len(res.Warnings) != 0 {
		t.Fatalf("first run: %+v", res)
	}
	// The payload directory is now a regular file: no write into it can succeed, even as root.
	os.RemoveAll(f.runner.PayloadDir)
	writeFile(t, f.runner.PayloadDir, "", 0o600)
	for _, id := range []string{"deploy-000002", "deploy-000003"} {
		res := f.runner.Run(context.Background(), f.spec(id))
		if !res.OK || res.Err != "" {
			t.Fatalf("%s with an unwritable payload directory: %+v", id, res)
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "the payload was written to") {
			t.Errorf("%s warnings %q, want one naming where the payload went", id, res.Warnings)
		}
		if got := f.read("payload-" + id); got != `{"event":"deploy"}` {
			t.Errorf("%s: hook read payload %q", id, got)
		}
	}
	if n := f.logs.FilterMessageSnippet("cannot write payloads into the state directory").Len(); n != 1 {
		t.Errorf("fallback logged %d times, want once", n)
	}
	// Fixed: payloads go back to the payload directory, and the fallback is gone.
	fallback := f.runner.fallback
	os.Remove(f.runner.PayloadDir)
	res := f.runner.Run(context.Background(), f.spec("deploy-000004"))
	if !res.OK || len(res.Warnings) != 0 || filepath.Dir(res.PayloadFile) != f.runner.PayloadDir {
		t.Errorf("after the fix: %+v", res)
	}
	if _, err := os.Stat(fallback); !os.IsNotExist(err) {
		t.Errorf("fallback directory %s still there: %v", fallback, err)
	}
}
