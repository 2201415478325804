package logship

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
)

// The PutLogEvents rules a batch obeys (service/cloudwatchlogs api_op_PutLogEvents.go
// and the API reference).
const (
	// MaxBatchEvents is the most events one PutLogEvents call takes.
	MaxBatchEvents = 10000
	// MaxBatchBytes is the most one call takes, counted as the messages' UTF-8 bytes
	// plus EventOverhead per event.
	MaxBatchBytes = 1 << 20
	// MaxBatchSpan is the widest a batch's timestamps may spread.
	MaxBatchSpan = 24 * time.Hour
	// MaxEventAge and MaxEventAhead bound the timestamps CloudWatch Logs stores,
	// relative to now; events outside are set aside (see Batcher).
	MaxEventAge   = 14 * 24 * time.Hour
	MaxEventAhead = 2 * time.Hour
)

// Defaults of BatcherOptions.
const (
	DefaultFlushInterval = 5 * time.Second
	DefaultQueueEvents   = MaxBatchEvents
	DefaultQueueBytes    = MaxBatchBytes
	DefaultGrace         = 2 * time.Second
	DefaultMinBackoff    = 200 * time.Millisecond
	DefaultMaxBackoff    = 30 * time.Second
)

// BatcherOptions configures a Batcher. Zero fields take the defaults named.
type BatcherOptions struct {
	// Client sends the batches: an *awsenv.LogsClient, or LocalLogs.
	Client LogsClient
	// Acker is told how far each file was stored. Nil acknowledges nothing.
	Acker Acker
	// Clock is clock.Real{} by default.
	Clock clock.Clock
	// Logger is zap.NewNop() by default.
	Logger *zap.Logger
	// FlushInterval is how long an event waits at most for its batch to fill before
	// the batch is sent anyway (the CloudWatch agent's force_flush_interval):
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// QueueEvents and QueueBytes bound each stream's queue (bytes counted as a batch
	// counts them: message bytes plus EventOverhead each). Put blocks while the queue
	// is full. Defaults: one full batch, DefaultQueueEvents and DefaultQueueBytes, so
	// that one batch can fill while the one before it is in flight.
	QueueEvents int
	QueueBytes  int
	// Retention gives the retention in days of a log group the batcher creates; 0, or
	// a nil func, leaves the new group's events to never expire. A group that already
	// exists keeps its policy.
	Retention func(StreamKey) int
	// Compression gives how each stream's bodies go on the wire, asked once per stream
	// when its first event comes; Gzip for a nil func.
	Compression func(StreamKey) Compression
	// Grace is how long Run keeps sending after its context ends: DefaultGrace.
	Grace time.Duration
	// MinBackoff and MaxBackoff bound the wait before retrying a failed call; it
	// doubles from MinBackoff to MaxBackoff with full jitter.
	MinBackoff, MaxBackoff time.Duration
	// Jitter picks the wait before a retry from [0, max); uniformly at random by
	// default.
	Jitter func(max time.Duration) time.Duration
}

