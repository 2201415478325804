package cfninit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/backoff"
)

// Defaults of HTTPFetcher's deadlines and retries.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultHeaderTimeout  = 30 * time.Second
	DefaultStallTimeout   = 60 * time.Second
	DefaultFetchAttempts  = 5
)

// HTTPFetcher is the Fetcher of files' and sources' URLs: plain http(s), basic
// authentication, and S3 objects signed with Signature Version 4.
//
// Which credentials sign an S3 URL: the Auth's accessKeyId/secretKey when it has them,
// else RoleCredentials when the Auth names a roleName (cfn-init takes the role's
// credentials from the instance metadata service; so does RoleCredentials, built by
// the caller), else none: an S3 URL without an Auth is fetched unsigned, as a public
// object.
type HTTPFetcher struct {
	// Transport carries the requests; nil means one with the deadlines below. Tests set
	// it to reach an httptest server under an S3 host name.
	Transport http.RoundTripper
	// RoleCredentials are the instance profile's credentials, for an S3 Auth with a
	// roleName and no keys; nil when there is none (such an Auth is then an error).
	RoleCredentials aws.CredentialsProvider
	// Log gets one line per retried attempt (URLs without credentials); none when nil.
	Log *zap.Logger

	// ConnectTimeout bounds the TCP connect and the TLS handshake, HeaderTimeout the
	// wait for the response's headers, StallTimeout a body that sends nothing: a
	// stalled download errors rather than hanging the run. Zero means the default.
	ConnectTimeout, HeaderTimeout, StallTimeout time.Duration
	// Attempts is how many times a request is tried on a connection error or a 5xx
	// (also 408 and 429); 4xx answers are final. Zero means DefaultFetchAttempts.
	Attempts int
	// Backoff is the wait between attempts; the zero value means full jitter from 1 s
	// doubling to 20 s (cfn-init's retry_on_failure waits up to 2^i-1 s, capped at 20).
	Backoff backoff.Policy
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time

	once   sync.Once
	client *http.Client
}

// HTTPError is a URL's answer that is not 2xx. URL has no credentials in it.
type HTTPError struct {
	URL        string
	StatusCode int
	Status     string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("GET %s: %s", e.URL, e.Status)
	switch e.StatusCode {
	case http.StatusNotFound:
		msg += " (the object does not exist: check the URL, the bucket and the key)"
	case http.StatusForbidden:
		msg += " (access denied: check the AWS::CloudFormation::Authentication entry that applies — keys, roleName, buckets or uris — and the bucket policy)"
	case http.StatusUnauthorized:
		msg += " (authentication required: add a basic AWS::CloudFormation::Authentication entry for this URL)"
	}
	return msg
}

func (f *HTTPFetcher) init() {
	f.once.Do(func() {
		t := f.Transport
		if t == nil {
			connect := orDefault(f.ConnectTimeout, DefaultConnectTimeout)
			t = &http.Transport{
				Proxy:                 http.ProxyFromEnvironment,
				DialContext:           (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext,
				TLSHandshakeTimeout:   connect,
				ResponseHeaderTimeout: orDefault(f.HeaderTimeout, DefaultHeaderTimeout),
				MaxIdleConns:          4,
				IdleConnTimeout:       30 * time.Second,
			}
		}
		f.client = &http.Client{Transport: t}
	})
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Open fetches rawURL and returns its body, trying again on connection errors and 5xx
// answers. The body errors when no byte arrives for StallTimeout; closing it ends the
// request.
func (f *HTTPFetcher) Open(ctx context.Context, rawURL string, auth *Auth) (io.ReadCloser, error) {
	f.init()
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("source %s: not an http or https URL", RedactURL(rawURL))
	}
	shown := RedactURL(rawURL)
	attempts := f.Attempts
	if attempts <= 0 {
		attempts = DefaultFetchAttempts
	}
	policy := f.Backoff
	if policy.Base == 0 {
		policy = backoff.Policy{Base: time.Second, Factor: 2, Max: 20 * time.Second, Jitter: 1}
	}
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			d := policy.Delay(i - 1)
			if f.Log != nil {
				f.Log.Info("retrying download", zap.String("url", shown), zap.Duration("after", d), zap.Error(last))
			}
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("GET %s: %w (after: %v)", shown, ctx.Err(), last)
			case <-t.C:
			}
		}
		body, retry, err := f.once1(ctx, u, shown, auth)
		if err == nil {
			return body, nil
		}
		last = err
		if !retry || ctx.Err() != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w (gave up after %d attempts)", last, attempts)
}

// once1 makes one request; retry says whether another attempt may succeed.
func (f *HTTPFetcher) once1(ctx context.Context, u *url.URL, shown string, auth *Auth) (io.ReadCloser, bool, error) {
	rctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, false, fmt.Errorf("GET %s: %v", shown, err)
	}
	if err := f.authorize(ctx, req, u, auth); err != nil {
		cancel()
		return nil, false, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		cancel()
		// url.Error repeats the URL with its query; say it once, without credentials.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, true, fmt.Errorf("GET %s: %v", shown, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		cancel()
		retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout ||
			resp.StatusCode == http.StatusTooManyRequests
		return nil, retry, &HTTPError{URL: shown, StatusCode: resp.StatusCode, Status: resp.Status}
	}
	stall := orDefault(f.StallTimeout, DefaultStallTimeout)
	return &stallReader{body: resp.Body, cancel: cancel, stall: stall, shown: shown,
		timer: time.AfterFunc(stall, cancel)}, false, nil
}

