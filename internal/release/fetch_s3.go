package release

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stackhand/stackhand/internal/awsenv"
)

// S3GetObjectAPI is the one S3 call a release needs: awsenv.S3Client (the tests adapt
// the SDK's *s3.Client to it).
type S3GetObjectAPI interface {
	GetObject(ctx context.Context, in *awsenv.GetObjectInput) (*awsenv.GetObjectOutput, error)
}

// S3Fetcher downloads s3://bucket/key[?versionId=V] through GetObject, streamed to disk. A
// body cut half-way is resumed with Range and If-Match on the first answer's ETag (so a
// replaced object is never spliced: S3 answers 412 and the download starts over). Access
// denied and a missing bucket, key or version are not retried.
type S3Fetcher struct {
	Client S3GetObjectAPI
	Retry  Retry
	// CallTimeout bounds the wait for GetObject's answer headers (0 means
	// awsenv.DefaultCallTimeout); the body is bounded by Retry.Stall instead.
	CallTimeout time.Duration
}

// ParseS3 splits s3://bucket/key[?versionId=V].
func ParseS3(source string) (bucket, key, version string, err error) {
	u, err := url.Parse(source)
	if err != nil || !strings.EqualFold(u.Scheme, "s3") || u.Host == "" || strings.TrimPrefix(u.Path, "/") == "" {
		return "", "", "", fmt.Errorf("source %s: want s3://bucket/key[?versionId=V]", Redact(source))
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), u.Query().Get("versionId"), nil
}

// Fetch downloads source into w.
func (f S3Fetcher) Fetch(ctx context.Context, source string, w *Sink) error {
	if f.Client == nil {
		return permanent(fmt.Errorf("source %s: no S3 client (mode local reads file:// and http(s):// sources only)", Redact(source)))
	}
	bucket, key, version, err := ParseS3(source)
	if err != nil {
		return permanent(err)
	}
	red := Redact(source)
	callTimeout := f.CallTimeout
	if callTimeout <= 0 {
		callTimeout = awsenv.DefaultCallTimeout
	}
	if err := w.Reset(); err != nil {
		return err
	}
	etag := ""
	var total int64 = -1
	try := func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		in := &awsenv.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
		if version != "" {
			in.VersionId = aws.String(version)
		}
		off := w.Written()
		if off > 0 && etag != "" {
			in.Range = aws.String("bytes=" + strconv.FormatInt(off, 10) + "-")
			in.IfMatch = aws.String(etag)
		} else if off > 0 {
			if err := w.Reset(); err != nil {
				return err
			}
			off = 0
		}
		headers := time.AfterFunc(callTimeout, cancel)
		out, err := f.Client.GetObject(ctx, in)
		headers.Stop()
		if err != nil {
			switch status := s3Status(err); {
			case status == 412 || status == 416:
				// The object changed under us (If-Match) or the range is off: start over.
				etag = ""
				if rerr := w.Reset(); rerr != nil {
					return rerr
				}
				return fmt.Errorf("source %s: object changed during the download; starting over", red)
			case status == 403 || status == 404 || isS3Missing(err):
				return permanent(fmt.Errorf("source %s: %s", red, awsenv.Explain(err, "s3:GetObject")))
			}
			return fmt.Errorf("source %s: %s", red, awsenv.Explain(err, "s3:GetObject"))
		}
		defer out.Body.Close()
		if off == 0 {
			etag = aws.ToString(out.ETag)
			if out.ContentLength != nil {
				total = *out.ContentLength
			}
		} else if start, ok := contentRangeStart(aws.ToString(out.ContentRange)); !ok || start != off {
			etag = ""
			if err := w.Reset(); err != nil {
				return err
			}
			return fmt.Errorf("source %s: S3 sent range %q for bytes=%d-; starting over", red, aws.ToString(out.ContentRange), off)
		}
		sr := newStallReader(out.Body, f.Retry.stall(), cancel)
		defer sr.stop()
		if _, err := copyBuf(w, sr); err != nil {
			if sr.stalled.Load() {
				err = fmt.Errorf("%w (nothing received for %s)", err, f.Retry.stall())
			}
			return fmt.Errorf("source %s: cut after %d bytes: %w", red, w.Written(), err)
		}
		if total >= 0 && w.Written() != total {
			return fmt.Errorf("source %s: got %d of %d bytes", red, w.Written(), total)
		}
		return nil
	}
	return f.Retry.run(ctx, red, try)
}

func s3Status(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isS3Missing(err error) bool {
	switch awsenv.ErrorCode(err) {
	case "NoSuchKey", "NoSuchBucket", "NoSuchVersion", "AccessDenied", "InvalidObjectState", "NotFound":
		return true
	}
	return false
}
