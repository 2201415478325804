package source

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"go.uber.org/zap"

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

// LifecycleAction keeps an Auto Scaling termination lifecycle action alive while the
// shutdown hooks run (RecordLifecycleActionHeartbeat) and completes it at the end
// (CompleteLifecycleAction: CONTINUE, or ABANDON when a hook failed and Abandon is set).
// It acts only on a termination seen as target lifecycle state Terminated.
type LifecycleAction struct {
	ASG        AutoScalingAPI
	Group      string
	InstanceID string
	HookName   string // found with DescribeLifecycleHooks when empty
	Abandon    bool
	Clock      clock.Clock
	Log        *zap.Logger

	mu      sync.Mutex
	stop    chan struct{}
	done    chan struct{}
	hook    string
	started bool
}

// ShutdownStarted begins heartbeats when the shutdown is an Auto Scaling termination.
func (a *LifecycleAction) ShutdownStarted(lifecycleState string) {
	if a.Group == "" || lifecycleState != Terminated {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hook, timeout, err := a.findHook(ctx)
	if err != nil {
		a.Log.Error("cannot find the termination lifecycle hook; the instance may be terminated before the shutdown hooks finish", zap.Error(err))
		return
	}
	if hook == "" {
		a.Log.Warn("the Auto Scaling group has no EC2_INSTANCE_TERMINATING lifecycle hook: the instance may be terminated before the shutdown hooks finish; add one (or set lifecycle.hook_name)",
			zap.String("group", a.Group))
		return
	}
	every := 30 * time.Second
	if timeout > 0 {
		every = min(max(time.Duration(timeout)*time.Second/3, 10*time.Second), time.Minute)
	}
	a.mu.Lock()
	a.hook, a.started = hook, true
	a.stop, a.done = make(chan struct{}), make(chan struct{})
	a.mu.Unlock()
	clk := a.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	a.Log.Info("keeping the lifecycle action alive while the shutdown hooks run", zap.String("group", a.Group),
		zap.String("lifecycle_hook", hook), zap.Duration("heartbeat_every", every))
	go func() {
		defer close(a.done)
		tick := make(chan struct{}, 1)
		for {
			a.heartbeat()
			t := clk.AfterFunc(every, func() {
				select {
				case tick <- struct{}{}:
				default:
				}
			})
			select {
			case <-a.stop:
				t.Stop()
				return
			case <-tick:
			}
		}
	}()
}

func (a *LifecycleAction) heartbeat() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := a.ASG.RecordLifecycleActionHeartbeat(ctx, &autoscaling.RecordLifecycleActionHeartbeatInput{
		AutoScalingGroupName: aws.String(a.Group), LifecycleHookName: aws.String(a.hook), InstanceId: aws.String(a.InstanceID)})
	if err != nil {
		a.Log.Error("lifecycle action heartbeat failed", zap.Error(awsenv.ExplainErr(err, "autoscaling:RecordLifecycleActionHeartbeat")))
	}
}

// ShutdownFinished stops the heartbeats and completes the lifecycle action.
func (a *LifecycleAction) ShutdownFinished(ok bool) {
	a.mu.Lock()
	started := a.started
	a.started = false
	a.mu.Unlock()
	if !started {
		return
	}
	close(a.stop)
	<-a.done
	result := "CONTINUE"
	if !ok && a.Abandon {
		result = "ABANDON"
	}
	// A fresh context: the agent is stopping, but this call is what lets the instance go.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := a.ASG.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String(a.Group), LifecycleHookName: aws.String(a.hook),
		InstanceId: aws.String(a.InstanceID), LifecycleActionResult: aws.String(result)})
	if err != nil {
		a.Log.Error("cannot complete the lifecycle action; Auto Scaling goes on at the hook's timeout",
			zap.Error(awsenv.ExplainErr(err, "autoscaling:CompleteLifecycleAction")))
		return
	}
	a.Log.Info("lifecycle action completed", zap.String("result", result), zap.String("lifecycle_hook", a.hook))
}

// findHook returns the configured hook, or the group's termination hook and its timeout.
func (a *LifecycleAction) findHook(ctx context.Context) (string, int32, error) {
	out, err := a.ASG.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String(a.Group)})
	if err != nil {
		if a.HookName != "" {
			return a.HookName, 0, nil
		}
		return "", 0, awsenv.ExplainErr(err, "autoscaling:DescribeLifecycleHooks")
	}
	for _, h := range out.LifecycleHooks {
		name := aws.ToString(h.LifecycleHookName)
		if a.HookName != "" && name == a.HookName {
			return name, aws.ToInt32(h.HeartbeatTimeout), nil
		}
		if a.HookName == "" && aws.ToString(h.LifecycleTransition) == "autoscaling:EC2_INSTANCE_TERMINATING" {
			return name, aws.ToInt32(h.HeartbeatTimeout), nil
		}
	}
	return a.HookName, 0, nil
}
