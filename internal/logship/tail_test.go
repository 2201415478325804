package logship

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
)

func writeFile(t testing.TB, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t testing.TB, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func openT(t testing.TB, p string) *os.File {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// seqLines returns lines "seq NNNNNN ..." for numbers from..to-1.
func seqLines(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "seq %06d %s\n", i, strings.Repeat("x", i%40))
	}
	return b.String()
}

// collector is a Put that records events; it can block (an outage) and acknowledge.
type collector struct {
	mu      sync.Mutex
	evs     []Event
	keys    []StreamKey
	changed chan struct{}
	gate    chan struct{} // while non-nil and open, Put waits on it after the first blocked event
	blockAt int           // Put blocks on the gate once this many events were taken
	ack     Acker
	ackUpTo int // acknowledge only the first ackUpTo events (-1: all)
}

func newCollector() *collector {
	return &collector{changed: make(chan struct{}, 1), ackUpTo: -1, blockAt: -1}
}

func (c *collector) put(ctx context.Context, key StreamKey, ev Event) error {
	c.mu.Lock()
	gate := c.gate
	blocked := c.blockAt >= 0 && len(c.evs) >= c.blockAt
	c.mu.Unlock()
	if gate != nil && blocked {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	c.evs = append(c.evs, ev)
	c.keys = append(c.keys, key)
	n := len(c.evs)
	ack := c.ack != nil && (c.ackUpTo < 0 || n <= c.ackUpTo)
	c.mu.Unlock()
	if ack {
		c.ack.Ack(ev.Src, ev.Offset)
	}
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return nil
}

func (c *collector) messages() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.evs))
	for i, e := range c.evs {
		out[i] = string(e.Message)
	}
	return out
}

