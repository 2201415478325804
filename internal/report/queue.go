package report

import (
	"context"
	"sync"
	"time"

	// Renamed: this package's backoff is the function the sinks and their tests call.
	backoffpkg "github.com/stackhand/stackhand/internal/backoff"
	"github.com/stackhand/stackhand/internal/clock"
)

// queue holds what a sink has not taken yet: at most max items, the oldest dropped (and
// counted) beyond that. One drain loop sends from it; any goroutine may push.
type queue[T any] struct {
	max int

	mu      sync.Mutex
	items   []T
	dropped int64
	// base is the sequence number of items[0]: every item pushed gets the next one, so a
	// batch sent while older items were dropped is removed exactly.
	base   uint64
	signal chan struct{}
}

func newQueue[T any](max int) *queue[T] {
	return &queue[T]{max: max, signal: make(chan struct{}, 1)}
}

// push appends items, dropping the oldest beyond the bound; it returns how many it dropped.
func (q *queue[T]) push(items ...T) int {
	q.mu.Lock()
	q.items = append(q.items, items...)
	n := 0
	if over := len(q.items) - q.max; over > 0 {
		n = over
		clear(q.items[:over])
		q.items = append(q.items[:0], q.items[over:]...)
		q.dropped += int64(over)
		q.base += uint64(over)
	}
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
	return n
}

// peek returns a copy of up to n of the oldest items and the sequence number of the
// first, to hand to done.
func (q *queue[T]) peek(n int) ([]T, uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n = min(n, len(q.items))
	out := make([]T, n)
	copy(out, q.items[:n])
	return out, q.base
}

// done removes the n items a peek that returned first was given, once they were sent.
// Those of them dropped since are gone already.
func (q *queue[T]) done(n int, first uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	end := first + uint64(n)
	if end <= q.base {
		return
	}
	k := min(int(end-q.base), len(q.items))
	clear(q.items[:k])
	q.items = append(q.items[:0], q.items[k:]...)
	q.base += uint64(k)
}

func (q *queue[T]) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

func (q *queue[T]) drops() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// Retry backoff of a sink that fails: from retryMin, doubling, to retryMax, with jitter.
const (
	retryMin = 2 * time.Second
	retryMax = 2 * time.Minute
)

// retryPolicy is the wait before retrying a sink: drawn at random from an exponential
// window, never less than half of it so retries do not bunch at zero.
var retryPolicy = backoffpkg.Policy{Base: retryMin, Factor: 2, Max: retryMax, Jitter: 0.5}

// backoff returns the wait before retry number attempt (1, 2, ...).
func backoff(attempt int) time.Duration { return retryPolicy.Delay(attempt - 1) }

// drain sends the queue's items in batches of at most batch until ctx ends. A failed send
// is retried with backoff; report is told of every success and failure.
func drain[T any](ctx context.Context, clk clock.Clock, q *queue[T], batch int, send func(context.Context, []T) error,
	report func(err error)) {
	attempt := 0
	for {
		items, first := q.peek(batch)
		if len(items) == 0 {
			select {
			case <-q.signal:
				continue
			case <-ctx.Done():
				return
			}
		}
		if err := send(ctx, items); err != nil {
			if ctx.Err() != nil {
				return
			}
			report(err)
			attempt++
			if !clock.Sleep(ctx, clk, backoff(attempt)) {
				return
			}
			continue
		}
		attempt = 0
		q.done(len(items), first)
		report(nil)
	}
}

// startDrain runs drain in the background; the returned stop ends it and waits for it.
func startDrain[T any](ctx context.Context, clk clock.Clock, q *queue[T], batch int, send func(context.Context, []T) error,
	report func(err error)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		drain(ctx, clk, q, batch, send, report)
	}()
	return func() { cancel(); <-done }
}
