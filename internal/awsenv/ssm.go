package awsenv

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// SSMClient calls ssm:GetParameter, the one Systems Manager call stackhand makes (the
// ssm: watch kind), without the SDK's ssm module: that module's serialization tables are
// built at every process start, 1.4 MB allocated and kept and about 6 ms, for a call
// that is one signed JSON POST (AWS Systems Manager API reference, GetParameter; the
// awsJson1_1 protocol: X-Amz-Target AmazonSSM.GetParameter, errors as {"__type",
// "message"}). Errors are smithy API errors inside an HTTP response error, as the SDK's,
// so ErrorCode, IsThrottle, IsAccessDenied and Explain read them the same way.
type SSMClient struct {
	c jsonClient
}

// SSMParameter is what GetParameter read: the value as stored (a SecureString stays
// encrypted: it is never asked decrypted) and its version, which every put raises.
type SSMParameter struct {
	Value   string
	Version int64
}

// SSM returns the Systems Manager client (GetParameter for the ssm: watch kind).
func (e *Env) SSM() *SSMClient {
	return NewSSMClient(e.Config, e.opts.CallTimeout)
}

// NewSSMClient returns a client with cfg's credentials, region and HTTP client. The
// endpoint is AWS_ENDPOINT_URL_SSM, else cfg's base endpoint (AWS_ENDPOINT_URL), else
// the region's.
func NewSSMClient(cfg aws.Config, callTimeout time.Duration) *SSMClient {
	if callTimeout <= 0 {
		callTimeout = DefaultCallTimeout
	}
	return &SSMClient{c: jsonClient{cfg: cfg, service: "SSM", signing: "ssm", target: "AmazonSSM",
		endpoint: serviceEndpoint(cfg, "SSM", "ssm"), http: serviceHTTP(cfg, callTimeout), timeout: callTimeout, sleep: sleepCtx}}
}

// ssmAttempts is how many times a call is tried: a 5xx, a throttle or a connection
// error is tried again, as the SDK's standard retryer does; nothing else is.
const ssmAttempts = 3

// GetParameter reads a parameter (WithDecryption false). A missing one is an error
// whose ErrorCode is "ParameterNotFound".
func (c *SSMClient) GetParameter(ctx context.Context, name string) (SSMParameter, error) {
	body, err := json.Marshal(struct {
		Name           string
		WithDecryption bool
	}{name, false})
	if err != nil {
		return SSMParameter{}, err
	}
	var out struct {
		Parameter *struct {
			Value   string
			Version int64
		}
	}
	if err := c.c.call(ctx, "GetParameter", ssmAttempts, body, &out); err != nil {
		return SSMParameter{}, err
	}
	if out.Parameter == nil {
		return SSMParameter{}, errors.New("operation error SSM: GetParameter, an answer with no parameter")
	}
	return SSMParameter{Value: out.Parameter.Value, Version: out.Parameter.Version}, nil
}

func retryable(err error) bool {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode() >= 500 || IsThrottle(err)
	}
	return true // no answer: a connection error or a deadline
}
