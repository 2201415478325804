package source

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
)

// AWSLifecycle polls IMDS for the instance's own end: the Auto Scaling target lifecycle
// state (autoscaling/target-lifecycle-state), spot interruption notices
// (spot/instance-action) and rebalance recommendations (events/recommendations/rebalance).
// AWS documents checking for spot notices every 5 seconds; so does this source by default.
//
// Spot notices and rebalance recommendations come only to Spot Instances: Run reads the
// instance's purchasing option (meta-data/instance-life-cycle, which never changes) until
// it has it, and on an instance known not to be Spot asks only for the lifecycle state,
// one IMDS request a poll instead of three.
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
	spot, known := true, false
	poll(ctx, s.Clock, interval, func() float64 { return 0.5 }, func(ctx context.Context) pollResult {
		if !known {
			spot, known = s.mayBeSpot(ctx)
		}
		l, err := s.read(ctx, spot)
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

// notSpot are the purchasing options (IMDS instance-life-cycle) of instances that get no
// spot notices; any other answer, or none, is polled for them.
var notSpot = []string{"on-demand", "scheduled", "capacity-block"}

// mayBeSpot reads whether the instance may get spot notices, and whether that is known:
// a failure to ask (not a 404) is asked again at the next poll, and meanwhile counts as
// Spot.
func (s AWSLifecycle) mayBeSpot(ctx context.Context) (spot, known bool) {
	v, err := awsenv.ReadMetadata(ctx, s.IMDS, "instance-life-cycle")
	switch {
	case err == nil:
		return !slices.Contains(notSpot, strings.TrimSpace(v)), true
	case awsenv.IsNotFound(err):
		return true, true
	}
	return true, false
}

// Read asks IMDS once, for everything, Spot or not.
func (s AWSLifecycle) Read(ctx context.Context) (Lifecycle, error) { return s.read(ctx, true) }

// read asks IMDS once; spot notices and rebalance recommendations only when spot.
func (s AWSLifecycle) read(ctx context.Context, spot bool) (Lifecycle, error) {
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
	if !spot {
		return l, nil
	}
	notice, err := awsenv.ReadMetadata(ctx, s.IMDS, "spot/instance-action")
	switch {
	case err == nil:
		var a spotAction
		if jerr := json.Unmarshal([]byte(notice), &a); jerr != nil {
			return l, fmt.Errorf("IMDS spot/instance-action is not the documented JSON (%v): %q", jerr, notice)
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
