package engine_test

import (
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
)

// TestReporterStatusReachesTheStateFile: a reporter's first status and every change of its
// error are written at once, and changed counters by the first status ten seconds after
// the last write, not a minute later with the rest of the health.
func TestReporterStatusReachesTheStateFile(t *testing.T) {
	h := start(t, testConfig(t), "", nil)
	defer h.stop()
	sent := func(n int64, lastErr string) {
		h.update(source.Update{Source: "logs", Reporter: &state.Health{LastError: lastErr, Counters: map[string]int64{"sent": n}}})
	}
	counter := func(st *state.State) int64 {
		if r := st.Reporters["logs"]; r != nil {
			return r.Counters["sent"]
		}
		return -1
	}
	sent(1, "")
	h.state("the first status", func(st *state.State) bool { return counter(st) == 1 })
	h.clk.Advance(10 * time.Second)
	sent(2, "")
	h.state("the counter 10 s later", func(st *state.State) bool { return counter(st) == 2 })
	sent(3, "throttled")
	h.state("the new error, at once", func(st *state.State) bool { return st.Reporters["logs"].LastError == "throttled" })
}
