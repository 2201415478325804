package source

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
)

// AWSLifecycle polls IMDS for the instance's own end: the Auto Scaling target lifecycle
// state (autoscaling/target-lifecycle-state), spot interruption notices
// (spot/instance-action) and rebalance recommendations (events/recommendations/rebalance).
// AWS documents checking for spot notices every 5 seconds; so does this source by default.
type AWSLifecycle struct {
	IMDS     IMDSAPI
	Clock    clock.Clock
	Interval time.Duration
}

// Name returns "lifecycle".
func (AWSLifecycle) Name() string { return "lifecycle" }

// Run polls until ctx ends.
func (s AWSLifecycle) Run(ctx context.Context, emit func(Update)) error {
	interval := s.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	poll(ctx, s.Clock, interval, func() float64 { return 0.5 }, func(ctx context.Context) pollResult {
		l, err := s.Read(ctx)
		if ctx.Err() != nil {
			return pollResult{}
		}
		if err != nil {
			emit(Update{Source: s.Name(), Err: err})
		} else {
			emit(Update{Source: s.Name(), Lifecycle: &l})
		}
		return pollResult{}
	})
	return nil
}

// spotAction is IMDS spot/instance-action.
type spotAction struct {
	Action string    `json:"action"`
	Time   time.Time `json:"time"`
}

// Read asks IMDS once.
func (s AWSLifecycle) Read(ctx context.Context) (Lifecycle, error) {
	l := Lifecycle{State: InService}
	state, err := awsenv.ReadMetadata(ctx, s.IMDS, "autoscaling/target-lifecycle-state")
	switch {
	case err == nil:
		l.State = strings.TrimSpace(state)
		l.Detail = "target lifecycle state " + l.State
	case awsenv.IsNotFound(err):
		l.Detail = "not in an Auto Scaling group"
	default:
		return l, fmt.Errorf("IMDS autoscaling/target-lifecycle-state: %w", err)
	}
	spot, err := awsenv.ReadMetadata(ctx, s.IMDS, "spot/instance-action")
	switch {
	case err == nil:
		var a spotAction
		if jerr := json.Unmarshal([]byte(spot), &a); jerr != nil {
			return l, fmt.Errorf("IMDS spot/instance-action is not the documented JSON (%v): %q", jerr, spot)
		}
		l.Spot = true
		l.Deadline = a.Time
		l.Detail = fmt.Sprintf("spot interruption notice: %s at %s", a.Action, a.Time.UTC().Format(time.RFC3339))
	case !awsenv.IsNotFound(err):
		return l, fmt.Errorf("IMDS spot/instance-action: %w", err)
	}
	reb, err := awsenv.ReadMetadata(ctx, s.IMDS, "events/recommendations/rebalance")
	if err == nil {
		var r struct {
			NoticeTime time.Time `json:"noticeTime"`
		}
		if json.Unmarshal([]byte(reb), &r) == nil && !r.NoticeTime.IsZero() {
			l.Rebalance = r.NoticeTime
		}
	}
	return l, nil
}
