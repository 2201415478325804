package logship

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/testenv"
	"github.com/stackhand/stackhand/internal/testenv/journaltest"
)

func binaryField(name, value string) string {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(value)))
	return name + "\n" + string(n[:]) + value + "\n"
}

// TestReadExportEntry reads text and binary fields, the cursor and the time, skips
// fields it does not keep, cuts an overlong message, and refuses malformed streams with
// errExport.
func TestReadExportEntry(t *testing.T) {
	long := strings.Repeat("x", maxJournalField+10)
	in := "__CURSOR=s=ab;i=1f\n__REALTIME_TIMESTAMP=1700000000123456\nMESSAGE=hello\n_SYSTEMD_UNIT=a.service\n\n" +
		"\n" + // a stray blank line between entries
		"__CURSOR=c2\n" + binaryField("MESSAGE", "two\nlines\n") + binaryField("OTHER", "bin\x00ary") + "\n" +
		"__CURSOR=c3\nPRIORITY=6\n\n" +
		"__CURSOR=c4\nMESSAGE=" + long + "\n\n" +
		"__CURSOR=c5\n" + binaryField("MESSAGE", long) + "\n"
	r := bufio.NewReaderSize(strings.NewReader(in), 4096)
	var e journalEntry
	type got struct {
		cursor  string
		time    int64
		message string
		isNil   bool
		cut     bool
	}
	var all []got
	for {
		err := readExportEntry(r, &e)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("entry %d: %v", len(all)+1, err)
		}
		m := string(e.message)
		if len(m) > 20 {
			m = fmt.Sprintf("%d bytes", len(m))
		}
		all = append(all, got{e.cursor, e.realtime, m, e.message == nil, e.cut})
	}
	want := []got{
		{"s=ab;i=1f", 1700000000123456, "hello", false, false},
		{"c2", 0, "two\nlines\n", false, false},
		{"c3", 0, "", true, false},
		{"c4", 0, fmt.Sprintf("%d bytes", maxJournalField), false, true},
		{"c5", 0, fmt.Sprintf("%d bytes", maxJournalField), false, true},
	}
	if !slices.Equal(all, want) {
		t.Fatalf("read\n%+v\nwant\n%+v", all, want)
	}
	for _, bad := range []string{
		"MESSAGE=cut off without its end",
		"__CURSOR=c\nMESSAGE\n\x05\x00\x00\x00\x00\x00\x00\x00ab",      // shorter than its length
		"__CURSOR=c\nMESSAGE\n\x02\x00\x00\x00\x00\x00\x00\x00abX\n\n", // no newline after the bytes
		"__CURSOR=c\nMESSAGE\n\x02\x00",                                // the length itself cut
	} {
		if err := readExportEntry(bufio.NewReader(strings.NewReader(bad)), &e); !errors.Is(err, errExport) {
			t.Errorf("%q: %v, want errExport", bad, err)
		}
	}
}

func FuzzReadExportEntry(f *testing.F) {
	f.Add([]byte("__CURSOR=s=ab;i=1\nMESSAGE=hi\n\n"))
	f.Add([]byte("MESSAGE\n\x03\x00\x00\x00\x00\x00\x00\x00a\nb\n\n"))
	f.Add([]byte("\n\nX=\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(data), 16)
		var e journalEntry
		for range 1000 {
			if err := readExportEntry(r, &e); err != nil {
				if err != io.EOF && !errors.Is(err, errExport) {
					t.Fatalf("error %v is neither EOF nor errExport", err)
				}
				return
			}
			if len(e.message) > maxJournalField {
				t.Fatalf("message of %d bytes kept", len(e.message))
			}
		}
	})
}

func TestParseJournalCursor(t *testing.T) {
	for _, c := range []struct {
		in   string
		want journalCursor
	}{
		{"s=4956;i=1f;b=01;m=2;t=60a;x=bb", journalCursor{"4956", 0x1f, true}},
		{"i=1;s=ab", journalCursor{"ab", 1, true}},
		{"s=ab", journalCursor{}},
		{"s=ab;i=zz", journalCursor{}},
		{"", journalCursor{}},
	} {
		if got := parseJournalCursor(c.in); got != c.want {
			t.Errorf("%q: %+v, want %+v", c.in, got, c.want)
		}
	}
}