// waitFor waits, up to 10 s, until cond holds.
func tailWait(t testing.TB, what string, c *collector, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		var ch chan struct{}
		if c != nil {
			ch = c.changed
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// seqs returns the sequence numbers in the messages, in order.
func seqs(msgs []string) []int {
	var out []int
	for _, m := range msgs {
		if !strings.HasPrefix(m, "seq ") || len(m) < 10 {
			continue
		}
		n, err := strconv.Atoi(m[4:10])
		if err == nil {
			out = append(out, n)
		}
	}
	return out
}

// wantSeqs fails unless msgs hold exactly from..to-1 in order.
func wantSeqs(t testing.TB, msgs []string, from, to int) {
	t.Helper()
	got := seqs(msgs)
	if len(got) != to-from {
		t.Fatalf("got %d lines (%v...), want %d..%d", len(got), head(got), from, to-1)
	}
	for i, n := range got {
		if n != from+i {
			t.Fatalf("line %d is seq %d, want %d (%v)", i, n, from+i, head(got))
		}
	}
}

func head(s []int) []int {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

type tailHarness struct {
	t      *testing.T
	tl     *Tailer
	c      *collector
	clk    *clock.Fake
	logs   *observer.ObservedLogs
	cancel context.CancelFunc
	done   chan error
}

func startTailer(t *testing.T, f config.LogFile, cpDir string, c *collector, tweak ...func(*TailerOptions)) *tailHarness {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if f.FromBeginning == nil {
		tr := true
		f.FromBeginning = &tr
	}
	opt := TailerOptions{
		File:          f,
		Stream:        func(p string) StreamKey { return StreamKey{Group: "g", Stream: filepath.Base(p)} },
		Put:           c.put,
		CheckpointDir: cpDir,
		Clock:         clk,
		Log:           zap.New(core),
	}
	for _, fn := range tweak {
		fn(&opt)
	}
	tl, err := NewTailer(opt)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.ack = tl
	c.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	h := &tailHarness{t: t, tl: tl, c: c, clk: clk, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- tl.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func (h *tailHarness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	if err := <-h.done; err != nil {
		h.t.Errorf("Run: %v", err)
	}
}

// gens returns how many generations of path are open.
func (h *tailHarness) gens(path string) int {
	h.tl.mu.Lock()
	defer h.tl.mu.Unlock()
	fl := h.tl.files[path]
	if fl == nil {
		return -1
	}
	n := 0
	for _, g := range fl.gens {
		if !g.closed {
			n++
		}
	}
	return n
}

// advanceUntil moves the fake clock on a second at a time until cond holds: the tailer
// arms its timers from its own goroutines, so one big step could pass before they exist.
func (h *tailHarness) advanceUntil(what string, cond func() bool) {
	h.t.Helper()
	tailWait(h.t, what, nil, func() bool {
		if cond() {
			return true
		}
		h.clk.Advance(time.Second)
		return false
	})
}

func (h *tailHarness) rescan() { h.tl.requestRescan() }

func (h *tailHarness) count(msg string) int {
	n := 0
	for _, e := range h.logs.All() {
		if strings.Contains(e.Message, msg) {
			n++
		}
	}
	return n
}

func TestTailRenameRotation(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, seqLines(0, 100))
	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: p}, t.TempDir(), c)
	tailWait(t, "100 lines", c, func() bool { return len(c.messages()) >= 100 })

	// The writer keeps its file open across the rename, writes a little more, then the
	// new file appears.
	w, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString(seqLines(100, 110)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	writeFile(t, p, seqLines(110, 200))
	tailWait(t, "200 lines", c, func() bool { return len(c.messages()) >= 200 })
	appendFile(t, p, seqLines(200, 210))
	tailWait(t, "210 lines", c, func() bool { return len(c.messages()) >= 210 })
	wantSeqs(t, c.messages(), 0, 210)

	// After the linger the rotated file is closed and forgotten.
	h.advanceUntil("the rotated file closed", func() bool { return h.gens(p) == 1 })
}

func TestTailRotateTwiceWhileBlocked(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, seqLines(0, 100))
	c := newCollector()
	c.gate = make(chan struct{})
	c.blockAt = 1
	h := startTailer(t, config.LogFile{FilePath: p}, t.TempDir(), c)
	tailWait(t, "the first line", c, func() bool { return len(c.messages()) == 1 })

	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, seqLines(100, 200))
	tailWait(t, "the second generation open", nil, func() bool { return h.gens(p) == 2 })
	if err := os.Rename(p+".1", p+".2"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, seqLines(200, 300))
	tailWait(t, "the third generation open", nil, func() bool { return h.gens(p) == 3 })
	// The rotated files go away entirely: only the open descriptors still reach them.
	os.Remove(p + ".1")
	os.Remove(p + ".2")

	close(c.gate)
	tailWait(t, "300 lines", c, func() bool { return len(c.messages()) >= 300 })
	wantSeqs(t, c.messages(), 0, 300)
}

func TestTailTooManyRotationsDropsOldest(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, seqLines(0, 10))
	c := newCollector()
	c.gate = make(chan struct{})
	c.blockAt = 1
	h := startTailer(t, config.LogFile{FilePath: p}, t.TempDir(), c, func(o *TailerOptions) { o.MaxOpenRotated = 1 })
	tailWait(t, "the first line", c, func() bool { return len(c.messages()) == 1 })
	for i := 1; i <= 2; i++ {
		os.Remove(p)
		writeFile(t, p, seqLines(i*10, i*10+10))
		tailWait(t, "a new generation", nil, func() bool { return h.tl.Dropped() == int64(i-1) && h.gens(p) == 2 })
	}
	close(c.gate)
	tailWait(t, "the last generation", c, func() bool { s := seqs(c.messages()); return len(s) > 0 && s[len(s)-1] == 29 })
	got := seqs(c.messages())
	// The first event was taken before the drop; the rest of the first file is lost, and said so.
	if got[0] != 0 || !slices.Contains(got, 10) || slices.Contains(got, 5) || h.tl.Dropped() != 1 {
		t.Fatalf("got %v, dropped %d", got, h.tl.Dropped())
	}
	if h.count("too many rotated files") != 1 {
		t.Fatal("drop not logged")
	}
}

