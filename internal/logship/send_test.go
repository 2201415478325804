package logship

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go/middleware"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

// wireCheck is the SDK client's HTTP client: it checks that every PutLogEvents request
// leaves with the Content-Encoding its Compression calls for (gzip, or none at all) and
// signed, and counts the bytes on the wire.
type wireCheck struct {
	comp         Compression
	puts         atomic.Int64
	wire         atomic.Int64
	wrongEncoded atomic.Int64
	unsigned     atomic.Int64
}

func (w *wireCheck) Do(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutLogEvents") {
		w.puts.Add(1)
		w.wire.Add(r.ContentLength)
		want := "gzip"
		if w.comp == NoCompression {
			want = ""
		}
		if r.Header.Get("Content-Encoding") != want {
			w.wrongEncoded.Add(1)
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			w.unsigned.Add(1)
		}
	}
	return http.DefaultClient.Do(r)
}

// offsetAcker remembers the last offset acknowledged per source.
type offsetAcker struct {
	mu   sync.Mutex
	last map[SourceID]int64
	ch   chan struct{}
}

func (a *offsetAcker) Ack(src SourceID, off int64) {
	a.mu.Lock()
	a.last[src] = off
	a.mu.Unlock()
	signal(a.ch)
}

func (a *offsetAcker) reached(want map[SourceID]int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for src, off := range want {
		if a.last[src] != off {
			return false
		}
	}
	return true
}

// TestShipToStandIn sends 50,000 events across 3 streams (whose groups do not exist
// yet) through the real SDK client to the CloudWatch Logs stand-in, gzipped once with no
// faults, and for each Compression with 30 % of calls throttled: every event arrives,
// once, in order (so the stand-in decoded each kind of body, retried ones too), and
// every request went with the Content-Encoding its Compression calls for.
func TestShipToStandIn(t *testing.T) {
	for _, tc := range []struct {
		comp     Compression
		throttle float64
	}{{Gzip, 0}, {Gzip, 0.3}, {HuffmanOnly, 0.3}, {NoCompression, 0.3}} {
		t.Run(fmt.Sprintf("%s throttle %.0f%%", tc.comp, tc.throttle*100), func(t *testing.T) {
			shipToStandIn(t, tc.comp, tc.throttle)
		})
	}
}

