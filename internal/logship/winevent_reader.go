package logship

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/backoff"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/status"
)

// winEventSource reads Windows event log channels: wevtapi on Windows
// (winevent_windows.go), an error elsewhere, a fake in tests.
type winEventSource interface {
	// Subscribe starts reading channel's events that query (an XPath query from
	// WinEventQuery) selects, oldest first, and then each new one.
	Subscribe(channel, query string) (winEventSub, error)
	// Oldest is the record id of the channel's oldest event; 0 when it holds none.
	Oldest(channel string) (uint64, error)
}

// winEventSub is one subscription.
type winEventSub interface {
	// Next returns up to max events, each rendered as XML with its message
	// (EvtFormatMessageXml, or EvtRenderEventXml when the provider's messages cannot
	// be read). It waits at most wait for the first and returns none, with no error,
	// when none came.
	Next(ctx context.Context, max int, wait time.Duration) ([][]byte, error)
	Close() error
}

// winEventBatch is how many events one Next asks for; winEventWait how long it waits
// for the first (the stop of the agent is seen at least this often).
const (
	winEventBatch = 100
	winEventWait  = time.Second
)

// winEventRestart bounds the wait before a channel is subscribed again after an error.
var winEventRestart = backoff.Policy{Base: time.Second, Factor: 2, Max: 30 * time.Second, Jitter: 0.2}

// winEventReader follows one logs.windows_events entry: it subscribes to the channel
// after the checkpoint's record, hands each event to the batcher formatted as the entry
// says, and checkpoints the record id of the last event CloudWatch Logs stored, so a
// restart resumes after it.
type winEventReader struct {
	name  string // "logs.windows_events[0]"
	entry config.WinEvents
	key   StreamKey
	src   SourceID
	put   func(context.Context, StreamKey, Event) error
	rc    *recordConfig // filters only
	ckp   string        // checkpoint file
	clk   clock.Clock
	log   *zap.Logger
	open  winEventSource

	levels []int // the entry's event_levels as stored numbers

	// pos is each event read, by record id, until CloudWatch Logs stored it; its
	// checkpoint is the record id of the last stored.
	pos ackedPositions[uint64]

	mu      sync.Mutex
	resume  uint64 // record id to go on after when subscribing again: the last read
	lost    int64  // events cleared from the channel before they were shipped
	lastAt  time.Time
	lastErr string
	errAt   time.Time
	running bool // a subscription is open
}

func newWinEventReader(name string, e config.WinEvents, key StreamKey, put func(context.Context, StreamKey, Event) error, ckdir string,
	clk clock.Clock, log *zap.Logger, open winEventSource) (*winEventReader, error) {
	levels, err := WinEventLevelNumbers(e.EventLevels)
	if err != nil {
		return nil, err
	}
	rc, err := newRecordConfig(config.LogFile{Encoding: config.EncodingUTF8, Filters: e.Filters}, nil)
	if err != nil {
		return nil, err
	}
	r := &winEventReader{name: name, entry: e, key: key, src: SourceID(lastSourceID.Add(1)), put: put, rc: rc,
		ckp: winEventCheckpointFile(ckdir, e), clk: clk, log: log, open: open, levels: levels}
	r.pos.clk, r.pos.save = clk, r.writeCheckpoint
	return r, nil
}

func (r *winEventReader) describe() string {
	parts := []string{"channel " + r.entry.EventName}
	if len(r.entry.EventLevels) > 0 {
		parts = append(parts, "levels "+strings.Join(r.entry.EventLevels, ","))
	}
	if len(r.entry.EventIDs) > 0 {
		parts = append(parts, fmt.Sprintf("%d event ids", len(r.entry.EventIDs)))
	}
	return "event log (" + strings.Join(parts, ", ") + ", " + r.entry.EventFormat + ")"
}

// Run follows the channel until ctx ends, subscribing again (with a growing wait)
// whenever the subscription fails.
func (r *winEventReader) Run(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(r.ckp), 0o700); err != nil {
		r.log.Error("cannot make the event log checkpoint directory: a restart would ship again what was shipped", zap.String("entry", r.name), zap.Error(err))
	}
	if id, err := loadWinEventCheckpoint(r.ckp, r.entry.EventName); err != nil {
		r.fail(fmt.Sprintf("checkpoint: %v; reading the channel from its oldest event", err))
	} else if id > 0 {
		r.mu.Lock()
		r.resume = id
		r.mu.Unlock()
		r.pos.restore(id)
	}
	first := true
	for attempt := 0; ; {
		ran, err := r.follow(ctx, first)
		first = false
		if ctx.Err() != nil {
			return nil
		}
		if ran {
			attempt = 0
		}
		if errors.Is(err, errWinEventsNotWindows) {
			// No event log to try again: said once, in the log and in status.
			r.fail(err.Error())
			r.log.Error("a logs.windows_events entry on a host without the Windows event log", zap.String("entry", r.name), zap.Error(err))
			<-ctx.Done()
			return nil
		}
		wait := winEventRestart.Delay(attempt)
		attempt++
		r.fail(fmt.Sprintf("%v; subscribing again in %s", err, wait.Round(time.Second)))
		r.log.Warn("reading the event log stopped", zap.String("entry", r.name), zap.Error(err), zap.Duration("retry_in", wait))
		if !clock.Sleep(ctx, r.clk, wait) {
			return nil
		}
	}
}

