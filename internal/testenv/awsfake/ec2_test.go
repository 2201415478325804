package awsfake

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func putFleet(srv *Server) time.Time {
	launched := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	srv.PutInstance(Instance{
		ID: "i-001", Type: "m7g.large", AZ: "us-east-1b", PrivateIP: "10.0.0.1", PublicIP: "54.0.0.1",
		LaunchTime: launched,
		Tags: map[string]string{
			"aws:cloudformation:stack-name": "app", "aws:cloudformation:logical-id": "Web",
			"aws:autoscaling:groupName": "web", "Name": "web 1 — ünï",
		},
	})
	srv.PutInstance(Instance{ID: "i-002", PrivateIP: "10.0.0.2", LaunchTime: launched,
		Tags: map[string]string{"aws:cloudformation:stack-name": "app"}})
	srv.PutInstance(Instance{ID: "i-003", State: "stopped", LaunchTime: launched,
		Tags: map[string]string{"aws:cloudformation:stack-name": "app"}})
	srv.PutInstance(Instance{ID: "i-004", Tags: map[string]string{"aws:cloudformation:stack-name": "other"}})
	return launched
}

func instanceIDs(out *ec2.DescribeInstancesOutput) []string {
	var ids []string
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			ids = append(ids, aws.ToString(i.InstanceId))
		}
	}
	return ids
}

func TestDescribeInstances(t *testing.T) {
	srv := Start(t)
	launched := putFleet(srv)
	c := newClients(srv, 3)

	out, err := c.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{"i-001"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("reservations %+v", out.Reservations)
	}
	i := out.Reservations[0].Instances[0]
	if aws.ToString(i.InstanceId) != "i-001" || i.InstanceType != types.InstanceTypeM7gLarge ||
		aws.ToString(i.Placement.AvailabilityZone) != "us-east-1b" ||
		aws.ToString(i.PrivateIpAddress) != "10.0.0.1" || aws.ToString(i.PublicIpAddress) != "54.0.0.1" ||
		i.State.Name != types.InstanceStateNameRunning || aws.ToInt32(i.State.Code) != 16 ||
		!aws.ToTime(i.LaunchTime).Equal(launched) {
		t.Errorf("instance %+v state %+v placement %+v", i, i.State, i.Placement)
	}
	tags := map[string]string{}
	for _, tag := range i.Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	if len(tags) != 4 || tags["Name"] != "web 1 — ünï" || tags["aws:autoscaling:groupName"] != "web" {
		t.Errorf("tags %v", tags)
	}

	tests := []struct {
		name  string
		input ec2.DescribeInstancesInput
		want  []string
	}{
		{"all", ec2.DescribeInstancesInput{}, []string{"i-001", "i-002", "i-003", "i-004"}},
		{"several ids", ec2.DescribeInstancesInput{InstanceIds: []string{"i-003", "i-001"}}, []string{"i-003", "i-001"}},
		{"stack peers running", ec2.DescribeInstancesInput{Filters: []types.Filter{
			{Name: aws.String("tag:aws:cloudformation:stack-name"), Values: []string{"app"}},
			{Name: aws.String("instance-state-name"), Values: []string{"running", "pending"}},
		}}, []string{"i-001", "i-002"}},
		{"wildcard", ec2.DescribeInstancesInput{Filters: []types.Filter{
			{Name: aws.String("tag:Name"), Values: []string{"web ?*"}},
		}}, []string{"i-001"}},
		{"no match", ec2.DescribeInstancesInput{Filters: []types.Filter{
			{Name: aws.String("tag:aws:cloudformation:stack-name"), Values: []string{"none"}},
		}}, nil},
	}
	for _, tt := range tests {
		out, err := c.ec2.DescribeInstances(ctx(t), &tt.input)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := instanceIDs(out); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	call := srv.CallLog()[2] // "several ids"
	if call.Service != "ec2" || call.Params.Get("InstanceId.1") != "i-003" || call.Params.Get("Version") != "2016-11-15" {
		t.Errorf("recorded %+v", call)
	}
}

func TestDescribeInstancesErrors(t *testing.T) {
	srv := Start(t)
	putFleet(srv)
	c := newClients(srv, 3)
	tests := []struct {
		name      string
		input     ec2.DescribeInstancesInput
		code, msg string
	}{
		{"missing id", ec2.DescribeInstancesInput{InstanceIds: []string{"i-001", "i-404"}},
			"InvalidInstanceID.NotFound", "The instance ID 'i-404' does not exist"},
		{"bad filter", ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("colour"), Values: []string{"x"}}}},
			"InvalidParameterValue", "The filter 'colour' is invalid"},
		{"bad page size", ec2.DescribeInstancesInput{MaxResults: aws.Int32(2)},
			"InvalidParameterValue", "Value ( 2 ) for parameter maxResults is invalid. Expecting a value between 5 and 1000."},
	}
	for _, tt := range tests {
		_, err := c.ec2.DescribeInstances(ctx(t), &tt.input)
		if code, msg := apiCode(t, err); code != tt.code || msg != tt.msg {
			t.Errorf("%s: got %s %q, want %s %q", tt.name, code, msg, tt.code, tt.msg)
		}
	}
	srv.RemoveInstance("i-001")
	_, err := c.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{"i-001"}})
	if code, _ := apiCode(t, err); code != "InvalidInstanceID.NotFound" {
		t.Errorf("removed instance: %s", code)
	}
}

