package logship

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/testenv"
)

// fakeEventLog is an event log channel in memory: it answers the XPath queries
// WinEventQuery writes (record id, levels, ids) as the event log would, so a wrong query
// ships the wrong events.
type fakeEventLog struct {
	mu      sync.Mutex
	events  []fakeWinEvent // by record id
	next    uint64
	added   chan struct{} // closed and replaced at each append
	queries []string
	failSub []error // returned by the next Subscribe calls, in turn
}

type fakeWinEvent struct {
	id        uint64
	level, ev int
	xml       []byte
}

func newFakeEventLog() *fakeEventLog { return &fakeEventLog{next: 1, added: make(chan struct{})} }

var fakeEventBase = time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)

// add appends an event of level and event id with message msg (rendered with its
// message, as EvtFormatMessageXml gives it, unless msg is empty).
func (f *fakeEventLog) add(level, id int, msg string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	rid := f.next
	f.next++
	at := fakeEventBase.Add(time.Duration(rid) * time.Second).Format("2006-01-02T15:04:05.0000000Z")
	x := fmt.Sprintf(`<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Service Control Manager'/>`+
		`<EventID Qualifiers='16384'>%d</EventID><Level>%d</Level><TimeCreated SystemTime='%s'/><EventRecordID>%d</EventRecordID>`+
		`<Channel>System</Channel><Computer>EC2AMAZ-ABC</Computer></System><EventData><Data Name='param1'>Windows Update</Data>`+
		`<Data Name='param2'>running</Data></EventData>`, id, level, at, rid)
	if msg != "" {
		x += "<RenderingInfo Culture='en-US'><Message>" + msg + "</Message></RenderingInfo>"
	}
	x += "</Event>"
	f.events = append(f.events, fakeWinEvent{rid, level, id, []byte(x)})
	close(f.added)
	f.added = make(chan struct{})
	return rid
}

// clear removes every event up to and including id, as clearing a log (or its wrapping)
// does; record ids go on from where they were.
func (f *fakeEventLog) clear(id uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = slices.DeleteFunc(f.events, func(e fakeWinEvent) bool { return e.id <= id })
}

func (f *fakeEventLog) lastQuery() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queries) == 0 {
		return ""
	}
	return f.queries[len(f.queries)-1]
}

var (
	queryAfter = regexp.MustCompile(`EventRecordID>(\d+)`)
	queryField = regexp.MustCompile(`\((?:(Level|EventID)=\d+(?: or )?)+\)`)
	queryValue = regexp.MustCompile(`(Level|EventID)=(\d+)`)
)

// matches evaluates query, as WinEventQuery writes it, on e.
func matches(query string, e fakeWinEvent) bool {
	if query == "*" {
		return true
	}
	if m := queryAfter.FindStringSubmatch(query); m != nil {
		after, _ := strconv.ParseUint(m[1], 10, 64)
		if e.id <= after {
			return false
		}
	}
	for _, group := range queryField.FindAllString(query, -1) {
		ok := false
		for _, v := range queryValue.FindAllStringSubmatch(group, -1) {
			n, _ := strconv.Atoi(v[2])
			if (v[1] == "Level" && e.level == n) || (v[1] == "EventID" && e.ev == n) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (f *fakeEventLog) Subscribe(channel, query string) (winEventSub, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, query)
	if len(f.failSub) > 0 {
		err := f.failSub[0]
		f.failSub = f.failSub[1:]
		return nil, err
	}
	if channel != "System" {
		return nil, errors.New("no such channel")
	}
	return &fakeSub{log: f, query: query}, nil
}

func (f *fakeEventLog) Oldest(string) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.events) == 0 {
		return 0, nil
	}
	return f.events[0].id, nil
}

type fakeSub struct {
	log   *fakeEventLog
	query string
	seen  uint64 // record id of the last event handed out
}

func (s *fakeSub) Next(ctx context.Context, max int, wait time.Duration) ([][]byte, error) {
	take := func() ([][]byte, chan struct{}) {
		s.log.mu.Lock()
		defer s.log.mu.Unlock()
		var out [][]byte
		for _, e := range s.log.events {
			if e.id > s.seen && matches(s.query, e) && len(out) < max {
				out = append(out, e.xml)
				s.seen = e.id
			}
		}
		return out, s.log.added
	}
	out, added := take()
	if len(out) > 0 {
		return out, nil
	}
	select {
	case <-added:
	case <-time.After(wait):
	case <-ctx.Done():
	}
	out, _ = take()
	return out, nil
}

