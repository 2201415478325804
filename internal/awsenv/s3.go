package awsenv

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// S3Client makes the one S3 call stackhand makes, GetObject (app releases), as a signed
// GET, with input and output shaped as the SDK's (a test adapts the SDK's own client to
// the same interface). Neither the SDK's client nor its package is linked in: it alone took the binary
// past its 16 MiB budget (README, Performance). Amazon S3 API reference, GetObject: a GET
// of /key on the bucket's host (or /bucket/key on the endpoint, path-style), versionId in
// the query, Range and If-Match as headers; errors as <Error><Code/><Message/></Error>.
//
// The body streams after GetObject returns, so no deadline cancels the call's context
// then: the wait for the answer's headers is bounded by the transport, and the caller
// bounds a stalled read of the body (and releases it by closing it).
type S3Client struct {
	cfg      aws.Config
	endpoint string // "" for the region's virtual-hosted endpoints
	http     interface {
		Do(*http.Request) (*http.Response, error)
	}
	timeout time.Duration // for the answer's headers, as the other clients' operations
}

// S3 returns the S3 client (GetObject for app releases). When its endpoint is
// overridden (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL), it addresses buckets path-style
// (endpoint/bucket/key): a stand-in or an S3-compatible store on one host name cannot
// answer bucket.host names.
func (e *Env) S3() *S3Client { return NewS3Client(e.Config, e.opts.CallTimeout) }

// NewS3Client returns a client with cfg's credentials, region and HTTP client; the
// answer's headers must come within OperationTimeout(callTimeout).
func NewS3Client(cfg aws.Config, callTimeout time.Duration) *S3Client {
	endpoint := os.Getenv("AWS_ENDPOINT_URL_S3")
	if endpoint == "" && cfg.BaseEndpoint != nil {
		endpoint = *cfg.BaseEndpoint
	}
	var client interface {
		Do(*http.Request) (*http.Response, error)
	} = cfg.HTTPClient
	if cfg.HTTPClient == nil {
		client = httpClient(DefaultCallTimeout, nil)
	}
	return &S3Client{cfg: cfg, endpoint: strings.TrimRight(endpoint, "/"), http: client, timeout: OperationTimeout(callTimeout)}
}

// emptySHA256 is the SHA-256 of an empty payload, a GET's.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// objectURL is where the object is: path-style on an overridden endpoint or for a bucket
// whose name has a dot (TLS names cover one label), virtual-hosted otherwise.
func (c *S3Client) objectURL(bucket, key string) string {
	var segs []string
	for _, s := range strings.Split(key, "/") {
		segs = append(segs, url.PathEscape(s))
	}
	path := strings.Join(segs, "/")
	suffix := "amazonaws.com"
	if strings.HasPrefix(c.cfg.Region, "cn-") {
		suffix = "amazonaws.com.cn"
	}
	switch {
	case c.endpoint != "":
		return c.endpoint + "/" + url.PathEscape(bucket) + "/" + path
	case strings.Contains(bucket, "."):
		return "https://s3." + c.cfg.Region + "." + suffix + "/" + url.PathEscape(bucket) + "/" + path
	}
	return "https://" + bucket + ".s3." + c.cfg.Region + "." + suffix + "/" + path
}

// GetObjectInput is what GetObject asks, named as in the SDK's s3.GetObjectInput.
type GetObjectInput struct {
	Bucket, Key, VersionId, Range, IfMatch *string
}

// GetObjectOutput is what GetObject answers, named as in the SDK's s3.GetObjectOutput.
type GetObjectOutput struct {
	Body                          io.ReadCloser
	ContentLength                 *int64
	ContentRange, ETag, VersionId *string
}

// GetObject reads an object (Bucket, Key, VersionId, Range, IfMatch of in). The caller
// closes the output's Body.
func (c *S3Client) GetObject(ctx context.Context, in *GetObjectInput) (*GetObjectOutput, error) {
	u := c.objectURL(aws.ToString(in.Bucket), aws.ToString(in.Key))
	if v := aws.ToString(in.VersionId); v != "" {
		u += "?versionId=" + url.QueryEscape(v)
	}
	// Until the headers come the call is bounded; then the context lives until the body
	// is closed, and the caller bounds a stalled read.
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(c.timeout, func() {
		cancel(fmt.Errorf("no answer within %s: %w", c.timeout, context.DeadlineExceeded))
	})
	ok := false
	defer func() {
		if !ok {
			timer.Stop()
			cancel(nil)
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("operation error S3: GetObject, %w", err)
	}
	if r := aws.ToString(in.Range); r != "" {
		req.Header.Set("Range", r)
	}
	if m := aws.ToString(in.IfMatch); m != "" {
		req.Header.Set("If-Match", m)
	}
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	if c.cfg.Credentials != nil {
		creds, err := c.cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return nil, fmt.Errorf("operation error S3: GetObject, get credentials: %w", err)
		}
		// S3 signs the path as sent: no second escaping (the SDK's DisableURIPathEscaping for s3).
		signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		if err := signer.SignHTTP(ctx, creds, req, emptySHA256, "s3", c.cfg.Region, time.Now()); err != nil {
			return nil, fmt.Errorf("operation error S3: GetObject, sign: %w", err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("operation error S3: GetObject, request send failed: %w", err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		}
		_ = xml.Unmarshal(data, &e)
		if e.Code == "" {
			e.Code = http.StatusText(resp.StatusCode)
			if resp.StatusCode == http.StatusNotFound {
				e.Code = "NotFound"
			}
		}
		return nil, fmt.Errorf("operation error S3: GetObject, %w", &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: resp},
			Err:      &smithy.GenericAPIError{Code: e.Code, Message: e.Message},
		})
	}
	if !timer.Stop() {
		resp.Body.Close()
		return nil, fmt.Errorf("operation error S3: GetObject, %w", context.Cause(ctx))
	}
	ok = true
	out := &GetObjectOutput{Body: &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}}
	if resp.ContentLength >= 0 {
		out.ContentLength = aws.Int64(resp.ContentLength)
	}
	if v := resp.Header.Get("Content-Range"); v != "" {
		out.ContentRange = aws.String(v)
	}
	if v := resp.Header.Get("ETag"); v != "" {
		out.ETag = aws.String(v)
	}
	if v := resp.Header.Get("X-Amz-Version-Id"); v != "" {
		out.VersionId = aws.String(v)
	}
	return out, nil
}
