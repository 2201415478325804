package source

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// The AWS calls the sources make, declared where they are used so that tests can point
// the real SDK clients at the AWS stand-in (internal/testenv/awsfake) or at a fake.

// CloudFormationAPI is the part of the CloudFormation client the metadata source uses.
type CloudFormationAPI interface {
	DescribeStackResource(ctx context.Context, in *cloudformation.DescribeStackResourceInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourceOutput, error)
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// EC2API is the part of the EC2 client the tag and peer sources use.
type EC2API interface {
	DescribeTags(ctx context.Context, in *ec2.DescribeTagsInput, opts ...func(*ec2.Options)) (*ec2.DescribeTagsOutput, error)
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// AutoScalingAPI is the part of the Auto Scaling client the peers source uses: it only
// reads (what acts on a lifecycle action is in package lifecycle).
type AutoScalingAPI interface {
	DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, opts ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
}

// IMDSAPI is the part of the instance metadata client the sources use (IMDSv2 only).
type IMDSAPI interface {
	GetMetadata(ctx context.Context, in *imds.GetMetadataInput, opts ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
	GetDynamicData(ctx context.Context, in *imds.GetDynamicDataInput, opts ...func(*imds.Options)) (*imds.GetDynamicDataOutput, error)
}