// Batcher sends log events to CloudWatch Logs: one bounded queue and one sender per log
// stream, streams in parallel. Each sender cuts batches that obey every PutLogEvents
// rule, sends them (with the package's own JSON encoder and the stream's Compression,
// through the CloudWatch Logs client), encoding each batch once and resending those bytes, retries what can succeed later without end, and acknowledges to the Acker
// what the service stored, in order per source.
//
// What the batcher does with events CloudWatch Logs cannot take:
//
//   - A message longer than MaxMessageBytes is split at a UTF-8 boundary into parts
//     that each fit, each part ending with " [stackhand: split i/n]" and carrying the
//     event's timestamp. Only the last part acknowledges the event's offset. (Split,
//     not truncated: no byte of the file is lost.) A Tailer's overlong lines arrive
//     already cut into marked parts that fit (recordReader.chunk), as it never holds
//     a line whole.
//   - For a stream sent with NoCompression, the HTTP body is the JSON, where a quote or
//     backslash takes 2 bytes and a control character 6: such a stream counts each
//     message by its escaped length instead (see jsonExtra), so that its body is never
//     larger than the SDK's own for a batch of the same size without escapes, and
//     splits, as above, a message whose escaped length is over MaxMessageBytes.
//   - An event more than MaxEventAge old or more than MaxEventAhead in the future when
//     its batch is cut (by the Clock) is set aside: not sent, counted in
//     StreamStats.SetAside, logged at most once a minute per stream, and acknowledged
//     with its batch so that its file moves on. AWS would refuse it anyway. So is an
//     event with an empty message, which PutLogEvents refuses too (it fails the whole
//     call).
//   - Events the service reports in rejectedLogEventsInfo (too old, too new, older than
//     the group's retention) are counted as Rejected and acknowledged.
//   - A batch the service refuses as malformed (InvalidParameterException and the like,
//     which no retry can fix) is logged with its stream, checked against the rules
//     (a violation is logged as our bug), counted as Dropped and acknowledged.
//
// Each source (SourceID) must feed one stream only: acknowledgements are in order per
// stream.
type Batcher struct {
	client    LogsClient
	acker     Acker
	clk       clock.Clock
	log       *zap.Logger
	flush     time.Duration
	qEvents   int
	qBytes    int
	retention func(StreamKey) int
	comp      func(StreamKey) Compression
	grace     time.Duration
	minBack   time.Duration
	maxBack   time.Duration
	jitter    func(time.Duration) time.Duration

	// limits of a batch; the PutLogEvents rules, lowered by tests.
	maxEvents int
	maxBytes  int

	// encodes counts the bodies encoded (and compressed), for tests to check that
	// nothing is encoded twice.
	encodes atomic.Int64
	// hashes counts the bodies hashed for their signature, for tests to check that a
	// retried batch is not hashed again.
	hashes atomic.Int64

	mu      sync.RWMutex
	streams map[StreamKey]*stream
	run     *runState // nil until Run starts
	stopped bool      // Run has returned
	wg      sync.WaitGroup
}

// runState is what a running Batcher's senders share.
type runState struct {
	ctx     context.Context // Run's context: its end starts the flush
	sendCtx context.Context // what the calls run under: ends Grace after ctx
}

type nopAcker struct{}

func (nopAcker) Ack(SourceID, int64) {}

// NewBatcher returns a Batcher; Run starts its senders.
func NewBatcher(o BatcherOptions) *Batcher {
	b := &Batcher{
		client:    o.Client,
		acker:     o.Acker,
		clk:       o.Clock,
		log:       o.Logger,
		flush:     o.FlushInterval,
		qEvents:   o.QueueEvents,
		qBytes:    o.QueueBytes,
		retention: o.Retention,
		comp:      o.Compression,
		grace:     o.Grace,
		minBack:   o.MinBackoff,
		maxBack:   o.MaxBackoff,
		jitter:    o.Jitter,
		maxEvents: MaxBatchEvents,
		maxBytes:  MaxBatchBytes,
		streams:   make(map[StreamKey]*stream),
	}
	if b.acker == nil {
		b.acker = nopAcker{}
	}
	if b.clk == nil {
		b.clk = clock.Real{}
	}
	if b.log == nil {
		b.log = zap.NewNop()
	}
	if b.flush <= 0 {
		b.flush = DefaultFlushInterval
	}
	if b.qEvents <= 0 {
		b.qEvents = DefaultQueueEvents
	}
	if b.qBytes <= 0 {
		b.qBytes = DefaultQueueBytes
	}
	if b.grace <= 0 {
		b.grace = DefaultGrace
	}
	if b.minBack <= 0 {
		b.minBack = DefaultMinBackoff
	}
	if b.maxBack <= 0 {
		b.maxBack = DefaultMaxBackoff
	}
	if b.maxBack < b.minBack {
		b.maxBack = b.minBack
	}
	return b
}

// Put queues ev for the stream key, blocking while that stream's queue is full (the
// files are the buffer: a slow service slows the tailers instead of growing memory).
// It returns ctx.Err() if ctx ends first; then ev may be partly queued (the first parts
// of a split message) but never acknowledged.
//
// The batcher keeps ev.Message until the event is sent: the caller must not change its
// bytes after Put. A message that is not valid UTF-8 is copied with each bad byte
// replaced by U+FFFD, as the SDK would send it.
func (b *Batcher) Put(ctx context.Context, key StreamKey, ev Event) error {
	if !utf8.Valid(ev.Message) {
		ev.Message = repairUTF8(ev.Message)
	}
	return b.putValid(ctx, key, ev)
}

