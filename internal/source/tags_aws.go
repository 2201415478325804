package source

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stackhand/stackhand/internal/clock"
)

// AWSTags reads the instance's tags: from IMDS (tags/instance) when the instance allows
// tags in its metadata — no API call at all — else with ec2:DescribeTags.
type AWSTags struct {
	IMDS       IMDSAPI
	EC2        EC2API
	InstanceID string
	Clock      clock.Clock
	Interval   time.Duration
	Jitter     func() float64
}

// Name returns "tags".
func (AWSTags) Name() string { return "tags" }

// Run polls until ctx ends.
func (s AWSTags) Run(ctx context.Context, emit func(Update)) error {
	useIMDS := s.IMDS != nil
	poll(ctx, s.Clock, s.Interval, s.Jitter, func(ctx context.Context) pollResult {
		var tags map[string]string
		var err error
		if useIMDS {
			tags, err = IMDSTags(ctx, s.IMDS)
			if errors.Is(err, errNoIMDSTags) {
				useIMDS = false
			}
		}
		if !useIMDS {
			tags, err = EC2Tags(ctx, s.EC2, s.InstanceID)
		}
		if ctx.Err() != nil {
			return pollResult{}
		}
		emit(Update{Source: s.Name(), Tags: tags, Err: err})
		return pollResult{throttled: err != nil && isThrottle(err)}
	})
	return nil
}

var errNoIMDSTags = errors.New("instance tags are not enabled in the instance metadata")

// IMDSTags reads every tag from IMDS tags/instance/.
func IMDSTags(ctx context.Context, c IMDSAPI) (map[string]string, error) {
	keys, err := imdsString(ctx, c, "tags/instance")
	if err != nil {
		if isNotFound(err) {
			return nil, errNoIMDSTags
		}
		return nil, err
	}
	tags := map[string]string{}
	for _, k := range strings.Split(keys, "\n") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		v, err := imdsString(ctx, c, "tags/instance/"+k)
		if err != nil {
			return nil, err
		}
		tags[k] = v
	}
	return tags, nil
}

// EC2Tags reads every tag of instance id with ec2:DescribeTags.
func EC2Tags(ctx context.Context, c EC2API, id string) (map[string]string, error) {
	tags := map[string]string{}
	in := &ec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("resource-id"), Values: []string{id}}}}
	for {
		out, err := c.DescribeTags(ctx, in)
		if err != nil {
			return nil, explain(err, "ec2:DescribeTags")
		}
		for _, t := range out.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if aws.ToString(out.NextToken) == "" {
			return tags, nil
		}
		in.NextToken = out.NextToken
	}
}

// imdsString reads one IMDS path as text.
func imdsString(ctx context.Context, c IMDSAPI, path string) (string, error) {
	out, err := c.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	if err != nil {
		return "", err
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, 1<<20))
	return string(b), err
}

// isNotFound reports an IMDS 404: the path does not exist for this instance.
func isNotFound(err error) bool {
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == 404
}
