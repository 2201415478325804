package logship

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
)

// t0 is the fake clock's start: events are stamped around it.
var t0 = time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC)

var testKey = StreamKey{Group: "/stackhand/test", Stream: "i-0123456789abcdef0"}

// fakeEvent is an event as the fake service decoded it from the body.
type fakeEvent struct {
	Message   string `json:"message"`
	Timestamp int64  `json:"timestamp"`
}

// fakeBatch is one PutLogEvents call the fake service received.
type fakeBatch struct {
	Key    StreamKey
	Events []fakeEvent
	Body   []byte
}

// fakeLogs is a LogsClient that decodes the body the batcher built, checks it against
// every PutLogEvents rule (a break fails the test: the batcher must never build a batch
// the service refuses), and answers as the test says.
type fakeLogs struct {
	t *testing.T

	mu sync.Mutex
	// put answers PutLogEvents number n (from 0) after the rules were checked; nil:
	// success.
	put func(n int, b fakeBatch) (*awsenv.PutLogEventsOutput, error)
	// exist, when set, makes the fake answer ResourceNotFoundException for groups
	// and streams not in it; keys with an empty Stream are groups.
	exist     map[StreamKey]bool
	retention map[string]int32
	calls     []string // "Put", "CreateLogGroup", ... in order
	puts      []fakeBatch
	stored    []fakeBatch
	notify    chan struct{}
}

func newFakeLogs(t *testing.T) *fakeLogs {
	return &fakeLogs{t: t, notify: make(chan struct{}, 1), retention: map[string]int32{}}
}