// putValid is Put for a message known to be valid UTF-8: what a Tailer hands over (its
// recordReader repairs every line), so the Shipper's tailers skip Put's second scan of
// every line.
func (b *Batcher) putValid(ctx context.Context, key StreamKey, ev Event) error {
	s := b.stream(key)
	// Uncompressed, the HTTP body is the JSON itself. AWS documents no limit on the HTTP
	// body of PutLogEvents, only the batch's 1,048,576 bytes of messages plus 26 per event
	// (API_PutLogEvents.html). The SDK sends PutLogEvents as plain JSON (smithy-go's
	// awsjson serializer; the operation has no RequestCompression trait in
	// service/cloudwatchlogs@v1.92.0), so the service takes, from every SDK client, the
	// body of a full batch of lines with nothing to escape: counting each message by
	// its escaped length keeps our bodies within that. (The stand-in takes 16 MiB on the
	// wire, awsfake's server.go, and as much decompressed, json11.go maxJSONBody.)
	var extra int
	if s.comp == NoCompression {
		extra = jsonExtra(ev.Message)
	}
	if len(ev.Message)+extra <= MaxMessageBytes {
		return s.enqueue(ctx, entry{Time: ev.Time, Msg: ev.Message, Src: ev.Src, Offset: ev.Offset, extra: uint32(extra)})
	}
	s.mu.Lock()
	s.stats.Split++
	s.mu.Unlock()
	cut := cutAt
	if s.comp == NoCompression {
		cut = cutEscaped
	}
	return splitMessage(ev.Message, MaxMessageBytes, cut, func(part []byte, i, n uint32) error {
		e := entry{Time: ev.Time, Msg: part, Part: i, Parts: n}
		if i == n {
			e.Src, e.Offset = ev.Src, ev.Offset
		}
		if s.comp == NoCompression {
			e.extra = uint32(jsonExtra(part))
		}
		return s.enqueue(ctx, e)
	})
}

// Idle tells the batcher that the source of key's events has caught up and is quiet
// (the Tailer calls it when a file had nothing new for a whole coalescing wait after it
// was read): the events queued for the stream now are sent at once, in batches cut by
// the usual rules, instead of after the flush interval, since nothing more is coming to
// fill their batch. Events put after Idle wait for the flush interval as usual, so a
// writer that keeps writing still gets full batches. A stream that does not exist yet
// is left alone.
//
// Idle sends early at most one batch that is not full per flush interval: a writer
// that pauses after every write (a few lines every 100 ms) would otherwise turn each
// write into a call of its own, ten times the calls of the flush interval, which a
// fleet pays for in throttling. The end of a file read from a cold start, after full
// batches only, is always sent at once (TestIdleSendsAtMostOnePartialBatchPerInterval).
func (b *Batcher) Idle(key StreamKey) {
	b.mu.RLock()
	s := b.streams[key]
	b.mu.RUnlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	n := s.q.n
	if !s.lastPartial.IsZero() && b.clk.Now().Sub(s.lastPartial) < b.flush {
		n = 0
	}
	s.idleDue = n
	s.mu.Unlock()
	if n > 0 {
		signal(s.wake)
	}
}

// Run sends until ctx ends, then for at most Grace sends what is queued, and returns
// when every sender has stopped. Events not sent by then are not acknowledged: the
// tailers read them again after a restart. Run may be called once.
func (b *Batcher) Run(ctx context.Context) error {
	sendCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	b.mu.Lock()
	if b.run != nil || b.stopped {
		b.mu.Unlock()
		return errors.New("logship: Batcher.Run called twice")
	}
	b.run = &runState{ctx: ctx, sendCtx: sendCtx}
	for _, s := range b.streams {
		b.startLocked(s)
	}
	b.mu.Unlock()

	<-ctx.Done()
	t := b.clk.AfterFunc(b.grace, cancel)
	defer t.Stop()
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	b.wg.Wait()

	pending := 0
	b.mu.RLock()
	for _, s := range b.streams {
		s.mu.Lock()
		pending += s.q.n
		s.mu.Unlock()
	}
	b.mu.RUnlock()
	if pending > 0 {
		b.log.Warn("log events not sent before shutdown; they are read again from their files at the next start",
			zap.Int("events", pending), zap.Duration("grace", b.grace))
	}
	return nil
}