// follow subscribes once and reads until an error or ctx ends; ran reports that it
// delivered an event. On the agent's first subscription after a checkpoint, events
// cleared from the channel past it are counted as lost.
func (r *winEventReader) follow(ctx context.Context, first bool) (ran bool, err error) {
	ch := r.entry.EventName
	r.mu.Lock()
	after := r.resume
	r.mu.Unlock()
	if first && after > 0 {
		r.countCleared(ch, after)
	}
	sub, err := r.open.Subscribe(ch, WinEventQuery(r.levels, r.entry.EventIDs, after))
	if err != nil {
		return false, fmt.Errorf("event log channel %s: %w", ch, err)
	}
	defer sub.Close()
	r.mu.Lock()
	r.running = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running = false
		r.mu.Unlock()
	}()
	for {
		evs, err := sub.Next(ctx, winEventBatch, winEventWait)
		if ctx.Err() != nil {
			return ran, ctx.Err()
		}
		if err != nil {
			return ran, fmt.Errorf("event log channel %s: %w", ch, err)
		}
		for _, b := range evs {
			ev, err := ParseWinEvent(b)
			if err != nil {
				// One event the agent cannot read is logged and skipped; it has no
				// record id to resume after, and the next events still do.
				r.log.Warn("an event of the event log could not be read; it is not shipped", zap.String("entry", r.name), zap.Error(err))
				continue
			}
			if ev.RecordID <= after {
				continue // shipped before: the query's condition, kept here too
			}
			after = ev.RecordID
			ran = true
			if err := r.ship(ctx, ev, b); err != nil {
				return ran, err
			}
		}
	}
}

// ship hands one event to the batcher.
func (r *winEventReader) ship(ctx context.Context, ev WinEvent, raw []byte) error {
	r.mu.Lock()
	r.resume = ev.RecordID
	if !ev.Time.IsZero() {
		r.lastAt = ev.Time
	}
	r.mu.Unlock()
	var msg []byte
	if r.entry.EventFormat == "text" {
		msg = []byte(winEventText(ev))
	} else {
		msg = append([]byte(nil), raw...)
	}
	for _, f := range r.rc.filters {
		if f.re.Match(msg) != f.include {
			return nil
		}
	}
	ts := ev.Time.UnixMilli()
	if ev.Time.IsZero() {
		ts = r.clk.Now().UnixMilli()
	}
	n := r.pos.add(ev.RecordID)
	return r.put(ctx, r.key, Event{Time: ts, Message: msg, Src: r.src, Offset: n})
}

// countCleared counts the events between the checkpoint and the channel's oldest event:
// the log was cleared, or wrapped, past the checkpoint while the agent was not reading.
func (r *winEventReader) countCleared(ch string, checkpoint uint64) {
	oldest, err := r.open.Oldest(ch)
	if err != nil {
		r.log.Warn("cannot read the event log's oldest event: events cleared past the checkpoint, if any, are not counted", zap.String("entry", r.name), zap.Error(err))
		return
	}
	lost := WinEventsLost(checkpoint, oldest)
	if lost == 0 {
		return
	}
	r.mu.Lock()
	r.lost += int64(lost)
	r.mu.Unlock()
	r.log.Error("event log events were cleared before they were shipped: the log was cleared or wrapped past the checkpoint while the agent was not reading it",
		zap.String("entry", r.name), zap.Uint64("events_lost", lost), zap.Uint64("checkpoint", checkpoint), zap.Uint64("oldest", oldest),
		zap.String("hint", "give the channel a larger maximum size (wevtutil sl CHANNEL /ms:BYTES) or keep the agent running"))
}

// Ack records that the service stored the events up to offset of this reader's source.
func (r *winEventReader) Ack(src SourceID, offset int64) {
	if src == r.src {
		r.pos.ack(offset)
	}
}

// SyncCheckpoint writes the checkpoint now if it changed.
func (r *winEventReader) SyncCheckpoint() { r.pos.sync() }

func (r *winEventReader) writeCheckpoint(id uint64) {
	if err := saveWinEventCheckpoint(r.ckp, r.entry.EventName, id); err != nil {
		r.log.Error("cannot write the event log checkpoint: a restart would ship again what was shipped since the last one", zap.String("entry", r.name), zap.Error(err))
	}
}

// unshipped is how many events were read and not stored yet.
func (r *winEventReader) unshipped() int64 { return r.pos.unshipped() }

func (r *winEventReader) fail(msg string) {
	r.mu.Lock()
	r.lastErr, r.errAt = msg, r.clk.Now()
	r.mu.Unlock()
}

// Status is what status shows of the reader.
func (r *winEventReader) Status() status.WinEventLog {
	read, stored, acked := r.pos.counts()
	r.mu.Lock()
	defer r.mu.Unlock()
	st := status.WinEventLog{Entry: r.name, What: r.describe(), Group: r.key.Group, Stream: r.key.Stream,
		Shipped: stored, Pending: read - stored, ClearedUnshipped: r.lost, LastEvent: r.lastAt, RecordID: acked}
	if !r.running {
		// Not subscribed: why, and when it tries again.
		st.LastError, st.ErrorAt = r.lastErr, r.errAt
	}
	return st
}

// noWinEvents is the source off Windows: every entry is an error saying so.
type noWinEvents struct{}

func (noWinEvents) Subscribe(string, string) (winEventSub, error) { return nil, errWinEventsNotWindows }
func (noWinEvents) Oldest(string) (uint64, error)                 { return 0, errWinEventsNotWindows }

// errWinEventsNotWindows is what the source says on another OS.
var errWinEventsNotWindows = errors.New("event logs are read on Windows only: remove logs.windows_events from this host's configuration")
