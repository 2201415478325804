package awsfake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func s3Client(srv *Server, maxAttempts int) *s3.Client {
	return s3.NewFromConfig(sdkConfig(srv, maxAttempts), func(o *s3.Options) { o.UsePathStyle = true })
}

func getObject(t *testing.T, c *s3.Client, in *s3.GetObjectInput) (*s3.GetObjectOutput, []byte, error) {
	t.Helper()
	out, err := c.GetObject(ctx(t), in)
	if err != nil {
		return nil, nil, err
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	return out, body, err
}

func TestS3GetObjectVersions(t *testing.T) {
	srv := Start(t)
	v1 := srv.PutObject("releases", "web/app.tar.gz", []byte("version one"))
	v2 := srv.PutObject("releases", "web/app.tar.gz", []byte("version two!"))
	if v1 == v2 || len(v1) != 32 {
		t.Fatalf("version ids %q %q", v1, v2)
	}
	c := s3Client(srv, 1)

	out, body, err := getObject(t, c, &s3.GetObjectInput{Bucket: aws.String("releases"), Key: aws.String("web/app.tar.gz")})
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != "version two!" || aws.ToString(out.VersionId) != v2 || aws.ToInt64(out.ContentLength) != 12 {
		t.Errorf("latest: body %q version %q length %d", body, aws.ToString(out.VersionId), aws.ToInt64(out.ContentLength))
	}
	// md5("version two!"), quoted as S3 sends it.
	if etag := aws.ToString(out.ETag); !strings.HasPrefix(etag, `"`) || len(etag) != 34 {
		t.Errorf("ETag %q", etag)
	}
	if out.LastModified == nil || time.Since(*out.LastModified) > time.Minute {
		t.Errorf("LastModified %v", out.LastModified)
	}

	_, body, err = getObject(t, c, &s3.GetObjectInput{Bucket: aws.String("releases"), Key: aws.String("web/app.tar.gz"), VersionId: aws.String(v1)})
	if err != nil || string(body) != "version one" {
		t.Errorf("version 1: %q, %v", body, err)
	}
	if got := srv.Calls("s3", "GetObject"); got != 2 {
		t.Errorf("GetObject calls %d, want 2", got)
	}
	log := srv.CallLog()
	if l := log[len(log)-1]; l.Params.Get("Bucket") != "releases" || l.Params.Get("Key") != "web/app.tar.gz" || l.Params.Get("VersionId") != v1 || l.Auth != AuthSigV4 {
		t.Errorf("call log %+v", l)
	}
}

func TestS3GetObjectRanges(t *testing.T) {
	srv := Start(t)
	srv.PutObject("b", "k", []byte("0123456789"))
	c := s3Client(srv, 1)
	for _, tc := range []struct{ rng, body, contentRange string }{
		{"bytes=4-", "456789", "bytes 4-9/10"},
		{"bytes=2-5", "2345", "bytes 2-5/10"},
		{"bytes=8-100", "89", "bytes 8-9/10"},
		{"bytes=-3", "789", "bytes 7-9/10"},
	} {
		out, body, err := getObject(t, c, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Range: aws.String(tc.rng)})
		if err != nil {
			t.Errorf("%s: %v", tc.rng, err)
			continue
		}
		if string(body) != tc.body || aws.ToString(out.ContentRange) != tc.contentRange {
			t.Errorf("%s: body %q Content-Range %q, want %q %q", tc.rng, body, aws.ToString(out.ContentRange), tc.body, tc.contentRange)
		}
	}
	if log := srv.CallLog(); log[0].Status != http.StatusPartialContent {
		t.Errorf("status %d, want 206", log[0].Status)
	}
	_, _, err := getObject(t, c, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Range: aws.String("bytes=10-")})
	if code, _ := apiCode(t, err); code != "InvalidRange" {
		t.Errorf("range past the end: %v", err)
	}
	// A header that is not a byte range is ignored, as S3 ignores it.
	_, body, err := getObject(t, c, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Range: aws.String("lines=1-2")})
	if err != nil || string(body) != "0123456789" {
		t.Errorf("not a byte range: %q %v", body, err)
	}
	// If-Match guards a resume against the object having changed.
	_, _, err = getObject(t, c, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Range: aws.String("bytes=4-"), IfMatch: aws.String(`"0000"`)})
	if code, _ := apiCode(t, err); code != "PreconditionFailed" {
		t.Errorf("If-Match mismatch: %v", err)
	}
}

