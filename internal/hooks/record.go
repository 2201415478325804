package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/atomicfile"
)

// runningHook is what the runner writes to RecordFile about the hook it runs, before the
// hook starts (its cgroup) and again once it runs (its pid and start time), so that an
// agent that died while it ran can end what it left before the event runs again.
type runningHook struct {
	EventID string `json:"event_id"`
	Hook    string `json:"hook"`
	// Cgroup is the hook's own cgroup v2 group (Linux), "" without one.
	Cgroup string `json:"cgroup,omitempty"`
	// PID is the hook's first process, the leader of its process group; 0 before it started.
	PID int `json:"pid,omitempty"`
	// Start is PID's start time (Linux: clock ticks after boot), which tells it from a later
	// process that got the same pid.
	Start uint64 `json:"start,omitempty"`
}

// record writes rec to RecordFile; a failure is logged once per run, and the hook still runs.
func (r *Runner) record(rec runningHook, log *zap.Logger) {
	if r.RecordFile == "" {
		return
	}
	b, err := json.Marshal(rec)
	if err == nil {
		err = atomicfile.Write(r.RecordFile, b, 0o600)
	}
	if err != nil {
		log.Warn("cannot record the running hook; if the agent dies while it runs, what it started is not ended before the re-run",
			zap.String("hook", rec.Hook), zap.String("file", r.RecordFile), zap.Error(err))
	}
}

// forget removes RecordFile once the hook and its tree are done.
func (r *Runner) forget() {
	if r.RecordFile != "" {
		_ = os.Remove(r.RecordFile)
	}
}

// EndLeftover ends what the hook recorded in RecordFile left running: the agent died (or
// was killed) while that hook ran, so nothing ended its process tree. Call it at start,
// before any event runs: an interrupted event then runs again alone, not beside its
// previous run. It returns how many processes it ended.
func (r *Runner) EndLeftover() (int, error) {
	if r.RecordFile == "" {
		return 0, nil
	}
	b, err := os.ReadFile(r.RecordFile)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", r.RecordFile, err)
	}
	var rec runningHook
	if err := json.Unmarshal(b, &rec); err != nil {
		_ = os.Remove(r.RecordFile)
		return 0, fmt.Errorf("%s: %w; removed it", r.RecordFile, err)
	}
	n := endLeftover(rec, r.killGrace())
	if n > 0 {
		r.logger().Warn("ended what a hook left running when the agent stopped",
			zap.String("event_id", rec.EventID), zap.String("hook", rec.Hook), zap.Int("processes", n),
			zap.Int("pid", rec.PID), zap.String("cgroup", rec.Cgroup))
	}
	r.forget()
	return n, nil
}
