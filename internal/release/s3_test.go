//go:build unix

package release

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

// TestS3AgainstStandIn fetches through the SDK's real S3 client from the AWS stand-in:
// a version id, a body cut half-way and resumed with Range and If-Match, and access
// denied and a missing key not retried.
func TestS3AgainstStandIn(t *testing.T) {
	t.Run("the SDK's client", func(t *testing.T) {
		s3AgainstStandIn(t, func(endpoint string) S3GetObjectAPI {
			return sdkS3{s3.NewFromConfig(aws.Config{
				Region:       "us-east-1",
				Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
				BaseEndpoint: aws.String(endpoint),
				Retryer:      func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 1) },
			}, func(o *s3.Options) { o.UsePathStyle = true })}
		})
	})
	// The agent's own client (awsenv.S3Client: the SDK's is not linked into the binary).
	t.Run("the agent's client", func(t *testing.T) {
		s3AgainstStandIn(t, func(endpoint string) S3GetObjectAPI {
			return awsenv.NewS3Client(aws.Config{
				Region:       "us-east-1",
				Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
				BaseEndpoint: aws.String(endpoint),
			}, 0)
		})
	})
}

func s3AgainstStandIn(t *testing.T, newClient func(endpoint string) S3GetObjectAPI) {
	srv := awsfake.Start(t)
	src := t.TempDir()
	v1body, _ := os.ReadFile(version(t, src, "v1", map[string]string{"pad": strings.Repeat("a", 200000)}))
	v2body, _ := os.ReadFile(version(t, src, "v2", nil))
	v1 := srv.PutObject("releases", "web/app.tar.gz", v1body)
	srv.PutObject("releases", "web/app.tar.gz", v2body)
	client := newClient(srv.URL)
	m := newManager()
	m.Fetchers["s3"] = S3Fetcher{Client: client, Retry: fastRetry}
	app := newApp(t)

	srv.SetFaults(awsfake.Faults{CutBodyAfter: int64(len(v1body) / 2), CutBodyCalls: 1})
	deploy(t, m, app, "v1", "s3://releases/web/app.tar.gz?versionId="+v1)
	if got := currentVersion(t, app); got != "v1" {
		t.Fatalf("current %q, want the version asked for, v1", got)
	}
	log := srv.CallLog()
	if len(log) != 2 || log[0].Fault != "cut-body" || !strings.HasPrefix(log[1].Params.Get("Range"), "bytes=") || log[1].Params.Get("If-Match") == "" || log[1].Params.Get("VersionId") != v1 {
		t.Fatalf("calls %+v, want a cut one then a resume with Range and If-Match", log)
	}
	srv.SetFaults(awsfake.Faults{})

	deploy(t, m, app, "v2", "s3://releases/web/app.tar.gz")
	if got := currentVersion(t, app); got != "v2" {
		t.Fatalf("current %q, want the newest version", got)
	}

	for _, tc := range []struct{ name, source, want string }{
		{"missing", "s3://releases/web/nope.tar.gz", "NoSuchKey"},
		{"denied", "s3://secret/web/app.tar.gz", "AccessDenied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.PutObject("secret", "web/app.tar.gz", v2body)
			srv.DenyBucket("secret", true)
			before := srv.Calls("s3", "GetObject")
			_, err := m.Prepare(t.Context(), app, Deploy{Revision: "v3", Source: tc.source})
			t.Log(err)
			if err == nil || !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), tc.source) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v", err)
			}
			if n := srv.Calls("s3", "GetObject") - before; n != 1 {
				t.Fatalf("%d calls, want 1 (not retried)", n)
			}
			if currentVersion(t, app) != "v2" {
				t.Fatal("current changed")
			}
		})
	}
}

// sdkS3 puts the SDK's client behind S3GetObjectAPI, so the fetcher is tried with it too.
type sdkS3 struct{ c *s3.Client }

func (a sdkS3) GetObject(ctx context.Context, in *awsenv.GetObjectInput) (*awsenv.GetObjectOutput, error) {
	out, err := a.c.GetObject(ctx, &s3.GetObjectInput{Bucket: in.Bucket, Key: in.Key, VersionId: in.VersionId,
		Range: in.Range, IfMatch: in.IfMatch})
	if err != nil {
		return nil, err
	}
	return &awsenv.GetObjectOutput{Body: out.Body, ContentLength: out.ContentLength, ContentRange: out.ContentRange,
		ETag: out.ETag, VersionId: out.VersionId}, nil
}
