package awsenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
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
	cfg      aws.Config
	endpoint string
	http     httpDoer
	timeout  time.Duration // one attempt, the answer's body included
	sleep    func(context.Context, time.Duration) error
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
	return &SSMClient{cfg: cfg, endpoint: serviceEndpoint(cfg, "SSM", "ssm"), http: serviceHTTP(cfg, callTimeout),
		timeout: callTimeout, sleep: sleepCtx}
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
	var p SSMParameter
	err = withRetries(ctx, ssmAttempts, c.sleep, func() (err error) {
		p, err = c.getParameter(ctx, body)
		return err
	})
	if err != nil {
		return SSMParameter{}, err
	}
	return p, nil
}

func retryable(err error) bool {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode() >= 500 || IsThrottle(err)
	}
	return true // no answer: a connection error or a deadline
}

func (c *SSMClient) getParameter(ctx context.Context, body []byte) (SSMParameter, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return SSMParameter{}, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter")
	if c.cfg.Credentials != nil {
		creds, err := c.cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return SSMParameter{}, fmt.Errorf("get credentials: %w", err)
		}
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ssm", c.cfg.Region, time.Now()); err != nil {
			return SSMParameter{}, fmt.Errorf("sign: %w", err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return SSMParameter{}, fmt.Errorf("operation error SSM: GetParameter, request send failed: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return SSMParameter{}, fmt.Errorf("operation error SSM: GetParameter, read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type     string `json:"__type"`
			Message  string `json:"message"`
			Message2 string `json:"Message"`
		}
		_ = json.Unmarshal(data, &e)
		code := e.Type
		if i := strings.LastIndexByte(code, '#'); i >= 0 {
			code = code[i+1:]
		}
		if code == "" {
			code = strings.SplitN(resp.Header.Get("X-Amzn-ErrorType"), ":", 2)[0]
		}
		if code == "" {
			code = http.StatusText(resp.StatusCode)
		}
		msg := e.Message
		if msg == "" {
			msg = e.Message2
		}
		return SSMParameter{}, fmt.Errorf("operation error SSM: GetParameter, %w", &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: resp},
			Err:      &smithy.GenericAPIError{Code: code, Message: msg},
		})
	}
	var out struct {
		Parameter *struct {
			Value   string
			Version int64
		}
	}
	if err := json.Unmarshal(data, &out); err != nil || out.Parameter == nil {
		return SSMParameter{}, fmt.Errorf("operation error SSM: GetParameter, an answer with no parameter (%d bytes)", len(data))
	}
	return SSMParameter{Value: out.Parameter.Value, Version: out.Parameter.Version}, nil
}