// Stats returns each stream's counters.
func (b *Batcher) Stats() map[StreamKey]StreamStats {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make(map[StreamKey]StreamStats, len(b.streams))
	for k, s := range b.streams {
		out[k] = s.snapshot()
	}
	return out
}

// StreamStats are the counters of one log stream since the Batcher started.
type StreamStats struct {
	Sent    int64 // events the service stored
	Batches int64 // PutLogEvents calls that succeeded
	Retries int64 // failed calls that were tried again
	// Throttled counts the calls the service refused as too many (also in Retries).
	Throttled int64
	Rejected  int64 // events the service refused in rejectedLogEventsInfo
	SetAside  int64 // events not sent: too old or too far ahead
	Split     int64 // events split because they were too long
	Dropped   int64 // events of batches the service refused as malformed
	// LastError says what failed last, when, and LastOK when a batch last succeeded.
	LastError   string
	LastErrorAt time.Time
	LastOK      time.Time
	// Pending counts the events queued or in flight; OldestPending is when the oldest
	// of them was put (zero when none).
	Pending       int
	OldestPending time.Time
}

func (b *Batcher) stream(key StreamKey) *stream {
	b.mu.RLock()
	s := b.streams[key]
	b.mu.RUnlock()
	if s != nil {
		return s
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if s = b.streams[key]; s != nil {
		return s
	}
	s = newStream(b, key)
	b.streams[key] = s
	if b.run != nil && !b.stopped {
		b.startLocked(s)
	}
	return s
}

func (b *Batcher) startLocked(s *stream) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		s.run(b.run.ctx, b.run.sendCtx)
	}()
}

// entry is one queued event, or one part of a split one.
type entry struct {
	Time int64 // milliseconds since the epoch
	Msg  []byte
	// Src and Offset are acknowledged when the entry is stored; Src 0 acknowledges
	// nothing (the parts of a split event before its last).
	Src    SourceID
	Offset int64
	// Part of Parts (1-based) of a split event; both 0 for a whole event.
	Part, Parts uint32
	// extra is how many bytes escaping adds to Msg in the JSON body, counted only for a
	// stream sent with NoCompression (0 otherwise).
	extra   uint32
	arrived int64 // Clock time of Put, in Unix nanoseconds
}

// size counts the entry as PutLogEvents does.
func (e *entry) size() int {
	n := len(e.Msg) + EventOverhead
	if e.Parts > 0 {
		n += splitSuffixLen(e.Part, e.Parts)
	}
	return n
}

// cost counts the entry as the batcher does when it cuts batches and bounds the queue:
// as PutLogEvents does, plus what escaping adds for a stream sent uncompressed.
func (e *entry) cost() int { return e.size() + int(e.extra) }

// ring is a FIFO of entries that grows, by doubling, to what it is asked to hold.
type ring struct {
	buf  []entry
	head int
	n    int
}