// TestJournalArgs: journalctl is asked for the entry's units, priority and matches (one
// group per matches element, joined by +), from the cursor or start_at.
func TestJournalArgs(t *testing.T) {
	j := &journalReader{entry: config.Journal{Units: []string{"nginx", "db.service"}, Priority: "warning",
		Matches: []map[string]string{{"_UID": "0", "SYSLOG_IDENTIFIER": "sshd"}, {"_COMM": "cron"}}, Directory: "/var/log/other", StartAt: "end"}}
	got := strings.Join(j.args(""), " ")
	want := "--output=export --follow --no-pager --quiet --directory=/var/log/other --merge --lines=0 --priority=4 --unit=nginx --unit=db.service SYSLOG_IDENTIFIER=sshd _UID=0 + _COMM=cron"
	if got != want {
		t.Errorf("args\n%s\nwant\n%s", got, want)
	}
	j = &journalReader{entry: config.Journal{Priority: "debug", StartAt: "boot"}}
	if got, want := strings.Join(j.args("s=1;i=2"), " "), "--output=export --follow --no-pager --quiet --cursor=s=1;i=2 --lines=all"; got != want {
		t.Errorf("args from a cursor %q, want %q", got, want)
	}
	if got, want := strings.Join(j.args(""), " "), "--output=export --follow --no-pager --quiet --boot --lines=all"; got != want {
		t.Errorf("args at boot %q, want %q", got, want)
	}
	j.entry.StartAt = "beginning"
	if got, want := strings.Join(j.args(""), " "), "--output=export --follow --no-pager --quiet --lines=all"; got != want {
		t.Errorf("args from the beginning %q, want %q (--follow alone shows the last 10)", got, want)
	}
	j.onlyMessage = true
	if got, want := strings.Join(j.args(""), " "), "--output=export --follow --no-pager --quiet --output-fields=MESSAGE --lines=all"; got != want {
		t.Errorf("args of a journalctl of systemd 236 or later %q, want %q", got, want)
	}
}

// TestJournalctlVersion reads the version of this machine's journalctl, and of one that
// prints something else.
func TestJournalctlVersion(t *testing.T) {
	_, exe := journaltest.Tools(t)
	if v := journalctlVersion(context.Background(), exe); v < 200 {
		t.Errorf("journalctl version %d", v)
	}
	fake := filepath.Join(t.TempDir(), "journalctl")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'not systemd'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if v := journalctlVersion(context.Background(), fake); v != 0 {
		t.Errorf("a journalctl that names no version: %d, want 0 (no --output-fields)", v)
	}
}

// journalShipper runs a shipper of the journal entries je (state in stateDir) into
// LocalLogs at out, logging into log.
func journalShipper(t *testing.T, stateDir, out string, log *zap.Logger, je ...config.Journal) (*Shipper, func()) {
	t.Helper()
	return startShipper(t, stateDir, out, log, nil, func(c *config.Config) { c.Logs.Journald = je })
}

// startShipper runs a shipper to LocalLogs in out, with the config set makes and the
// event log src, until the returned stop is called.
func startShipper(t *testing.T, stateDir, out string, log *zap.Logger, src winEventSource, set func(*config.Config)) (*Shipper, func()) {
	t.Helper()
	cfg := config.Default()
	cfg.StateDir = stateDir
	cfg.Logs.ForceFlushInterval = config.Duration(50 * time.Millisecond)
	set(cfg)
	sh, err := NewShipper(ShipperOptions{Config: cfg, Instance: event.Instance{InstanceID: "i-0abc"}, Client: &LocalLogs{Dir: out}, Log: log, WinEvents: src})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sh.Run(ctx) }()
	return sh, func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the shipper did not stop within 30 s")
		}
	}
}

