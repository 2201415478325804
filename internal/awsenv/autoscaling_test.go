package awsenv

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

// asgAPI is what both clients answer, the SDK's and the hand-made one.
type asgAPI interface {
	DescribeAutoScalingGroups(context.Context, *autoscaling.DescribeAutoScalingGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	DescribeLifecycleHooks(context.Context, *autoscaling.DescribeLifecycleHooksInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeLifecycleHooksOutput, error)
	RecordLifecycleActionHeartbeat(context.Context, *autoscaling.RecordLifecycleActionHeartbeatInput, ...func(*autoscaling.Options)) (*autoscaling.RecordLifecycleActionHeartbeatOutput, error)
	CompleteLifecycleAction(context.Context, *autoscaling.CompleteLifecycleActionInput, ...func(*autoscaling.Options)) (*autoscaling.CompleteLifecycleActionOutput, error)
	SetInstanceHealth(context.Context, *autoscaling.SetInstanceHealthInput, ...func(*autoscaling.Options)) (*autoscaling.SetInstanceHealthOutput, error)
	CreateOrUpdateTags(context.Context, *autoscaling.CreateOrUpdateTagsInput, ...func(*autoscaling.Options)) (*autoscaling.CreateOrUpdateTagsOutput, error)
	DeleteTags(context.Context, *autoscaling.DeleteTagsInput, ...func(*autoscaling.Options)) (*autoscaling.DeleteTagsOutput, error)
}

// TestASGClientWireFormat: the hand-made Auto Scaling client sends, for each call
// stackhand makes, the same form as the SDK's client (captured on the way to the AWS
// stand-in), signed for autoscaling in the region, and reads the answers into the same
// values the SDK's client reads; its errors read as the SDK's.
func TestASGClientWireFormat(t *testing.T) {
	fake := awsfake.Start(t)
	var mu sync.Mutex
	var bodies []url.Values
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		v, _ := url.ParseQuery(string(b))
		if a := r.Header.Get("Authorization"); !bytes.Contains([]byte(a), []byte("/eu-west-1/autoscaling/aws4_request")) {
			t.Errorf("%s: Authorization %q: want SigV4 for autoscaling in eu-west-1", v.Get("Action"), a)
		}
		mu.Lock()
		bodies = append(bodies, v)
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		fake.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	cfg := aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(proxy.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}
	sdk := autoscaling.NewFromConfig(cfg)
	mine := NewASGClient(cfg, 5*time.Second)

	setup := func() {
		fake.PutGroup(awsfake.Group{Name: "web", Instances: []awsfake.GroupInstance{{ID: "i-0a", AZ: "eu-west-1a"}, {ID: "i-0b", LifecycleState: "Terminating:Wait", AZ: "eu-west-1b"}},
			Hooks: []awsfake.LifecycleHook{{Name: "drain", HeartbeatTimeout: 600}}, Tags: map[string]string{"stackhand:rollout-hold": "true", "team": "a"},
			HealthCheckGracePeriod: -1})
	}
	ctx := context.Background()
	steps := []struct {
		name string
		do   func(c asgAPI) (any, error)
	}{
		{"DescribeAutoScalingGroups", func(c asgAPI) (any, error) {
			return c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
		}},
		{"DescribeLifecycleHooks", func(c asgAPI) (any, error) {
			return c.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String("web")})
		}},
		{"RecordLifecycleActionHeartbeat", func(c asgAPI) (any, error) {
			return c.RecordLifecycleActionHeartbeat(ctx, &autoscaling.RecordLifecycleActionHeartbeatInput{AutoScalingGroupName: aws.String("web"),
				LifecycleHookName: aws.String("drain"), InstanceId: aws.String("i-0b")})
		}},
		{"CompleteLifecycleAction", func(c asgAPI) (any, error) {
			return c.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("web"),
				LifecycleHookName: aws.String("drain"), InstanceId: aws.String("i-0b"), LifecycleActionResult: aws.String("CONTINUE")})
		}},
		{"SetInstanceHealth", func(c asgAPI) (any, error) {
			return c.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String("i-0a"), HealthStatus: aws.String("Unhealthy"),
				ShouldRespectGracePeriod: aws.Bool(true)})
		}},
		{"CreateOrUpdateTags", func(c asgAPI) (any, error) {
			return c.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []astypes.Tag{{ResourceId: aws.String("web"),
				ResourceType: aws.String("auto-scaling-group"), Key: aws.String("k"), Value: aws.String("v"), PropagateAtLaunch: aws.Bool(false)}}})
		}},
		{"DeleteTags", func(c asgAPI) (any, error) {
			return c.DeleteTags(ctx, &autoscaling.DeleteTagsInput{Tags: []astypes.Tag{{ResourceId: aws.String("web"),
				ResourceType: aws.String("auto-scaling-group"), Key: aws.String("k")}}})
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var outs []any
			var forms []url.Values
			for _, c := range []asgAPI{sdk, mine} {
				setup()
				mu.Lock()
				bodies = nil
				mu.Unlock()
				out, err := st.do(c)
				if err != nil {
					t.Fatalf("%T: %v", c, err)
				}
				outs = append(outs, out)
				mu.Lock()
				forms = append(forms, bodies[len(bodies)-1])
				mu.Unlock()
			}
			if !reflect.DeepEqual(forms[0], forms[1]) {
				t.Errorf("form sent:\nSDK:  %v\nmine: %v", forms[0], forms[1])
			}
			if st.name == "DescribeAutoScalingGroups" {
				// The fields stackhand reads, compared.
				a, b := outs[0].(*autoscaling.DescribeAutoScalingGroupsOutput), outs[1].(*autoscaling.DescribeAutoScalingGroupsOutput)
				if len(a.AutoScalingGroups) != 1 || len(b.AutoScalingGroups) != 1 {
					t.Fatalf("groups: %d and %d", len(a.AutoScalingGroups), len(b.AutoScalingGroups))
				}
				ga, gb := a.AutoScalingGroups[0], b.AutoScalingGroups[0]
				for i := range ga.Instances {
					ia, ib := ga.Instances[i], gb.Instances[i]
					if *ia.InstanceId != *ib.InstanceId || ia.LifecycleState != ib.LifecycleState || *ia.AvailabilityZone != *ib.AvailabilityZone || *ia.HealthStatus != *ib.HealthStatus {
						t.Errorf("instance %d: SDK %+v, mine %+v", i, ia, ib)
					}
				}
				if len(ga.Tags) != 2 || !reflect.DeepEqual(ga.Tags, gb.Tags) {
					t.Errorf("tags: SDK %v, mine %v", ga.Tags, gb.Tags)
				}
			}
			if st.name == "DescribeLifecycleHooks" {
				a, b := outs[0].(*autoscaling.DescribeLifecycleHooksOutput), outs[1].(*autoscaling.DescribeLifecycleHooksOutput)
				if len(a.LifecycleHooks) != 1 || *a.LifecycleHooks[0].LifecycleHookName != *b.LifecycleHooks[0].LifecycleHookName ||
					*a.LifecycleHooks[0].HeartbeatTimeout != *b.LifecycleHooks[0].HeartbeatTimeout || *a.LifecycleHooks[0].LifecycleTransition != *b.LifecycleHooks[0].LifecycleTransition {
					t.Errorf("hooks: SDK %+v, mine %+v", a.LifecycleHooks, b.LifecycleHooks)
				}
			}
		})
	}

	// Errors: a ValidationError's code and message; a throttle is retried and reads as one.
	_, err := mine.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String("i-0nope"), HealthStatus: aws.String("Unhealthy")})
	if ErrorCode(err) != "ValidationError" || !bytes.Contains([]byte(Explain(err, "autoscaling:SetInstanceHealth")), []byte("No managed instance found")) {
		t.Errorf("error %v (code %q)", err, ErrorCode(err))
	}
	mine.q.sleep = func(context.Context, time.Duration) error { return nil }
	fake.SetFaults(awsfake.Faults{ThrottleRate: 1})
	before := fake.Calls("autoscaling", "DescribeAutoScalingGroups")
	_, err = mine.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
	if !IsThrottle(err) || fake.Calls("autoscaling", "DescribeAutoScalingGroups")-before != queryAttempts {
		t.Errorf("throttled: %v after %d calls", err, fake.Calls("autoscaling", "DescribeAutoScalingGroups")-before)
	}
}
