package fleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/stackhand/stackhand/internal/awsenv"
)

// EC2Tags is the part of the EC2 client the AWS store uses.
type EC2Tags interface {
	CreateTags(ctx context.Context, in *ec2.CreateTagsInput, opts ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
	DeleteTags(ctx context.Context, in *ec2.DeleteTagsInput, opts ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error)
	DescribeTags(ctx context.Context, in *ec2.DescribeTagsInput, opts ...func(*ec2.Options)) (*ec2.DescribeTagsOutput, error)
}

// ASGTags is the part of the Auto Scaling client that holds and resumes rollouts.
type ASGTags interface {
	CreateOrUpdateTags(ctx context.Context, in *autoscaling.CreateOrUpdateTagsInput, opts ...func(*autoscaling.Options)) (*autoscaling.CreateOrUpdateTagsOutput, error)
	DeleteTags(ctx context.Context, in *autoscaling.DeleteTagsInput, opts ...func(*autoscaling.Options)) (*autoscaling.DeleteTagsOutput, error)
}

// SelfTagPolicy is the IAM policy statement that lets an instance write its own
// stackhand: tags and no other instance's: the request's resource must be the instance
// the credentials were issued to (ec2:SourceInstanceARN, the EC2 condition key naming the
// instance a role's credentials come from; aws:ARN is the resource's ARN), and every key
// written must start with stackhand:.
const SelfTagPolicy = `{
  "Effect": "Allow",
  "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
  "Resource": "arn:aws:ec2:*:*:instance/*",
  "Condition": {
    "StringEquals": {"aws:ARN": "${ec2:SourceInstanceARN}"},
    "ForAllValues:StringLike": {"aws:TagKeys": ["stackhand:*"]}
  }
}`

// AWSStore is mode aws's Store: instance tags (ec2:CreateTags, ec2:DeleteTags,
// ec2:DescribeTags) and the hold as a tag of the Auto Scaling group.
type AWSStore struct {
	EC2 EC2Tags
	ASG ASGTags

	mu    sync.Mutex
	known bool              // the instance's own stackhand: tags were read once
	last  map[string]string // what the instance carries, as far as this store knows
}

// describeTagsPage is the most DescribeTags answers in one page.
const describeTagsPage = 1000

// filterValues is the most values one DescribeTags filter takes.
const filterValues = 200

// Publish writes only what changed: CreateTags for the new and changed keys, DeleteTags
// for the stackhand: keys no longer published. The first call reads what the instance
// carries (one DescribeTags), so that a restarted agent writes nothing when nothing
// changed.
func (s *AWSStore) Publish(ctx context.Context, instanceID string, tags map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.known {
		cur, err := s.Read(ctx, []string{instanceID})
		var re ReadErrors
		if err != nil && !errors.As(err, &re) {
			return err
		}
		s.last, s.known = cur[instanceID], true
		if s.last == nil {
			s.last = map[string]string{}
		}
	}
	var set []types.Tag
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if v, ok := s.last[k]; !ok || v != tags[k] {
			set = append(set, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
		}
	}
	var del []types.Tag
	for _, k := range slices.Sorted(maps.Keys(s.last)) {
		if _, ok := tags[k]; !ok {
			del = append(del, types.Tag{Key: aws.String(k)})
		}
	}
	if len(set) > 0 {
		if _, err := s.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{instanceID}, Tags: set}); err != nil {
			return tagError(err, "ec2:CreateTags")
		}
		for _, t := range set {
			s.last[*t.Key] = *t.Value
		}
	}
	if len(del) > 0 {
		if _, err := s.EC2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{instanceID}, Tags: del}); err != nil {
			return tagError(err, "ec2:DeleteTags")
		}
		for _, t := range del {
			delete(s.last, *t.Key)
		}
	}
	return nil
}

func tagError(err error, action string) error {
	if awsenv.IsAccessDenied(err) {
		return fmt.Errorf("%s; to let each instance tag only itself, add to its role: %s",
			awsenv.Explain(err, action), strings.Join(strings.Fields(SelfTagPolicy), " "))
	}
	return awsenv.ExplainErr(err, action)
}

// Read reads the stackhand: tags of ids with ec2:DescribeTags, 200 ids a call, 1000 tags a
// page. An instance without any stackhand: tag is missing from the result (it has
// published nothing yet), named in the ReadErrors returned beside.
func (s *AWSStore) Read(ctx context.Context, ids []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for chunk := range slices.Chunk(ids, filterValues) {
		in := &ec2.DescribeTagsInput{MaxResults: aws.Int32(describeTagsPage), Filters: []types.Filter{
			{Name: aws.String("resource-id"), Values: chunk},
			{Name: aws.String("key"), Values: []string{Prefix + "*"}},
		}}
		for {
			res, err := s.EC2.DescribeTags(ctx, in)
			if err != nil {
				return nil, awsenv.ExplainErr(err, "ec2:DescribeTags")
			}
			for _, t := range res.Tags {
				id, k := aws.ToString(t.ResourceId), aws.ToString(t.Key)
				if !strings.HasPrefix(k, Prefix) {
					continue
				}
				if out[id] == nil {
					out[id] = map[string]string{}
				}
				out[id][k] = aws.ToString(t.Value)
			}
			if aws.ToString(res.NextToken) == "" {
				break
			}
			in.NextToken = res.NextToken
		}
	}
	missing := ReadErrors{}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			missing[id] = "nothing published yet"
		}
	}
	if len(missing) > 0 {
		return out, missing
	}
	return out, nil
}

// SetHold sets or removes the tag KeyHold on the Auto Scaling group.
func (s *AWSStore) SetHold(ctx context.Context, group string, on bool) error {
	if group == "" {
		return errors.New("no Auto Scaling group to hold: name it with --group")
	}
	tag := astypes.Tag{ResourceId: aws.String(group), ResourceType: aws.String("auto-scaling-group"), Key: aws.String(KeyHold),
		PropagateAtLaunch: aws.Bool(false)}
	if on {
		tag.Value = aws.String("true")
		if _, err := s.ASG.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []astypes.Tag{tag}}); err != nil {
			return awsenv.ExplainErr(err, "autoscaling:CreateOrUpdateTags")
		}
		return nil
	}
	if _, err := s.ASG.DeleteTags(ctx, &autoscaling.DeleteTagsInput{Tags: []astypes.Tag{tag}}); err != nil {
		return awsenv.ExplainErr(err, "autoscaling:DeleteTags")
	}
	return nil
}