func TestDescribeInstancesPaginates(t *testing.T) {
	srv := Start(t)
	var want []string
	for n := range 12 {
		id := fmt.Sprintf("i-%03d", n)
		srv.PutInstance(Instance{ID: id, Tags: map[string]string{"fleet": "a"}})
		want = append(want, id)
	}
	c := newClients(srv, 3)
	var got []string
	p := ec2.NewDescribeInstancesPaginator(c.ec2, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, instanceIDs(out)...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged ids %v", got)
	}
	if n := srv.Calls("ec2", "DescribeInstances"); n != 3 {
		t.Errorf("pages = %d, want 3", n)
	}

	var tags int
	tp := ec2.NewDescribeTagsPaginator(c.ec2, &ec2.DescribeTagsInput{MaxResults: aws.Int32(5)})
	for tp.HasMorePages() {
		out, err := tp.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		tags += len(out.Tags)
	}
	if tags != 12 {
		t.Errorf("paged tags = %d, want 12", tags)
	}
}

func TestDescribeTags(t *testing.T) {
	srv := Start(t)
	putFleet(srv)
	c := newClients(srv, 3)
	tests := []struct {
		name    string
		filters []types.Filter
		want    []string // resourceId/key=value
	}{
		{"own tags", []types.Filter{
			{Name: aws.String("resource-id"), Values: []string{"i-001"}},
			{Name: aws.String("resource-type"), Values: []string{"instance"}},
		}, []string{
			"i-001/Name=web 1 — ünï", "i-001/aws:autoscaling:groupName=web",
			"i-001/aws:cloudformation:logical-id=Web", "i-001/aws:cloudformation:stack-name=app",
		}},
		{"some keys", []types.Filter{
			{Name: aws.String("resource-id"), Values: []string{"i-001"}},
			{Name: aws.String("key"), Values: []string{"aws:cloudformation:stack-name", "aws:cloudformation:logical-id"}},
		}, []string{"i-001/aws:cloudformation:logical-id=Web", "i-001/aws:cloudformation:stack-name=app"}},
		{"by key across instances", []types.Filter{
			{Name: aws.String("key"), Values: []string{"aws:cloudformation:stack-name"}},
			{Name: aws.String("value"), Values: []string{"app"}},
		}, []string{
			"i-001/aws:cloudformation:stack-name=app", "i-002/aws:cloudformation:stack-name=app",
			"i-003/aws:cloudformation:stack-name=app",
		}},
	}
	for _, tt := range tests {
		out, err := c.ec2.DescribeTags(ctx(t), &ec2.DescribeTagsInput{Filters: tt.filters})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for _, tag := range out.Tags {
			if tag.ResourceType != types.ResourceTypeInstance {
				t.Errorf("%s: resource type %q", tt.name, tag.ResourceType)
			}
			got = append(got, aws.ToString(tag.ResourceId)+"/"+aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}

	// Tag changes show on the next call.
	srv.SetTag("i-002", "Role", "db")
	srv.DeleteTag("i-002", "aws:cloudformation:stack-name")
	out, err := c.ec2.DescribeTags(ctx(t), &ec2.DescribeTagsInput{Filters: []types.Filter{
		{Name: aws.String("resource-id"), Values: []string{"i-002"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "Role" {
		t.Errorf("after change: %+v", out.Tags)
	}

	filter := types.Filter{Name: aws.String("owner"), Values: []string{"me"}}
	_, err = c.ec2.DescribeTags(ctx(t), &ec2.DescribeTagsInput{Filters: []types.Filter{filter}})
	if code, _ := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("unknown filter: %s", code)
	}
}
