package report

import (
	"context"
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

	q       *queue[Datum]
	agg     metrics.Aggregator
	samples []metrics.Sample
	stats   []metrics.Stat

	mu      sync.Mutex
	lastErr string
	health  status.Component
}

// Run collects and publishes until ctx ends.
func (m *Metrics) Run(ctx context.Context) {
	if m.Collector == nil {
		m.Collector = metrics.New(metrics.Options{IgnoreFSTypes: m.IgnoreFSTypes})
	}
	m.q = newQueue[Datum](metricsQueue)
	stop := startDrain(ctx, m.Clock, m.q, MaxMetricBatch, func(ctx context.Context, d []Datum) error {
		return m.Sink.PutMetrics(ctx, m.Namespace, d)
	}, m.sent)
	defer stop()
	every := max(m.Interval/samplesPerInterval, time.Second)
	next := m.Clock.Now().Add(m.Interval)
	m.Collect()
	for clock.Sleep(ctx, m.Clock, every) {
		m.Collect()
		if now := m.Clock.Now(); !now.Before(next) {
			m.Flush(now)
			next = now.Add(m.Interval)
		}
	}
}

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
		data = append(data, Datum{Name: s.Name, Unit: s.Unit, Dims: dims, Time: at.UTC(), Min: s.Min, Max: s.Max,
			Sum: s.Sum, Count: s.Count, HighResolution: m.HighResolution})
	}
	if dropped := m.q.push(data...); dropped > 0 {
		m.Log.Warn("metric queue full; dropped the oldest data", zap.Int("dropped", dropped), zap.Int("bound", metricsQueue))
	}
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
