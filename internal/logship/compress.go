package logship

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// PutLogEvents bodies go gzipped (Content-Encoding: gzip), which CloudWatch Logs
// accepts on its JSON API: log lines compress about tenfold, and at level 1 (BestSpeed)
// compressing costs less CPU than sending the bytes over TLS. Vector's
// aws_cloudwatch_logs sink offers the same (its compression option); the SDK does not
// do it for PutLogEvents by itself (no RequestCompression trait on the operation).

// gzipWriters holds level-1 writers for reuse: a writer's state is over a MiB that would
// otherwise be allocated per batch. A plain free list rather than a sync.Pool: a pool
// keeps one per P and one more through each GC, several MiB for one busy stream.
var gzipWriters struct {
	mu   sync.Mutex
	free []*gzip.Writer
}

func getGzipWriter() *gzip.Writer {
	gzipWriters.mu.Lock()
	defer gzipWriters.mu.Unlock()
	if n := len(gzipWriters.free); n > 0 {
		w := gzipWriters.free[n-1]
		gzipWriters.free = gzipWriters.free[:n-1]
		return w
	}
	w, err := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	if err != nil {
		panic(err) // only for a bad level
	}
	return w
}

func putGzipWriter(w *gzip.Writer) {
	w.Reset(nil) // drop the reference to the output
	gzipWriters.mu.Lock()
	gzipWriters.free = append(gzipWriters.free, w)
	gzipWriters.mu.Unlock()
}

// appendWriter is an io.Writer that appends to a byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// scratchSize is the encoder's buffer between the events and the gzip writer.
const scratchSize = encodeChunk + 4<<10

// gzipPutLogEvents appends to dst the PutLogEvents body for items, gzipped at BestSpeed.
// The JSON is compressed as it is encoded, a piece at a time, so no whole JSON copy of
// the batch is ever held: the events, their compressed body, and 36 KiB between.
func gzipPutLogEvents(dst []byte, key StreamKey, items []entry) ([]byte, error) {
	aw := appendWriter{b: dst}
	zw := getGzipWriter()
	defer putGzipWriter(zw)
	zw.Reset(&aw)
	scratch := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(scratch)
	var werr error
	flush := func(b []byte) []byte {
		if werr == nil {
			_, werr = zw.Write(b)
		}
		return b[:0]
	}
	last := encodePutLogEvents((*scratch)[:0], key, items, flush)
	flush(last)
	if werr == nil {
		werr = zw.Close()
	}
	if werr != nil {
		return dst, fmt.Errorf("gzip: %w", werr)
	}
	return aw.b, nil
}

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, scratchSize); return &b }}

// gunzip returns the decompressed body, for readers that want the JSON (the local
// client, tests).
func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
