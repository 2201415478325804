package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Whatever the agent refuses its spool for, status.json says it, and trigger stops waiting.
func TestRequestsRefusedReadsTheRequestsSourceProblemFromStatus(t *testing.T) {
	dir := t.TempDir()
	if got := requestsRefused(dir); got != "" {
		t.Errorf("no status file: %q, want none", got)
	}
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "status.json"), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"version":1,"sources":{"requests":{"last_error":"request spool is owned by uid 1000","error_at":"2026-01-01T00:00:01Z"}}}`)
	if got := requestsRefused(dir); !strings.Contains(got, "owned by uid 1000") {
		t.Errorf("refused spool: %q, want the source's problem", got)
	}
	write(`{"version":1,"sources":{"requests":{"last_ok":"2026-01-01T00:00:02Z","error_at":"2026-01-01T00:00:01Z"}}}`)
	if got := requestsRefused(dir); got != "" {
		t.Errorf("recovered spool: %q, want none", got)
	}
}
