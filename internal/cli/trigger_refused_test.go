package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Whatever the agent refuses its spool for, status.json says it, and trigger stops waiting.
func TestRequestsRefusedReadsTheRequestsSourceProblemFromStatus(t *testing.T) {
	dir := t.TempDir()
	queued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := requestsRefused(dir, queued); got != "" {
		t.Errorf("no status file: %q, want none", got)
	}
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "status.json"), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"version":1,"sources":{"requests":{"last_error":"request spool is owned by uid 1000","error_at":"2026-01-01T00:00:01Z"}}}`)
	if got := requestsRefused(dir, queued); !strings.Contains(got, "owned by uid 1000") {
		t.Errorf("refused spool: %q, want the source's problem", got)
	}
	// A problem the agent met before the request was queued may be over (the source is
	// restarted): trigger waits for the next try rather than give up on old news.
	if got := requestsRefused(dir, queued.Add(2*time.Second)); got != "" {
		t.Errorf("a problem older than the request: %q, want none", got)
	}
	write(`{"version":1,"sources":{"requests":{"last_ok":"2026-01-01T00:00:02Z","error_at":"2026-01-01T00:00:01Z"}}}`)
	if got := requestsRefused(dir, queued); got != "" {
		t.Errorf("recovered spool: %q, want none", got)
	}
}
