package source

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

// The AWS backends are tested with the real SDK clients over real HTTP, against the AWS
// stand-in (internal/testenv/awsfake) and the Amazon EC2 Metadata Mock (internal/testenv/imdsmock), as
// TESTING.md asks. Helpers shared by the *_aws_test.go files live here.

// awsTestConfig is the SDK configuration of a client pointed at the stand-in (or at a
// handler in front of it): awsfake.ClientConfig, whose retryer makes 3 attempts with a
// 1 ms backoff.
func awsTestConfig(endpoint string) aws.Config { return awsfake.ClientConfig(endpoint) }

type awsTestClients struct {
	cfn *cloudformation.Client
	ec2 *ec2.Client
	asg *autoscaling.Client
}

func newAWSTestClients(endpoint string) awsTestClients {
	cfg := awsTestConfig(endpoint)
	return awsTestClients{
		cfn: cloudformation.NewFromConfig(cfg),
		ec2: ec2.NewFromConfig(cfg),
		asg: autoscaling.NewFromConfig(cfg),
	}
}

// awsTestCtx is a context for one test's calls, bounded so that a hang fails the test.
func awsTestCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newIMDSTestClient is an IMDSv2-only client of the metadata service at endpoint, as the
// agent builds it (no IMDSv1 fallback), retrying as the SDK does but with a 1 ms backoff.
func newIMDSTestClient(endpoint string) *imds.Client {
	return imds.New(imds.Options{Endpoint: endpoint, EnableFallback: aws.FalseTernary,
		// Without this the client replaces the retryer's backoff with its own (up to 1 s).
		DisableDefaultMaxBackoff: true,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			o.RateLimiter = ratelimit.None
		})})
}

// denyAction puts a handler in front of the stand-in that answers every query-protocol
// call of action with AccessDenied, as AWS does for a role without the permission: HTTP
// 403 and the awsQuery error document (ErrorResponse/Error/{Type,Code,Message}, read by
// aws/protocol/query and the service's deserializers). Other calls reach the stand-in.
// It returns the URL to give the clients and how many calls it denied.
func denyAction(t *testing.T, standIn, action string) (string, func() int) {
	t.Helper()
	target, err := url.Parse(standIn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	denied := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		if form.Get("Action") != action {
			proxy.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		denied++
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/web/i-0123456789abcdef0 is not authorized to perform: %s on resource: arn:aws:cloudformation:us-east-1:123456789012:stack/app/* because no identity-based policy allows the %s action</Message></Error><RequestId>6c7e0a1b-0000-4000-8000-000000000001</RequestId></ErrorResponse>`,
			"cloudformation:"+action, "cloudformation:"+action)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() int {
		mu.Lock()
		defer mu.Unlock()
		return denied
	}
}

// imdsCounter is a reverse proxy in front of a metadata service that counts the GET
// requests per meta-data path, to show which paths a source asks for.
type imdsCounter struct {
	URL string

	mu   sync.Mutex
	gets map[string]int // by path below /latest/meta-data/
}

func countIMDS(t *testing.T, endpoint string) *imdsCounter {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	c := &imdsCounter{gets: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := strings.CutPrefix(r.URL.Path, "/latest/meta-data/"); ok && r.Method == http.MethodGet {
			c.mu.Lock()
			c.gets[p]++
			c.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

// Gets returns how many GETs asked for a meta-data path starting with prefix.
func (c *imdsCounter) Gets(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for p, v := range c.gets {
		if strings.HasPrefix(p, prefix) {
			n += v
		}
	}
	return n
}

// imdsReply is what fakeIMDS answers for one meta-data path.
type imdsReply struct {
	status int // 0: 200
	body   string
}

// fakeIMDS serves IMDSv2 (a session token, then meta-data paths) from a fixed table, for
// what the metadata mock cannot do: a 500, a malformed answer, a path absent on purpose.
// A path not in the table is 404, as IMDS answers it.
func fakeIMDS(t *testing.T, paths map[string]imdsReply) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/api/token" && r.Method == http.MethodPut {
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
			_, _ = io.WriteString(w, "fake-imds-token")
			return
		}
		if r.Header.Get("X-Aws-Ec2-Metadata-Token") != "fake-imds-token" {
			http.Error(w, "", http.StatusUnauthorized)
			return
		}
		rep, ok := paths[strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if rep.status != 0 {
			w.WriteHeader(rep.status)
		}
		_, _ = io.WriteString(w, rep.body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// fixedJitter is a poll jitter that always returns j.
func fixedJitter(j float64) func() float64 { return func() float64 { return j } }

// awsTestClock is a fake clock at t0.
func awsTestClock() *clock.Fake { return clock.NewFake(t0) }
