package logship

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/klauspost/compress/gzip"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

// wireCheck is the log client's HTTP client: it checks that every PutLogEvents request
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
// yet) through the agent's CloudWatch Logs client to the CloudWatch Logs stand-in, gzipped once with no
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
	client := awsenv.NewLogsClient(aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:   wire,
	}, 5*time.Second)
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

// TestRetryResendsTheSameBody: when PutLogEvents fails and the batcher tries again, the
// second request carries the very bytes of the first (the gzipped batch, whole, with
// Content-Encoding: gzip), signed over their hash, which was made once for both.
func TestRetryResendsTheSameBody(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	var signed []string
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutLogEvents") {
			_, _ = io.WriteString(w, "{}")
			return
		}
		mu.Lock()
		bodies = append(bodies, b)
		signed = append(signed, r.Header.Get("Content-Encoding")+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"__type":"ServiceUnavailableException","message":"later"}`)
			return
		}
		_, _ = io.WriteString(w, "{}")
	}))
	defer srv.Close()
	client := awsenv.NewLogsClient(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}, 5*time.Second)
	h := newHarness(t, func(o *BatcherOptions) { o.Client = client })
	for i := range 100 {
		h.put(Event{Time: ms(t0) + int64(i), Message: []byte(fmt.Sprintf("line %d of a batch that fails once", i)), Src: 1, Offset: int64(i + 1)})
	}
	h.flushAll()
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || !bytes.Equal(bodies[0], bodies[1]) {
		t.Fatalf("%d PutLogEvents requests; the two bodies equal: %v", len(bodies), len(bodies) == 2 && bytes.Equal(bodies[0], bodies[1]))
	}
	for _, s := range signed {
		if !strings.HasPrefix(s, "gzip AWS4-HMAC-SHA256 ") {
			t.Errorf("request went with %q: want gzip, signed", s)
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(bodies[1]))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Contains(plain, []byte("line 99 of a batch")) || !bytes.Contains(plain, []byte("line 0 of a batch")) {
		t.Errorf("the resent body is not the whole batch: %.200s", plain)
	}
	if acks, _ := h.acker.get(); !slices.Equal(acks, []ack{{1, 100}}) {
		t.Errorf("acks %v", acks)
	}
	if hashed := h.b.hashes.Load(); hashed != 1 {
		t.Errorf("the body was hashed %d times for two attempts, want once", hashed)
	}
}

// The hand-made client is the agent's log shipping client.
var _ LogsClient = (*awsenv.LogsClient)(nil)