func TestTailCopyTruncate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, seqLines(0, 50))
	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: p}, t.TempDir(), c)
	tailWait(t, "50 lines", c, func() bool { return len(c.messages()) >= 50 })
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, p, seqLines(50, 60))
	tailWait(t, "60 lines", c, func() bool { return len(c.messages()) >= 60 })
	wantSeqs(t, c.messages(), 0, 60)
	if h.count("truncated") != 1 {
		t.Fatal("truncation not logged")
	}
}

func TestTailDeletion(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("an open file cannot be deleted on Windows")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, seqLines(0, 20))
	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: p}, t.TempDir(), c)
	tailWait(t, "20 lines", c, func() bool { return len(c.messages()) >= 20 })
	w, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	w.WriteString(seqLines(20, 25))
	w.Close()
	tailWait(t, "25 lines", c, func() bool { return len(c.messages()) >= 25 })
	wantSeqs(t, c.messages(), 0, 25)
	h.advanceUntil("the file closed", func() bool { return h.gens(p) == 0 })
	h.rescan()
	tailWait(t, "the path forgotten", nil, func() bool { return h.gens(p) == -1 })
}

func TestTailLateFileAndDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "later")
	p := filepath.Join(dir, "app.log")
	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: p}, t.TempDir(), c)
	// Run has watched the nearest existing ancestor once its scan is done.
	tailWait(t, "the watch", nil, func() bool { return h.clk.Pending() > 0 })
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, seqLines(0, 10))
	// Either the directory's watch comes before the file (a Create event) or the scan
	// that adds it finds the file.
	tailWait(t, "10 lines", c, func() bool { return len(c.messages()) >= 10 })
	appendFile(t, p, seqLines(10, 20))
	tailWait(t, "20 lines", c, func() bool { return len(c.messages()) >= 20 })
	wantSeqs(t, c.messages(), 0, 20)
}

func TestTailGlobDirectoryWildcard(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "hooks", "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "hooks", "a", "x.log"), seqLines(0, 5))
	writeFile(t, filepath.Join(root, "hooks", "a", "x.txt"), seqLines(500, 505))
	c := newCollector()
	startTailer(t, config.LogFile{FilePath: filepath.Join(root, "hooks", "*", "*.log")}, t.TempDir(), c)
	tailWait(t, "5 lines", c, func() bool { return len(c.messages()) >= 5 })
	if err := os.Mkdir(filepath.Join(root, "hooks", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "hooks", "b", "y.log"), seqLines(5, 10))
	tailWait(t, "10 lines", c, func() bool { return len(c.messages()) >= 10 })
	got := seqs(c.messages())
	slices.Sort(got)
	if len(got) != 10 || got[9] != 9 {
		t.Fatalf("got %v", got)
	}
	c.mu.Lock()
	streams := map[string]bool{}
	for _, k := range c.keys {
		streams[k.Stream] = true
	}
	c.mu.Unlock()
	if !streams["x.log"] || !streams["y.log"] || len(streams) != 2 {
		t.Fatalf("streams %v", streams)
	}
}

func TestTailRestartFromCheckpoint(t *testing.T) {
	dir, cp := t.TempDir(), t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, seqLines(0, 100))
	c := newCollector()
	c.ackUpTo = 60
	h := startTailer(t, config.LogFile{FilePath: p}, cp, c)
	tailWait(t, "100 lines", c, func() bool { return len(c.messages()) >= 100 })
	h.stop()
	appendFile(t, p, seqLines(100, 140))

	c2 := newCollector()
	startTailer(t, config.LogFile{FilePath: p}, cp, c2)
	tailWait(t, "80 lines", c2, func() bool { return len(c2.messages()) >= 80 })
	wantSeqs(t, c2.messages(), 60, 140)
}

func TestTailRestartAfterRotation(t *testing.T) {
	dir, cp := t.TempDir(), t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, seqLines(0, 100))
	c := newCollector()
	c.ackUpTo = 50
	h := startTailer(t, config.LogFile{FilePath: p}, cp, c)
	tailWait(t, "100 lines", c, func() bool { return len(c.messages()) >= 100 })
	h.stop()
	// While the agent is down: more lines, a rotation to a dated name, a new file.
	appendFile(t, p, seqLines(100, 120))
	if err := os.Rename(p, p+"-20260101"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, seqLines(120, 150))

	c2 := newCollector()
	h2 := startTailer(t, config.LogFile{FilePath: p}, cp, c2)
	tailWait(t, "100 lines", c2, func() bool { return len(c2.messages()) >= 100 })
	wantSeqs(t, c2.messages(), 50, 150)
	if h2.count("draining the rotated file") != 1 {
		t.Fatal("rotated file not reported")
	}
}

