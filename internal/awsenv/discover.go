package awsenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/backoff"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/event"
)

// The instance tags CloudFormation and Auto Scaling put on an instance, read by Discover.
const (
	TagStackName = "aws:cloudformation:stack-name"
	TagLogicalID = "aws:cloudformation:logical-id"
	TagASGName   = "aws:autoscaling:groupName"
)

// IMDSAPI is the part of the instance metadata client Discover uses.
type IMDSAPI interface {
	GetMetadata(ctx context.Context, in *imds.GetMetadataInput, optFns ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
	GetDynamicData(ctx context.Context, in *imds.GetDynamicDataInput, optFns ...func(*imds.Options)) (*imds.GetDynamicDataOutput, error)
}

// TagsAPI is the part of the EC2 client Discover uses when IMDS does not expose tags.
type TagsAPI interface {
	DescribeTags(ctx context.Context, in *ec2.DescribeTagsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeTagsOutput, error)
}

// DiscoverOptions are the configured values that win over discovery, and the knobs of
// the wait for IMDS.
type DiscoverOptions struct {
	Stack    string // wins over the aws:cloudformation:stack-name tag
	Resource string // wins over the aws:cloudformation:logical-id tag
	Region   string // wins over IMDS placement/region
	// Tags are more tag keys to read with the three Discover reads; DiscoverExtra returns
	// those the instance has.
	Tags []string

	// Logger defaults to the Env's logger.
	Logger *zap.Logger
	// Sleep waits between attempts while IMDS is unreachable; nil means a timer. It
	// returns ctx's error when ctx ends first.
	Sleep func(ctx context.Context, d time.Duration) error
	// FirstBackoff and MaxBackoff bound the wait between attempts: it doubles from
	// FirstBackoff (default 1s) up to MaxBackoff (default 1m).
	FirstBackoff, MaxBackoff time.Duration
	// OnRetry, when set, is told of each wait for IMDS: the error and how long until the
	// next attempt (the agent shows it in status).
	OnRetry func(err error, wait time.Duration)
}

// Discover returns this instance's identity: instance id, region, AZ, private and
// public IPv4 (public absent is fine), type, launch time (the identity document's
// pendingTime), hostname, and from its tags the stack name, logical id and Auto Scaling
// group. Tags come from IMDS tags/instance when instance tags in metadata are enabled,
// else from ec2:DescribeTags filtered on the instance id. Options' Stack, Resource and
// Region win over what is discovered.
//
// While IMDS is unreachable Discover waits, with capped exponential backoff, logging
// each retry; it returns ctx's error when ctx ends. md and tags default to env's IMDS
// and EC2 clients. When only the tag lookup fails, Discover returns the identity found
// so far together with the error, so that a caller may go on with configured values.
func Discover(ctx context.Context, env *Env, md IMDSAPI, tags TagsAPI, opts DiscoverOptions) (event.Instance, error) {
	inst, _, err := DiscoverExtra(ctx, env, md, tags, opts)
	return inst, err
}

// Extra is what discovery reads beyond the Instance hooks see: the tags DiscoverOptions
// names, and the AMI the instance was launched from (metric dimensions use them).
type Extra struct {
	Tags    map[string]string // those of DiscoverOptions.Tags the instance has
	ImageID string            // the identity document's imageId
}

// DiscoverExtra is Discover that also returns Extra.
func DiscoverExtra(ctx context.Context, env *Env, md IMDSAPI, tags TagsAPI, opts DiscoverOptions) (event.Instance, Extra, error) {
	if md == nil && env != nil {
		md = env.IMDS()
	}
	if tags == nil && env != nil {
		tags = env.EC2()
	}
	w := waiter{sleep: opts.Sleep, first: opts.FirstBackoff, max: opts.MaxBackoff, log: opts.Logger, endpoint: imdsEndpoint(),
		onRetry: opts.OnRetry}
	if env != nil {
		w.endpoint = env.IMDSEndpoint()
		if w.log == nil {
			w.log = env.Logger()
		}
	}

	var inst event.Instance
	err := w.retry(ctx, func(ctx context.Context) error {
		id, err := getMetadata(ctx, md, "instance-id", noSDKRetries)
		inst.InstanceID = id
		return err
	})
	if err != nil {
		return event.Instance{}, Extra{}, err
	}
	if inst.InstanceID == "" {
		return event.Instance{}, Extra{}, fmt.Errorf("IMDS at %s answered an empty instance-id", w.endpoint)
	}

	fields := []struct {
		path string
		dst  *string
	}{
		{"placement/availability-zone", &inst.AvailabilityZone},
		{"placement/region", &inst.Region},
		{"local-ipv4", &inst.PrivateIP},
		{"public-ipv4", &inst.PublicIP},
		{"instance-type", &inst.InstanceType},
		{"local-hostname", &inst.Hostname},
	}
	for _, f := range fields {
		v, err := getMetadata(ctx, md, f.path)
		if err != nil && !isNotFoundHTTP(err) {
			return event.Instance{}, Extra{}, fmt.Errorf("read IMDS meta-data/%s at %s: %w", f.path, w.endpoint, err)
		}
		*f.dst = v
	}

	doc, err := identityDocument(ctx, md)
	if err != nil {
		return event.Instance{}, Extra{}, fmt.Errorf("read IMDS dynamic/instance-identity/document at %s: %w", w.endpoint, err)
	}
	if t, err := time.Parse(time.RFC3339, doc.PendingTime); err == nil {
		inst.LaunchTime = t.UTC()
	}
	if inst.Region == "" {
		inst.Region = doc.Region
	}
	if inst.Region == "" {
		inst.Region = regionOfAZ(inst.AvailabilityZone)
	}
	if inst.InstanceType == "" {
		inst.InstanceType = doc.InstanceType
	}
	if inst.PrivateIP == "" {
		inst.PrivateIP = doc.PrivateIP
	}
	if opts.Region != "" {
		inst.Region = opts.Region
	}

	tagValues, tagErr := instanceTags(ctx, md, tags, inst.InstanceID, opts.Tags...)
	extra := Extra{ImageID: doc.ImageID}
	for _, k := range opts.Tags {
		if v, ok := tagValues[k]; ok {
			if extra.Tags == nil {
				extra.Tags = map[string]string{}
			}
			extra.Tags[k] = v
		}
	}
	inst.Stack = tagValues[TagStackName]
	inst.LogicalID = tagValues[TagLogicalID]
	inst.AutoScalingGroup = tagValues[TagASGName]
	if opts.Stack != "" {
		inst.Stack = opts.Stack
	}
	if opts.Resource != "" {
		inst.LogicalID = opts.Resource
	}
	return inst, extra, tagErr
}

// instanceTags returns the three tags Discover reads and the extra ones, from IMDS when it
// exposes tags and from DescribeTags otherwise.
func instanceTags(ctx context.Context, md IMDSAPI, tags TagsAPI, instanceID string, extra ...string) (map[string]string, error) {
	want := append([]string{TagStackName, TagLogicalID, TagASGName}, extra...)
	all, err := IMDSTags(ctx, md)
	switch {
	case errors.Is(err, ErrNoIMDSTags):
		// Instance tags in metadata are off: ask EC2.
		if tags == nil {
			return map[string]string{}, errors.New("instance tags are not in IMDS and no EC2 client was given")
		}
		all, err = EC2Tags(ctx, tags, instanceID, want...)
	}
	out := map[string]string{}
	for _, k := range want {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out, err
}

// identity is the part of the instance identity document Discover reads.
type identity struct {
	InstanceID   string `json:"instanceId"`
	Region       string `json:"region"`
	InstanceType string `json:"instanceType"`
	PrivateIP    string `json:"privateIp"`
	PendingTime  string `json:"pendingTime"`
	ImageID      string `json:"imageId"`
}

func identityDocument(ctx context.Context, md IMDSAPI) (identity, error) {
	b, err := readDynamic(ctx, md, identityDocumentPath)
	if err != nil {
		return identity{}, err
	}
	var doc identity
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil {
		return identity{}, fmt.Errorf("not the JSON of an identity document: %w", err)
	}
	return doc, nil
}

// regionOfAZ derives a region from an availability zone name: "us-east-1a" →
// "us-east-1". Local and Wavelength zones ("us-west-2-lax-1a") keep their parent region
// as the first three parts.
func regionOfAZ(az string) string {
	parts := strings.Split(az, "-")
	if len(parts) < 3 {
		return ""
	}
	r := strings.Join(parts[:3], "-")
	return strings.TrimRight(r, "abcdefghijklmnopqrstuvwxyz")
}

// waiter retries a call to IMDS while IMDS is unreachable.
type waiter struct {
	sleep      func(ctx context.Context, d time.Duration) error
	first, max time.Duration
	log        *zap.Logger
	endpoint   string
	onRetry    func(err error, wait time.Duration)
}

func (w waiter) retry(ctx context.Context, call func(ctx context.Context) error) error {
	sleep := w.sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	log := w.log
	if log == nil {
		log = zap.NewNop()
	}
	first, limit := w.first, w.max
	if first <= 0 {
		first = time.Second
	}
	if limit <= 0 {
		limit = time.Minute
	}
	policy := backoff.Policy{Base: first, Factor: 2, Max: limit}
	for attempt := 0; ; attempt++ {
		err := call(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("IMDS at %s: %w", w.endpoint, ctx.Err())
		}
		if !IsUnreachable(err) {
			return explainIMDS(err, w.endpoint)
		}
		delay := policy.Delay(attempt)
		what := "IMDS unreachable at " + w.endpoint
		if code := serverError(err); code != 0 {
			what = fmt.Sprintf("IMDS at %s answered HTTP %d (a server error)", w.endpoint, code)
		}
		log.Warn(fmt.Sprintf("%s, retrying in %s", what, delay), zap.Error(err))
		if w.onRetry != nil {
			w.onRetry(fmt.Errorf("%s: %w", what, err), delay)
		}
		if serr := sleep(ctx, delay); serr != nil {
			return fmt.Errorf("%s: %w (gave up: %w)", what, err, serr)
		}
	}
}

func (e *Env) retryIMDS(ctx context.Context, sleep func(context.Context, time.Duration) error, call func(ctx context.Context) error) error {
	return waiter{sleep: sleep, log: e.log, endpoint: e.imdsEndpoint, onRetry: e.opts.OnRetry}.retry(ctx, call)
}

// explainIMDS turns an IMDS failure that waiting will not fix into a message.
func explainIMDS(err error, endpoint string) error {
	if isTokenFailure(err) {
		return fmt.Errorf("IMDS at %s did not give an IMDSv2 session token; stackhand uses IMDSv2 only, with no IMDSv1 fallback: enable IMDSv2 on the instance (metadata option http-tokens=optional or required): %w", endpoint, err)
	}
	return fmt.Errorf("IMDS at %s: %w", endpoint, err)
}

// sleepCtx waits d on the wall clock; it returns ctx's error if ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if !clock.Sleep(ctx, clock.Real{}, d) {
		return ctx.Err()
	}
	return nil
}
