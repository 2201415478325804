package source

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/fleet"
)

// AWSPeers finds the online peers: the InService instances of this instance's Auto
// Scaling group (autoscaling:DescribeAutoScalingGroups, then ec2:DescribeInstances for
// their addresses, only when the set changed), or without a group the running instances
// that share its aws:cloudformation:stack-name tag. This is OpsWorks's configure on every
// instance, built on AWS's own data with no central service.
type AWSPeers struct {
	ASG      AutoScalingAPI
	EC2      EC2API
	Group    string // Auto Scaling group; empty: peers by stack tag
	Stack    string // the aws:cloudformation:stack-name tag value
	Region   string
	Clock    clock.Clock
	Interval time.Duration
	Jitter   func() float64
	// Alone, when set, is the reason there are no peers to watch whatever Group and
	// Stack say (a host that is no EC2 instance): each pass reports it, as NoPeers.
	Alone string

	known map[string]event.Instance // instance details by id, kept across passes
	held  bool                      // the group's rollout hold tag, from the last pass
}

// NoPeers is what the peers source says, and status shows, on an instance outside any
// Auto Scaling group and stack.
const NoPeers = "no peers to watch: this instance is in no Auto Scaling group and has no aws:cloudformation:stack-name tag (set stack in the config to watch the instances of a stack)"

// Name returns "peers".
func (*AWSPeers) Name() string { return "peers" }

// Run polls until ctx ends.
func (s *AWSPeers) Run(ctx context.Context, emit func(Update)) error {
	if s.Group == "" && s.Stack == "" || s.Alone != "" {
		detail := NoPeers
		if s.Alone != "" {
			detail = s.Alone
		}
		// Nothing is wrong (an instance that only ships logs, say), and nothing is read:
		// each pass says so again, so that status sees the source alive, not stale.
		poll(ctx, s.Clock, s.Interval, s.Jitter, func(context.Context) pollResult {
			emit(Update{Source: s.Name(), Detail: detail, NoPeers: true})
			return pollResult{}
		})
		return nil
	}
	poll(ctx, s.Clock, s.Interval, s.Jitter, func(ctx context.Context) pollResult {
		peers, err := s.Read(ctx)
		if ctx.Err() != nil {
			return pollResult{}
		}
		emit(Update{Source: s.Name(), Peers: peers, PeersRead: err == nil, Err: err, RolloutHold: s.held})
		return pollResult{throttled: err != nil && awsenv.IsThrottle(err)}
	})
	return nil
}

// Read makes one pass.
func (s *AWSPeers) Read(ctx context.Context) ([]event.Instance, error) {
	if s.Group == "" {
		return s.byStack(ctx)
	}
	out, err := s.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{s.Group}})
	if err != nil {
		return nil, awsenv.ExplainErr(err, "autoscaling:DescribeAutoScalingGroups")
	}
	if len(out.AutoScalingGroups) == 0 {
		return nil, fmt.Errorf("auto scaling group %s does not exist", s.Group)
	}
	s.held = false
	for _, t := range out.AutoScalingGroups[0].Tags {
		if aws.ToString(t.Key) == fleet.KeyHold {
			v := strings.ToLower(aws.ToString(t.Value))
			s.held = v != "" && v != "false"
		}
	}
	var ids []string
	for _, in := range out.AutoScalingGroups[0].Instances {
		if in.LifecycleState == astypes.LifecycleStateInService {
			ids = append(ids, aws.ToString(in.InstanceId))
		}
	}
	var missing []string
	for _, id := range ids {
		if _, ok := s.known[id]; !ok {
			missing = append(missing, id)
		}
	}
	fresh := map[string]event.Instance{}
	if len(missing) > 0 {
		found, err := s.describe(ctx, &ec2.DescribeInstancesInput{InstanceIds: missing})
		switch {
		case err != nil && awsenv.ErrorCode(err) == "InvalidInstanceID.NotFound":
			// EC2 is eventually consistent: an instance the group already lists may be
			// unknown to DescribeInstances for a moment. List it by id now; its details
			// are asked for again on the next pass.
			found = nil
		case err != nil:
			return nil, err
		}
		for _, in := range found {
			fresh[in.InstanceID] = in
		}
	}
	peers := make([]event.Instance, 0, len(ids))
	keep := map[string]event.Instance{}
	for _, id := range ids {
		in, ok := fresh[id]
		if !ok {
			in, ok = s.known[id]
		}
		if !ok {
			in = event.Instance{InstanceID: id, Region: s.Region, AutoScalingGroup: s.Group}
		}
		// A peer without an address yet is described again on the next pass, so that its
		// address shows once EC2 has it instead of staying empty for as long as it runs.
		if in.PrivateIP != "" {
			keep[id] = in
		}
		peers = append(peers, in)
	}
	s.known = keep
	SortPeers(peers)
	return peers, nil
}

func (s *AWSPeers) byStack(ctx context.Context) ([]event.Instance, error) {
	peers, err := s.describe(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("tag:aws:cloudformation:stack-name"), Values: []string{s.Stack}},
		{Name: aws.String("instance-state-name"), Values: []string{"running"}},
	}})
	if err != nil {
		return nil, err
	}
	SortPeers(peers)
	return peers, nil
}

// describe pages through ec2:DescribeInstances.
func (s *AWSPeers) describe(ctx context.Context, in *ec2.DescribeInstancesInput) ([]event.Instance, error) {
	var peers []event.Instance
	for {
		out, err := s.EC2.DescribeInstances(ctx, in)
		if err != nil {
			return nil, awsenv.ExplainErr(err, "ec2:DescribeInstances")
		}
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				peers = append(peers, InstanceFromEC2(i, s.Region))
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return peers, nil
		}
		in.NextToken = out.NextToken
	}
}

// InstanceFromEC2 gives an EC2 instance the fields every payload uses. A peer without a
// private IP (still being attached) is kept, with the field empty.
func InstanceFromEC2(i types.Instance, region string) event.Instance {
	in := event.Instance{
		InstanceID:   aws.ToString(i.InstanceId),
		Region:       region,
		PrivateIP:    aws.ToString(i.PrivateIpAddress),
		PublicIP:     aws.ToString(i.PublicIpAddress),
		InstanceType: string(i.InstanceType),
		Hostname:     aws.ToString(i.PrivateDnsName),
	}
	if i.Placement != nil {
		in.AvailabilityZone = aws.ToString(i.Placement.AvailabilityZone)
	}
	if i.LaunchTime != nil {
		in.LaunchTime = i.LaunchTime.UTC()
	}
	for _, t := range i.Tags {
		switch aws.ToString(t.Key) {
		case "aws:cloudformation:stack-name":
			in.Stack = aws.ToString(t.Value)
		case "aws:cloudformation:logical-id":
			in.LogicalID = aws.ToString(t.Value)
		case "aws:autoscaling:groupName":
			in.AutoScalingGroup = aws.ToString(t.Value)
		}
	}
	return in
}
