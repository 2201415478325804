package agent

import (
	"context"
	"net"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/backoff"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/status"
)

// discoverBackoff is discovery's wait between attempts: it doubles from 1 s up to 1 min.
var discoverBackoff = backoff.Policy{Base: time.Second, Factor: 2, Max: time.Minute}

// discoverAWS loads the AWS setup and discovers the instance from IMDS and its tags. A
// failure of either is retried with backoff for as long as it takes, never given up on:
// each attempt's error, the attempt count and the time of the next try are the
// "discovery" status, so `stackhand status` says why the instance is unknown. It
// returns an error only when ctx ends.
func discoverAWS(ctx context.Context, cfg *config.Config, clk clock.Clock, reg *status.Registry, log *zap.Logger) (discovered, error) {
	d := discoverer{clk: clk, reg: reg, log: log}
	region := cfg.AWSRegion()
	for {
		onRetry := func(err error, wait time.Duration) { d.failed(err, wait) }
		env, err := awsenv.Load(ctx, awsenv.Options{Region: region, CredentialFile: cfg.CredentialFile, NoIMDS: cfg.NoIMDS(),
			Role: cfg.Role, CloudFormationURL: cfg.CloudFormationURL, CallTimeout: cfg.AWSTimeout.D(), Logger: log.Named("aws"), OnRetry: onRetry})
		if err == nil && cfg.NoIMDS() {
			in := discovered{env: env, identity: configuredIdentity(cfg, region)}
			d.found()
			log.Info("instance named by the identity section; IMDS is not asked", zap.String("instance", in.identity.InstanceID),
				zap.String("region", in.identity.Region), zap.String("ip_address", in.identity.PrivateIP))
			return in, nil
		}
		if err == nil {
			var in discovered
			in.env = env
			in.identity, in.extra, err = awsenv.DiscoverExtra(ctx, env, nil, nil, awsenv.DiscoverOptions{Stack: cfg.Stack,
				Resource: cfg.Resource, Region: cfg.Region, Tags: cfg.InstanceTags(), Logger: log.Named("aws"),
				OnRetry: onRetry})
			if err == nil {
				d.found()
				log.Info("instance discovered", zap.String("instance", in.identity.InstanceID), zap.String("stack", in.identity.Stack),
					zap.String("resource", in.identity.LogicalID), zap.String("group", in.identity.AutoScalingGroup),
					zap.String("region", in.identity.Region))
				return in, nil
			}
		}
		if ctx.Err() != nil {
			return discovered{}, ctx.Err()
		}
		if !d.retry(ctx, err) {
			return discovered{}, ctx.Err()
		}
	}
}

// discoverLocal reads instance.json, retrying while it does not parse: a typo must not
// make the agent another instance (setup would run again).
func discoverLocal(ctx context.Context, cfg *config.Config, clk clock.Clock, reg *status.Registry, log *zap.Logger) (discovered, error) {
	d := discoverer{clk: clk, reg: reg, log: log}
	l := source.Local{Dir: cfg.Local.Dir, Clock: clk, Interval: cfg.Interval.D()}
	id := localIdentity(cfg, l)
	for {
		in, err := id.Read()
		if err == nil {
			found := discovered{identity: in}
			// The tags log names ask for, from tags.json as the tags source reads them.
			if len(cfg.InstanceTags()) > 0 {
				tags, terr := source.LocalTags{Local: l}.Read()
				if terr != nil {
					log.Error("cannot read the tags that log names ask for; those placeholders expand to nothing", zap.Error(terr))
				}
				found.extra.Tags = tags
			}
			d.found()
			return found, nil
		}
		if !d.retry(ctx, err) {
			return discovered{}, ctx.Err()
		}
	}
}

// discoverer keeps the discovery status: attempts, the last error, the next try.
type discoverer struct {
	clk      clock.Clock
	reg      *status.Registry
	log      *zap.Logger
	attempts int
	c        status.Component
}

// failed records a failed attempt that is retried after wait.
func (d *discoverer) failed(err error, wait time.Duration) {
	now := d.clk.Now().UTC()
	d.attempts++
	d.c.Settle(err, now)
	d.c.Attempts, d.c.NextTry = d.attempts, now.Add(wait)
	d.c.Detail = "the instance is not known yet: no event runs until it is"
	d.reg.Discovery(d.c)
}

// retry records err and waits before the next attempt; false when ctx ended first.
func (d *discoverer) retry(ctx context.Context, err error) bool {
	wait := discoverBackoff.Delay(d.attempts)
	d.failed(err, wait)
	d.log.Warn("cannot discover the instance yet; retrying", zap.Error(err), zap.Duration("retry_in", wait),
		zap.Int("attempt", d.attempts))
	return clock.Sleep(ctx, d.clk, wait)
}

// found records the success.
func (d *discoverer) found() {
	d.c.Settle(nil, d.clk.Now().UTC())
	d.c.NextTry, d.c.Detail = time.Time{}, ""
	d.reg.Discovery(d.c)
}

// configuredIdentity is the instance of a host named by the identity section: its
// instance id (the host name by default), region, host name and first private IPv4
// address; stack and resource as configured.
func configuredIdentity(cfg *config.Config, region string) event.Instance {
	host, _ := os.Hostname()
	in := event.Instance{InstanceID: cfg.Identity.InstanceID, Region: region, Hostname: host,
		Stack: cfg.Stack, LogicalID: cfg.Resource, PrivateIP: firstIPv4()}
	if in.InstanceID == "" {
		in.InstanceID = host
	}
	return in
}

// firstIPv4 is the first IPv4 address of an interface that is up and not a loopback, ""
// when there is none.
func firstIPv4() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	return ""
}