// TestJournalShipsFollowsAndResumes, with real journal files: entries of the chosen
// unit at the chosen priority and up are shipped, with their journal time, a multi-line
// message as one event; entries appended while it follows arrive; a new shipper on the
// same state goes on after the checkpoint with nothing shipped twice; and a journal
// rotated and vacuumed past the checkpoint is reported, not fatal.
func TestJournalShipsFollowsAndResumes(t *testing.T) {
	journaltest.Tools(t)
	dir := t.TempDir()
	jdir, state, out := filepath.Join(dir, "journal"), filepath.Join(dir, "state"), filepath.Join(dir, "out")
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	entry := func(i int, unit string, prio int) journaltest.Entry {
		return journaltest.Entry{Time: base.Add(time.Duration(i) * time.Second), Message: fmt.Sprintf("%s entry %d", unit, i), Unit: unit, Priority: prio}
	}
	journaltest.Write(t, jdir, "a.journal",
		entry(1, "app.service", 6), entry(2, "db.service", 6), entry(3, "app.service", 7),
		journaltest.Entry{Time: base.Add(4 * time.Second), Message: "app panic:\n  at main.go:1", Unit: "app.service", Priority: 2},
		entry(5, "app.service", 4))
	je := config.Journal{Units: []string{"app.service"}, Priority: "info", Directory: jdir, StartAt: "beginning",
		LogGroupName: "g", LogStreamName: "{instance_id}/journal", Compression: "gzip"}
	messages := func() []string { return readLocal(t, out, "g", "i-0abc/journal") }
	var logged syncBuffer
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&logged), zapcore.DebugLevel))

	sh, stop := journalShipper(t, state, out, log, je)
	want := []string{"app.service entry 1", "app panic:\n  at main.go:1", "app.service entry 5"}
	testenv.WaitFor(t, "the three entries", func() bool { return len(messages()) >= 3 })
	journaltest.Write(t, jdir, "a.journal", entry(6, "app.service", 6), entry(7, "db.service", 3), entry(8, "app.service", 6))
	want = append(want, "app.service entry 6", "app.service entry 8")
	testenv.WaitFor(t, "the entries appended while following", func() bool { return len(messages()) >= 5 })
	// The stored events are written before the batcher hears they were stored: status
	// counts them a moment after they show.
	testenv.WaitFor(t, "the 5 entries stored in status", func() bool {
		st := sh.Status().Journals
		return len(st) == 1 && st[0].Shipped == 5
	})
	st := sh.Status().Journals
	if st[0].Pending != 0 || st[0].LastError != "" || st[0].Group != "g" || st[0].Stream != "i-0abc/journal" {
		t.Errorf("status %+v", st)
	}
	stop()
	if got := messages(); !slices.Equal(got, want) {
		t.Fatalf("shipped %q, want %q", got, want)
	}
	if _, err := os.Stat(journalCheckpointFile(filepath.Join(state, "logs"), je)); err != nil {
		t.Fatalf("no checkpoint: %v", err)
	}

	// Written while the agent was stopped, more than the 10 entries journalctl --follow
	// shows unless told otherwise: a restart ships them all before anything new is
	// written, and nothing again.
	var stopped []journaltest.Entry
	for i := range 15 {
		e := entry(9, "app.service", 6)
		e.Time = e.Time.Add(time.Duration(i) * time.Millisecond)
		e.Message = fmt.Sprintf("app.service entry 9.%d", i)
		stopped = append(stopped, e)
		want = append(want, e.Message)
	}
	journaltest.Write(t, jdir, "a.journal", stopped...)
	_, stop = journalShipper(t, state, out, log, je)
	testenv.WaitFor(t, "the 15 entries written while stopped", func() bool { return len(messages()) >= len(want) })
	journaltest.Write(t, jdir, "a.journal", entry(10, "app.service", 6))
	want = append(want, "app.service entry 10")
	testenv.WaitFor(t, "an entry after the restart", func() bool { return len(messages()) >= len(want) })
	stop()
	if got := messages(); !slices.Equal(got, want) {
		t.Fatalf("after a restart shipped %q, want %q (nothing twice)", got, want)
	}

	// Rotated and vacuumed while stopped: the file with the checkpoint's entry is gone.
	journaltest.Write(t, jdir, "a.journal", entry(11, "app.service", 6)) // never shipped: vacuumed
	journaltest.Write(t, jdir, "b.journal", entry(12, "app.service", 6))
	if err := os.Remove(filepath.Join(jdir, "a.journal")); err != nil {
		t.Fatal(err)
	}
	want = append(want, "app.service entry 12")
	_, stop = journalShipper(t, state, out, log, je)
	testenv.WaitFor(t, "the entry of the new journal file", func() bool { return len(messages()) >= len(want) })
	stop()
	if got := messages(); !slices.Equal(got, want) {
		t.Fatalf("after a vacuum shipped %q, want %q", got, want)
	}
	if !strings.Contains(logged.String(), "no longer holds the entry the checkpoint names") {
		t.Errorf("the vacuum was not logged:\n%s", logged.String())
	}
}

