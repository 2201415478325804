package report

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/metrics"
	"github.com/stackhand/stackhand/internal/status"
)

// metricsQueue bounds the data waiting for CloudWatch: with five disks, about 20 data a
// minute, so several hours of outage.
const metricsQueue = 5000

// samplesPerInterval is how many collections are folded into each published statistic
// set.
const samplesPerInterval = 6

// Metrics collects memory, swap, disk and CPU figures several times an interval and
// publishes each as a statistic set (minimum, maximum, sum, count) once an interval, with
// the CloudWatch agent's names, units and dimensions plus InstanceId, as the CloudWatch
// agent does with append_dimensions {"InstanceId": "${aws:InstanceId}"}.
type Metrics struct {
	Sink           Sink
	Clock          clock.Clock
	Log            *zap.Logger
	Status         StatusFunc // may be nil
	Instance       event.Instance
	Namespace      string
	Interval       time.Duration
	HighResolution bool
	// Collector reads the machine; one with metrics.Options{IgnoreFSTypes} when nil.
	Collector     *metrics.Collector
	IgnoreFSTypes []string
	// AppendDims are the dimensions every datum gets after its family's
	// (metrics.append_dimensions); nil means InstanceId alone.
	AppendDims []Dim
	// Aggregate are metrics.aggregation_dimensions: each set publishes every datum that
	// has all its dimensions once more, with those alone (an empty set: with none).
	Aggregate [][]string

	q        *queue[Datum]
	flushReq chan chan struct{} // FlushNow's requests
	once     sync.Once
	agg      metrics.Aggregator
	samples  []metrics.Sample
	stats    []metrics.Stat

	// matched marks the Aggregate sets some datum had every dimension of, until the
	// first interval's are named in the log (warned).
	matched []bool
	warned  bool

	mu      sync.Mutex
	lastErr string
	health  status.Component
}

// Run collects and publishes until ctx ends.
func (m *Metrics) Run(ctx context.Context) {
	if m.Collector == nil {
		m.Collector = metrics.New(metrics.Options{IgnoreFSTypes: m.IgnoreFSTypes})
	}
	m.setup()
	stop := startDrain(ctx, m.Clock, m.q, MaxMetricBatch, func(ctx context.Context, d []Datum) error {
		return m.Sink.PutMetrics(ctx, m.Namespace, d)
	}, m.sent)
	defer stop()
	every := max(m.Interval/samplesPerInterval, time.Second)
	next := m.Clock.Now().Add(m.Interval)
	m.Collect()
	for {
		req, ok := m.wait(ctx, every)
		if !ok {
			return
		}
		m.Collect()
		if now := m.Clock.Now(); req != nil || !now.Before(next) {
			m.Flush(now)
			next = now.Add(m.Interval)
		}
		if req != nil {
			close(req)
		}
	}
}

// wait sleeps d on the clock, or until FlushNow asks for the interval's figures now (req
// is then its request, to close once they are queued). ok is false when ctx ended.
func (m *Metrics) wait(ctx context.Context, d time.Duration) (req chan struct{}, ok bool) {
	done := make(chan struct{})
	t := m.Clock.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return nil, true
	case req = <-m.flushReq:
		t.Stop()
		return req, true
	case <-ctx.Done():
		t.Stop()
		return nil, false
	}
}

// FlushNow has Run publish what it gathered of the running interval at once, and waits
// until every queued datum is sent or ctx ends; it returns how many were left unsent.
// A terminating instance's last figures go out this way before the lifecycle action lets
// it go.
func (m *Metrics) FlushNow(ctx context.Context) int {
	m.setup()
	req := make(chan struct{})
	select {
	case m.flushReq <- req:
	case <-ctx.Done():
		return m.queued()
	}
	select {
	case <-req:
	case <-ctx.Done():
		return m.queued()
	}
	for m.queued() > 0 && clock.Sleep(ctx, m.Clock, flushPoll) {
	}
	return m.queued()
}

// flushPoll is how often FlushNow looks whether the queue is empty.
const flushPoll = 50 * time.Millisecond

// setup makes the queue and FlushNow's channel, once, for whichever of Run and FlushNow
// comes first.
func (m *Metrics) setup() {
	m.once.Do(func() {
		m.q = newQueue[Datum](metricsQueue)
		m.flushReq = make(chan chan struct{})
	})
}

