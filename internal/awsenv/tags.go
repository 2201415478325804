package awsenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// ErrNoIMDSTags says the instance does not expose its tags in instance metadata.
var ErrNoIMDSTags = errors.New("instance tags are not enabled in the instance metadata")

// ReadMetadata reads one IMDS meta-data path as text, exactly as IMDS serves it (at most
// 1 MiB). A path this instance does not have is an error that IsNotFound accepts.
func ReadMetadata(ctx context.Context, md IMDSAPI, path string, optFns ...func(*imds.Options)) (string, error) {
	out, err := md.GetMetadata(ctx, &imds.GetMetadataInput{Path: path}, optFns...)
	if err != nil {
		return "", err
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, 1<<20))
	return string(b), err
}

// getMetadata is ReadMetadata without surrounding white space, for identity values.
func getMetadata(ctx context.Context, md IMDSAPI, path string, optFns ...func(*imds.Options)) (string, error) {
	s, err := ReadMetadata(ctx, md, path, optFns...)
	return strings.TrimSpace(s), err
}

// IMDSTags reads the instance's tags from IMDS tags/instance/. It returns ErrNoIMDSTags
// when the instance does not allow tags in its metadata. A tag removed between the list
// and its read is left out.
func IMDSTags(ctx context.Context, md IMDSAPI) (map[string]string, error) {
	// No trailing slash: "tags/instance" lists the keys, one per line.
	keys, err := ReadMetadata(ctx, md, "tags/instance")
	if err != nil {
		if isNotFoundHTTP(err) {
			return nil, ErrNoIMDSTags
		}
		return nil, fmt.Errorf("read IMDS meta-data/tags/instance: %w", err)
	}
	tags := map[string]string{}
	for _, k := range strings.Split(keys, "\n") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		v, err := ReadMetadata(ctx, md, "tags/instance/"+k)
		switch {
		case isNotFoundHTTP(err):
		case err != nil:
			return nil, fmt.Errorf("read IMDS meta-data/tags/instance/%s: %w", k, err)
		default:
			tags[k] = v
		}
	}
	return tags, nil
}

// EC2Tags reads the tags of instance id with ec2:DescribeTags, page by page: all of them,
// or only those keys when some are named. Its error explains itself (ExplainErr).
func EC2Tags(ctx context.Context, c TagsAPI, id string, keys ...string) (map[string]string, error) {
	in := &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{id}}}}
	if len(keys) > 0 {
		in.Filters = append(in.Filters, ec2types.Filter{Name: aws.String("key"), Values: keys})
	}
	tags := map[string]string{}
	for {
		out, err := c.DescribeTags(ctx, in)
		if err != nil {
			return nil, ExplainErr(err, "ec2:DescribeTags")
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
