package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/backoff"
	"github.com/stackhand/stackhand/internal/clock"
)

// Retry says how a network fetch tries again after a failure that may pass (a cut
// connection, a 5xx, a timeout).
type Retry struct {
	// Attempts is how many tries in all (0 means 5).
	Attempts int
	// Policy is the wait between tries (a zero Base means 1 s doubling to 30 s, half jitter).
	Policy backoff.Policy
	// Stall ends a try that receives nothing for this long (0 means 60 s): a download has
	// no total deadline, since it may be large, but it may never hang.
	Stall time.Duration
	// Clock waits between tries (nil means the wall clock).
	Clock clock.Clock
	// Log gets one line per failed try (nil means none).
	Log *zap.Logger
}

func (r Retry) attempts() int {
	if r.Attempts <= 0 {
		return 5
	}
	return r.Attempts
}

func (r Retry) policy() backoff.Policy {
	if r.Policy.Base <= 0 {
		return backoff.Policy{Base: time.Second, Factor: 2, Max: 30 * time.Second, Jitter: 0.5}
	}
	return r.Policy
}

func (r Retry) stall() time.Duration {
	if r.Stall <= 0 {
		return 60 * time.Second
	}
	return r.Stall
}

// run calls try until it succeeds, fails permanently, ctx ends or the attempts are spent.
func (r Retry) run(ctx context.Context, what string, try func(ctx context.Context) error) error {
	c := r.Clock
	if c == nil {
		c = clock.Real{}
	}
	var err error
	for i := 0; i < r.attempts(); i++ {
		if i > 0 {
			d := r.policy().Delay(i - 1)
			if r.Log != nil {
				r.Log.Warn("fetch failed, trying again", zap.String("source", what), zap.Int("attempt", i), zap.Duration("wait", d), zap.Error(err))
			}
			if !clock.Sleep(ctx, c, d) {
				return fmt.Errorf("%w (then: %w)", err, ctx.Err())
			}
		}
		err = try(ctx)
		if err == nil || errors.Is(err, ErrPermanent) || ctx.Err() != nil {
			return err
		}
	}
	return fmt.Errorf("%w (gave up after %d tries)", err, r.attempts())
}

// stallReader fails a read that has waited longer than the stall limit for its bytes, by
// cancelling the request: a server that stops sending ends the try instead of hanging it.
type stallReader struct {
	stalled atomic.Bool
	r       io.Reader
	timer   *time.Timer
	stall   time.Duration
	cancel  context.CancelFunc
}

func newStallReader(r io.Reader, stall time.Duration, cancel context.CancelFunc) *stallReader {
	s := &stallReader{r: r, stall: stall, cancel: cancel}
	s.timer = time.AfterFunc(stall, func() { s.stalled.Store(true); cancel() })
	return s
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.timer.Reset(s.stall)
	}
	return n, err
}

func (s *stallReader) stop() { s.timer.Stop() }

// HTTPFetcher downloads http:// and https:// sources, streamed to disk. A try cut half-way
// is resumed with a Range request when the server answered with Accept-Ranges: bytes (and
// the same ETag or Last-Modified, through If-Range), and restarted from zero otherwise.
// 401, 403, 404 and 410 are not retried.
type HTTPFetcher struct {
	// Client makes the requests (nil means one with a 30 s connect and header timeout).
	Client *http.Client
	Retry  Retry
}

var defaultHTTPClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	TLSHandshakeTimeout:   30 * time.Second,
	ResponseHeaderTimeout: 30 * time.Second,
	// A compressed archive gains nothing from transport gzip, and Range needs raw bytes.
	DisableCompression: true,
}}

// Fetch downloads source into w.
func (h HTTPFetcher) Fetch(ctx context.Context, source string, w *Sink) error {
	client := h.Client
	if client == nil {
		client = defaultHTTPClient
	}
	red := Redact(source)
	if err := w.Reset(); err != nil {
		return err
	}
	var validator string // ETag or Last-Modified of the first answer, for If-Range
	resumable := false
	var total int64 = -1
	try := func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
		if err != nil {
			return permanent(fmt.Errorf("source %s: %w", red, err))
		}
		off := w.Written()
		if off > 0 && resumable {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-")
			if validator != "" {
				req.Header.Set("If-Range", validator)
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("source %s: %w", red, stripURLError(err))
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusPartialContent && off > 0 && resumable:
			start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
			if !ok || start != off {
				// Not the part asked for: start again rather than splice wrong bytes.
				resumable = false
				if err := w.Reset(); err != nil {
					return err
				}
				return fmt.Errorf("source %s: server sent range %q for bytes=%d-; starting over", red, resp.Header.Get("Content-Range"), off)
			}
		case resp.StatusCode == http.StatusOK:
			if off > 0 {
				if err := w.Reset(); err != nil { // the server ignored Range: start over
					return err
				}
			}
			resumable = strings.EqualFold(resp.Header.Get("Accept-Ranges"), "bytes")
			validator = resp.Header.Get("ETag")
			if validator == "" || strings.HasPrefix(validator, "W/") {
				validator = resp.Header.Get("Last-Modified")
			}
			total = resp.ContentLength
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden ||
			resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
			return permanent(fmt.Errorf("source %s: %s: check the URL and that this instance may read it", red, resp.Status))
		case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
			resumable = false
			if err := w.Reset(); err != nil {
				return err
			}
			return fmt.Errorf("source %s: %s for bytes=%d-; starting over", red, resp.Status, off)
		case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
			return permanent(fmt.Errorf("source %s: %s", red, resp.Status))
		default:
			return fmt.Errorf("source %s: %s", red, resp.Status)
		}
		sr := newStallReader(resp.Body, h.Retry.stall(), cancel)
		defer sr.stop()
		if _, err := copyBuf(w, sr); err != nil {
			if sr.stalled.Load() {
				err = fmt.Errorf("%w (nothing received for %s)", err, h.Retry.stall())
			}
			return fmt.Errorf("source %s: cut after %d bytes: %w", red, w.Written(), stripURLError(err))
		}
		if total >= 0 && w.Written() != total {
			return fmt.Errorf("source %s: got %d of %d bytes", red, w.Written(), total)
		}
		return nil
	}
	return h.Retry.run(ctx, red, try)
}

// stripURLError drops the *url.Error wrapper, whose message repeats the full URL
// (query and credentials included); the caller names the redacted URL itself.
func stripURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// contentRangeStart parses "bytes START-END/TOTAL".
func contentRangeStart(v string) (int64, bool) {
	v, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	dash := strings.IndexByte(v, '-')
	if dash <= 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:dash], 10, 64)
	return n, err == nil
}