func (r *ring) push(e entry) {
	if r.n == len(r.buf) {
		nb := make([]entry, max(64, 2*len(r.buf)))
		for i := range r.n {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = e
	r.n++
}

func (r *ring) front() *entry { return &r.buf[r.head] }

func (r *ring) at(i int) *entry { return &r.buf[(r.head+i)%len(r.buf)] }

func (r *ring) pop() {
	r.buf[r.head] = entry{} // let the message go
	r.head = (r.head + 1) % len(r.buf)
	r.n--
}

// signal wakes whoever waits on ch (capacity 1) without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// stream is one log stream's queue and sender state.
type stream struct {
	b    *Batcher
	key  StreamKey
	comp Compression // how its bodies go on the wire

	wake chan struct{} // Put → sender: the queue has news
	tick chan struct{} // flush timer → sender

	mu     sync.Mutex
	q      ring
	qBytes int
	// stamp is the last clock reading given to an event as its arrival time, shared by
	// the stamped events after it (see stampEvery).
	stamp   int64
	stamped int
	// qMin and qMax bound the timestamps in q (valid when q.n > 0).
	qMin, qMax int64
	// readySignaled: the sender was told the queue holds a full batch.
	readySignaled bool
	// idleDue counts the entries at the front of q that Idle made due at once: their
	// source had nothing more to add, so waiting for the flush interval gains nothing.
	idleDue int
	// lastPartial is when the sender last took a batch that was not full (its flush
	// interval had passed, or Idle made it due).
	lastPartial time.Time
	// putWaiting: a Put is blocked on space; space is closed when room is made.
	putWaiting bool
	space      chan struct{}

	// in flight: the events of the batch being sent and when the oldest was put.
	inflight       int
	inflightOldest int64

	// pace is the least time between the starts of two calls while the service
	// throttles this stream, 0 when it does not; lastCall is when the last call
	// started. The sender's own (run and send).
	pace     time.Duration
	lastCall time.Time

	stats StreamStats
	// needRetention: the group was created by us and its retention is not set yet.
	needRetention bool
	// last time each kind of thing was logged, for logging at most once a minute.
	loggedSetAside, loggedRejected, loggedRetry time.Time
}

func newStream(b *Batcher, key StreamKey) *stream {
	comp := Gzip
	if b.comp != nil {
		comp = b.comp(key)
	}
	return &stream{
		b:     b,
		key:   key,
		comp:  comp,
		wake:  make(chan struct{}, 1),
		tick:  make(chan struct{}, 1),
		space: make(chan struct{}),
	}
}

// stampEvery is how many events in a row may share one reading of the clock as their
// arrival time: reading it for each of a million events is 3 % of the agent's CPU. An
// event that finds the queue empty always reads it.
const stampEvery = 64

// enqueue adds e to the queue, waiting for room.
func (s *stream) enqueue(ctx context.Context, e entry) error {
	size := e.cost()
	for {
		s.mu.Lock()
		if s.q.n == 0 || (s.q.n < s.b.qEvents && s.qBytes+size <= s.b.qBytes) {
			wasEmpty := s.q.n == 0
			// An event given the last stamp looks older than it is, so its batch goes
			// out sooner, never later, than force_flush_interval after it came.
			if wasEmpty || s.stamped >= stampEvery {
				s.stamp, s.stamped = s.b.clk.Now().UnixNano(), 0
			}
			s.stamped++
			e.arrived = s.stamp
			s.q.push(e)
			s.qBytes += size
			if wasEmpty {
				s.qMin, s.qMax = e.Time, e.Time
			} else {
				s.qMin, s.qMax = min(s.qMin, e.Time), max(s.qMax, e.Time)
			}
			wake := wasEmpty
			if !s.readySignaled && s.readyLocked() {
				s.readySignaled, wake = true, true
			}
			s.mu.Unlock()
			if wake {
				signal(s.wake)
			}
			return nil
		}
		s.putWaiting = true
		space := s.space
		s.mu.Unlock()
		signal(s.wake)
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// readyLocked reports whether the queue holds a batch that cannot grow: as many
// events or bytes as a batch takes, a span wider than one takes, or a full queue.
func (s *stream) readyLocked() bool {
	return s.q.n >= s.b.maxEvents || s.qBytes >= s.b.maxBytes ||
		s.q.n >= s.b.qEvents || s.qBytes >= s.b.qBytes ||
		s.qMax-s.qMin > MaxBatchSpan.Milliseconds() || s.putWaiting
}

// run is the stream's sender. It returns when ctx has ended and the queue is empty, or
// when sendCtx ends.
func (s *stream) run(ctx, sendCtx context.Context) {
	var (
		timer    clock.Timer
		timerAt  time.Time
		stopping bool
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if !stopping && ctx.Err() != nil {
			stopping = true
		}
		if sendCtx.Err() != nil {
			return
		}
		s.mu.Lock()
		if s.q.n == 0 {
			s.mu.Unlock()
			if stopping {
				return
			}
			select {
			case <-s.wake:
			case <-ctx.Done():
			}
			continue
		}
		now := s.b.clk.Now()
		due := time.Unix(0, s.q.front().arrived).Add(s.b.flush)
		full := s.readyLocked()
		wait := !stopping && !full && s.idleDue == 0 && now.Before(due)
		if !wait && !stopping && s.pace > 0 {
			// Throttled lately: the batch waits out the pace, and meanwhile fills.
			if paced := s.lastCall.Add(s.pace); now.Before(paced) {
				wait, due = true, paced
			}
		}
		if wait {
			s.mu.Unlock()
			if timer == nil || !timerAt.Equal(due) {
				if timer != nil {
					timer.Stop()
				}
				timer, timerAt = s.b.clk.AfterFunc(due.Sub(now), func() { signal(s.tick) }), due
			}
			select {
			case <-s.wake:
			case <-s.tick:
			case <-ctx.Done():
			}
			continue
		}
		if !full {
			s.lastPartial = now
		}
		p := getPayload()
		s.takeLocked(now, p)
		if s.putWaiting {
			close(s.space)
			s.space, s.putWaiting = make(chan struct{}), false
		}
		s.mu.Unlock()
		s.send(sendCtx, p)
		putPayload(p)
	}
}

// takeLocked moves the next batch from the queue into p: entries in arrival order up to
// the first that does not fit (by count, bytes or span), setting aside those CloudWatch
// Logs would not store at now, and collecting the acknowledgements.
func (s *stream) takeLocked(now time.Time, p *payload) {
	nowMs := now.UnixMilli()
	oldest := nowMs - MaxEventAge.Milliseconds()
	newest := nowMs + MaxEventAhead.Milliseconds()
	span := MaxBatchSpan.Milliseconds()
	var bytes int
	var lo, hi int64
	var setAside int64
	n0 := s.q.n
	s.inflightOldest = s.q.front().arrived
	for s.q.n > 0 {
		e := s.q.front()
		if e.Time < oldest || e.Time > newest || len(e.Msg) == 0 && e.Parts == 0 {
			setAside++
			p.ack(e.Src, e.Offset)
			s.qBytes -= e.cost()
			s.q.pop()
			continue
		}
		size := e.cost()
		if n := len(p.items); n > 0 {
			if n >= s.b.maxEvents || bytes+size > s.b.maxBytes ||
				max(hi, e.Time)-min(lo, e.Time) > span {
				break
			}
			lo, hi = min(lo, e.Time), max(hi, e.Time)
		} else {
			lo, hi = e.Time, e.Time
		}
		bytes += size
		p.items = append(p.items, *e)
		p.ack(e.Src, e.Offset)
		s.qBytes -= size
		s.q.pop()
	}
	s.inflight = len(p.items)
	s.readySignaled = false
	s.idleDue = max(0, s.idleDue-(n0-s.q.n))
	if s.q.n > 0 {
		s.qMin, s.qMax = s.q.front().Time, s.q.front().Time
		for i := 1; i < s.q.n; i++ {
			t := s.q.at(i).Time
			s.qMin, s.qMax = min(s.qMin, t), max(s.qMax, t)
		}
	}
	if setAside > 0 {
		s.stats.SetAside += setAside
		if now.Sub(s.loggedSetAside) >= time.Minute {
			s.loggedSetAside = now
			s.b.log.Warn("log events set aside: CloudWatch Logs stores no event more than 14 days old or 2 hours ahead; they are skipped and their files move on",
				zap.String("group", s.key.Group), zap.String("stream", s.key.Stream),
				zap.Int64("events", setAside), zap.Int64("total", s.stats.SetAside))
		}
	}
}

func (s *stream) snapshot() StreamStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Pending = s.q.n + s.inflight
	switch {
	case s.inflight > 0:
		st.OldestPending = time.Unix(0, s.inflightOldest)
	case s.q.n > 0:
		st.OldestPending = time.Unix(0, s.q.front().arrived)
	}
	return st
}

// repairUTF8 returns a copy of b with each byte that is not part of valid UTF-8
// replaced by U+FFFD, as the SDK's JSON encoder would write it.
func repairUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/4)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
}