func shipToStandIn(t *testing.T, comp Compression, throttle float64) {
	srv := awsfake.Start(t)
	if throttle > 0 {
		srv.SetFaults(awsfake.Faults{Seed: 7, ThrottleRate: throttle, Only: map[string]bool{"logs:*": true}})
	}
	wire := &wireCheck{comp: comp}
	client := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:   wire,
	})
	acker := &offsetAcker{last: map[SourceID]int64{}, ch: make(chan struct{}, 1)}
	b := NewBatcher(BatcherOptions{
		Client: client, Acker: acker, Clock: clock.Real{},
		Logger:        zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)),
		FlushInterval: 20 * time.Millisecond,
		MinBackoff:    time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		Retention:   func(k StreamKey) int { return 7 },
		Compression: func(StreamKey) Compression { return comp },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()

	const total, streams = 50000, 3
	keys := make([]StreamKey, streams)
	want := map[SourceID]int64{}
	base := time.Now().Add(-time.Hour).UnixMilli()
	var wg sync.WaitGroup
	for s := range streams {
		keys[s] = StreamKey{Group: fmt.Sprintf("/stackhand/g%d", s%2), Stream: fmt.Sprintf("i-0abc/app%d.log", s)}
		n := total / streams
		if s == 0 {
			n += total % streams
		}
		src := SourceID(s + 1)
		want[src] = int64(n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				msg := fmt.Sprintf(`%d %s seq=%d "GET /x?a=1&b=<2>" 200 é`, base, keys[s].Stream, i)
				if err := b.Put(ctx, keys[s], Event{Time: base + int64(i/50), Message: []byte(msg), Src: src, Offset: int64(i + 1)}); err != nil {
					t.Errorf("Put: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.After(60 * time.Second)
	for !acker.reached(want) {
		select {
		case <-acker.ch:
		case <-deadline:
			t.Fatalf("not all acknowledged after 60 s: %v, want %v; stats %+v", acker.last, want, b.Stats())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}

	for s, k := range keys {
		got := srv.LogEvents(k.Group, k.Stream)
		n := int(want[SourceID(s+1)])
		if len(got) != n {
			t.Errorf("%v: %d events stored, want %d", k, len(got), n)
			continue
		}
		for i, e := range got {
			if wantMsg := fmt.Sprintf(`%d %s seq=%d "GET /x?a=1&b=<2>" 200 é`, base, k.Stream, i); e.Message != wantMsg || e.Timestamp != base+int64(i/50) {
				t.Fatalf("%v: event %d is %q at %d, want %q at %d", k, i, e.Message, e.Timestamp, wantMsg, base+int64(i/50))
			}
		}
		st := b.Stats()[k]
		if st.Sent != int64(n) || st.Dropped != 0 || st.Rejected != 0 || st.SetAside != 0 || st.Pending != 0 {
			t.Errorf("%v: stats %+v", k, st)
		}
		if throttle > 0 && st.Retries == 0 {
			t.Errorf("%v: no retries with %v throttling", k, throttle)
		}
	}
	for _, g := range []string{"/stackhand/g0", "/stackhand/g1"} {
		if days, ok := srv.LogGroup(g); !ok || days != 7 {
			t.Errorf("group %s: exists %v, retention %d; want 7 days", g, ok, days)
		}
	}
	// None of our batches broke a rule: the stand-in checks them as AWS does.
	for _, c := range srv.CallLog() {
		if c.Action == "PutLogEvents" && c.Fault == "" && c.ErrorCode != "" && c.ErrorCode != "ResourceNotFoundException" {
			t.Errorf("PutLogEvents answered %s", c.ErrorCode)
		}
	}
	if wire.wrongEncoded.Load() != 0 || wire.unsigned.Load() != 0 {
		t.Errorf("%d PutLogEvents requests with the wrong Content-Encoding for %s, %d unsigned", wire.wrongEncoded.Load(), comp, wire.unsigned.Load())
	}
	t.Logf("%d PutLogEvents calls, %d bytes on the wire for %d events (%.1f bytes/event); %d calls answered",
		wire.puts.Load(), wire.wire.Load(), total, float64(wire.wire.Load())/total, srv.Calls("logs", "PutLogEvents"))
}

// TestSDKRetryResendsWholeBody: if the SDK's own retryer retries a PutLogEvents (the
// batcher turns it off, but the body middlewares must not depend on that), each attempt
// carries the whole gzipped body; and the payload hash the signature covers is that of
// the gzipped bytes, computed once for every attempt and every call that resends it.
func TestSDKRetryResendsWholeBody(t *testing.T) {
	srv := newCapture(t)
	var calls atomic.Int32
	failing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"__type":"ServiceUnavailableException","message":"later"}`))
			return
		}
		srv.Config.Handler.(http.HandlerFunc)(w, r)
	})
	front := newCaptureWith(t, failing)
	client := sdkClient(front.URL)
	p := getPayload()
	defer putPayload(p)
	p.items = benchItems(100, 50)
	var err error
	if p.body, err = gzipPutLogEvents(p.body, testKey, p.items, Gzip); err != nil {
		t.Fatal(err)
	}
	want := appendPutLogEvents(nil, testKey, p.items)
	ctx := context.WithValue(context.Background(), payloadKey{}, p)
	in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(testKey.Group), LogStreamName: aws.String(testKey.Stream), LogEvents: noEvents}
	var hashes []string
	_, err = client.PutLogEvents(ctx, in, func(o *cloudwatchlogs.Options) {
		o.APIOptions = append(o.APIOptions, addBodyMiddlewares, func(stack *middleware.Stack) error {
			return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("checkHash", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				sum := sha256.Sum256(p.body)
				if got := v4.GetPayloadHash(ctx); got != hex.EncodeToString(sum[:]) {
					t.Errorf("signed payload hash %s, want the gzipped body's %x", got, sum)
				}
				hashes = append(hashes, v4.GetPayloadHash(ctx))
				return next.HandleFinalize(ctx, in)
			}), "Signing", middleware.After)
		})
		o.RetryMaxAttempts = 3
	})
	if err != nil {
		t.Fatalf("PutLogEvents: %v", err)
	}
	body, h := srv.last()
	if calls.Load() != 2 || len(hashes) != 2 || string(body) != string(want) || h.Get("Content-Encoding") != "gzip" {
		t.Errorf("%d attempts; second body equal %v, Content-Encoding %q", calls.Load(), string(body) == string(want), h.Get("Content-Encoding"))
	}
	// The batcher's own retry is a new call with the same payload: the body is neither
	// compressed nor hashed again, and the signature still covers it.
	gz := p.body
	_, err = client.PutLogEvents(ctx, in, func(o *cloudwatchlogs.Options) {
		o.APIOptions = append(o.APIOptions, addBodyMiddlewares, func(stack *middleware.Stack) error {
			return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("checkHash", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				hashes = append(hashes, v4.GetPayloadHash(ctx))
				return next.HandleFinalize(ctx, in)
			}), "Signing", middleware.After)
		})
	})
	sum := sha256.Sum256(p.body)
	if err != nil || p.hashed != 1 || &gz[0] != &p.body[0] || len(hashes) != 3 || hashes[2] != hex.EncodeToString(sum[:]) {
		t.Errorf("a second call with the same payload: err %v, body hashed %d times (want 1), signed hash %v", err, p.hashed, hashes)
	}
}

// newCaptureWith serves h on a test server.
func newCaptureWith(t *testing.T, h http.Handler) *capture {
	c := &capture{}
	c.Server = httptest.NewServer(h)
	t.Cleanup(c.Close)
	return c
}

// Both clients are log shippers' clients: the SDK's (the wire tests above) and the
// hand-made one the agent uses.
var (
	_ LogsClient = (*cloudwatchlogs.Client)(nil)
	_ LogsClient = (*awsenv.LogsClient)(nil)
)
