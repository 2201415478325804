package agent

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/cfnpath"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/source"
)

// awsSources builds mode aws's sources for the instance found: metadata (when a watch
// rule reads it), ssm (when a rule watches a parameter), tags, peers and lifecycle. A metadata watch that cannot work (no rule
// path parses, no stack known) is returned as an update for the engine instead.
func awsSources(cfg *config.Config, clk clock.Clock, log *zap.Logger, found discovered) ([]source.Source, []source.Update) {
	env, identity := found.env, found.identity
	md, ec2c := env.IMDS(), env.EC2()
	interval := cfg.Interval.D()
	resource := cfg.Resource
	if resource == "" {
		resource = identity.LogicalID
	}
	var srcs []source.Source
	var first []source.Update
	rules, err := metadataRules(cfg, resource)
	switch {
	case err != nil:
		first = append(first, source.Update{Source: "metadata", Err: err})
	case len(rules) == 0:
		first = append(first, source.Update{Source: "metadata", Metadata: map[string]source.Observed{}})
	case identity.Stack == "":
		first = append(first, source.Update{Source: "metadata", Err: fmt.Errorf("the stack is unknown: the instance has no aws:cloudformation:stack-name tag; set stack in %s", cfg.Path)})
	default:
		srcs = append(srcs, &source.AWSMetadata{CFN: env.CloudFormation(), Stack: identity.Stack, Rules: rules, Clock: clk,
			Interval: interval, Log: log.Named("metadata")})
	}
	if names := ssmNames(cfg); len(names) > 0 {
		srcs = append(srcs, source.AWSSSM{SSM: env.SSM(), Names: names, Clock: clk, Interval: interval})
	}
	if cfg.NoIMDS() {
		// A host named by the identity section is no EC2 instance: it has no instance
		// tags, no Auto Scaling group and no lifecycle in IMDS. Its peers are none, and
		// it ends when its service stops.
		return append(srcs, &source.AWSPeers{Clock: clk, Interval: interval,
			Alone: "no peers to watch: this host is named by the identity section, not an EC2 instance"}), first
	}
	return append(srcs,
		source.AWSTags{IMDS: md, EC2: ec2c, InstanceID: identity.InstanceID, Clock: clk, Interval: interval},
		&source.AWSPeers{ASG: env.AutoScaling(), EC2: ec2c, Group: identity.AutoScalingGroup, Stack: event.StackName(identity.Stack),
			Region: identity.Region, Clock: clk, Interval: interval},
		source.AWSLifecycle{IMDS: md, Clock: clk, Interval: cfg.Lifecycle.PollInterval.D()},
	), first
}

// metadataRules turns the metadata watch rules into parsed paths; `metadata:` rules read
// the Metadata of resource.
func metadataRules(cfg *config.Config, resource string) ([]source.MetadataRule, error) {
	var out []source.MetadataRule
	for _, r := range cfg.Watch {
		switch {
		case r.Path != "":
			p, err := cfnpath.Parse(r.Path)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.Origin, err)
			}
			out = append(out, source.MetadataRule{Name: r.Name, Path: p})
		case r.Metadata != "":
			if resource == "" {
				return nil, fmt.Errorf("%s: watch rule %s reads metadata, but no resource is known: the instance has no aws:cloudformation:logical-id tag; set resource in %s (the logical id whose Metadata holds it)", r.Origin, r.Name, cfg.Path)
			}
			sub, err := cfnpath.ParseSub(r.Metadata)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.Origin, err)
			}
			out = append(out, source.MetadataRule{Name: r.Name, Path: cfnpath.Path{Raw: r.Metadata, LogicalID: resource, Field: cfnpath.Metadata, Sub: sub}})
		}
	}
	return out, nil
}

// ssmNames returns the distinct parameters the ssm: watch rules read; none means no ssm
// source at all, so an agent without such rules never calls Systems Manager.
func ssmNames(cfg *config.Config) []string {
	var names []string
	for _, r := range cfg.Watch {
		names = append(names, r.SSM)
	}
	return source.SSMNames(names)
}
