package awsenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// jsonClient makes calls in AWS's awsJson1_1 protocol by hand: a signed POST of a JSON
// body to the service's endpoint with X-Amz-Target <prefix>.<Operation>, answered with
// JSON, or with {"__type", "message"} and a 4xx or 5xx. Errors are smithy API errors
// inside an HTTP response error, as the SDK's are, so ErrorCode, IsThrottle,
// IsAccessDenied and Explain read them the same way.
type jsonClient struct {
	cfg      aws.Config
	service  string // the name in errors: "SSM", "CloudWatch Logs"
	signing  string // SigV4 signing name: "ssm", "logs"
	target   string // X-Amz-Target prefix: "AmazonSSM", "Logs_20140328"
	endpoint string
	http     httpDoer
	timeout  time.Duration // one attempt, the answer's body included
	sleep    func(context.Context, time.Duration) error
}

// maxAnswer bounds the answer read: every answer stackhand asks for is small.
const maxAnswer = 1 << 20

// RequestBody is a request body its caller made: sent as is with its Content-Encoding,
// and signed with SHA256 (hex) when given, else with the hash of Data. The log shipper
// encodes and compresses each batch once and sends the same bytes at every attempt.
type RequestBody struct {
	Data     []byte
	Encoding string
	SHA256   string
}

type requestBodyKey struct{}

// WithRequestBody makes b the body of the next PutLogEvents made with ctx by LogsClient,
// in place of the one it would serialize from its input. Other calls made with ctx (the
// group's creation on the way) serialize their own.
func WithRequestBody(ctx context.Context, b *RequestBody) context.Context {
	return context.WithValue(ctx, requestBodyKey{}, b)
}

// call sends op with body and decodes the answer into out (nil: the answer is not
// read), trying attempts times as withRetries does.
func (c *jsonClient) call(ctx context.Context, op string, attempts int, body []byte, out any) error {
	sum := sha256.Sum256(body)
	return c.callBody(ctx, op, attempts, &RequestBody{Data: body, SHA256: hex.EncodeToString(sum[:])}, out)
}

// callBody is call with a body its caller made.
func (c *jsonClient) callBody(ctx context.Context, op string, attempts int, rb *RequestBody, out any) error {
	if rb.SHA256 == "" {
		sum := sha256.Sum256(rb.Data)
		rb.SHA256 = hex.EncodeToString(sum[:])
	}
	return withRetries(ctx, attempts, c.sleep, func() error { return c.once(ctx, op, rb, out) })
}

func (c *jsonClient) once(ctx context.Context, op string, rb *RequestBody, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(rb.Data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", c.target+"."+op)
	if rb.Encoding != "" {
		req.Header.Set("Content-Encoding", rb.Encoding)
	}
	if c.cfg.Credentials != nil {
		creds, err := c.cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return fmt.Errorf("operation error %s: %s, get credentials: %w", c.service, op, err)
		}
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, rb.SHA256, c.signing, c.cfg.Region, time.Now()); err != nil {
			return fmt.Errorf("operation error %s: %s, sign: %w", c.service, op, err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("operation error %s: %s, %w", c.service, op, &smithyhttp.RequestSendError{Err: err})
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("operation error %s: %s, read the answer: %w", c.service, op, &smithyhttp.RequestSendError{Err: err})
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("operation error %s: %s, %w", c.service, op, jsonError(resp, data))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("operation error %s: %s, an answer that is not JSON (%d bytes): %w", c.service, op, len(data), err)
	}
	return nil
}

// jsonError reads an awsJson1_1 error answer: the code from __type (after any '#') or
// the X-Amzn-ErrorType header, the message from message or Message.
func jsonError(resp *http.Response, data []byte) error {
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
	return &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: resp},
		Err:      &smithy.GenericAPIError{Code: code, Message: msg},
	}
}