// TestTailRestartWithQueuedGenerations: the agent stops while blocked behind two
// rotations; the checkpoint names all three generations and a restart drains each.
func TestTailRestartWithQueuedGenerations(t *testing.T) {
	dir, cp := t.TempDir(), t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, seqLines(0, 10))
	c := newCollector()
	c.gate = make(chan struct{})
	c.blockAt = 3
	h := startTailer(t, config.LogFile{FilePath: p}, cp, c)
	tailWait(t, "3 lines", c, func() bool { return len(c.messages()) == 3 })
	os.Rename(p, p+".1")
	writeFile(t, p, seqLines(10, 20))
	tailWait(t, "generation 2", nil, func() bool { return h.gens(p) == 2 })
	os.Rename(p+".1", p+".2")
	os.Rename(p, p+".1")
	writeFile(t, p, seqLines(20, 30))
	tailWait(t, "generation 3", nil, func() bool { return h.gens(p) == 3 })
	h.stop()

	c2 := newCollector()
	startTailer(t, config.LogFile{FilePath: p}, cp, c2)
	tailWait(t, "27 lines", c2, func() bool { return len(c2.messages()) >= 27 })
	wantSeqs(t, c2.messages(), 3, 30)
}

func TestTailCorruptCheckpoint(t *testing.T) {
	dir, cp := t.TempDir(), t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, seqLines(0, 10))
	writeFile(t, checkpointFile(cp, p), `{"path": "`+p+`", "offset": 12`)
	c := newCollector()
	f := false
	h := startTailer(t, config.LogFile{FilePath: p, FromBeginning: &f}, cp, c)
	tailWait(t, "10 lines", c, func() bool { return len(c.messages()) >= 10 })
	wantSeqs(t, c.messages(), 0, 10)
	if h.count("checkpoint unreadable") != 1 {
		t.Fatal("corrupt checkpoint not logged")
	}
	// The next checkpoint written replaces it.
	h.stop()
	got, err := readCheckpoint(cp, p)
	if err != nil || got == nil || got.Offset != int64(len(seqLines(0, 10))) {
		t.Fatalf("checkpoint after: %+v %v", got, err)
	}
}

func TestTailFromEnd(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, seqLines(0, 10))
	c := newCollector()
	f := false
	h := startTailer(t, config.LogFile{FilePath: p, FromBeginning: &f}, t.TempDir(), c)
	tailWait(t, "the file followed", nil, func() bool { return h.gens(p) == 1 })
	appendFile(t, p, seqLines(10, 15))
	tailWait(t, "5 lines", c, func() bool { return len(c.messages()) >= 5 })
	wantSeqs(t, c.messages(), 10, 15)
}

func TestTailUnwritableCheckpointDir(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, seqLines(0, 10))
	blocker := filepath.Join(dir, "not-a-dir")
	writeFile(t, blocker, "")
	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: p}, filepath.Join(blocker, "cp"), c)
	tailWait(t, "10 lines", c, func() bool { return len(c.messages()) >= 10 })
	h.clk.Advance(time.Second)
	appendFile(t, p, seqLines(10, 20))
	tailWait(t, "20 lines", c, func() bool { return len(c.messages()) >= 20 })
	h.clk.Advance(time.Second)
	wantSeqs(t, c.messages(), 0, 20)
	if n := h.count("checkpoint"); n != 1 {
		t.Fatalf("%d checkpoint warnings, want 1", n)
	}
}

