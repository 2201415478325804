package source

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// SpotNotice is how long a spot interruption notice gives, per AWS's documentation.
const SpotNotice = 2 * time.Minute

// LocalLifecycle reads the file `lifecycle`: one word, the target lifecycle state
// (InService, Terminated, ...). "spot" simulates a spot interruption notice, optionally
// followed by its RFC 3339 time ("spot 2026-11-21T10:00:00Z"); without one the instance
// goes two minutes after the notice is read. A missing or empty file means InService.
type LocalLifecycle struct{ Local }

// Name returns "lifecycle".
func (LocalLifecycle) Name() string { return "lifecycle" }

// Read returns the lifecycle once.
func (s LocalLifecycle) Read() (Lifecycle, error) {
	b, err := s.readLocal(LifecycleFile)
	if err != nil {
		return Lifecycle{}, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return Lifecycle{State: InService}, nil
	}
	if strings.EqualFold(f[0], "spot") {
		l := Lifecycle{State: InService, Spot: true, Detail: "spot interruption notice"}
		if len(f) > 1 {
			t, err := time.Parse(time.RFC3339, f[1])
			if err != nil {
				return Lifecycle{}, fmt.Errorf("%s/%s: %q is not an RFC 3339 time (write e.g. spot 2026-11-21T10:00:00Z)", s.Dir, LifecycleFile, f[1])
			}
			l.Deadline = t
		} else {
			l.Deadline = s.clock().Now().Add(SpotNotice)
		}
		return l, nil
	}
	state := f[0]
	for _, known := range []string{InService, Terminated, "Pending", "Detached", "Standby", "Warmed:Pending", "Warmed:Running", "Warmed:Stopped", "Warmed:Hibernated", "Warmed:Terminated"} {
		if strings.EqualFold(state, known) {
			return Lifecycle{State: known, Detail: "target lifecycle state " + known}, nil
		}
	}
	return Lifecycle{}, fmt.Errorf("%s/%s: unknown lifecycle state %q; write InService, Terminated, Standby, Detached or spot", s.Dir, LifecycleFile, state)
}

// Run reports the lifecycle at start, on every change of the file and every interval.
func (s LocalLifecycle) Run(ctx context.Context, emit func(Update)) error {
	watchDir(ctx, s.clock(), s.Dir, isName(LifecycleFile), s.interval(), func() {
		l, err := s.Read()
		if err != nil {
			emit(Update{Source: s.Name(), Err: err})
			return
		}
		emit(Update{Source: s.Name(), Lifecycle: &l})
	})
	return nil
}