// TestJournalVacuumCount: when the checkpoint's entry is gone and the journal's oldest
// entry counts in the same sequence, the entries between them are counted as lost, in
// status and the log; in a new sequence, nothing is counted but the loss is logged.
func TestJournalVacuumCount(t *testing.T) {
	var logged syncBuffer
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&logged), zapcore.DebugLevel))
	j := &journalReader{name: "logs.journald[0]", log: log, entry: config.Journal{Priority: "info"}}
	j.oldest = func(context.Context, string) (string, error) { return "s=aa;i=2a;b=1;m=1;t=1;x=1", nil }
	j.countVacuumed(context.Background(), "journalctl", "s=aa;i=20;b=1;m=1;t=1;x=1")
	if st := j.Status(); st.VacuumedUnshipped != 9 {
		t.Errorf("lost %d, want 9 (seqnums 0x21 to 0x29)", st.VacuumedUnshipped)
	}
	if !strings.Contains(logged.String(), `"entries_lost":9`) {
		t.Errorf("log: %s", logged.String())
	}
	j.oldest = func(context.Context, string) (string, error) { return "s=bb;i=1;b=1;m=1;t=1;x=1", nil }
	j.countVacuumed(context.Background(), "journalctl", "s=aa;i=2a;b=1;m=1;t=1;x=1")
	if st := j.Status(); st.VacuumedUnshipped != 9 || !strings.Contains(logged.String(), "cannot be told") {
		t.Errorf("a new sequence: lost %d, log %s", st.VacuumedUnshipped, logged.String())
	}
}

// TestJournalUnreadable: a journalctl that complains and ends is reported in status
// with what to do, and started again.
func TestJournalUnreadable(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "journalctl")
	script := "#!/bin/sh\necho 'No journal files were opened due to insufficient permissions.' >&2\nexit 1\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.StateDir = filepath.Join(dir, "state")
	cfg.Logs.Journald = []config.Journal{{Priority: "info", StartAt: "end", LogGroupName: "g", LogStreamName: "s", Compression: "gzip"}}
	sh, err := NewShipper(ShipperOptions{Config: cfg, Instance: event.Instance{InstanceID: "i-0abc"}, Client: &LocalLogs{Dir: filepath.Join(dir, "out")}})
	if err != nil {
		t.Fatal(err)
	}
	var starts atomic.Int32
	sh.journals[0].exe = func() (string, error) { starts.Add(1); return fake, nil }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sh.Run(ctx) }()
	testenv.WaitFor(t, "the complaint in status", func() bool {
		st := sh.Status().Journals
		return len(st) == 1 && strings.Contains(st[0].LastError, "insufficient permissions") && strings.Contains(st[0].LastError, "systemd-journal group")
	})
	cancel()
	<-done
	if starts.Load() < 1 {
		t.Errorf("journalctl started %d times", starts.Load())
	}
}

// TestFindJournalctlTrust: a journalctl that others may write is refused, with the fix,
// and none where it is looked for is an error that says what to install; $PATH is never
// searched.
func TestFindJournalctlTrust(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "journalctl")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(exe, 0o777); err != nil {
		t.Fatal(err)
	}
	saved := JournalctlPaths
	t.Cleanup(func() { JournalctlPaths = saved })
	JournalctlPaths = []string{exe}
	if got, err := findJournalctl(); err == nil || !strings.Contains(err.Error(), "chmod") {
		t.Errorf("a world-writable journalctl: %q, %v; want refused with the chmod that fixes it", got, err)
	}
	JournalctlPaths = []string{filepath.Join(dir, "missing")}
	t.Setenv("PATH", dir)
	if got, err := findJournalctl(); err == nil || !strings.Contains(err.Error(), "install") {
		t.Errorf("no journalctl where it is looked for: %q, %v; want an error saying what to install", got, err)
	}
}
