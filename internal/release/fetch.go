package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
)

// Sink is where a Fetcher writes: a file on disk with the SHA-256 of what was written
// kept as it is written, so that verifying costs no second read. A fetcher that must
// start over calls Reset; one that resumes asks Written for the offset.
type Sink struct {
	// ScratchDir is a directory beside the download, on the same file system, that a
	// fetcher may make temporary files in (git's scratch repository).
	ScratchDir string

	f        *os.File
	h        hash.Hash
	n        int64
	progress func(n int64)
}

// newSink writes into f, which must be empty.
func newSink(f *os.File, progress func(int64)) *Sink {
	return &Sink{f: f, h: sha256.New(), progress: progress}
}

// Write appends p to the file and to the digest.
func (s *Sink) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	if s.progress != nil && n > 0 {
		s.progress(s.n)
	}
	if err != nil {
		// A full or read-only disk: trying the download again will not help.
		return n, permanent(err)
	}
	return n, nil
}

// Written returns how many bytes the file holds: the offset a resumed download asks for.
func (s *Sink) Written() int64 { return s.n }

// Reset empties the file and the digest, for a download that must start over.
func (s *Sink) Reset() error {
	if s.n == 0 {
		return nil // nothing written yet: the file is as it started, empty
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := s.f.Truncate(0); err != nil {
		return err
	}
	s.h.Reset()
	s.n = 0
	return nil
}

// SHA256 returns the hex digest of what was written.
func (s *Sink) SHA256() string { return hex.EncodeToString(s.h.Sum(nil)) }

// Fetcher brings one source's bytes into a Sink. It is called with the source URL as
// configured ({revision} expanded) and must honour ctx.
type Fetcher interface {
	Fetch(ctx context.Context, source string, w *Sink) error
}

// FetcherFunc adapts a function to Fetcher.
type FetcherFunc func(ctx context.Context, source string, w *Sink) error

// Fetch calls f.
func (f FetcherFunc) Fetch(ctx context.Context, source string, w *Sink) error {
	return f(ctx, source, w)
}

// ErrPermanent marks a fetch failure that trying again will not fix (403, 404, a Git ref
// that does not exist): callers do not retry it.
var ErrPermanent = errors.New("permanent")

type permanentError struct{ error }

func (e permanentError) Is(target error) bool { return target == ErrPermanent }
func (e permanentError) Unwrap() error        { return e.error }

func permanent(err error) error { return permanentError{err} }

// scheme returns the fetcher key of a source: "file" for a plain path.
func scheme(source string) string {
	if strings.HasPrefix(source, "/") {
		return "file"
	}
	i := strings.Index(source, "://")
	if i <= 0 {
		return ""
	}
	s := strings.ToLower(source[:i])
	if strings.HasPrefix(s, "git+") {
		return "git"
	}
	return s
}

// Redact returns source fit for a message or a log: no user info, no query (a presigned
// URL's signature lives there) and no fragment beyond a Git ref.
func Redact(source string) string {
	u, err := url.Parse(source)
	if err != nil || u.Scheme == "" {
		if i := strings.IndexAny(source, "?"); i >= 0 {
			return source[:i]
		}
		return source
	}
	u.User = nil
	keepVersion := ""
	if strings.EqualFold(u.Scheme, "s3") {
		if v := u.Query().Get("versionId"); v != "" {
			keepVersion = "?versionId=" + url.QueryEscape(v)
		}
	}
	u.RawQuery = ""
	u.ForceQuery = false
	return u.String() + keepVersion
}

// bufPool holds the copy buffers: one per fetch in flight, reused, so that memory
// stays flat however large the download.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func copyBuf(dst io.Writer, src io.Reader) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	return io.CopyBuffer(dst, src, *bp)
}

// FileFetcher copies a local file (file:///path or /path).
type FileFetcher struct{}

// Fetch copies the file at source into w.
func (FileFetcher) Fetch(ctx context.Context, source string, w *Sink) error {
	p := source
	if strings.HasPrefix(source, "file://") {
		u, err := url.Parse(source)
		if err != nil {
			return permanent(fmt.Errorf("source %s: %w", Redact(source), err))
		}
		if u.Host != "" && u.Host != "localhost" {
			return permanent(fmt.Errorf("source %s: a file URL names a local path: file:///path", Redact(source)))
		}
		p = u.Path
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return permanent(fmt.Errorf("source %s: %w", p, err))
		}
		return fmt.Errorf("source %s: %w", p, err)
	}
	defer f.Close()
	if err := w.Reset(); err != nil {
		return err
	}
	if _, err := copyBuf(w, ctxReader{ctx, f}); err != nil {
		return fmt.Errorf("source %s: %w", p, err)
	}
	return nil
}

// ctxReader stops a long copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