func (s *fakeSub) Close() error { return nil }

// winEventShipper runs a shipper of entries on the fake log, shipping to out.
func winEventShipper(t *testing.T, stateDir, out string, log *zap.Logger, src winEventSource, entries ...config.WinEvents) (*Shipper, func()) {
	t.Helper()
	return startShipper(t, stateDir, out, log, src, func(c *config.Config) { c.Logs.WindowsEvents = entries })
}

// TestWinEventShipsResumesAndCountsCleared: the events of the entry's levels ship in
// the CloudWatch agent's text form with their own time; one added while the agent
// follows arrives; a new shipper on the same state goes on after the checkpoint (the
// query says so) with nothing shipped twice; events cleared from the log past the
// checkpoint are counted in status and the log.
func TestWinEventShipsResumesAndCountsCleared(t *testing.T) {
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out")
	var logged syncBuffer
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&logged), zapcore.DebugLevel))
	f := newFakeEventLog()
	f.add(4, 7036, "The %1 service entered the %2 state.")
	f.add(3, 7040, "a warning, not shipped")
	f.add(2, 7000, "The service did not start.")
	f.add(0, 7036, "") // LogAlways: INFORMATION too, with no message
	e := config.WinEvents{EventName: "System", EventLevels: []string{"ERROR", "INFORMATION"}, EventFormat: "text",
		LogGroupName: "g", LogStreamName: "{instance_id}/system", Compression: "gzip"}
	messages := func() []string { return readLocal(t, out, "g", "i-0abc/system") }
	want := []string{
		"[System] [INFORMATION] [7036] [Service Control Manager] [EC2AMAZ-ABC] [The Windows Update service entered the running state.]",
		"[System] [ERROR] [7000] [Service Control Manager] [EC2AMAZ-ABC] [The service did not start.]",
		"[System] [INFORMATION] [7036] [Service Control Manager] [EC2AMAZ-ABC] [param1=Windows Update param2=running]",
	}
	sh, stop := winEventShipper(t, state, out, log, f, e)
	testenv.WaitFor(t, "the 3 events", func() bool { return len(messages()) >= 3 })
	f.add(1, 41, "critical, not among the levels")
	f.add(2, 41, "an error added while following")
	want = append(want, "[System] [ERROR] [41] [Service Control Manager] [EC2AMAZ-ABC] [an error added while following]")
	testenv.WaitFor(t, "the event added while following", func() bool { return len(messages()) >= 4 })
	testenv.WaitFor(t, "the checkpoint at record 6 in status", func() bool {
		st := sh.Status().WinEvents
		return len(st) == 1 && st[0].Shipped == 4 && st[0].RecordID == 6 && st[0].LastError == ""
	})
	stop()
	if got := messages(); !slices.Equal(got, want) {
		t.Fatalf("shipped\n%q\nwant\n%q", got, want)
	}
	b, err := os.ReadFile(filepath.Join(out, "g", url.PathEscape("i-0abc/system")+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var first struct{ Timestamp int64 }
	if err := json.Unmarshal(bytes.SplitN(b, []byte("\n"), 2)[0], &first); err != nil {
		t.Fatal(err)
	}
	if want := fakeEventBase.Add(time.Second).UnixMilli(); first.Timestamp != want {
		t.Errorf("first event's time %d, want its TimeCreated %d", first.Timestamp, want)
	}

	// Added while stopped: a restart asks only for what follows the checkpoint.
	f.add(2, 7001, "while stopped")
	want = append(want, "[System] [ERROR] [7001] [Service Control Manager] [EC2AMAZ-ABC] [while stopped]")
	_, stop = winEventShipper(t, state, out, log, f, e)
	testenv.WaitFor(t, "the event added while stopped", func() bool { return len(messages()) >= len(want) })
	stop()
	if q := f.lastQuery(); q != "*[System[EventRecordID>6 and (Level=0 or Level=2 or Level=4)]]" {
		t.Errorf("query after a restart %q", q)
	}
	if got := messages(); !slices.Equal(got, want) {
		t.Fatalf("after a restart shipped\n%q\nwant\n%q (nothing twice)", got, want)
	}

	// Cleared while stopped: records 8 to 10 are gone before they were read.
	for range 3 {
		f.add(2, 7002, "cleared before it was read")
	}
	f.clear(10)
	f.add(2, 7003, "after the clear")
	want = append(want, "[System] [ERROR] [7003] [Service Control Manager] [EC2AMAZ-ABC] [after the clear]")
	sh, stop = winEventShipper(t, state, out, log, f, e)
	testenv.WaitFor(t, "the event after the clear", func() bool { return len(messages()) >= len(want) })
	if st := sh.Status().WinEvents[0]; st.ClearedUnshipped != 3 {
		t.Errorf("cleared_unshipped %d, want 3 (records 8 to 10)", st.ClearedUnshipped)
	}
	stop()
	if got := messages(); !slices.Equal(got, want) {
		t.Fatalf("after a clear shipped\n%q\nwant\n%q", got, want)
	}
	if !strings.Contains(logged.String(), `"events_lost":3`) {
		t.Errorf("the clear was not logged:\n%s", logged.String())
	}
}

// TestWinEventXMLIdsFiltersAndErrors: event_format xml ships the event as rendered;
// event_ids reach the query; filters match the shipped form; a channel that cannot be
// read is an error in status with what to do, and the reader subscribes again.
func TestWinEventXMLIdsFiltersAndErrors(t *testing.T) {
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out")
	f := newFakeEventLog()
	f.failSub = []error{errors.New("reading System was refused: the agent reads event logs as LocalSystem, or as a member of Event Log Readers")}
	f.add(4, 7036, "heartbeat of the healthcheck")
	f.add(4, 7036, "The Spooler service entered the stopped state.")
	f.add(4, 7040, "another id")
	e := config.WinEvents{EventName: "System", EventIDs: []int{7036}, EventFormat: "xml",
		Filters: []config.LogFilter{{Type: "exclude", Expression: "healthcheck"}}, LogGroupName: "g", LogStreamName: "x", Compression: "gzip"}
	saved := winEventRestart
	winEventRestart.Base, winEventRestart.Max = 10*time.Millisecond, 10*time.Millisecond
	t.Cleanup(func() { winEventRestart = saved })
	sh, stop := winEventShipper(t, state, out, zap.NewNop(), f, e)
	defer stop()
	testenv.WaitFor(t, "the refusal in status", func() bool {
		st := sh.Status().WinEvents
		return len(st) == 1 && strings.Contains(st[0].LastError, "Event Log Readers") && strings.Contains(st[0].LastError, "subscribing again")
	})
	testenv.WaitFor(t, "the event after the refusal", func() bool { return len(readLocal(t, out, "g", "x")) >= 1 })
	got := readLocal(t, out, "g", "x")
	if len(got) != 1 || !strings.HasPrefix(got[0], "<Event ") || !strings.Contains(got[0], "Spooler") {
		t.Fatalf("shipped %q, want the one event of id 7036 the filter keeps, as XML", got)
	}
	if q := f.lastQuery(); q != "*[System[(EventID=7036)]]" {
		t.Errorf("query %q", q)
	}
}

// TestWinEventsOffWindows: on another OS each entry is an error in status saying the
// event log is read on Windows only, logged once rather than at every retry.
func TestWinEventsOffWindows(t *testing.T) {
	dir := t.TempDir()
	var logged syncBuffer
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&logged), zapcore.DebugLevel))
	saved := winEventRestart
	winEventRestart.Base, winEventRestart.Max = time.Millisecond, time.Millisecond
	t.Cleanup(func() { winEventRestart = saved })
	e := config.WinEvents{EventName: "System", EventFormat: "xml", LogGroupName: "g", LogStreamName: "x", Compression: "gzip"}
	sh, stop := winEventShipper(t, filepath.Join(dir, "state"), filepath.Join(dir, "out"), log, noWinEvents{}, e)
	testenv.WaitFor(t, "the error in status", func() bool {
		st := sh.Status().WinEvents
		return len(st) == 1 && strings.Contains(st[0].LastError, "Windows only")
	})
	time.Sleep(50 * time.Millisecond) // fifty retries' worth, were it retrying
	stop()
	if n := strings.Count(logged.String(), "Windows only"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logged.String())
	}
}