// authorize adds basic authentication or an S3 signature to req as auth says.
func (f *HTTPFetcher) authorize(ctx context.Context, req *http.Request, u *url.URL, auth *Auth) error {
	if auth == nil {
		return nil
	}
	switch strings.ToLower(auth.Type) {
	case "basic":
		req.SetBasicAuth(auth.Username, auth.Password)
		return nil
	case "s3":
	default:
		return fmt.Errorf("authentication %q: type %q is neither S3 nor basic", auth.Name, auth.Type)
	}
	region, ok := S3Region(u)
	if !ok {
		return fmt.Errorf("authentication %q is of type S3 but %s is not an S3 URL (https://BUCKET.s3.REGION.amazonaws.com/KEY or https://s3.REGION.amazonaws.com/BUCKET/KEY)", auth.Name, RedactURL(u.String()))
	}
	var creds aws.Credentials
	switch {
	case auth.AccessKeyID != "":
		creds = aws.Credentials{AccessKeyID: auth.AccessKeyID, SecretAccessKey: auth.SecretKey}
	case auth.RoleName != "":
		if f.RoleCredentials == nil {
			return fmt.Errorf("authentication %q names roleName %q but the instance has no role credentials (is an instance profile attached?)", auth.Name, auth.RoleName)
		}
		c, err := f.RoleCredentials.Retrieve(ctx)
		if err != nil {
			return fmt.Errorf("authentication %q: credentials of role %q: %v", auth.Name, auth.RoleName, err)
		}
		creds = c
	default:
		return fmt.Errorf("authentication %q of type S3 has neither accessKeyId/secretKey nor roleName", auth.Name)
	}
	// S3 wants the payload's hash in a header of its own; a GET has an empty one.
	empty := sha256.Sum256(nil)
	hash := hex.EncodeToString(empty[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hash, "s3", region, now().UTC()); err != nil {
		return fmt.Errorf("authentication %q: signing the request for %s: %v", auth.Name, RedactURL(u.String()), err)
	}
	return nil
}

// s3Host matches S3's endpoint names: virtual-hosted (bucket.s3.amazonaws.com,
// bucket.s3.REGION.amazonaws.com, bucket.s3-REGION.amazonaws.com) and path-style
// (s3.amazonaws.com, s3.REGION.amazonaws.com, s3-REGION.amazonaws.com), in the
// aws and aws-cn partitions. cfn-init's own test (util.is_s3_url) is looser:
// https?://([-\w.]+?\.)?s3([-.][\w\d-]+)?.amazonaws.*
var s3Host = regexp.MustCompile(`^(?:[a-z0-9][a-z0-9.-]*\.)?s3(?:[.-](?:dualstack\.)?([a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$`)

// S3Region reports whether u names an S3 endpoint and the region to sign for:
// the one in the host name, else us-east-1 (the global endpoint's).
func S3Region(u *url.URL) (string, bool) {
	m := s3Host.FindStringSubmatch(strings.ToLower(u.Hostname()))
	if m == nil {
		return "", false
	}
	if m[1] == "" || m[1] == "external-1" {
		return "us-east-1", true
	}
	return m[1], true
}

// RedactURL returns raw without what may be a credential: the user:password part and
// the values of presigned URLs' signature, credential and token parameters. It is what
// errors and logs show of a URL.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Cannot be parsed: show only up to the first character that may start
		// credentials or a query.
		if i := strings.IndexAny(raw, "@?"); i >= 0 {
			return raw[:i] + "…"
		}
		return raw
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			switch strings.ToLower(k) {
			case "x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature",
				"awsaccesskeyid", "x-amz-content-sha256", "sig", "token", "access_token":
				q[k] = []string{"REDACTED"}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// stallReader is a response body that errors when no byte arrives for stall: the
// timer cancels the request, each read that returns data resets it.
type stallReader struct {
	body   io.ReadCloser
	cancel context.CancelFunc
	timer  *time.Timer
	stall  time.Duration
	shown  string
	mu     sync.Mutex
	closed bool
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.body.Read(p)
	if n > 0 {
		s.timer.Reset(s.stall)
	}
	if err != nil && err != io.EOF {
		if !s.timer.Stop() { // the timer fired: the read ended because the body stalled
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if !closed {
				return n, fmt.Errorf("GET %s: no data for %v, download abandoned", s.shown, s.stall)
			}
		}
		return n, fmt.Errorf("GET %s: reading the body: %v", s.shown, err)
	}
	return n, err
}

func (s *stallReader) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.timer.Stop()
	err := s.body.Close()
	s.cancel()
	return err
}
