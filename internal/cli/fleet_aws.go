package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/fleet"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
)

// fleetTarget is the group (or stack) fleet shows: the flags, else this instance's group
// as the agent last saw it (state.json), else the config's stack.
func fleetTarget(cfg *config.Config, group, stack string) (string, string, error) {
	if group != "" || stack != "" {
		if group != "" && stack != "" {
			return "", "", errors.New("--group and --stack both set: name one")
		}
		return group, stack, nil
	}
	if st, err := state.Read(cfg.StateDir); err == nil && st.Identity.AutoScalingGroup != "" {
		return st.Identity.AutoScalingGroup, "", nil
	}
	if cfg.Stack != "" {
		return "", cfg.Stack, nil
	}
	return "", "", errors.New("which fleet? this machine's agent knows no Auto Scaling group: name one with --group NAME or --stack NAME")
}

func loadFleetAWS(ctx context.Context, cfg *config.Config) (*awsenv.Env, error) {
	return awsenv.Load(ctx, awsenv.Options{Region: cfg.Region, CredentialFile: cfg.CredentialFile, Role: cfg.Role, CallTimeout: cfg.AWSTimeout.D()})
}

// readFleetAWS reads a group's instances (autoscaling:DescribeAutoScalingGroups, which
// also carries the hold) and their published tags (ec2:DescribeTags, a call per 200
// instances): two calls for a group of up to 200; a stack's running instances with their
// tags: one ec2:DescribeInstances (a page per 1000).
func readFleetAWS(ctx context.Context, cfg *config.Config, group, stack string) (*fleetSide, error) {
	group, stack, err := fleetTarget(cfg, group, stack)
	if err != nil {
		return nil, err
	}
	env, err := loadFleetAWS(ctx, cfg)
	if err != nil {
		return nil, err
	}
	side := &fleetSide{published: map[string]fleet.State{}, unreadable: map[string]string{}}
	if group != "" {
		out, err := env.AutoScaling().DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
		if err != nil {
			return nil, awsenv.ExplainErr(err, "autoscaling:DescribeAutoScalingGroups")
		}
		if len(out.AutoScalingGroups) == 0 {
			return nil, fmt.Errorf("auto scaling group %s does not exist", group)
		}
		g := out.AutoScalingGroups[0]
		for _, t := range g.Tags {
			if aws.ToString(t.Key) == fleet.KeyHold {
				side.held = aws.ToString(t.Value) != "" && aws.ToString(t.Value) != "false"
			}
		}
		var ids []string
		for _, in := range g.Instances {
			id := aws.ToString(in.InstanceId)
			ids = append(ids, id)
			p := fleet.Peer{InstanceID: id, AvailabilityZone: aws.ToString(in.AvailabilityZone)}
			if s := string(in.LifecycleState); s != "InService" {
				// Shown, but not counted in the waves: the agents' gates count only the
				// online (InService) instances.
				side.states = map2(side.states, id, s)
				side.others = append(side.others, p)
				continue
			}
			side.peers = append(side.peers, p)
		}
		tags, err := (&fleet.AWSStore{EC2: env.EC2()}).Read(ctx, ids)
		var why fleet.ReadErrors
		if err != nil && !errors.As(err, &why) {
			return nil, err
		}
		for id, t := range tags {
			side.published[id] = fleet.Parse(t)
		}
		side.unreadable = why
		return side, nil
	}
	in := &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("tag:aws:cloudformation:stack-name"), Values: []string{event.StackName(stack)}},
		{Name: aws.String("instance-state-name"), Values: []string{"running"}},
	}}
	for {
		out, err := env.EC2().DescribeInstances(ctx, in)
		if err != nil {
			return nil, awsenv.ExplainErr(err, "ec2:DescribeInstances")
		}
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				p := source.InstanceFromEC2(i, env.Region())
				side.peers = append(side.peers, p)
				tags := map[string]string{}
				for _, t := range i.Tags {
					tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
				side.published[p.InstanceID] = fleet.Parse(tags)
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return side, nil
		}
		in.NextToken = out.NextToken
	}
}

func map2(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

func holdAWS(ctx context.Context, cfg *config.Config, group string, on bool) (string, error) {
	group, _, err := fleetTarget(cfg, group, "")
	if err != nil {
		return "", err
	}
	if group == "" {
		return "", errors.New("rollouts are held on an Auto Scaling group: name it with --group NAME")
	}
	env, err := loadFleetAWS(ctx, cfg)
	if err != nil {
		return "", err
	}
	if err := (&fleet.AWSStore{ASG: env.AutoScaling()}).SetHold(ctx, group, on); err != nil {
		return "", err
	}
	return "Auto Scaling group " + group, nil
}
