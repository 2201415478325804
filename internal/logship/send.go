package logship

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/backoff"
	"github.com/stackhand/stackhand/internal/clock"
)

// LogsClient is what the Batcher calls: *awsenv.LogsClient in mode aws, *LocalLogs in
// mode local.
//
// PutLogEvents is called with only the group and stream names set; the request body,
// the batch's events, is encoded and compressed by this package and handed to the call
// in ctx (awsenv.WithRequestBody). A client that is not awsenv's finds that body, as
// JSON, with PutLogEventsBody.
type LogsClient interface {
	PutLogEvents(context.Context, *awsenv.PutLogEventsInput) (*awsenv.PutLogEventsOutput, error)
	CreateLogGroup(context.Context, *awsenv.CreateLogGroupInput) error
	CreateLogStream(context.Context, *awsenv.CreateLogStreamInput) error
	PutRetentionPolicy(context.Context, *awsenv.PutRetentionPolicyInput) error
}

// payload is one batch on its way: its events, the acknowledgements it carries, and its
// request body, JSON as its stream's Compression sends it (encoded and compressed once,
// resent as is on every retry). Payloads are pooled: a batch's buffers are a couple of
// MiB at most and only streams with a batch in flight hold one.
type payload struct {
	items []entry
	acks  []ack
	body  []byte
	comp  Compression
	// bodyHash is the hex SHA-256 of body that SigV4 signs, made once for every attempt.
	bodyHash string
	// json is the body decompressed, made only for a reader that asks for it
	// (PutLogEventsBody).
	json []byte
}

type ack struct {
	src    SourceID
	offset int64
}

var payloadPool = sync.Pool{New: func() any { return new(payload) }}

func getPayload() *payload { return payloadPool.Get().(*payload) }

func putPayload(p *payload) {
	clear(p.items) // let the messages go
	p.items, p.acks, p.json, p.body, p.comp = p.items[:0], p.acks[:0], nil, p.body[:0], Gzip
	p.bodyHash = ""
	payloadPool.Put(p)
}

// ack records that src is stored up to offset once the batch is: the last offset taken
// from each source, in the order the sources first appear.
func (p *payload) ack(src SourceID, offset int64) {
	if src == 0 {
		return
	}
	if n := len(p.acks); n > 0 && p.acks[n-1].src == src {
		p.acks[n-1].offset = offset
		return
	}
	for i := range p.acks {
		if p.acks[i].src == src {
			p.acks[i].offset = offset
			return
		}
	}
	p.acks = append(p.acks, ack{src, offset})
}

type payloadKey struct{}

// PutLogEventsBody returns the JSON body a Batcher's PutLogEvents call carries in ctx
// (nil if none), for a LogsClient that is not awsenv's (mode local's, tests'). It
// is valid until the call returns.
func PutLogEventsBody(ctx context.Context) []byte {
	p, _ := ctx.Value(payloadKey{}).(*payload)
	if p == nil {
		return nil
	}
	if p.comp == NoCompression {
		return p.body
	}
	if p.json == nil && len(p.body) > 0 {
		j, err := gunzip(p.body)
		if err != nil {
			return nil
		}
		p.json = j
	}
	return p.json
}