func TestTailFilteredTailIsCheckpointed(t *testing.T) {
	dir, cp := t.TempDir(), t.TempDir()
	p := filepath.Join(dir, "app.log")
	content := "keep 1\n" + "drop a\ndrop b\n"
	writeFile(t, p, content)
	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: p, Filters: []config.LogFilter{{Type: "exclude", Expression: "^drop"}}}, cp, c)
	tailWait(t, "1 event", c, func() bool { return len(c.messages()) >= 1 })
	tailWait(t, "acked to the end", nil, func() bool {
		st := h.tl.Status()
		return len(st) == 1 && st[0].Shipped == int64(len(content))
	})
	h.advanceUntil("checkpoint at the end", func() bool {
		got, _ := readCheckpoint(cp, p)
		return got != nil && got.Offset == int64(len(content))
	})
	st := h.tl.Status()[0]
	if st.Size != int64(len(content)) || st.LagSeconds != 0 || st.Stream != "app.log" {
		t.Fatalf("status %+v", st)
	}
}

func TestTailMultiLineFlushWait(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, "2026-01-01 one\n  more\n2026-01-01 two\n  more two\n")
	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: p, MultiLineStartPattern: `^\d{4}-`}, "", c)
	tailWait(t, "the first event", c, func() bool { return len(c.messages()) >= 1 })
	tailWait(t, "the file read", nil, func() bool {
		h.tl.mu.Lock()
		defer h.tl.mu.Unlock()
		return h.tl.files[p] != nil && len(h.tl.files[p].gens) == 1 && h.tl.files[p].gens[0].size == 48
	})
	if got := c.messages(); len(got) != 1 || got[0] != "2026-01-01 one\n  more" {
		t.Fatalf("before the flush wait: %q", got)
	}
	h.advanceUntil("the second event", func() bool { return len(c.messages()) >= 2 })
	if got := c.messages(); got[1] != "2026-01-01 two\n  more two" {
		t.Fatalf("after the flush wait: %q", got)
	}
}

func TestTailGlobMatchesDirectory(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub.log"), 0o755)
	writeFile(t, filepath.Join(dir, "a.log"), seqLines(0, 3))
	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: filepath.Join(dir, "*.log")}, "", c)
	tailWait(t, "3 lines", c, func() bool { return len(c.messages()) >= 3 })
	h.rescan()
	h.rescan()
	writeFile(t, filepath.Join(dir, "b.log"), seqLines(3, 4))
	tailWait(t, "4 lines", c, func() bool { return len(c.messages()) >= 4 })
	if n := h.count("matches a directory"); n != 1 {
		t.Fatalf("%d warnings, want 1", n)
	}
}

func TestTailPermissionDenied(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("root (and Windows) reads files whatever their mode")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, seqLines(0, 5))
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: p}, t.TempDir(), c)
	for range 3 {
		h.rescan()
	}
	tailWait(t, "the error in status", nil, func() bool { st := h.tl.Status(); return len(st) == 1 && st[0].LastError != "" })
	if n := h.count("cannot open"); n != 1 {
		t.Fatalf("%d warnings, want 1", n)
	}
	os.Chmod(p, 0o644)
	h.rescan()
	tailWait(t, "5 lines", c, func() bool { return len(c.messages()) >= 5 })
}

func TestTailLongLine(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	line := strings.Repeat("0123456789abcdé", (10<<20)/16)
	writeFile(t, p, line+"\nafter\n")
	c := newCollector()
	startTailer(t, config.LogFile{FilePath: p}, "", c)
	tailWait(t, "after", c, func() bool { m := c.messages(); return len(m) > 0 && m[len(m)-1] == "after" })
	m := c.messages()
	parts := m[:len(m)-1]
	var got strings.Builder
	for i, p := range parts {
		marker := fmt.Sprintf(" [stackhand: split %d/?]", i+1)
		if i == len(parts)-1 {
			marker = fmt.Sprintf(" [stackhand: split %d/%d]", len(parts), len(parts))
		}
		if !strings.HasSuffix(p, marker) {
			t.Fatalf("part %d of %d does not end with %q", i+1, len(parts), marker)
		}
		got.WriteString(strings.TrimSuffix(p, marker))
	}
	if got.String() != line {
		t.Fatalf("%d parts without their markers do not reassemble the line (%d of %d bytes)", len(parts), got.Len(), len(line))
	}
}
