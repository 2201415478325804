package source

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/stackhand/stackhand/internal/cfnpath"
	"github.com/stackhand/stackhand/internal/clock"
)

// AWSMetadata polls cloudformation:DescribeStackResource for the resources the rules
// watch, as cfn-hup does: one call per logical id per pass; a resource whose status is
// still *_IN_PROGRESS is skipped for that pass (its rules are left as they were).
type AWSMetadata struct {
	CFN      CloudFormationAPI
	Stack    string
	Rules    []MetadataRule
	Clock    clock.Clock
	Interval time.Duration
	// Jitter returns a number in [0, 1); nil is math/rand.
	Jitter func() float64
}

// Name returns "metadata".
func (AWSMetadata) Name() string { return "metadata" }

// Run polls until ctx ends.
func (s AWSMetadata) Run(ctx context.Context, emit func(Update)) error {
	poll(ctx, s.Clock, s.Interval, s.Jitter, func(ctx context.Context) pollResult {
		vals, throttled, err := s.Read(ctx)
		if ctx.Err() != nil {
			return pollResult{}
		}
		emit(Update{Source: s.Name(), Metadata: vals, Err: err})
		return pollResult{throttled: throttled}
	})
	return nil
}

// Read makes one pass. Rules of a resource that could not be read are left out of the
// map, so the engine keeps them as they were.
func (s AWSMetadata) Read(ctx context.Context) (map[string]Observed, bool, error) {
	out := map[string]Observed{}
	type result struct {
		detail *types.StackResourceDetail
		err    error
	}
	cache := map[string]result{}
	var firstErr error
	throttled := false
	for _, r := range s.Rules {
		res, ok := cache[r.Path.LogicalID]
		if !ok {
			o, err := s.CFN.DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{
				StackName: aws.String(s.Stack), LogicalResourceId: aws.String(r.Path.LogicalID)})
			res = result{err: err}
			if err == nil {
				res.detail = o.StackResourceDetail
			}
			cache[r.Path.LogicalID] = res
			if err != nil {
				if isThrottle(err) {
					throttled = true
				}
				if firstErr == nil {
					firstErr = explain(err, "cloudformation:DescribeStackResource")
					if strings.Contains(err.Error(), "does not exist") {
						firstErr = fmt.Errorf("stack %s or its resource %s does not exist (deleted, or a wrong stack/resource in the config); watched values stay as they were: %w", s.Stack, r.Path.LogicalID, err)
					}
				}
			}
		}
		if res.err != nil || res.detail == nil {
			continue
		}
		if strings.HasSuffix(string(res.detail.ResourceStatus), "_IN_PROGRESS") {
			continue
		}
		out[r.Name] = observe(r, res.detail)
	}
	return out, throttled, firstErr
}

// observe reads one rule's value from a resource, as cfn-hup reads it.
func observe(r MetadataRule, d *types.StackResourceDetail) Observed {
	deleted := d.ResourceStatus == types.ResourceStatusDeleteComplete
	str := func(s string) Observed {
		if s == "" || deleted {
			return Observed{}
		}
		b, _ := json.Marshal(s)
		return Observed{Present: true, Value: b}
	}
	switch r.Path.Field {
	case cfnpath.PhysicalResourceID:
		return str(aws.ToString(d.PhysicalResourceId))
	case cfnpath.LastUpdated:
		if d.LastUpdatedTimestamp == nil {
			return Observed{}
		}
		return str(d.LastUpdatedTimestamp.UTC().Format(time.RFC3339Nano))
	}
	v, ok, err := cfnpath.Lookup([]byte(aws.ToString(d.Metadata)), r.Path.Sub)
	if err != nil {
		return Observed{Err: fmt.Errorf("rule %s: resource %s: %w", r.Name, r.Path.LogicalID, err)}
	}
	return Observed{Present: ok, Value: v}
}
