package cli

import (
	"context"
	"fmt"
	"sync"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/cfnpath"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/engine"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/source"
)

// awsSourceNames are the sources mode: aws reports as; the engine waits for each once.
var awsSourceNames = []string{"identity", "metadata", "tags", "peers", "lifecycle"}

// awsSources is mode: aws's sources behind one Source: it sets up the SDK and discovers
// the instance (retrying while IMDS or AWS cannot be reached, reporting why), then runs
// the metadata, tag, peer and lifecycle sources with what it found. Until then the rest of
// the agent runs: status answers and requests queue.
type awsSources struct {
	cfg      *config.Config
	log      *zap.Logger
	clk      clock.Clock
	observer *lazyObserver
	// reporters start once the instance is known, with the AWS setup.
	reporters *reporters
}

func (s *awsSources) Name() string { return "identity" }

func (s *awsSources) Run(ctx context.Context, emit func(source.Update)) error {
	env, err := awsenv.Load(ctx, awsenv.Options{Region: s.cfg.Region, CredentialFile: s.cfg.CredentialFile,
		Role: s.cfg.Role, CloudFormationURL: s.cfg.CloudFormationURL, Logger: s.log.Named("aws")})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	md, ec2c, asg := env.IMDS(), env.EC2(), env.AutoScaling()
	identity, err := awsenv.Discover(ctx, env, md, ec2c, awsenv.DiscoverOptions{Stack: s.cfg.Stack, Resource: s.cfg.Resource,
		Region: s.cfg.Region, Logger: s.log.Named("aws")})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	emit(source.Update{Source: "identity", Identity: &identity})
	s.reporters.start(ctx, identity, env)
	s.log.Info("instance discovered", zap.String("instance", identity.InstanceID), zap.String("stack", identity.Stack),
		zap.String("resource", identity.LogicalID), zap.String("group", identity.AutoScalingGroup), zap.String("region", identity.Region))

	resource := s.cfg.Resource
	if resource == "" {
		resource = identity.LogicalID
	}
	rules, err := metadataRules(s.cfg, resource)
	interval := s.cfg.Interval.D()
	var children []source.Source
	if err != nil {
		emit(source.Update{Source: "metadata", Err: err})
	} else if len(rules) > 0 {
		if identity.Stack == "" {
			emit(source.Update{Source: "metadata", Err: fmt.Errorf("the stack is unknown: the instance has no aws:cloudformation:stack-name tag; set stack in %s", s.cfg.Path)})
		} else {
			children = append(children, &source.AWSMetadata{CFN: env.CloudFormation(), Stack: identity.Stack, Rules: rules, Clock: s.clk, Interval: interval,
				Log: s.log.Named("metadata")})
		}
	} else {
		emit(source.Update{Source: "metadata", Metadata: map[string]source.Observed{}})
	}
	children = append(children,
		source.AWSTags{IMDS: md, EC2: ec2c, InstanceID: identity.InstanceID, Clock: s.clk, Interval: interval},
		&source.AWSPeers{ASG: asg, EC2: ec2c, Group: identity.AutoScalingGroup, Stack: event.StackName(identity.Stack),
			Region: identity.Region, Clock: s.clk, Interval: interval},
		source.AWSLifecycle{IMDS: md, Clock: s.clk, Interval: s.cfg.Lifecycle.PollInterval.D()},
	)
	s.observer.add(&source.LifecycleAction{ASG: asg, Group: identity.AutoScalingGroup, InstanceID: identity.InstanceID,
		HookName: s.cfg.Lifecycle.HookName, Abandon: s.cfg.Lifecycle.AbandonOnFailure, Clock: s.clk, Log: s.log.Named("lifecycle")})

	var wg sync.WaitGroup
	for _, c := range children {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Run(ctx, emit); err != nil {
				emit(source.Update{Source: c.Name(), Err: err})
			}
		}()
	}
	wg.Wait()
	return nil
}

// lazyObserver forwards the engine's shutdown calls to the observers added once they
// exist: the lifecycle action once the AWS sources made it, the heartbeat once the
// reporters started.
type lazyObserver struct {
	mu   sync.Mutex
	list []engine.ShutdownObserver
}

func (o *lazyObserver) add(obs engine.ShutdownObserver) {
	o.mu.Lock()
	o.list = append(o.list, obs)
	o.mu.Unlock()
}

func (o *lazyObserver) get() []engine.ShutdownObserver {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]engine.ShutdownObserver(nil), o.list...)
}

func (o *lazyObserver) ShutdownStarted(state string) {
	for _, a := range o.get() {
		a.ShutdownStarted(state)
	}
}

// ShutdownFinished tells every observer, concurrently: each may wait on AWS (the
// lifecycle action's completion, the alarm's deletion) and the agent exits after all.
func (o *lazyObserver) ShutdownFinished(ok bool) {
	var wg sync.WaitGroup
	for _, a := range o.get() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.ShutdownFinished(ok)
		}()
	}
	wg.Wait()
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