func TestS3GetObjectErrors(t *testing.T) {
	srv := Start(t)
	srv.PutObject("b", "k", []byte("x"))
	srv.PutObject("secret", "k", []byte("x"))
	srv.DenyBucket("secret", true)
	c := s3Client(srv, 1)
	for _, tc := range []struct {
		bucket, key, version string
		code                 string
		status               int
		typed                any
	}{
		// GetObject's model names only NoSuchKey among these (service/s3/
		// deserializers.go), so NoSuchBucket reaches callers as a generic error.
		{"nope", "k", "", "NoSuchBucket", 404, nil},
		{"b", "missing", "", "NoSuchKey", 404, &types.NoSuchKey{}},
		{"b", "k", "no-such-version", "NoSuchVersion", 404, nil},
		{"secret", "k", "", "AccessDenied", 403, nil},
	} {
		in := &s3.GetObjectInput{Bucket: aws.String(tc.bucket), Key: aws.String(tc.key)}
		if tc.version != "" {
			in.VersionId = aws.String(tc.version)
		}
		_, _, err := getObject(t, c, in)
		code, msg := apiCode(t, err)
		if code != tc.code || msg == "" {
			t.Errorf("%s/%s: code %q message %q, want %s", tc.bucket, tc.key, code, msg, tc.code)
		}
		var re interface{ HTTPStatusCode() int }
		if !errors.As(err, &re) || re.HTTPStatusCode() != tc.status {
			t.Errorf("%s/%s: %v, want HTTP %d", tc.bucket, tc.key, err, tc.status)
		}
		switch want := tc.typed.(type) {
		case *types.NoSuchKey:
			if !errors.As(err, &want) {
				t.Errorf("%s: %T is not types.NoSuchKey", tc.code, err)
			}
		}
	}
	srv.DenyBucket("secret", false)
	if _, _, err := getObject(t, c, &s3.GetObjectInput{Bucket: aws.String("secret"), Key: aws.String("k")}); err != nil {
		t.Errorf("after the denial is lifted: %v", err)
	}
}

// The raw error body, as S3 writes it: an <Error> element, not wrapped.
func TestS3ErrorBody(t *testing.T) {
	srv := Start(t)
	srv.CreateBucket("b")
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/b/missing/key", nil)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || !bytes.Contains(body, []byte("<Error><Code>NoSuchKey</Code>")) ||
		!bytes.Contains(body, []byte("<Key>missing/key</Key>")) || resp.Header.Get("X-Amz-Request-Id") == "" {
		t.Errorf("%d %s %v", resp.StatusCode, body, resp.Header)
	}
}

// A virtual-hosted request names the bucket in the Host.
func TestS3VirtualHosted(t *testing.T) {
	srv := Start(t)
	srv.PutObject("my.bucket", "a/b.txt", []byte("hello"))
	for _, host := range []string{"my.bucket.localhost", "my.bucket.s3.us-east-1.amazonaws.com"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/a/b.txt", nil)
		req.Host = host
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "hello" {
			t.Errorf("%s: %d %q", host, resp.StatusCode, body)
		}
	}
}

// A body cut half-way reaches the client as an error while reading it, and a
// range request from where it stopped gets the rest: what a resuming fetcher does.
func TestS3CutBodyAndResume(t *testing.T) {
	srv := Start(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	srv.PutObject("b", "big", data)
	srv.SetFaults(Faults{CutBodyAfter: 100 << 10, CutBodyCalls: 1})
	c := s3Client(srv, 3)

	out, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err == nil || len(got) != 100<<10 {
		t.Fatalf("cut body: read %d bytes, err %v; want 102400 and an error", len(got), err)
	}
	if !bytes.Equal(got, data[:len(got)]) {
		t.Fatal("the part read is not the object's start")
	}
	_, rest, err := getObject(t, c, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("big"),
		Range: aws.String(fmt.Sprintf("bytes=%d-", len(got))), IfMatch: out.ETag})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(got, rest...), data) {
		t.Errorf("resumed object differs: %d+%d bytes", len(got), len(rest))
	}
	log := srv.CallLog()
	if len(log) != 2 || log[0].Fault != "cut-body" || log[1].Fault != "" {
		t.Errorf("call log %+v", log)
	}
}

func TestS3FaultsThrottleAndHang(t *testing.T) {
	srv := Start(t)
	srv.PutObject("b", "k", []byte("x"))
	srv.SetFaults(Faults{ThrottleRate: 1, Only: map[string]bool{"s3:GetObject": true}})
	_, _, err := getObject(t, s3Client(srv, 1), &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
	if code, _ := apiCode(t, err); code != "SlowDown" {
		t.Errorf("throttled: %v", err)
	}
	// SlowDown is a throttle to the SDK: with attempts to spare it retries.
	srv.SetFaults(Faults{ThrottleRate: 1, Seed: 1})
	srv.ResetCalls()
	_, _, _ = getObject(t, s3Client(srv, 3), &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
	if n := srv.Calls("s3", "GetObject"); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}

	srv.SetFaults(Faults{Hang: true})
	hctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = s3Client(srv, 1).GetObject(hctx, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
	var oe *smithy.OperationError
	if !errors.As(err, &oe) || srv.Hung() != 1 {
		t.Errorf("hang: %v, hung %d", err, srv.Hung())
	}
}