// send sends the batch in p until the service stores it, refuses it for good, or ctx
// ends; then acknowledges it (unless ctx ended first) and counts it.
func (s *stream) send(ctx context.Context, p *payload) {
	n := len(p.items)
	if n == 0 {
		s.done(p, 0, 0, 0, nil)
		return
	}
	// Taken in arrival order; the service wants time order. Stable: equal timestamps
	// keep their order, and so do the parts of a split event.
	if !slices.IsSortedFunc(p.items, cmpTime) {
		slices.SortStableFunc(p.items, cmpTime)
	}
	// Encoded and compressed once: every attempt below sends these same bytes.
	p.comp = s.comp
	body, err := encodeBody(p.body[:0], s.key, p.items, p.comp)
	s.b.encodes.Add(1)
	if err != nil {
		// Compressing into memory does not fail; if it ever did, no retry would help.
		s.drop(p, err)
		return
	}
	p.body = body
	ctx = context.WithValue(ctx, payloadKey{}, p)
	// The body is the same at every attempt: hashed once, for the signature.
	if p.bodyHash == "" {
		sum := sha256.Sum256(p.body)
		p.bodyHash = hex.EncodeToString(sum[:])
		s.b.hashes.Add(1)
	}
	rb := &awsenv.RequestBody{Data: p.body, SHA256: p.bodyHash}
	if p.comp != NoCompression {
		rb.Encoding = "gzip"
	}
	ctx = awsenv.WithRequestBody(ctx, rb)
	in := &awsenv.PutLogEventsInput{LogGroupName: s.key.Group, LogStreamName: s.key.Stream}

	justCreated := false
	for attempt := 0; ; attempt++ {
		s.lastCall = s.b.clk.Now()
		out, err := s.b.client.PutLogEvents(ctx, in)
		if err == nil || awsenv.ErrorCode(err) == "DataAlreadyAcceptedException" {
			s.paceDown()
			var rejected int
			if out != nil {
				rejected = countRejected(out.RejectedLogEventsInfo, n)
			}
			s.done(p, n-rejected, rejected, 0, nil)
			return
		}
		if ctx.Err() != nil {
			return
		}
		switch {
		case awsenv.ErrorCode(err) == "ResourceNotFoundException" && !justCreated:
			// The group or the stream does not exist: create them and try again at
			// once. (Not found again right after: wait, then create again, which is
			// harmless if they exist.)
			if cerr := s.create(ctx); cerr != nil {
				err = cerr
				break
			}
			justCreated = true
			s.count(func(st *StreamStats) { st.Retries++ })
			continue
		case unfixable(err):
			s.drop(p, err)
			return
		}
		justCreated = false
		s.failed(err, attempt)
		if throttled(err) {
			s.paceUp()
		}
		if !s.backoff(ctx, attempt) {
			return
		}
	}
}

// The pace of a throttled stream: the least time between the starts of its calls. A
// throttle reply doubles it (from paceMin up to paceMax); each call stored shortens it
// by a tenth, and below paceMin/2 it is gone. Meanwhile the stream's events queue up,
// so a throttled stream sends fewer, fuller batches instead of drawing a throttle reply
// for every small one (TestThrottledStreamSendsFewerFullerBatches).
const (
	paceMin = 200 * time.Millisecond
	paceMax = 10 * time.Second
)

func (s *stream) paceUp() {
	s.pace = min(max(2*s.pace, paceMin), paceMax)
	s.count(func(st *StreamStats) { st.Throttled++ })
}

func (s *stream) paceDown() {
	if s.pace == 0 {
		return
	}
	if s.pace -= s.pace / 10; s.pace < paceMin/2 {
		s.pace = 0
	}
}

