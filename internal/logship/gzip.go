package logship

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/klauspost/compress/gzip"
)

// PutLogEvents bodies go gzipped (Content-Encoding: gzip), which CloudWatch Logs
// accepts on its JSON API: log lines compress about tenfold, and at level 1 (BestSpeed)
// compressing costs less CPU than sending the bytes over TLS. Vector's
// aws_cloudwatch_logs sink offers the same (its compression option); the SDK does not
// do it for PutLogEvents by itself (no RequestCompression trait on the operation).

// gzipWriters holds level-1 writers for reuse: a writer's state is a few hundred KiB
// that would otherwise be allocated per batch.
var gzipWriters = sync.Pool{New: func() any {
	w, err := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	if err != nil {
		panic(err) // only for a bad level
	}
	return w
}}

// appendWriter is an io.Writer that appends to a byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// appendGzip appends src compressed with gzip at BestSpeed to dst.
func appendGzip(dst, src []byte) ([]byte, error) {
	aw := appendWriter{b: dst}
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&aw)
	if _, err := zw.Write(src); err != nil {
		return dst, fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return dst, fmt.Errorf("gzip: %w", err)
	}
	zw.Reset(nil) // drop the reference to aw
	return aw.b, nil
}

// gzipMiddleware compresses a Batcher's PutLogEvents body and sets Content-Encoding
// and the new Content-Length. It is in the Build step, so the SDK's hash and
// signature of the payload (Finalize step) cover the compressed bytes. The body is
// compressed once per batch: the batcher's own retries call PutLogEvents again and
// find it done.
type gzipMiddleware struct{}

func (gzipMiddleware) ID() string { return "stackhand.GzipRequestBody" }

func (gzipMiddleware) HandleBuild(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (
	middleware.BuildOutput, middleware.Metadata, error,
) {
	p, _ := ctx.Value(payloadKey{}).(*payload)
	req, ok := in.Request.(*smithyhttp.Request)
	if p == nil || !ok {
		return next.HandleBuild(ctx, in)
	}
	if !p.gzipped {
		gz, err := appendGzip(p.gz[:0], p.json)
		if err != nil {
			return middleware.BuildOutput{}, middleware.Metadata{}, err
		}
		p.gz, p.gzipped = gz, true
	}
	sreq, err := req.SetStream(bytes.NewReader(p.gz))
	if err != nil {
		return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("set gzipped PutLogEvents body: %w", err)
	}
	*req = *sreq
	req.Header.Set("Content-Encoding", "gzip")
	return next.HandleBuild(ctx, in)
}
