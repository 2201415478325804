package awsfake

import (
	"slices"
	"testing"

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