// throttled reports whether err is the service saying "too many calls".
func throttled(err error) bool {
	switch awsenv.ErrorCode(err) {
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded":
		return true
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == 429
}

func cmpTime(a, b entry) int { return cmp.Compare(a.Time, b.Time) }

// done acknowledges the batch in p and counts it.
func (s *stream) done(p *payload, sent, rejected, dropped int, err error) {
	for _, a := range p.acks {
		s.b.acker.Ack(a.src, a.offset)
	}
	now := s.b.clk.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight = 0
	s.stats.Sent += int64(sent)
	s.stats.Rejected += int64(rejected)
	s.stats.Dropped += int64(dropped)
	if len(p.items) > 0 && err == nil {
		s.stats.Batches++
		s.stats.LastOK = now
	}
	if rejected > 0 && now.Sub(s.loggedRejected) >= time.Minute {
		s.loggedRejected = now
		s.b.log.Warn("CloudWatch Logs refused log events as too old, too new or past the group's retention; they are skipped",
			zap.String("group", s.key.Group), zap.String("stream", s.key.Stream),
			zap.Int("events", rejected), zap.Int64("total", s.stats.Rejected))
	}
}

func (s *stream) count(f func(*StreamStats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// failed counts and logs (at most once a minute, and on a batch's first failure) a
// failed call that will be retried.
func (s *stream) failed(err error, attempt int) {
	now := s.b.clk.Now()
	msg := awsenv.Explain(err, "logs:PutLogEvents")
	s.mu.Lock()
	s.stats.Retries++
	s.stats.LastError, s.stats.LastErrorAt = msg, now
	logIt := attempt == 0 || now.Sub(s.loggedRetry) >= time.Minute
	if logIt {
		s.loggedRetry = now
	}
	s.mu.Unlock()
	if logIt {
		s.b.log.Warn("sending log events failed; retrying the same batch",
			zap.String("group", s.key.Group), zap.String("stream", s.key.Stream),
			zap.Int("attempt", attempt+1), zap.String("error", msg))
	}
}

// drop gives up on a batch the service refused as malformed: it is logged, checked
// against the rules, counted and acknowledged.
func (s *stream) drop(p *payload, err error) {
	msg := awsenv.Explain(err, "logs:PutLogEvents")
	fields := []zap.Field{zap.String("group", s.key.Group), zap.String("stream", s.key.Stream),
		zap.Int("events", len(p.items)), zap.String("error", msg)}
	if bad := checkBatch(s.key, p.items); bad != nil {
		s.b.log.Error("stackhand bug: it built a batch that breaks a PutLogEvents rule; the batch is dropped, please report this",
			append(fields, zap.NamedError("rule", bad))...)
	} else {
		s.b.log.Error("CloudWatch Logs refused a batch of log events for good; it is dropped (check the group and stream names)",
			fields...)
	}
	now := s.b.clk.Now()
	s.mu.Lock()
	s.stats.LastError, s.stats.LastErrorAt = msg, now
	s.mu.Unlock()
	s.done(p, 0, 0, len(p.items), err)
}

// backoff waits before retry attempt+1: full jitter over an exponential bound, and at
// least until the stream's pace allows the next call. It returns false if ctx ended
// first.
func (s *stream) backoff(ctx context.Context, attempt int) bool {
	p := backoff.Policy{Base: s.b.minBack, Factor: 2, Max: s.b.maxBack, Jitter: 1, Rand: s.b.jitter}
	d := p.Delay(attempt)
	if paced := s.lastCall.Add(s.pace).Sub(s.b.clk.Now()); paced > d {
		d = paced
	}
	return clock.Sleep(ctx, s.b.clk, d)
}

// create creates the stream, and its group first if that is what is missing (setting
// the group's retention when Retention asks for one). Existing ones are fine.
func (s *stream) create(ctx context.Context) error {
	c := s.b.client
	err := c.CreateLogStream(ctx, &awsenv.CreateLogStreamInput{LogGroupName: s.key.Group, LogStreamName: s.key.Stream})
	switch code := awsenv.ErrorCode(err); {
	case err == nil || code == "ResourceAlreadyExistsException":
		return s.setRetention(ctx)
	case code != "ResourceNotFoundException":
		return err
	}
	err = c.CreateLogGroup(ctx, &awsenv.CreateLogGroupInput{LogGroupName: s.key.Group})
	switch {
	case err == nil:
		if s.b.retention != nil && s.b.retention(s.key) > 0 {
			s.mu.Lock()
			s.needRetention = true
			s.mu.Unlock()
		}
		s.b.log.Info("created log group", zap.String("group", s.key.Group))
	case awsenv.ErrorCode(err) != "ResourceAlreadyExistsException":
		return err
	}
	if err := s.setRetention(ctx); err != nil {
		return err
	}
	err = c.CreateLogStream(ctx, &awsenv.CreateLogStreamInput{LogGroupName: s.key.Group, LogStreamName: s.key.Stream})
	if err != nil && awsenv.ErrorCode(err) != "ResourceAlreadyExistsException" {
		return err
	}
	return nil
}

// setRetention sets the retention of a group this stream created, if still to do. A
// value the service refuses is logged once and not tried again.
func (s *stream) setRetention(ctx context.Context) error {
	s.mu.Lock()
	need := s.needRetention
	s.mu.Unlock()
	if !need {
		return nil
	}
	days := int32(s.b.retention(s.key))
	err := s.b.client.PutRetentionPolicy(ctx, &awsenv.PutRetentionPolicyInput{LogGroupName: s.key.Group, RetentionInDays: days})
	if err != nil && !unfixable(err) {
		return err
	}
	if err != nil {
		s.b.log.Error("setting the retention of a new log group failed; its events never expire",
			zap.String("group", s.key.Group), zap.Int32("days", days),
			zap.String("error", awsenv.Explain(err, "logs:PutRetentionPolicy")))
	}
	s.mu.Lock()
	s.needRetention = false
	s.mu.Unlock()
	return nil
}

// unfixable reports whether err says the request itself is wrong, so that sending it
// again cannot succeed. Everything else is retried: throttling, 5xx, network errors,
// missing permissions or credentials (an operator can fix those while the agent waits;
// the files keep the events), InvalidSequenceTokenException (PutLogEvents ignores
// tokens now and we send none; under the old rules it meant "not stored, send again"),
// and errors this package does not know.
func unfixable(err error) bool {
	switch awsenv.ErrorCode(err) {
	case "InvalidParameterException", "SerializationException", "ValidationException",
		"InvalidParameterValueException", "InvalidParameterCombination":
		return true
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == 413
}

// countRejected counts the events of an n-event batch the service did not store: the
// first max(tooOldLogEventEndIndex, expiredLogEventEndIndex) (both exclusive ends) and
// those from tooNewLogEventStartIndex on.
func countRejected(info *awsenv.RejectedLogEventsInfo, n int) int {
	if info == nil {
		return 0
	}
	old := 0
	if info.TooOldLogEventEndIndex != nil {
		old = max(old, int(*info.TooOldLogEventEndIndex))
	}
	if info.ExpiredLogEventEndIndex != nil {
		old = max(old, int(*info.ExpiredLogEventEndIndex))
	}
	old = min(max(old, 0), n)
	newStart := n
	if info.TooNewLogEventStartIndex != nil {
		newStart = min(max(int(*info.TooNewLogEventStartIndex), old), n)
	}
	return old + n - newStart
}

// checkBatch reports the first PutLogEvents rule items (in the order sent) break, nil if
// none: the checks the service makes, made before blaming it.
func checkBatch(key StreamKey, items []entry) error {
	if key.Group == "" || len(key.Group) > 512 || key.Stream == "" || len(key.Stream) > 512 {
		return fmt.Errorf("log group or stream name empty or longer than 512 characters: %q %q", key.Group, key.Stream)
	}
	if len(items) == 0 || len(items) > MaxBatchEvents {
		return fmt.Errorf("%d events: a batch holds 1 to %d", len(items), MaxBatchEvents)
	}
	bytes := 0
	lo, hi := items[0].Time, items[0].Time
	for n := range items {
		e := &items[n]
		size := e.size()
		if size-EventOverhead > MaxMessageBytes {
			return fmt.Errorf("event %d: message of %d bytes, the limit is %d", n, size-EventOverhead, MaxMessageBytes)
		}
		if size == EventOverhead {
			return fmt.Errorf("event %d: empty message", n)
		}
		if e.Time < 0 {
			return fmt.Errorf("event %d: negative timestamp %d", n, e.Time)
		}
		if n > 0 && e.Time < items[n-1].Time {
			return fmt.Errorf("event %d: timestamp %d before the one before it, %d", n, e.Time, items[n-1].Time)
		}
		bytes += size
		lo, hi = min(lo, e.Time), max(hi, e.Time)
	}
	if bytes > MaxBatchBytes {
		return fmt.Errorf("%d bytes: a batch holds at most %d", bytes, MaxBatchBytes)
	}
	if time.Duration(hi-lo)*time.Millisecond > MaxBatchSpan {
		return fmt.Errorf("timestamps span %v: a batch spans at most %v", time.Duration(hi-lo)*time.Millisecond, MaxBatchSpan)
	}
	return nil
}
