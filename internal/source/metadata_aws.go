package source

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/cfnpath"
	"github.com/stackhand/stackhand/internal/clock"
)

// AWSMetadata polls cloudformation:DescribeStackResource for the resources the rules
// watch, as cfn-hup does: one call per logical id per pass; a resource whose status is
// still *_IN_PROGRESS is skipped for that pass (its rules are left as they were).
//
// Metadata only changes through a stack operation, so when the rules watch more than one
// logical id a pass first asks cloudformation:DescribeStacks for the stack's
// LastUpdatedTime (CreationTime if never updated) and StackStatus: when both are as at the
// last pass that read every resource, and the stack is not *_IN_PROGRESS, that pass's
// values are returned again and the pass costs one call instead of one per resource.
// DescribeStacks failing falls back to reading every resource; DescribeStacks refused
// (the role lacks the permission, or the calls carry cfn-hup's CFN_V1 instance identity,
// a scheme meant for DescribeStackResource) while DescribeStackResource works
// turns the pre-check off for the life of the source, with one line in Log.
type AWSMetadata struct {
	CFN      CloudFormationAPI
	Stack    string
	Rules    []MetadataRule
	Clock    clock.Clock
	Interval time.Duration
	// Jitter returns a number in [0, 1); nil is math/rand.
	Jitter func() float64
	// Log gets the line saying the DescribeStacks pre-check is off; nil logs nothing.
	Log *zap.Logger

	mu         sync.Mutex          // held by Read: the state below spans passes
	noPreCheck bool                // DescribeStacks was refused: read every resource each pass
	last       string              // the stack's state at the last pass that read every resource
	lastVals   map[string]Observed // that pass's values
}

// Name returns "metadata".
func (*AWSMetadata) Name() string { return "metadata" }

// Run polls until ctx ends.
func (s *AWSMetadata) Run(ctx context.Context, emit func(Update)) error {
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
func (s *AWSMetadata) Read(ctx context.Context) (map[string]Observed, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := map[string]bool{}
	for _, r := range s.Rules {
		ids[r.Path.LogicalID] = true
	}
	state, checked := "", false
	var checkErr error
	if len(ids) > 1 && !s.noPreCheck {
		state, checkErr = s.stackState(ctx)
		checked = checkErr == nil
		if checked && state == s.last && s.lastVals != nil {
			return maps.Clone(s.lastVals), false, nil
		}
	}
	out, throttled, complete, anyRead, err := s.readResources(ctx)
	if checked && complete && err == nil && !strings.HasSuffix(state, "_IN_PROGRESS") {
		s.last, s.lastVals = state, maps.Clone(out)
	}
	if checkErr != nil {
		s.preCheckFailed(checkErr, anyRead, len(ids))
	}
	return out, throttled, err
}

// stackState returns the stack's id, last change and status as one string, which
// changes with every stack operation; the status is last, so a stack in progress ends
// in "_IN_PROGRESS".
func (s *AWSMetadata) stackState(ctx context.Context) (string, error) {
	o, err := s.CFN.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(s.Stack)})
	if err != nil {
		return "", err
	}
	if len(o.Stacks) != 1 {
		return "", fmt.Errorf("DescribeStacks %s answered %d stacks", s.Stack, len(o.Stacks))
	}
	st := o.Stacks[0]
	changed := st.LastUpdatedTime
	if changed == nil {
		changed = st.CreationTime
	}
	if changed == nil {
		return "", fmt.Errorf("DescribeStacks %s: the stack has no CreationTime", s.Stack)
	}
	return aws.ToString(st.StackId) + " " + changed.UTC().Format(time.RFC3339Nano) + " " + string(st.StackStatus), nil
}

// preCheckFailed decides, after a pass, what a DescribeStacks error means. Refused while
// DescribeStackResource was answered, it is a missing permission or the CFN_V1 scheme,
// which will not change by itself: the pre-check stops for good, and says so once.
// Anything else (throttling, the stack deleted, no credentials at all) only cost this
// pass its saving.
func (s *AWSMetadata) preCheckFailed(err error, resourcesRead bool, resources int) {
	if !resourcesRead || !isRefusal(err) {
		return
	}
	s.noPreCheck = true
	if s.Log != nil {
		s.Log.Info("cloudformation:DescribeStacks is refused, so each pass reads every watched resource (one DescribeStackResource each); "+
			"allow cloudformation:DescribeStacks on the stack to make a pass one call while the stack is unchanged (optional)",
			zap.String("stack", s.Stack), zap.Int("resources", resources), zap.String("code", awsenv.ErrorCode(err)), zap.Error(err))
	}
}

// isRefusal reports whether err is AWS refusing the caller for this action: no
// permission, or credentials or a signing scheme it does not accept here.
func isRefusal(err error) bool {
	switch code := awsenv.ErrorCode(err); {
	case strings.HasPrefix(code, "AccessDenied"), code == "UnauthorizedOperation",
		code == "InvalidClientTokenId", code == "MissingAuthenticationToken", code == "IncompleteSignature":
		return true
	}
	return false
}

// readResources reads every watched resource, once per logical id. complete is whether
// every one was read and none was *_IN_PROGRESS; anyRead whether one was answered.
func (s *AWSMetadata) readResources(ctx context.Context) (out map[string]Observed, throttled, complete, anyRead bool, firstErr error) {
	out = map[string]Observed{}
	type result struct {
		detail *types.StackResourceDetail
		err    error
	}
	cache := map[string]result{}
	complete = true
	for _, r := range s.Rules {
		res, ok := cache[r.Path.LogicalID]
		if !ok {
			o, err := s.CFN.DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{
				StackName: aws.String(s.Stack), LogicalResourceId: aws.String(r.Path.LogicalID)})
			res = result{err: err}
			if err == nil {
				res.detail = o.StackResourceDetail
				anyRead = true
			}
			cache[r.Path.LogicalID] = res
			if err != nil {
				if awsenv.IsThrottle(err) {
					throttled = true
				}
				if firstErr == nil {
					firstErr = awsenv.ExplainErr(err, "cloudformation:DescribeStackResource")
					if strings.Contains(err.Error(), "does not exist") {
						firstErr = fmt.Errorf("stack %s or its resource %s does not exist (deleted, or a wrong stack/resource in the config); watched values stay as they were: %w", s.Stack, r.Path.LogicalID, err)
					}
				}
			}
		}
		if res.err != nil || res.detail == nil {
			complete = false
			continue
		}
		if strings.HasSuffix(string(res.detail.ResourceStatus), "_IN_PROGRESS") {
			complete = false
			continue
		}
		out[r.Name] = observe(r, res.detail)
	}
	return out, throttled, complete, anyRead, firstErr
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
