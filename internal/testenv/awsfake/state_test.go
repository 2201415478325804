package awsfake

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

const stateDoc = `{
  "stacks": [{"name": "app", "resources": [
    {"logicalId": "Web", "metadata": {"AWS::CloudFormation::Init": {"config": {"x": "ü"}}}},
    {"logicalId": "Raw", "metadata": "{ \"kept\" : \"as is\" }", "status": "UPDATE_IN_PROGRESS"}]}],
  "instances": [{"id": "i-001", "privateIp": "10.0.0.1", "launchTime": "2026-01-02T03:04:05Z",
    "tags": {"aws:cloudformation:stack-name": "app"}}],
  "groups": [{"name": "web", "instances": [{"id": "i-001"}], "hooks": [{"name": "drain"}]}]
}`

func TestLoadState(t *testing.T) {
	srv := Start(t)
	if err := srv.LoadState(strings.NewReader(stateDoc)); err != nil {
		t.Fatal(err)
	}
	c := newClients(srv, 1)
	for logical, want := range map[string]string{
		"Web": `{"AWS::CloudFormation::Init":{"config":{"x":"ü"}}}`,
		"Raw": `{ "kept" : "as is" }`,
	} {
		out, err := c.cfn.DescribeStackResource(ctx(t), &cloudformation.DescribeStackResourceInput{
			StackName: aws.String("app"), LogicalResourceId: aws.String(logical),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(out.StackResourceDetail.Metadata); got != want {
			t.Errorf("%s metadata %q, want %q", logical, got, want)
		}
	}
	inst, err := c.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
	if err != nil || len(inst.Reservations) != 1 || aws.ToString(inst.Reservations[0].Instances[0].PrivateIpAddress) != "10.0.0.1" {
		t.Errorf("instances %+v %v", inst, err)
	}
	hooks, err := c.asg.DescribeLifecycleHooks(ctx(t), &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String("web")})
	if err != nil || len(hooks.LifecycleHooks) != 1 {
		t.Errorf("hooks %+v %v", hooks, err)
	}

	for _, bad := range []string{`{"stacks": [{"name": "x", "resources": [{"logicalId": "A", "metdata": {}}]}]}`, `{"instances": [{}]}`, `[`} {
		if err := srv.LoadState(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestControlAPI(t *testing.T) {
	srv := Start(t)
	resp, err := http.Post(srv.URL+"/_awsfake/state", "application/json", strings.NewReader(stateDoc))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("post state: %v %v", resp, err)
	}
	resp.Body.Close()
	c := newClients(srv, 1)
	if _, err := c.asg.DescribeAutoScalingGroups(ctx(t), &autoscaling.DescribeAutoScalingGroupsInput{}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx(t), http.MethodGet, srv.URL+"/_awsfake/calls", nil)
	status, body := do(t, req)
	var counts map[string]int
	if err := json.Unmarshal(body, &counts); err != nil || status != 200 || counts["autoscaling:DescribeAutoScalingGroups"] != 1 {
		t.Errorf("calls: %d %s", status, body)
	}
}
