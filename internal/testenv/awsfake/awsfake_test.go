package awsfake

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
)

// staticCredentials are what every test client signs with; the stand-in
// accepts any.
var staticCredentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDSTANDIN", SecretAccessKey: "secret", Source: "test"}, nil
})

// sdkConfig is the configuration a test client is built from: the SDK's
// standard endpoint override at the stand-in, static credentials, and the
// SDK's standard retryer with a short backoff and no client-side retry quota,
// so retries are quick and many calls may retry.
func sdkConfig(srv *Server, maxAttempts int) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  staticCredentials,
		BaseEndpoint: aws.String(srv.URL),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxAttempts
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

type clients struct {
	cfn *cloudformation.Client
	ec2 *ec2.Client
	asg *autoscaling.Client
}

func newClients(srv *Server, maxAttempts int) clients {
	cfg := sdkConfig(srv, maxAttempts)
	return clients{
		cfn: cloudformation.NewFromConfig(cfg),
		ec2: ec2.NewFromConfig(cfg),
		asg: autoscaling.NewFromConfig(cfg),
	}
}

// apiCode returns the error code of the smithy.APIError in err, or fails.
func apiCode(t *testing.T, err error) (code, message string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want a smithy.APIError, got %T: %v", err, err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}
