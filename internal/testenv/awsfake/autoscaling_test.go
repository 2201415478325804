package awsfake

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

func TestDescribeAutoScalingGroups(t *testing.T) {
	srv := Start(t)
	srv.PutInstance(Instance{ID: "i-001", Type: "c7i.large", AZ: "us-east-1c"})
	srv.PutGroup(Group{
		Name: "web", MinSize: 1, MaxSize: 4,
		Instances: []GroupInstance{
			{ID: "i-001"},
			{ID: "i-002", LifecycleState: "Pending:Wait", AZ: "us-east-1a", Type: "t3.small"},
			{ID: "i-003", LifecycleState: "Terminating:Wait", HealthStatus: "Unhealthy"},
		},
		Tags: map[string]string{"aws:cloudformation:stack-name": "app"},
	})
	srv.SetGroupInstances("db", InService("i-101", "i-102")...)
	c := newClients(srv, 3)

	out, err := c.asg.DescribeAutoScalingGroups(ctx(t), &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{"web", "missing", "db"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AutoScalingGroups) != 2 {
		t.Fatalf("groups %+v", out.AutoScalingGroups)
	}
	web := out.AutoScalingGroups[0]
	if aws.ToString(web.AutoScalingGroupName) != "web" || aws.ToInt32(web.MinSize) != 1 || aws.ToInt32(web.MaxSize) != 4 ||
		aws.ToInt32(web.DesiredCapacity) != 3 || web.CreatedTime == nil ||
		!slices.Equal(web.AvailabilityZones, []string{"us-east-1a", "us-east-1c"}) {
		t.Errorf("group %+v", web)
	}
	type inst struct{ id, state, health, az, typ string }
	var got []inst
	for _, i := range web.Instances {
		got = append(got, inst{aws.ToString(i.InstanceId), string(i.LifecycleState), aws.ToString(i.HealthStatus),
			aws.ToString(i.AvailabilityZone), aws.ToString(i.InstanceType)})
	}
	want := []inst{
		{"i-001", "InService", "Healthy", "us-east-1c", "c7i.large"},
		{"i-002", "Pending:Wait", "Healthy", "us-east-1a", "t3.small"},
		{"i-003", "Terminating:Wait", "Unhealthy", "us-east-1a", "t3.micro"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("instances\n got %v\nwant %v", got, want)
	}
	if len(web.Tags) != 1 || aws.ToString(web.Tags[0].Key) != "aws:cloudformation:stack-name" {
		t.Errorf("tags %+v", web.Tags)
	}
	if db := out.AutoScalingGroups[1]; len(db.Instances) != 2 || db.Instances[1].LifecycleState != types.LifecycleStateInService {
		t.Errorf("db %+v", db.Instances)
	}
	if p := srv.CallLog()[0].Params; p.Get("AutoScalingGroupNames.member.3") != "db" {
		t.Errorf("recorded params %v", p)
	}

	// Without names, all groups; filters on tags.
	all, err := c.asg.DescribeAutoScalingGroups(ctx(t), &autoscaling.DescribeAutoScalingGroupsInput{
		Filters: []types.Filter{{Name: aws.String("tag:aws:cloudformation:stack-name"), Values: []string{"app"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.AutoScalingGroups) != 1 || aws.ToString(all.AutoScalingGroups[0].AutoScalingGroupName) != "web" {
		t.Errorf("filtered %+v", all.AutoScalingGroups)
	}
}

func TestLifecycleHooksAndActions(t *testing.T) {
	srv := Start(t)
	srv.SetGroupInstances("web", InService("i-001")...)
	srv.SetGroupInstanceState("web", "i-002", "Terminating:Wait")
	srv.PutLifecycleHook("web", LifecycleHook{Name: "drain", HeartbeatTimeout: 300, DefaultResult: "CONTINUE"})
	srv.PutLifecycleHook("web", LifecycleHook{Name: "warm", Transition: TransitionLaunching})
	c := newClients(srv, 3)

	hooks, err := c.asg.DescribeLifecycleHooks(ctx(t), &autoscaling.DescribeLifecycleHooksInput{
		AutoScalingGroupName: aws.String("web"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks.LifecycleHooks) != 2 {
		t.Fatalf("hooks %+v", hooks.LifecycleHooks)
	}
	h := hooks.LifecycleHooks[0]
	if aws.ToString(h.LifecycleHookName) != "drain" || aws.ToString(h.LifecycleTransition) != TransitionTerminating ||
		aws.ToInt32(h.HeartbeatTimeout) != 300 || aws.ToString(h.DefaultResult) != "CONTINUE" ||
		aws.ToInt32(h.GlobalTimeout) != 30000 || aws.ToString(h.AutoScalingGroupName) != "web" {
		t.Errorf("hook %+v", h)
	}
	if h := hooks.LifecycleHooks[1]; aws.ToString(h.LifecycleTransition) != TransitionLaunching || aws.ToString(h.DefaultResult) != "ABANDON" {
		t.Errorf("second hook %+v", h)
	}

	for range 2 {
		if _, err := c.asg.RecordLifecycleActionHeartbeat(ctx(t), &autoscaling.RecordLifecycleActionHeartbeatInput{
			AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("drain"), InstanceId: aws.String("i-002"),
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.asg.CompleteLifecycleAction(ctx(t), &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("drain"),
		InstanceId: aws.String("i-002"), LifecycleActionResult: aws.String("CONTINUE"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.asg.CompleteLifecycleAction(ctx(t), &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("warm"),
		LifecycleActionToken: aws.String("bcd2f1b8-0000-4000-8000-000000000000"), LifecycleActionResult: aws.String("ABANDON"),
	}); err != nil {
		t.Fatal(err)
	}

	hb := srv.Heartbeats()
	if len(hb) != 2 || hb[0].Group != "web" || hb[0].Hook != "drain" || hb[0].InstanceID != "i-002" || hb[0].Time.IsZero() {
		t.Errorf("heartbeats %+v", hb)
	}
	done := srv.Completions()
	if len(done) != 2 || done[0].InstanceID != "i-002" || done[0].Result != "CONTINUE" ||
		done[1].Token != "bcd2f1b8-0000-4000-8000-000000000000" || done[1].Result != "ABANDON" {
		t.Errorf("completions %+v", done)
	}
	g, _ := srv.GetGroup("web")
	if st := g.Instances[1].LifecycleState; st != "Terminating:Proceed" {
		t.Errorf("after completion the instance is %s", st)
	}
	if srv.Calls("autoscaling", "RecordLifecycleActionHeartbeat") != 2 || srv.Calls("autoscaling", "") != 5 {
		t.Errorf("counts: %d heartbeats, %d autoscaling calls",
			srv.Calls("autoscaling", "RecordLifecycleActionHeartbeat"), srv.Calls("autoscaling", ""))
	}

	errs := []struct {
		name  string
		input autoscaling.CompleteLifecycleActionInput
		msg   string
	}{
		{"unknown group", autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("nope"),
			LifecycleHookName: aws.String("drain"), InstanceId: aws.String("i-002"), LifecycleActionResult: aws.String("CONTINUE")},
			"Group nope not found"},
		{"unknown hook", autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("web"),
			LifecycleHookName: aws.String("nope"), InstanceId: aws.String("i-002"), LifecycleActionResult: aws.String("CONTINUE")},
			"No Lifecycle Hook found with name nope for group web"},
		{"not a member", autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("web"),
			LifecycleHookName: aws.String("drain"), InstanceId: aws.String("i-999"), LifecycleActionResult: aws.String("CONTINUE")},
			"No active Lifecycle Action found with instance ID i-999"},
		{"bad result", autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("web"),
			LifecycleHookName: aws.String("drain"), InstanceId: aws.String("i-002"), LifecycleActionResult: aws.String("MAYBE")},
			`LifecycleActionResult must be CONTINUE or ABANDON, got "MAYBE"`},
	}
	for _, tt := range errs {
		_, err := c.asg.CompleteLifecycleAction(ctx(t), &tt.input)
		if code, msg := apiCode(t, err); code != "ValidationError" || msg != tt.msg {
			t.Errorf("%s: %s %q", tt.name, code, msg)
		}
	}
	if len(srv.Completions()) != 2 {
		t.Errorf("rejected completions were recorded: %+v", srv.Completions())
	}
	srv.ResetCalls()
	if len(srv.Heartbeats())+len(srv.Completions())+len(srv.CallLog())+srv.Calls("", "") != 0 {
		t.Errorf("ResetCalls left records")
	}
}

func TestSetInstanceHealth(t *testing.T) {
	srv := Start(t)
	srv.PutInstance(Instance{ID: "i-new"}) // launched now
	srv.PutGroup(Group{Name: "web", Instances: []GroupInstance{
		{ID: "i-new"},
		{ID: "i-old", LaunchTime: time.Now().Add(-10 * time.Minute)},
		{ID: "i-any"}, // no launch time known: past any grace period
	}})
	c := newClients(srv, 1)
	set := func(id, status string, respect *bool) error {
		_, err := c.asg.SetInstanceHealth(ctx(t), &autoscaling.SetInstanceHealthInput{
			InstanceId: aws.String(id), HealthStatus: aws.String(status), ShouldRespectGracePeriod: respect,
		})
		return err
	}

	// The grace period (300 s by default) is respected unless told otherwise.
	err := set("i-new", "Unhealthy", nil)
	if code, msg := apiCode(t, err); code != "ValidationError" ||
		!strings.HasSuffix(msg, "is less than the configured grace period of 300 seconds") {
		t.Errorf("within the grace period: %s %q", code, msg)
	}
	for _, call := range []struct {
		id, status string
		respect    *bool
	}{
		{"i-new", "Unhealthy", aws.Bool(false)},
		{"i-old", "Unhealthy", nil},
		{"i-any", "Healthy", aws.Bool(true)},
	} {
		if err := set(call.id, call.status, call.respect); err != nil {
			t.Fatalf("%s: %v", call.id, err)
		}
	}
	for _, bad := range []struct{ id, status, msg string }{
		{"i-999", "Unhealthy", "Instance Id not found - No managed instance found for instance ID: i-999"},
		{"i-old", "Sick", `HealthStatus must be Healthy or Unhealthy, got "Sick"`},
	} {
		if code, msg := apiCode(t, set(bad.id, bad.status, aws.Bool(false))); code != "ValidationError" || msg != bad.msg {
			t.Errorf("%s %s: %s %q", bad.id, bad.status, code, msg)
		}
	}

	calls := srv.HealthCalls()
	if len(calls) != 3 || calls[0].InstanceID != "i-new" || calls[0].Status != "Unhealthy" || calls[0].RespectGrace ||
		!calls[1].RespectGrace || calls[2].Status != "Healthy" || calls[0].Time.IsZero() {
		t.Errorf("health calls %+v", calls)
	}
	out, err := c.asg.DescribeAutoScalingGroups(ctx(t), &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{"web"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var health []string
	for _, i := range out.AutoScalingGroups[0].Instances {
		health = append(health, aws.ToString(i.InstanceId)+"="+aws.ToString(i.HealthStatus))
	}
	if !slices.Equal(health, []string{"i-new=Unhealthy", "i-old=Unhealthy", "i-any=Healthy"}) {
		t.Errorf("reported health %v", health)
	}
	if g := aws.ToInt32(out.AutoScalingGroups[0].HealthCheckGracePeriod); g != 300 {
		t.Errorf("grace period %d", g)
	}

	// A group without a grace period accepts the call at once.
	srv.PutGroup(Group{Name: "batch", HealthCheckGracePeriod: -1, Instances: []GroupInstance{{ID: "i-b", LaunchTime: time.Now()}}})
	if err := set("i-b", "Unhealthy", nil); err != nil {
		t.Error(err)
	}
	if n := srv.Calls("autoscaling", "SetInstanceHealth"); n != 7 {
		t.Errorf("%d calls counted, want 7", n)
	}
	srv.ResetCalls()
	if len(srv.HealthCalls()) != 0 {
		t.Error("ResetCalls kept the health calls")
	}
}
