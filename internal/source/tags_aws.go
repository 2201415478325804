package source

import (
	"context"
	"errors"
	"time"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
)

// AWSTags reads the instance's tags: from IMDS (tags/instance) when the instance allows
// tags in its metadata — no API call at all — else with ec2:DescribeTags.
type AWSTags struct {
	IMDS       IMDSAPI
	EC2        EC2API
	InstanceID string
	Clock      clock.Clock
	Interval   time.Duration
	Jitter     func() float64
}

// Name returns "tags".
func (AWSTags) Name() string { return "tags" }

// Run polls until ctx ends.
func (s AWSTags) Run(ctx context.Context, emit func(Update)) error {
	useIMDS := s.IMDS != nil
	poll(ctx, s.Clock, s.Interval, s.Jitter, func(ctx context.Context) pollResult {
		var tags map[string]string
		var err error
		if useIMDS {
			tags, err = awsenv.IMDSTags(ctx, s.IMDS)
			if errors.Is(err, awsenv.ErrNoIMDSTags) {
				useIMDS = false
			}
		}
		if !useIMDS {
			tags, err = awsenv.EC2Tags(ctx, s.EC2, s.InstanceID)
		}
		if ctx.Err() != nil {
			return pollResult{}
		}
		emit(Update{Source: s.Name(), Tags: tags, Err: err})
		return pollResult{throttled: err != nil && awsenv.IsThrottle(err)}
	})
	return nil
}