func (f *fakeLogs) PutLogEvents(ctx context.Context, in *awsenv.PutLogEventsInput) (*awsenv.PutLogEventsOutput, error) {
	body := PutLogEventsBody(ctx)
	var req struct {
		LogEvents     []fakeEvent `json:"logEvents"`
		LogGroupName  string      `json:"logGroupName"`
		LogStreamName string      `json:"logStreamName"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("PutLogEvents body is not JSON: %v", err)
	}
	if req.LogGroupName != in.LogGroupName || req.LogStreamName != in.LogStreamName {
		f.t.Errorf("body names %q/%q, input %q/%q", req.LogGroupName, req.LogStreamName, in.LogGroupName, in.LogStreamName)
	}
	b := fakeBatch{Key: StreamKey{req.LogGroupName, req.LogStreamName}, Events: req.LogEvents, Body: bytes.Clone(body)}
	if err := checkFakeBatch(b); err != nil {
		f.t.Errorf("batch breaks a PutLogEvents rule: %v", err)
	}
	f.mu.Lock()
	n := len(f.puts)
	f.puts = append(f.puts, b)
	f.calls = append(f.calls, "Put")
	put, exist := f.put, f.exist
	missing := exist != nil && !exist[b.Key]
	f.mu.Unlock()
	signal(f.notify)
	defer signal(f.notify)
	if missing {
		return nil, &types.ResourceNotFoundException{Message: aws.String("The specified log stream does not exist.")}
	}
	var out *awsenv.PutLogEventsOutput
	var err error
	if put != nil {
		out, err = put(n, b)
	}
	if err == nil || awsenv.ErrorCode(err) == "DataAlreadyAcceptedException" {
		f.mu.Lock()
		f.stored = append(f.stored, b)
		f.mu.Unlock()
	}
	if out == nil && err == nil {
		out = &awsenv.PutLogEventsOutput{}
	}
	return out, err
}

// checkFakeBatch checks a decoded batch against the PutLogEvents rules, as the service
// counts them.
func checkFakeBatch(b fakeBatch) error {
	if len(b.Events) == 0 || len(b.Events) > 10000 {
		return fmt.Errorf("%d events", len(b.Events))
	}
	size := 0
	for i, e := range b.Events {
		if e.Message == "" {
			return fmt.Errorf("event %d: empty message", i)
		}
		if len(e.Message)+26 > 1<<20 {
			return fmt.Errorf("event %d: %d bytes", i, len(e.Message)+26)
		}
		if i > 0 && e.Timestamp < b.Events[i-1].Timestamp {
			return fmt.Errorf("event %d: not in time order", i)
		}
		size += len(e.Message) + 26
	}
	if size > 1048576 {
		return fmt.Errorf("%d bytes", size)
	}
	if span := b.Events[len(b.Events)-1].Timestamp - b.Events[0].Timestamp; span > 24*3600*1000 {
		return fmt.Errorf("span %d ms", span)
	}
	return nil
}

func (f *fakeLogs) CreateLogGroup(_ context.Context, in *awsenv.CreateLogGroupInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "CreateLogGroup")
	k := StreamKey{Group: in.LogGroupName}
	if f.exist[k] {
		return &types.ResourceAlreadyExistsException{Message: aws.String("The specified log group already exists")}
	}
	f.exist[k] = true
	return nil
}

func (f *fakeLogs) CreateLogStream(_ context.Context, in *awsenv.CreateLogStreamInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "CreateLogStream")
	if !f.exist[StreamKey{Group: in.LogGroupName}] {
		return &types.ResourceNotFoundException{Message: aws.String("The specified log group does not exist.")}
	}
	k := StreamKey{in.LogGroupName, in.LogStreamName}
	if f.exist[k] {
		return &types.ResourceAlreadyExistsException{Message: aws.String("The specified log stream already exists")}
	}
	f.exist[k] = true
	return nil
}

func (f *fakeLogs) PutRetentionPolicy(_ context.Context, in *awsenv.PutRetentionPolicyInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("PutRetentionPolicy %d", in.RetentionInDays))
	f.retention[in.LogGroupName] = in.RetentionInDays
	return nil
}

func (f *fakeLogs) snapshot() (puts, stored []fakeBatch, calls []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.puts), slices.Clone(f.stored), slices.Clone(f.calls)
}

// waitPuts waits for the fake to have received n PutLogEvents calls.
func (f *fakeLogs) waitPuts(n int) []fakeBatch {
	f.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if puts, _, _ := f.snapshot(); len(puts) >= n {
			return puts
		}
		select {
		case <-f.notify:
		case <-deadline:
			puts, _, _ := f.snapshot()
			f.t.Fatalf("%d PutLogEvents calls after 20 s, want %d", len(puts), n)
		}
	}
}

// recordingAcker records acknowledgements and checks that each source's offsets grow,
// and, through stored, that each comes after its batch was stored.
type recordingAcker struct {
	t      *testing.T
	mu     sync.Mutex
	acks   []ack
	last   map[SourceID]int64
	stored func() int // how many batches the service stored so far
	at     []int      // stored() at each ack
}

func newAcker(t *testing.T, f *fakeLogs) *recordingAcker {
	a := &recordingAcker{t: t, last: map[SourceID]int64{}}
	if f != nil {
		a.stored = func() int { _, s, _ := f.snapshot(); return len(s) }
	}
	return a
}

func (a *recordingAcker) Ack(src SourceID, offset int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if prev, ok := a.last[src]; ok && offset <= prev {
		a.t.Errorf("Ack(%d, %d) after Ack(%d, %d): offsets must grow", src, offset, src, prev)
	}
	a.last[src] = offset
	a.acks = append(a.acks, ack{src, offset})
	if a.stored != nil {
		a.at = append(a.at, a.stored())
	}
}

func (a *recordingAcker) get() ([]ack, []int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.acks), slices.Clone(a.at)
}

// harness is a Batcher on a fake clock with a fake service.
type harness struct {
	t     *testing.T
	b     *Batcher
	logs  *fakeLogs
	acker *recordingAcker
	clk   *clock.Fake
	opts  BatcherOptions

	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, edit func(*BatcherOptions)) *harness {
	h := &harness{t: t, logs: newFakeLogs(t), clk: clock.NewFake(t0)}
	h.acker = newAcker(t, h.logs)
	h.opts = BatcherOptions{
		Client: h.logs, Acker: h.acker, Clock: h.clk, Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
		Jitter: func(time.Duration) time.Duration { return 0 },
	}
	if edit != nil {
		edit(&h.opts)
	}
	h.b = NewBatcher(h.opts)
	return h
}

// start runs the batcher until the test ends.
func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.b.Run(ctx) }()
	h.t.Cleanup(func() { h.stop() })
}

// stop ends Run and waits for it to return.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		h.t.Fatal("Run did not return 20 s after its context ended")
	}
}

// flushAll runs the batcher with its context already ended: it sends all that is
// queued, by the batch rules, and returns.
func (h *harness) flushAll() {
	h.start()
	h.stop()
}

func (h *harness) put(ev Event) {
	h.t.Helper()
	if err := h.b.Put(context.Background(), testKey, ev); err != nil {
		h.t.Fatalf("Put: %v", err)
	}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// bigQueue lets a test queue everything before the batcher runs.
func bigQueue(o *BatcherOptions) { o.QueueEvents, o.QueueBytes = 1<<20, 1<<30 }

func batchSizes(bs []fakeBatch) []int {
	out := make([]int, len(bs))
	for i, b := range bs {
		out[i] = len(b.Events)
	}
	return out
}

func TestBatchCountLimit(t *testing.T) {
	for _, c := range []struct {
		events int
		want   []int
	}{
		{1, []int{1}},
		{10000, []int{10000}},
		{10001, []int{10000, 1}},
		{25000, []int{10000, 10000, 5000}},
	} {
		t.Run(fmt.Sprint(c.events), func(t *testing.T) {
			h := newHarness(t, bigQueue)
			for i := range c.events {
				h.put(Event{Time: ms(t0), Message: []byte("x"), Src: 1, Offset: int64(i + 1)})
			}
			h.flushAll()
			_, stored, _ := h.logs.snapshot()
			if got := batchSizes(stored); !slices.Equal(got, c.want) {
				t.Errorf("batches of %v events, want %v", got, c.want)
			}
			acks, _ := h.acker.get()
			if len(acks) != len(c.want) || acks[len(acks)-1].offset != int64(c.events) {
				t.Errorf("acks %v, want one per batch ending at %d", acks, c.events)
			}
			st := h.b.Stats()[testKey]
			if st.Sent != int64(c.events) || st.Batches != int64(len(c.want)) || st.Pending != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestBatchByteLimit(t *testing.T) {
	// Four events of 262,144 bytes each by the service's count (message + 26) make
	// exactly 1,048,576 bytes.
	const msgLen = 1<<18 - EventOverhead
	for _, c := range []struct {
		name  string
		extra int // bytes added to the last message
		want  []int
	}{
		{"exactly 1048576 bytes", 0, []int{4}},
		{"one byte more", 1, []int{3, 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, bigQueue)
			for i := range 4 {
				n := msgLen
				if i == 3 {
					n += c.extra
				}
				h.put(Event{Time: ms(t0), Message: bytes.Repeat([]byte{'a' + byte(i)}, n), Src: 1, Offset: int64(i + 1)})
			}
			h.flushAll()
			_, stored, _ := h.logs.snapshot()
			if got := batchSizes(stored); !slices.Equal(got, c.want) {
				t.Errorf("batches of %v events, want %v", got, c.want)
			}
		})
	}
}

func TestBatchSpanLimit(t *testing.T) {
	for _, c := range []struct {
		name string
		last time.Duration
		want []int
	}{
		{"24 h exactly", 24 * time.Hour, []int{3}},
		{"24 h and 1 ms", 24*time.Hour + time.Millisecond, []int{2, 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, bigQueue)
			h.clk.Advance(25 * time.Hour) // every event in the accepted window
			for i, d := range []time.Duration{0, time.Hour, c.last} {
				h.put(Event{Time: ms(t0.Add(d)), Message: []byte("x"), Src: 1, Offset: int64(i + 1)})
			}
			h.flushAll()
			_, stored, _ := h.logs.snapshot()
			if got := batchSizes(stored); !slices.Equal(got, c.want) {
				t.Errorf("batches of %v events, want %v", got, c.want)
			}
		})
	}
	t.Run("out of order input", func(t *testing.T) {
		// The span counts the batch's lowest and highest timestamps, whatever their
		// order: the third event would widen [t0+2h, t0+25h] beyond 24 h.
		h := newHarness(t, bigQueue)
		h.clk.Advance(26 * time.Hour)
		for i, d := range []time.Duration{2 * time.Hour, 25 * time.Hour, 0, 3 * time.Hour} {
			h.put(Event{Time: ms(t0.Add(d)), Message: []byte("x"), Src: 1, Offset: int64(i + 1)})
		}
		h.flushAll()
		_, stored, _ := h.logs.snapshot()
		if got := batchSizes(stored); !slices.Equal(got, []int{2, 2}) {
			t.Errorf("batches of %v events, want [2 2]", got)
		}
	})
}

func TestBatchSortedStable(t *testing.T) {
	h := newHarness(t, bigQueue)
	in := []struct {
		at  int64
		msg string
	}{{30, "c1"}, {10, "a1"}, {20, "b1"}, {10, "a2"}, {30, "c2"}, {20, "b2"}, {10, "a3"}}
	for i, e := range in {
		h.put(Event{Time: ms(t0) + e.at, Message: []byte(e.msg), Src: 1, Offset: int64(i + 1)})
	}
	h.flushAll()
	_, stored, _ := h.logs.snapshot()
	if len(stored) != 1 {
		t.Fatalf("%d batches, want 1", len(stored))
	}
	var got []string
	for _, e := range stored[0].Events {
		got = append(got, e.Message)
	}
	if want := []string{"a1", "a2", "a3", "b1", "b2", "c1", "c2"}; !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v (time order, arrival order among equals)", got, want)
	}
	// The acknowledgement is the last offset taken, not that of the latest timestamp.
	if acks, _ := h.acker.get(); !slices.Equal(acks, []ack{{1, 7}}) {
		t.Errorf("acks %v, want [{1 7}]", acks)
	}
}

func TestBatchSetAside(t *testing.T) {
	h := newHarness(t, bigQueue)
	now := ms(t0)
	day := int64(24 * 3600 * 1000)
	hour := int64(3600 * 1000)
	events := []struct {
		at   int64
		sent bool
	}{
		{now - 14*day - 1, false}, // more than 14 days old
		{now - 14*day, true},      // exactly 14 days
		{now, true},
		{now + 2*hour, true},      // exactly 2 hours ahead
		{now + 2*hour + 1, false}, // more than 2 hours ahead
	}
	for i, e := range events {
		h.put(Event{Time: e.at, Message: []byte(fmt.Sprint(i)), Src: 7, Offset: int64(10 * (i + 1))})
	}
	h.put(Event{Time: now, Message: nil, Src: 7, Offset: 60}) // empty: PutLogEvents refuses it
	h.flushAll()
	puts, _, _ := h.logs.snapshot()
	var sent []string
	for _, b := range puts {
		for _, e := range b.Events {
			sent = append(sent, e.Message)
		}
	}
	if want := []string{"1", "2", "3"}; !slices.Equal(sent, want) {
		t.Errorf("sent %v, want %v", sent, want)
	}
	st := h.b.Stats()[testKey]
	if st.SetAside != 3 || st.Sent != 3 {
		t.Errorf("SetAside %d Sent %d, want 3 and 3", st.SetAside, st.Sent)
	}
	// The file moves on past the events set aside.
	if acks, _ := h.acker.get(); len(acks) == 0 || acks[len(acks)-1] != (ack{7, 60}) {
		t.Errorf("acks %v, want the last to be {7 60}", acks)
	}
}

func TestBatchAllSetAside(t *testing.T) {
	h := newHarness(t, bigQueue)
	h.put(Event{Time: ms(t0.Add(-30 * 24 * time.Hour)), Message: []byte("old"), Src: 1, Offset: 5})
	h.flushAll()
	if puts, _, _ := h.logs.snapshot(); len(puts) != 0 {
		t.Errorf("%d calls for a batch with nothing to send", len(puts))
	}
	if acks, _ := h.acker.get(); !slices.Equal(acks, []ack{{1, 5}}) {
		t.Errorf("acks %v, want [{1 5}]", acks)
	}
}

func TestSplitLongMessage(t *testing.T) {
	h := newHarness(t, bigQueue)
	// 3 MiB of two-byte and four-byte characters, so that cuts fall inside them.
	var msg []byte
	for len(msg) < 3<<20 {
		msg = append(msg, "é😀abc"...)
	}
	h.put(Event{Time: ms(t0), Message: []byte("before"), Src: 1, Offset: 10})
	h.put(Event{Time: ms(t0), Message: msg, Src: 1, Offset: 20})
	h.put(Event{Time: ms(t0), Message: []byte("after"), Src: 1, Offset: 30})
	h.flushAll()

	_, stored, _ := h.logs.snapshot()
	var all []fakeEvent
	for _, b := range stored {
		all = append(all, b.Events...)
	}
	if len(all) != 6 || all[0].Message != "before" || all[5].Message != "after" {
		t.Fatalf("%d events sent, want before, 4 parts, after", len(all))
	}
	var joined []byte
	for i, e := range all[1:5] {
		suffix := fmt.Sprintf(" [stackhand: split %d/4]", i+1)
		if !strings.HasSuffix(e.Message, suffix) {
			t.Fatalf("part %d does not end with %q", i+1, suffix)
		}
		if len(e.Message) > MaxMessageBytes || !utf8.ValidString(e.Message) {
			t.Fatalf("part %d: %d bytes, valid UTF-8 %v", i+1, len(e.Message), utf8.ValidString(e.Message))
		}
		joined = append(joined, strings.TrimSuffix(e.Message, suffix)...)
	}
	if !bytes.Equal(joined, msg) {
		t.Errorf("the parts joined differ from the message")
	}
	st := h.b.Stats()[testKey]
	if st.Split != 1 || st.Sent != 6 {
		t.Errorf("Split %d Sent %d, want 1 and 6", st.Split, st.Sent)
	}
	// The long event's offset is acknowledged once, with its last part.
	acks, _ := h.acker.get()
	var offsets []int64
	for _, a := range acks {
		offsets = append(offsets, a.offset)
	}
	// Batches: before; part 1; part 2; part 3; part 4 and after (a part is nearly a
	// whole batch). The last acknowledges 30 for both its events.
	if len(stored) != 5 || !slices.Equal(offsets, []int64{10, 30}) {
		t.Errorf("%d batches, acknowledged offsets %v; want 5 batches and [10 30]", len(stored), offsets)
	}
}

func TestSplitMessageEdges(t *testing.T) {
	for _, n := range []int{MaxMessageBytes + 1, 2 * MaxMessageBytes, 10*MaxMessageBytes + 7} {
		msg := append(bytes.Repeat([]byte("€"), n/3), bytes.Repeat([]byte("x"), n%3)...)
		var joined []byte
		var parts uint32
		err := splitMessage(msg, MaxMessageBytes, cutAt, func(part []byte, i, total uint32) error {
			full := appendSplitSuffix(bytes.Clone(part), i, total)
			if len(full) > MaxMessageBytes || !utf8.Valid(full) {
				t.Fatalf("len %d: part %d/%d is %d bytes, valid %v", n, i, total, len(full), utf8.Valid(full))
			}
			joined = append(joined, part...)
			parts = total
			return nil
		})
		if err != nil || !bytes.Equal(joined, msg) {
			t.Errorf("len %d: split into %d parts, joined equal %v, err %v", n, parts, bytes.Equal(joined, msg), err)
		}
	}
}

func TestInvalidUTF8Repaired(t *testing.T) {
	h := newHarness(t, bigQueue)
	h.put(Event{Time: ms(t0), Message: []byte("a\xffb"), Src: 1, Offset: 1})
	h.flushAll()
	_, stored, _ := h.logs.snapshot()
	if len(stored) != 1 || stored[0].Events[0].Message != "a\uFFFDb" {
		t.Errorf("stored %+v, want one event a\\uFFFDb", stored)
	}
}

func throttle() error {
	return &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
}

func TestAcksOnlyAfterSuccessAndInOrder(t *testing.T) {
	h := newHarness(t, bigQueue)
	h.b.maxEvents = 3 // small batches, several in a row
	h.logs.put = func(n int, b fakeBatch) (*awsenv.PutLogEventsOutput, error) {
		if n%2 == 0 {
			return nil, &smithy.GenericAPIError{Code: "ServiceUnavailableException", Message: "try later", Fault: smithy.FaultServer}
		}
		return nil, nil
	}
	for i := range 10 {
		h.put(Event{Time: ms(t0), Message: []byte(fmt.Sprint(i)), Src: SourceID(1 + i%2), Offset: int64(i + 1)})
	}
	h.flushAll()
	acks, at := h.acker.get()
	want := []ack{{1, 3}, {2, 2}, {2, 6}, {1, 5}, {1, 9}, {2, 8}, {2, 10}}
	if !slices.Equal(acks, want) {
		t.Errorf("acks %v, want %v", acks, want)
	}
	// Each batch's acknowledgements come after it was stored: 1 batch stored before
	// the first two, 2 before the next two...
	if wantAt := []int{1, 1, 2, 2, 3, 3, 4}; !slices.Equal(at, wantAt) {
		t.Errorf("batches stored at each ack %v, want %v", at, wantAt)
	}
	if st := h.b.Stats()[testKey]; st.Retries != 4 || st.Batches != 4 || st.LastError == "" {
		t.Errorf("stats %+v: want 4 retries, 4 batches and a LastError", st)
	}
}

// TestRetryResendsSameBatch: a batch that fails is sent again as it was, for every
// Compression, and its body is encoded (and compressed) once, not once per attempt.
func TestRetryResendsSameBatch(t *testing.T) {
	for _, comp := range []Compression{Gzip, HuffmanOnly, NoCompression} {
		t.Run(comp.String(), func(t *testing.T) {
			h := newHarness(t, func(o *BatcherOptions) {
				bigQueue(o)
				o.Compression = func(StreamKey) Compression { return comp }
			})
			h.logs.put = func(n int, b fakeBatch) (*awsenv.PutLogEventsOutput, error) {
				if n < 3 {
					return nil, throttle()
				}
				return nil, nil
			}
			for i := range 100 {
				h.put(Event{Time: ms(t0) - int64(i%7), Message: []byte(fmt.Sprintf("line %d \"q\"", i)), Src: 1, Offset: int64(i + 1)})
			}
			// The retries wait for the stream's pace
			// (TestThrottledStreamSendsFewerFullerBatches), on the fake clock.
			h.start()
			for _, stored, _ := h.logs.snapshot(); len(stored) == 0; _, stored, _ = h.logs.snapshot() {
				h.waitParked()
				h.clk.Advance(time.Second)
			}
			h.stop()
			puts, stored, _ := h.logs.snapshot()
			if len(puts) != 4 || len(stored) != 1 {
				t.Fatalf("%d calls, %d stored; want 4 and 1", len(puts), len(stored))
			}
			for i := 1; i < 4; i++ {
				if !bytes.Equal(puts[i].Body, puts[0].Body) {
					t.Errorf("call %d sent another body than call 1", i+1)
				}
			}
			if n := h.b.encodes.Load(); n != 1 {
				t.Errorf("the body was encoded %d times for 4 attempts, want once", n)
			}
			if acks, at := h.acker.get(); !slices.Equal(acks, []ack{{1, 100}}) || at[0] != 1 {
				t.Errorf("acks %v at %v, want [{1 100}] after the batch was stored", acks, at)
			}
			if st := h.b.Stats()[testKey]; st.Retries != 3 || st.Sent != 100 || !strings.Contains(st.LastError, "throttled") {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// maxPlainBody is the largest JSON body the SDK's own serializer writes for a batch the
// documented rule allows when nothing in its messages needs escaping: the messages'
// bytes plus 26 per event (the rule, at most MaxBatchBytes) plus what the JSON around
// each event adds beyond those 26 (encode.go's framing and a 13-digit timestamp), plus
// the names. A NoCompression body must never be larger.
func maxPlainBody(events int, key StreamKey) int {
	perEvent := len(eventPrefix) + len(eventMiddle) + 13 + len("},")
	return MaxBatchBytes + events*(perEvent-EventOverhead) +
		len(bodyPrefix) + len(bodyGroup) + len(bodyStream) + len(bodySuffix) + len(key.Group) + len(key.Stream) + 4
}

// TestUncompressedBodyBound: with NoCompression, messages made mostly of characters that
// JSON escapes (control characters take 6 bytes, quotes 2) are cut into batches whose
// body is no larger than the SDK's own for a full batch with nothing to escape, and a
// message whose escaped form alone is over the limit is split, not refused; every byte
// arrives. With gzip the same lines go as before: counted by their own bytes, unsplit.
func TestUncompressedBodyBound(t *testing.T) {
	ctrl := bytes.Repeat([]byte("\x01\"\x1f\\"), 2000)    // 8,000 bytes, 28,000 in JSON
	huge := bytes.Repeat([]byte("\x02"), MaxMessageBytes) // the largest message, 6 MiB in JSON
	for _, comp := range []Compression{NoCompression, Gzip} {
		t.Run(comp.String(), func(t *testing.T) {
			h := newHarness(t, func(o *BatcherOptions) {
				bigQueue(o)
				o.Compression = func(StreamKey) Compression { return comp }
			})
			var want []byte
			for i := range 300 {
				msg := append(fmt.Appendf(nil, "%d ", i), ctrl...)
				h.put(Event{Time: ms(t0), Message: msg, Src: 1, Offset: int64(i + 1)})
				want = append(want, msg...)
			}
			h.put(Event{Time: ms(t0), Message: huge, Src: 1, Offset: 301})
			h.flushAll()
			_, stored, _ := h.logs.snapshot()
			var got []byte
			events := 0
			for i, b := range stored {
				if comp == NoCompression && len(b.Body) > maxPlainBody(len(b.Events), testKey) {
					t.Errorf("batch %d: %d events in a body of %d bytes, over the %d the SDK sends for a full batch without escapes",
						i, len(b.Events), len(b.Body), maxPlainBody(len(b.Events), testKey))
				}
				for _, e := range b.Events {
					if events < 300 {
						got = append(got, e.Message...)
					}
					events++
				}
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the 300 short messages arrived as %d bytes, want %d", len(got), len(want))
			}
			// The huge message: one event with gzip; with none, parts whose JSON fits.
			st := h.b.Stats()[testKey]
			switch {
			case comp == Gzip && (events != 301 || st.Split != 0):
				t.Errorf("gzip: %d events, %d split; want 301 and none split", events, st.Split)
			case comp == NoCompression && (events < 307 || st.Split != 1):
				t.Errorf("none: %d events, %d split; want the last message split in at least 7 parts", events, st.Split)
			}
			if acks, _ := h.acker.get(); len(acks) == 0 || acks[len(acks)-1] != (ack{1, 301}) {
				t.Errorf("last ack %v, want {1 301}", acks)
			}
		})
	}
}

// TestBackoffGrows checks the bounds of the waits between retries: 200 ms doubling to
// 30 s (the wait is drawn below the bound: full jitter), and that the fake clock has to
// reach the wait before the retry.
func TestBackoffGrows(t *testing.T) {
	var mu sync.Mutex
	var bounds []time.Duration
	h := newHarness(t, func(o *BatcherOptions) {
		o.Jitter = func(d time.Duration) time.Duration {
			mu.Lock()
			bounds = append(bounds, d)
			mu.Unlock()
			return d
		}
	})
	h.logs.put = func(n int, b fakeBatch) (*awsenv.PutLogEventsOutput, error) {
		if n < 10 {
			return nil, throttle()
		}
		return nil, nil
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond,
		3200 * time.Millisecond, 6400 * time.Millisecond, 12800 * time.Millisecond, 25600 * time.Millisecond, 30 * time.Second, 30 * time.Second}
	h.put(Event{Time: ms(t0), Message: []byte("x"), Src: 1, Offset: 1})
	h.start()
	h.clk.Advance(DefaultFlushInterval)
	for n := 1; n <= 10; n++ {
		h.logs.waitPuts(n)
		waitTimers(t, h.clk, 1) // the sender waits on its backoff timer
		h.clk.Advance(want[n-1])
	}
	h.logs.waitPuts(11)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(bounds, want) {
		t.Errorf("backoff bounds %v, want %v", bounds, want)
	}
	if acks, _ := h.acker.get(); !slices.Equal(acks, []ack{{1, 1}}) {
		t.Errorf("acks %v", acks)
	}
}

// waitTimers waits until n timers of clk are armed.
func waitTimers(t *testing.T, clk *clock.Fake, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for clk.Pending() < n {
		if time.Now().After(deadline) {
			t.Fatal("no timer armed after 20 s")
		}
		time.Sleep(time.Millisecond) // polling a condition, bounded
	}
}

func TestCreateGroupAndStream(t *testing.T) {
	for _, c := range []struct {
		name      string
		exist     map[StreamKey]bool
		retention int
		want      []string
	}{
		{"neither exists", map[StreamKey]bool{}, 30,
			[]string{"Put", "CreateLogStream", "CreateLogGroup", "PutRetentionPolicy 30", "CreateLogStream", "Put"}},
		{"neither exists, no retention", map[StreamKey]bool{}, 0,
			[]string{"Put", "CreateLogStream", "CreateLogGroup", "CreateLogStream", "Put"}},
		{"group exists", map[StreamKey]bool{{Group: testKey.Group}: true}, 30,
			[]string{"Put", "CreateLogStream", "Put"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, func(o *BatcherOptions) {
				o.Retention = func(k StreamKey) int {
					if k != testKey {
						t.Errorf("Retention(%v)", k)
					}
					return c.retention
				}
			})
			h.logs.exist = c.exist
			h.put(Event{Time: ms(t0), Message: []byte("x"), Src: 1, Offset: 1})
			h.flushAll()
			_, stored, calls := h.logs.snapshot()
			if !slices.Equal(calls, c.want) || len(stored) != 1 {
				t.Errorf("calls %v, %d stored; want %v, 1", calls, len(stored), c.want)
			}
			if acks, _ := h.acker.get(); len(acks) != 1 {
				t.Errorf("acks %v", acks)
			}
		})
	}
}

func TestFlushInterval(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.put(Event{Time: ms(t0), Message: []byte("x"), Src: 1, Offset: 1})
	waitTimers(t, h.clk, 1) // the sender armed its flush timer
	h.clk.Advance(DefaultFlushInterval - time.Millisecond)
	if puts, _, _ := h.logs.snapshot(); len(puts) != 0 {
		t.Fatalf("sent before the flush interval")
	}
	h.put(Event{Time: ms(t0), Message: []byte("y"), Src: 1, Offset: 2})
	h.clk.Advance(time.Millisecond)
	puts := h.logs.waitPuts(1)
	if len(puts[0].Events) != 2 {
		t.Errorf("first batch has %d events, want 2", len(puts[0].Events))
	}
	// A later event waits its own interval, counted from when it was put.
	h.clk.Advance(time.Second)
	h.put(Event{Time: ms(t0), Message: []byte("z"), Src: 1, Offset: 3})
	waitTimers(t, h.clk, 1)
	h.clk.Advance(DefaultFlushInterval)
	puts = h.logs.waitPuts(2)
	if len(puts) != 2 || puts[1].Events[0].Message != "z" {
		t.Errorf("second batch %+v", puts[len(puts)-1])
	}
}

func TestFullBatchSentAtOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.b.maxEvents = 5
	h.start()
	for i := range 5 {
		h.put(Event{Time: ms(t0), Message: []byte("x"), Src: 1, Offset: int64(i + 1)})
	}
	// No clock movement: a full batch does not wait for the interval.
	if puts := h.logs.waitPuts(1); len(puts[0].Events) != 5 {
		t.Errorf("batch of %d events, want 5", len(puts[0].Events))
	}
}

func TestBackpressure(t *testing.T) {
	release := make(chan struct{})
	h := newHarness(t, func(o *BatcherOptions) { o.QueueEvents = 10 })
	h.logs.put = func(n int, b fakeBatch) (*awsenv.PutLogEventsOutput, error) {
		<-release
		return nil, nil
	}
	h.start()
	// 10 events fill the queue; the sender takes them into a batch that hangs in
	// the service; 10 more fill the queue again.
	for i := range 10 {
		h.put(Event{Time: ms(t0), Message: []byte("x"), Src: 1, Offset: int64(i + 1)})
	}
	h.logs.waitPuts(1)
	for i := 10; i < 20; i++ {
		h.put(Event{Time: ms(t0), Message: []byte("x"), Src: 1, Offset: int64(i + 1)})
	}
	// The 21st blocks until the sender makes room.
	putDone := make(chan error, 1)
	go func() {
		putDone <- h.b.Put(context.Background(), testKey, Event{Time: ms(t0), Message: []byte("x"), Src: 1, Offset: 21})
	}()
	// A Put whose context ends gives up.
	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error, 1)
	go func() {
		cancelled <- h.b.Put(ctx, testKey, Event{Time: ms(t0), Message: []byte("y"), Src: 2, Offset: 1})
	}()
	waitFor(t, "both Puts blocked", func() bool {
		st := h.b.Stats()[testKey]
		s := h.b.stream(testKey)
		s.mu.Lock()
		defer s.mu.Unlock()
		return st.Pending == 20 && s.putWaiting
	})
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context: %v, want context.Canceled", err)
	}
	select {
	case err := <-putDone:
		t.Fatalf("Put returned (%v) while the queue was full", err)
	default:
	}
	close(release)
	if err := <-putDone; err != nil {
		t.Fatalf("Put: %v", err)
	}
	h.stop()
	if st := h.b.Stats()[testKey]; st.Sent != 21 || st.Pending != 0 {
		t.Errorf("Sent %d Pending %d, want 21 and 0", st.Sent, st.Pending)
	}
}

// waitFor polls cond until it holds (bounded at 20 s).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 20 s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition, bounded
	}
}

func TestRejectedCountedAndAcked(t *testing.T) {
	h := newHarness(t, bigQueue)
	h.logs.put = func(n int, b fakeBatch) (*awsenv.PutLogEventsOutput, error) {
		return &awsenv.PutLogEventsOutput{RejectedLogEventsInfo: &awsenv.RejectedLogEventsInfo{
			TooOldLogEventEndIndex:   aws.Int32(2),
			ExpiredLogEventEndIndex:  aws.Int32(1),
			TooNewLogEventStartIndex: aws.Int32(9),
		}}, nil
	}
	for i := range 10 {
		h.put(Event{Time: ms(t0) + int64(i), Message: []byte("x"), Src: 1, Offset: int64(i + 1)})
	}
	h.flushAll()
	if st := h.b.Stats()[testKey]; st.Rejected != 3 || st.Sent != 7 {
		t.Errorf("Rejected %d Sent %d, want 3 and 7", st.Rejected, st.Sent)
	}
	if acks, _ := h.acker.get(); !slices.Equal(acks, []ack{{1, 10}}) {
		t.Errorf("acks %v", acks)
	}
}

func TestCountRejected(t *testing.T) {
	i := aws.Int32
	for _, c := range []struct {
		info *awsenv.RejectedLogEventsInfo
		want int
	}{
		{nil, 0},
		{&awsenv.RejectedLogEventsInfo{}, 0},
		{&awsenv.RejectedLogEventsInfo{TooOldLogEventEndIndex: i(3)}, 3},
		{&awsenv.RejectedLogEventsInfo{ExpiredLogEventEndIndex: i(4), TooOldLogEventEndIndex: i(3)}, 4},
		{&awsenv.RejectedLogEventsInfo{TooNewLogEventStartIndex: i(8)}, 2},
		{&awsenv.RejectedLogEventsInfo{TooNewLogEventStartIndex: i(0)}, 10},
		{&awsenv.RejectedLogEventsInfo{TooOldLogEventEndIndex: i(6), TooNewLogEventStartIndex: i(4)}, 10},
		{&awsenv.RejectedLogEventsInfo{TooOldLogEventEndIndex: i(99)}, 10},
	} {
		if got := countRejected(c.info, 10); got != c.want {
			t.Errorf("countRejected(%+v, 10) = %d, want %d", c.info, got, c.want)
		}
	}
}

func TestServiceAnswers(t *testing.T) {
	for _, c := range []struct {
		name    string
		err     error
		calls   int // PutLogEvents calls made
		dropped int64
	}{
		{"DataAlreadyAccepted is success", &types.DataAlreadyAcceptedException{Message: aws.String("accepted")}, 1, 0},
		{"InvalidSequenceToken is retried", &types.InvalidSequenceTokenException{Message: aws.String("token")}, 2, 0},
		{"access denied is retried", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}, 2, 0},
		{"unknown error is retried", errors.New("connection reset by peer"), 2, 0},
		{"InvalidParameter drops the batch", &types.InvalidParameterException{Message: aws.String("bad")}, 1, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, bigQueue)
			h.logs.put = func(n int, b fakeBatch) (*awsenv.PutLogEventsOutput, error) {
				if n == 0 {
					return nil, c.err
				}
				return nil, nil
			}
			for i := range 3 {
				h.put(Event{Time: ms(t0), Message: []byte("x"), Src: 1, Offset: int64(i + 1)})
			}
			h.flushAll()
			puts, _, _ := h.logs.snapshot()
			st := h.b.Stats()[testKey]
			if len(puts) != c.calls || st.Dropped != c.dropped {
				t.Errorf("%d calls, %d dropped; want %d, %d", len(puts), st.Dropped, c.calls, c.dropped)
			}
			// Whatever happened, the file moves on.
			if acks, _ := h.acker.get(); !slices.Equal(acks, []ack{{1, 3}}) {
				t.Errorf("acks %v", acks)
			}
		})
	}
}

// TestGraceEndsRetries: at shutdown a batch the service keeps refusing is given up
// after Grace, not acknowledged, and Run returns.
func TestGraceEndsRetries(t *testing.T) {
	h := newHarness(t, func(o *BatcherOptions) { o.Jitter = func(d time.Duration) time.Duration { return d } })
	h.logs.put = func(int, fakeBatch) (*awsenv.PutLogEventsOutput, error) { return nil, throttle() }
	h.put(Event{Time: ms(t0), Message: []byte("x"), Src: 1, Offset: 1})
	h.start()
	h.clk.Advance(DefaultFlushInterval)
	h.logs.waitPuts(1)
	waitTimers(t, h.clk, 1) // backoff
	h.cancel()
	h.cancel = nil
	waitTimers(t, h.clk, 2) // backoff and grace
	h.clk.Advance(DefaultGrace)
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after the grace period")
	}
	if acks, _ := h.acker.get(); len(acks) != 0 {
		t.Errorf("acks %v for a batch never stored", acks)
	}
	if st := h.b.Stats()[testKey]; st.Sent != 0 || st.Retries == 0 {
		t.Errorf("stats %+v", st)
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

// TestRandomBatches sends random events (sizes up to several MiB, times out of order
// and across days) through the batcher: every batch obeys the rules (fakeLogs checks),
// every event arrives once, and each source is acknowledged to its last offset.
func TestRandomBatches(t *testing.T) {
	h := newHarness(t, bigQueue)
	h.clk.Advance(3 * 24 * time.Hour)
	r := newRand(3)
	type sent struct {
		t   int64
		msg string
	}
	var want []sent
	offsets := map[SourceID]int64{}
	for range 1500 {
		size := r.IntN(300)
		switch r.IntN(300) {
		case 0:
			size = MaxMessageBytes - r.IntN(40)
		case 1:
			size = MaxMessageBytes + r.IntN(3*MaxMessageBytes)
		case 2:
			size = 1 << 16
		}
		msg := []byte(strings.Repeat("ab\"é\n", size/6+1))
		msg = bytes.ToValidUTF8(msg[:size], []byte("?"))
		if len(msg) == 0 {
			msg = []byte("-")
		}
		at := ms(t0) + int64(r.IntN(int(3*24*time.Hour/time.Millisecond)))
		src := SourceID(1 + r.IntN(4))
		offsets[src] += int64(len(msg) + 1)
		h.put(Event{Time: at, Message: msg, Src: src, Offset: offsets[src]})
		want = append(want, sent{at, string(msg)})
	}
	h.flushAll()
	_, stored, _ := h.logs.snapshot()
	var got []sent
	var parts []byte // of the split message being put together
	for _, b := range stored {
		for _, e := range b.Events {
			if i := strings.LastIndex(e.Message, " [stackhand: split "); i >= 0 {
				var p, n int
				fmt.Sscanf(e.Message[i:], " [stackhand: split %d/%d]", &p, &n)
				parts = append(parts, e.Message[:i]...)
				if p < n {
					continue
				}
				got = append(got, sent{e.Timestamp, string(parts)})
				parts = nil
				continue
			}
			got = append(got, sent{e.Timestamp, e.Message})
		}
	}
	key := func(s sent) string { return fmt.Sprintf("%d/%s", s.t, s.msg) }
	ws, gs := make([]string, len(want)), make([]string, len(got))
	for i := range want {
		ws[i] = key(want[i])
	}
	for i := range got {
		gs[i] = key(got[i])
	}
	slices.Sort(ws)
	slices.Sort(gs)
	if !slices.Equal(ws, gs) {
		t.Errorf("sent %d events, stored %d (or different ones)", len(ws), len(gs))
	}
	h.acker.mu.Lock()
	defer h.acker.mu.Unlock()
	for src, off := range offsets {
		if h.acker.last[src] != off {
			t.Errorf("source %d acknowledged to %d, want %d", src, h.acker.last[src], off)
		}
	}
}

func TestStatsPending(t *testing.T) {
	h := newHarness(t, nil)
	h.put(Event{Time: ms(t0), Message: []byte("x"), Src: 1, Offset: 1})
	h.clk.Advance(time.Second)
	h.put(Event{Time: ms(t0), Message: []byte("y"), Src: 1, Offset: 2})
	st := h.b.Stats()[testKey]
	if st.Pending != 2 || !st.OldestPending.Equal(t0) {
		t.Errorf("Pending %d OldestPending %v, want 2 and %v", st.Pending, st.OldestPending, t0)
	}
}

// TestStreamsInParallel: a stream whose calls hang does not hold up another.
func TestStreamsInParallel(t *testing.T) {
	release := make(chan struct{})
	h := newHarness(t, nil)
	slow := StreamKey{Group: testKey.Group, Stream: "slow"}
	h.logs.put = func(n int, b fakeBatch) (*awsenv.PutLogEventsOutput, error) {
		if b.Key == slow {
			<-release
		}
		return nil, nil
	}
	h.b.maxEvents = 1
	h.start()
	defer close(release)
	if err := h.b.Put(context.Background(), slow, Event{Time: ms(t0), Message: []byte("s"), Src: 1, Offset: 1}); err != nil {
		t.Fatal(err)
	}
	h.logs.waitPuts(1)
	h.put(Event{Time: ms(t0), Message: []byte("f"), Src: 2, Offset: 1})
	waitFor(t, "fast stream stored", func() bool { _, s, _ := h.logs.snapshot(); return len(s) == 1 })
}
