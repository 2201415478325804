package awsenv

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go/middleware"
)

// DefaultCallTimeout is how long one attempt of an AWS call waits for the service to
// start answering once the request is sent (Options.CallTimeout's default).
const DefaultCallTimeout = 30 * time.Second

// Every AWS call has a deadline, so that an endpoint that accepts the connection and
// never answers cannot stop a source or a reporter for good:
//
//   - each attempt: connecting within dialTimeout, the TLS handshake within
//     tlsTimeout, and the first byte of the answer within the call timeout of the
//     request having been sent. The wait for the answer starts only once the whole
//     request is written, so a 1 MiB PutLogEvents over a slow link is not cut short
//     by it (net/http's Transport.ResponseHeaderTimeout);
//   - each operation, its retries included: operationAttempts call timeouts
//     (2 minutes by default), which leaves a 1 MiB upload at 100 kbit/s (84 s) and the
//     answer's wait room within one attempt.
//
// IMDS is on the instance itself: its client keeps the SDK's own, shorter bounds
// (250 ms to connect, 500 ms for the answer, 5 s per operation; see feature/ec2/imds
// resolveHTTPClient and operationTimeout), which it applies to the client built here.
const (
	dialTimeout       = 10 * time.Second
	tlsTimeout        = 10 * time.Second
	operationAttempts = 4
)

// httpClient is the HTTP client of every AWS service client: see DefaultCallTimeout.
// proxy, when set, replaces the environment's proxy settings.
func httpClient(callTimeout time.Duration, proxy func(*http.Request) (*url.URL, error)) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = dialTimeout }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.TLSHandshakeTimeout = tlsTimeout
			tr.ResponseHeaderTimeout = callTimeout
			if proxy != nil {
				tr.Proxy = proxy
			}
		})
}

// OperationTimeout is the deadline of one AWS operation, its retries included, for a
// call timeout of callTimeout (DefaultCallTimeout when zero).
func OperationTimeout(callTimeout time.Duration) time.Duration {
	if callTimeout <= 0 {
		callTimeout = DefaultCallTimeout
	}
	return operationAttempts * callTimeout
}

// operationDeadline bounds every operation of a client, retries included, by d: the
// caller's context keeps its own deadline when that is sooner.
type operationDeadline struct{ d time.Duration }

func (operationDeadline) ID() string { return "stackhand.OperationDeadline" }

func (m operationDeadline) HandleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
	middleware.InitializeOutput, middleware.Metadata, error) {
	ctx, cancel := context.WithTimeout(ctx, m.d)
	defer cancel()
	return next.HandleInitialize(ctx, in)
}

// addOperationDeadline is the API option that installs operationDeadline first in the
// stack, before the retries.
func (e *Env) addOperationDeadline(s *middleware.Stack) error {
	return s.Initialize.Add(operationDeadline{d: OperationTimeout(e.opts.CallTimeout)}, middleware.Before)
}

// cancelOnClose releases the request's context when the body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
