package logship

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Compression is how a stream's PutLogEvents bodies go on the wire. CloudWatch Logs
// accepts gzip (Content-Encoding: gzip) on its JSON API as well as plain JSON; the SDK
// compresses nothing for PutLogEvents by itself (no RequestCompression trait on the
// operation), so the batcher does. Vector's aws_cloudwatch_logs sink offers the same
// choice (its compression option).
type Compression uint8

const (
	// Gzip is gzip at level 1 (BestSpeed), the default: log lines compress about
	// tenfold, and at level 1 compressing costs less CPU than sending the bytes over TLS.
	Gzip Compression = iota
	// HuffmanOnly is gzip without string matching (Huffman coding of single bytes):
	// several times cheaper in CPU than level 1, about half the size of plain JSON
	// instead of a tenth.
	HuffmanOnly
	// NoCompression sends the plain JSON body, without Content-Encoding.
	NoCompression
)

// ParseCompression returns the Compression a config names ("gzip", "huffman", "none";
// "" is gzip).
func ParseCompression(name string) (Compression, error) {
	switch name {
	case "", "gzip":
		return Gzip, nil
	case "huffman":
		return HuffmanOnly, nil
	case "none":
		return NoCompression, nil
	}
	return Gzip, fmt.Errorf("compression %q is not known; use gzip, huffman or none", name)
}

// String returns the config's name of c.
func (c Compression) String() string {
	switch c {
	case HuffmanOnly:
		return "huffman"
	case NoCompression:
		return "none"
	}
	return "gzip"
}

// gzipLevel is the klauspost gzip level of a compressing Compression.
func (c Compression) gzipLevel() int {
	if c == HuffmanOnly {
		return gzip.HuffmanOnly
	}
	return gzip.BestSpeed
}

// gzipWriters holds writers for reuse, one free list per Compression: a level-1
// writer's state is over a MiB that would otherwise be allocated per batch. A plain free
// list rather than a sync.Pool: a pool keeps one per P and one more through each GC,
// several MiB for one busy stream.
var gzipWriters struct {
	mu   sync.Mutex
	free [NoCompression][]*gzip.Writer
}

func getGzipWriter(c Compression) *gzip.Writer {
	gzipWriters.mu.Lock()
	defer gzipWriters.mu.Unlock()
	if n := len(gzipWriters.free[c]); n > 0 {
		w := gzipWriters.free[c][n-1]
		gzipWriters.free[c] = gzipWriters.free[c][:n-1]
		return w
	}
	w, err := gzip.NewWriterLevel(nil, c.gzipLevel())
	if err != nil {
		panic(err) // only for a bad level
	}
	return w
}

func putGzipWriter(c Compression, w *gzip.Writer) {
	w.Reset(nil) // drop the reference to the output
	gzipWriters.mu.Lock()
	gzipWriters.free[c] = append(gzipWriters.free[c], w)
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

// encodeBody appends to dst the PutLogEvents body for items as c sends it: the JSON
// itself for NoCompression, else gzipped at c's level. Compressed bodies are
// compressed as they are encoded, a piece at a time, so no whole JSON copy of the batch
// is ever held: the events, their compressed body, and 36 KiB between.
func encodeBody(dst []byte, key StreamKey, items []entry, c Compression) ([]byte, error) {
	if c == NoCompression {
		return encodePutLogEvents(dst, key, items, nil), nil
	}
	return gzipPutLogEvents(dst, key, items, c)
}

// gzipPutLogEvents appends to dst the PutLogEvents body for items, gzipped at c's level.
func gzipPutLogEvents(dst []byte, key StreamKey, items []entry, c Compression) ([]byte, error) {
	aw := appendWriter{b: dst}
	zw := getGzipWriter(c)
	defer putGzipWriter(c, zw)
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
