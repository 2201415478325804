package awsenv

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/stackhand/stackhand/internal/testenv/awsfake"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// An endpoint that accepts every call and never answers: each client Env makes, called
// with a context that has no deadline, gives up with an error instead of waiting
// forever — the call timeout per attempt, OperationTimeout per operation.
func TestEveryAWSCallHasADeadline(t *testing.T) {
	m := imdsmock.Start(t, imdsmock.Config{})
	isolate(t, m.URL)
	srv := awsfake.Start(t)
	srv.PutStack("app", "")
	srv.SetMetadata("app", "Config", `{}`)
	srv.PutObject("b", "k", []byte("x"))
	srv.PutParameter("/p", "x")
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSTACKHANDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "stackhand-test-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	env, err := Load(context.Background(), Options{CallTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetFaults(awsfake.Faults{Hang: true})

	// context.Background on purpose: the deadline must come from the client.
	bg := context.Background()
	calls := map[string]func() error{
		"cloudformation:DescribeStackResource": func() error {
			_, err := env.CloudFormation().DescribeStackResource(bg, &cloudformation.DescribeStackResourceInput{
				StackName: aws.String("app"), LogicalResourceId: aws.String("Config")})
			return err
		},
		"ec2:DescribeTags": func() error {
			_, err := env.EC2().DescribeTags(bg, &ec2.DescribeTagsInput{})
			return err
		},
		"autoscaling:DescribeAutoScalingGroups": func() error {
			_, err := env.AutoScaling().DescribeAutoScalingGroups(bg, &autoscaling.DescribeAutoScalingGroupsInput{})
			return err
		},
		"monitoring:PutMetricData": func() error {
			_, err := env.CloudWatch().PutMetricData(bg, &cloudwatch.PutMetricDataInput{Namespace: aws.String("T"),
				MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("m"), Value: aws.Float64(1)}}})
			return err
		},
		"logs:PutLogEvents": func() error {
			_, err := env.CloudWatchLogs().PutLogEvents(bg, &PutLogEventsInput{LogGroupName: "g", LogStreamName: "s"})
			return err
		},
		"logs:CreateLogGroup": func() error {
			return env.CloudWatchLogs().CreateLogGroup(bg, &CreateLogGroupInput{LogGroupName: "g"})
		},
		"events:PutEvents": func() error {
			_, err := env.EventBridge().PutEvents(bg, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
				Source: aws.String("t"), DetailType: aws.String("t"), Detail: aws.String("{}")}}})
			return err
		},
		"s3:GetObject": func() error {
			_, err := env.S3().GetObject(bg, &GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
			return err
		},
		"ssm:GetParameter": func() error {
			_, err := env.SSM().GetParameter(bg, "/p")
			return err
		},
	}
	type result struct {
		name string
		err  error
	}
	done := make(chan result, len(calls))
	for name, call := range calls {
		go func() { done <- result{name, call()} }()
	}
	// Far beyond OperationTimeout(300ms) = 1.2s: a bound on a hang, not a measure.
	limit := time.After(time.Minute)
	for range calls {
		select {
		case r := <-done:
			if r.err == nil {
				t.Errorf("%s: answered although the endpoint never answers", r.name)
			}
			t.Logf("%s: %v", r.name, r.err)
		case <-limit:
			t.Fatalf("an AWS call still waits a minute after its endpoint stopped answering")
		}
	}
	if srv.Hung() < len(calls) {
		t.Errorf("%d calls met the hang, want at least %d", srv.Hung(), len(calls))
	}
}

func TestOperationTimeout(t *testing.T) {
	for _, c := range []struct{ call, want time.Duration }{{0, 2 * time.Minute}, {time.Second, 4 * time.Second}} {
		if got := OperationTimeout(c.call); got != c.want {
			t.Errorf("OperationTimeout(%s) = %s, want %s", c.call, got, c.want)
		}
	}
}

// S3's body is read after GetObject returns: its deadline covers the wait for the
// answer, not the read, so a body read slowly past the operation deadline is whole. S3
// and SSM take their own endpoint variables, and S3 then goes path-style.
func TestS3BodyOutlivesTheOperationDeadline(t *testing.T) {
	m := imdsmock.Start(t, imdsmock.Config{})
	isolate(t, m.URL)
	srv := awsfake.Start(t)
	srv.PutObject("releases", "web/v1.tar.gz", []byte("release one"))
	srv.PutParameter("/web/release", "v1")
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL_SSM", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSTACKHANDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "stackhand-test-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	const call = 50 * time.Millisecond
	env, err := Load(context.Background(), Options{CallTimeout: call})
	if err != nil {
		t.Fatal(err)
	}
	out, err := env.S3().GetObject(context.Background(), &GetObjectInput{Bucket: aws.String("releases"), Key: aws.String("web/v1.tar.gz")})
	if err != nil {
		t.Fatal(err)
	}
	// Past OperationTimeout(call): a context bounded by it would be cancelled by now.
	time.Sleep(OperationTimeout(call) + 100*time.Millisecond)
	body, err := io.ReadAll(out.Body)
	if err != nil || string(body) != "release one" {
		t.Errorf("body read after the operation deadline: %q, %v", body, err)
	}
	if err := out.Body.Close(); err != nil {
		t.Error(err)
	}
	if log := srv.CallLog(); len(log) != 1 || log[0].Params.Get("Bucket") != "releases" {
		t.Errorf("call log %+v: want one path-style GetObject", log)
	}
	p, err := env.SSM().GetParameter(context.Background(), "/web/release")
	if err != nil || p.Value != "v1" {
		t.Errorf("GetParameter through AWS_ENDPOINT_URL_SSM: %+v, %v", p, err)
	}
}
