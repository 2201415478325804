// Package lifecycle holds what acts on AWS around a shutdown, as the engine's shutdown
// observers: Action keeps an Auto Scaling termination lifecycle action alive while the
// shutdown hooks run and completes it after them; AlarmRemoval deletes the heartbeat
// alarm when the instance terminates; Observers tells each of them. The sources only
// watch; what acts lives here.
package lifecycle

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/source"
)

// AutoScalingAPI is the part of the Auto Scaling client Action uses.
type AutoScalingAPI interface {
	DescribeLifecycleHooks(ctx context.Context, in *autoscaling.DescribeLifecycleHooksInput, opts ...func(*autoscaling.Options)) (*autoscaling.DescribeLifecycleHooksOutput, error)
	RecordLifecycleActionHeartbeat(ctx context.Context, in *autoscaling.RecordLifecycleActionHeartbeatInput, opts ...func(*autoscaling.Options)) (*autoscaling.RecordLifecycleActionHeartbeatOutput, error)
	CompleteLifecycleAction(ctx context.Context, in *autoscaling.CompleteLifecycleActionInput, opts ...func(*autoscaling.Options)) (*autoscaling.CompleteLifecycleActionOutput, error)
}

// Action keeps an Auto Scaling termination lifecycle action alive while the
// shutdown hooks run (RecordLifecycleActionHeartbeat) and completes it at the end
// (CompleteLifecycleAction: CONTINUE, or ABANDON when a hook failed and Abandon is set).
// It acts only on a termination seen as target lifecycle state Terminated.
type Action struct {
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
func (a *Action) ShutdownStarted(lifecycleState string, _ time.Time) {
	if a.Group == "" || lifecycleState != source.Terminated {
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

func (a *Action) heartbeat() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := a.ASG.RecordLifecycleActionHeartbeat(ctx, &autoscaling.RecordLifecycleActionHeartbeatInput{
		AutoScalingGroupName: aws.String(a.Group), LifecycleHookName: aws.String(a.hook), InstanceId: aws.String(a.InstanceID)})
	if err != nil {
		a.Log.Error("lifecycle action heartbeat failed", zap.Error(awsenv.ExplainErr(err, "autoscaling:RecordLifecycleActionHeartbeat")))
	}
}

// ShutdownFinished stops the heartbeats and completes the lifecycle action.
func (a *Action) ShutdownFinished(ok bool) {
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
func (a *Action) findHook(ctx context.Context) (string, int32, error) {
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