// queued is how many data wait to be sent.
func (m *Metrics) queued() int { return m.q.len() }

// Collect takes one reading into the running statistic sets.
func (m *Metrics) Collect() {
	var err error
	m.samples, err = m.Collector.Collect(m.samples[:0])
	m.agg.Add(m.samples)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	m.mu.Lock()
	prev := m.lastErr
	m.lastErr = msg
	m.mu.Unlock()
	if msg != prev {
		if err != nil {
			m.Log.Warn("some metrics could not be read; the others are sent", zap.Error(err))
		} else {
			m.Log.Info("every metric is read again")
		}
	}
}

// Flush queues the interval's statistic sets, stamped at, for publishing.
func (m *Metrics) Flush(at time.Time) {
	m.stats = m.agg.Flush(m.stats[:0])
	if len(m.stats) == 0 {
		return
	}
	extra := m.AppendDims
	if extra == nil {
		extra = []Dim{{"InstanceId", m.Instance.InstanceID}}
	}
	data := make([]Datum, 0, len(m.stats))
	for _, s := range m.stats {
		dims := make([]Dim, 0, len(s.Dims)+len(extra))
		for _, d := range s.Dims {
			dims = append(dims, Dim{d.Name, d.Value})
		}
		dims = append(dims, extra...)
		d := Datum{Name: s.Name, Unit: s.Unit, Dims: dims, Time: at.UTC(), Min: s.Min, Max: s.Max,
			Sum: s.Sum, Count: s.Count, HighResolution: m.HighResolution}
		data = append(data, d)
		data = m.rollUp(data, d)
	}
	m.warnUnmatched()
	if dropped := m.q.push(data...); dropped > 0 {
		m.Log.Warn("metric queue full; dropped the oldest data", zap.Int("dropped", dropped), zap.Int("bound", metricsQueue))
	}
}

// rollUp appends d once for each Aggregate set whose dimensions d has all of, with those
// dimensions alone, in the set's order; a set that names d's own dimensions, or one an
// earlier set gave already, adds nothing (CloudWatch would count d twice).
func (m *Metrics) rollUp(data []Datum, d Datum) []Datum {
	if len(m.Aggregate) == 0 {
		return data
	}
	if m.matched == nil {
		m.matched = make([]bool, len(m.Aggregate))
	}
	var done [][]Dim
sets:
	for i, set := range m.Aggregate {
		dims := make([]Dim, 0, len(set))
		for _, name := range set {
			j := slices.IndexFunc(d.Dims, func(x Dim) bool { return x.Name == name })
			if j < 0 {
				continue sets
			}
			dims = append(dims, d.Dims[j])
		}
		m.matched[i] = true
		if sameDims(dims, d.Dims) || slices.ContainsFunc(done, func(o []Dim) bool { return sameDims(o, dims) }) {
			continue
		}
		done = append(done, dims)
		r := d
		r.Dims = dims
		data = append(data, r)
	}
	return data
}

// warnUnmatched names, once after the first interval, the Aggregate sets no metric had
// every dimension of: nothing is published for them, which a typo in a name would cause.
func (m *Metrics) warnUnmatched() {
	if m.warned || len(m.Aggregate) == 0 {
		return
	}
	m.warned = true
	for i, ok := range m.matched {
		if !ok {
			m.Log.Warn("metrics.aggregation_dimensions: no metric has all these dimensions, so none is published with them; check the names against the metrics' dimensions",
				zap.Strings("set", m.Aggregate[i]))
		}
	}
}

// sameDims reports whether a and b hold the same dimensions, in any order.
func sameDims(a, b []Dim) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func (m *Metrics) sent(err error) {
	m.mu.Lock()
	h := m.health
	changed := h.Settle(err, m.Clock.Now().UTC())
	if m.lastErr != "" && err == nil {
		h.Detail = "some metrics unreadable: " + m.lastErr
	} else {
		h.Detail = ""
	}
	h.Counters = map[string]int64{"queued": int64(m.q.len()), "dropped": m.q.drops()}
	m.health = h
	m.mu.Unlock()
	switch {
	case changed && err != nil:
		m.Log.Error("cannot send metrics; retrying with backoff", zap.Error(err))
	case changed:
		m.Log.Info("metrics are accepted again")
	}
	m.Status.tell("metrics", h)
}
