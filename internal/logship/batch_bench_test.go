package logship

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/clock"
)

// countingAcker counts acknowledgements and signals when a source reaches an offset.
type countingAcker struct {
	mu   sync.Mutex
	last map[SourceID]int64
	want map[SourceID]int64
	done chan struct{}
}

func (a *countingAcker) Ack(src SourceID, off int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.last[src] = off
	for s, w := range a.want {
		if a.last[s] != w {
			return
		}
	}
	select {
	case <-a.done:
	default:
		close(a.done)
	}
}

// benchLines returns n access-log-like lines of size bytes that differ in address,
// path, status, sizes and timing, so that gzip does real work.
func benchLines(n, size int) [][]byte {
	r := newRand(9)
	paths := []string{"/api/v1/items", "/api/v1/users/profile", "/static/app.js", "/healthz", "/login", "/search"}
	agents := []string{"curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/124.0", "Go-http-client/1.1", "kube-probe/1.29"}
	out := make([][]byte, n)
	for i := range out {
		l := fmt.Sprintf(`10.%d.%d.%d - - [12/Mar/2026:10:%02d:%02d +0000] "GET %s?id=%d&q=%x HTTP/1.1" %d %d "-" "%s" rt=%d.%03d uid=%x`,
			r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(60), r.IntN(60), paths[r.IntN(len(paths))], r.IntN(1e6), r.Uint32(),
			[]int{200, 200, 200, 304, 404, 500}[r.IntN(6)], r.IntN(1e5), agents[r.IntN(len(agents))], r.IntN(3), r.IntN(1000), r.Uint64())
		for len(l) < size {
			l += fmt.Sprintf(" k%d=%x", r.IntN(100), r.Uint32())
		}
		out[i] = []byte(l[:size])
	}
	return out
}

// BenchmarkBatcher puts 1,000,000 events of 200 bytes, per iteration, through a Batcher
// and the agent's CloudWatch Logs client (own encoder, gzip level 1, SigV4) to an HTTP server that
// reads and discards the bodies, and reports events per CPU-second of the whole process
// (getrusage: the batcher, the SDK, the HTTP client and the discarding server) and
// bytes allocated per event. Run: go test -run '^$' -bench Batcher -benchtime 1x.
func BenchmarkBatcher(b *testing.B) {
	for _, streams := range []int{1, 4} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) { benchBatcher(b, streams) })
	}
}

func benchBatcher(b *testing.B, streams int) {
	const events, size = 1_000_000, 200
	var wire atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		wire.Add(n)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = io.WriteString(w, "{}")
	}))
	defer srv.Close()
	client := agentClient(srv.URL)
	lines := benchLines(4096, size)
	base := time.Now().UnixMilli()

	var cpu time.Duration
	var alloc uint64
	var calls int64
	b.ResetTimer()
	for range b.N {
		acker := &countingAcker{last: map[SourceID]int64{}, want: map[SourceID]int64{}, done: make(chan struct{})}
		per := events / streams
		for s := range streams {
			acker.want[SourceID(s+1)] = int64(per)
		}
		bt := NewBatcher(BatcherOptions{Client: client, Acker: acker, Clock: clock.Real{}, Grace: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)

		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		c0 := processCPU()
		go func() { done <- bt.Run(ctx) }()
		var wg sync.WaitGroup
		for s := range streams {
			key := StreamKey{Group: "/stackhand/bench", Stream: fmt.Sprintf("i-0123456789abcdef0/%d", s)}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range per {
					_ = bt.Put(context.Background(), key, Event{Time: base + int64(i/1000), Message: lines[i%len(lines)], Src: SourceID(s + 1), Offset: int64(i + 1)})
				}
			}()
		}
		wg.Wait()
		cancel() // Run sends what is left at once instead of after FlushInterval
		<-acker.done
		cpu += processCPU() - c0
		runtime.ReadMemStats(&m1)
		alloc += m1.TotalAlloc - m0.TotalAlloc
		<-done
		for _, st := range bt.Stats() {
			calls += st.Batches
		}
	}
	n := float64(b.N) * events
	if cpu > 0 {
		b.ReportMetric(n/cpu.Seconds(), "events/CPU-s")
	}
	b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(alloc)/n, "B-alloc/event")
	b.ReportMetric(float64(wire.Load())/n, "wire-B/event")
	b.ReportMetric(float64(calls)/float64(b.N), "calls")
}
