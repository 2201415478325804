package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/testenv/awsfake"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// The log shipping end-to-end tests: an application (a goroutine of the test) appends
// numbered lines at a steady rate while its log is rotated, the agent is killed, or the
// CloudWatch Logs endpoint fails; at the end the stand-in must hold every line.

const (
	logsGroup = "/e2e/app"
	// appStream is the stream of app.log: log_stream_name "{instance_id}/{file_name}".
	appStream = awsInstance + "/app.log"
)

// logsConfig is a logs section shipping path to logsGroup, flushing every second.
func logsConfig(path string) string {
	return fmt.Sprintf(`logs:
  force_flush_interval: 1s
  files:
    - file_path: %s
      log_group_name: %s
      log_stream_name: "{instance_id}/{file_name}"
      retention_in_days: 7
`, path, logsGroup)
}

// seqLine is line i of a seqLog without its newline: "seq=000123 ...", 99 bytes.
func seqLine(i int) string {
	s := fmt.Sprintf(`seq=%06d level=info msg="request served" path=/api/items/%d status=200 pad=`, i, i%977)
	return s + strings.Repeat("x", 99-len(s))
}

// seqLog is an application writing its log: from its own goroutine it appends perTick
// numbered lines every 10 ms to path, opened with O_APPEND as loggers open their files.
// The test rotates the file, pauses the writer and reads how far it got.
type seqLog struct {
	t       *testing.T
	path    string
	perTick int

	mu sync.Mutex
	f  *os.File
	n  int // lines written: seq 1..n

	stopc chan struct{}
	done  chan struct{}
}

func startSeqLog(t *testing.T, path string, perTick int) *seqLog {
	t.Helper()
	l := &seqLog{t: t, path: path, perTick: perTick, stopc: make(chan struct{}), done: make(chan struct{})}
	l.f = l.open()
	go l.run()
	t.Cleanup(func() { l.stop() })
	return l
}

func (l *seqLog) open() *os.File {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		l.t.Error(err)
		return nil
	}
	return f
}

func (l *seqLog) run() {
	defer close(l.done)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-l.stopc:
			return
		case <-tick.C:
		}
		l.mu.Lock()
		l.writeLocked(l.perTick)
		l.mu.Unlock()
	}
}

// writeLocked appends the next k lines in one write; l.mu held.
func (l *seqLog) writeLocked(k int) {
	var b strings.Builder
	for range k {
		l.n++
		b.WriteString(seqLine(l.n))
		b.WriteByte('\n')
	}
	if _, err := l.f.WriteString(b.String()); err != nil {
		l.t.Errorf("the application cannot write its log: %v", err)
	}
}

// stop ends the writer and returns how many lines it wrote.
func (l *seqLog) stop() int {
	select {
	case <-l.stopc:
	default:
		close(l.stopc)
	}
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	return l.n
}

func (l *seqLog) written() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// rotate renames the log away as logrotate does (app.log.1 → app.log.2, app.log →
// app.log.1); the application writes one more batch of lines to the renamed file, as
// one that has not been told yet would, then reopens app.log.
func (l *seqLog) rotate() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := os.Rename(l.path+".1", l.path+".2"); err != nil && !os.IsNotExist(err) {
		l.t.Fatal(err)
	}
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		l.t.Fatal(err)
	}
	l.writeLocked(l.perTick)
	l.f.Close()
	l.f = l.open()
}

// copyTruncate rotates the log as logrotate's copytruncate does: copy it to app.log.1,
// then truncate it in place while the application keeps its descriptor. The writer is
// paused throughout; before the copy, caughtUp must wait until the agent has read every
// line written, and after the truncation, noticed until the agent has seen it.
func (l *seqLog) copyTruncate(caughtUp func(n int), noticed func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	caughtUp(l.n)
	src, err := os.Open(l.path)
	if err != nil {
		l.t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(l.path + ".1")
	if err != nil {
		l.t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		l.t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		l.t.Fatal(err)
	}
	if err := os.Truncate(l.path, 0); err != nil {
		l.t.Fatal(err)
	}
	noticed()
}

// seqStats is what a stream holds of a seqLog's lines.
type seqStats struct {
	// missing are the sequence numbers 1..n never received.
	missing []int
	// dups counts events received more than once.
	dups int
	// restarts has, for each place where the stream goes back to a line it already
	// holds (a restart after a crash resending from its checkpoint), how many events
	// it repeats; restartAt the index of the event where it goes back.
	restarts, restartAt []int
	// bad are the events that must never be: garbled lines, lines after a gap.
	bad []string
}

// analyse reads a stream's events in the order they arrived. Lines of one agent run
// arrive in file order, each the one after the last; a run started after a crash goes
// back at most to its checkpoint. Anything else is bad.
func analyse(events []awsfake.LogEvent, n int) seqStats {
	var st seqStats
	seen := make([]int, n+1)
	prev := 0
	for i, e := range events {
		seq, err := strconv.Atoi(strings.TrimPrefix(e.Message[:min(len(e.Message), 10)], "seq="))
		if err != nil || seq < 1 || seq > n || e.Message != seqLine(seq) {
			st.bad = append(st.bad, fmt.Sprintf("event %d: garbled %q", i, e.Message))
			continue
		}
		if seen[seq]++; seen[seq] > 1 {
			st.dups++
		}
		switch {
		case seq == prev+1:
		case seq <= prev:
			st.restarts = append(st.restarts, prev-seq+1)
			st.restartAt = append(st.restartAt, i)
		default:
			st.bad = append(st.bad, fmt.Sprintf("event %d: seq %d after seq %d", i, seq, prev))
		}
		prev = seq
	}
	for s := 1; s <= n; s++ {
		if seen[s] == 0 {
			st.missing = append(st.missing, s)
		}
	}
	return st
}

// holdsAll reports whether a stream holds every line 1..n.
func holdsAll(srv *awsfake.Server, stream string, n int) bool {
	if srv.LogEventCount(logsGroup, stream) < n {
		return false
	}
	return len(analyse(srv.LogEvents(logsGroup, stream), n).missing) == 0
}

// within is until with its own deadline, for waits longer than waitLimit.
func (w *world) within(limit time.Duration, what string, a *agent, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out after %s waiting for %s\nagent output:\n%s", limit, what, a.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitShipped waits until the app stream holds lines 1..n.
func (w *awsWorld) waitShipped(a *agent, n int, limit time.Duration) {
	w.t.Helper()
	w.within(limit, fmt.Sprintf("lines 1..%d in %s", n, appStream), a, func() bool { return holdsAll(w.aws, appStream, n) })
}

// checkComplete fails the test unless the app stream holds lines 1..n, in order, with no
// bad event and no duplicate; it returns the figures for checks of their own.
func checkComplete(t *testing.T, srv *awsfake.Server, n int, dupsAllowed bool) seqStats {
	t.Helper()
	st := analyse(srv.LogEvents(logsGroup, appStream), n)
	if len(st.missing) > 0 {
		t.Errorf("%d of %d lines never arrived, first %v", len(st.missing), n, st.missing[:min(10, len(st.missing))])
	}
	if len(st.bad) > 0 {
		t.Errorf("%d events out of order or garbled, first %v", len(st.bad), st.bad[:min(5, len(st.bad))])
	}
	if !dupsAllowed && st.dups > 0 {
		t.Errorf("%d duplicate events (restarts %v) though the agent never crashed", st.dups, st.restarts)
	}
	if streams := srv.LogStreams(logsGroup); !slices.Contains(streams, appStream) {
		t.Errorf("streams of %s: %v, want %s", logsGroup, streams, appStream)
	}
	if days, ok := srv.LogGroup(logsGroup); !ok || days != 7 {
		t.Errorf("log group %s: exists %v, retention %d days, want 7", logsGroup, ok, days)
	}
	return st
}

// noRefusedLogsCalls fails the test when the stand-in refused a CloudWatch Logs call
// other than by an injected fault or by the answers of creating a group and its streams
// on demand (not found; already exists, when two streams create their group at once):
// a batch or a name AWS would refuse.
func noRefusedLogsCalls(t *testing.T, srv *awsfake.Server) {
	t.Helper()
	for _, c := range srv.CallLog() {
		if c.Service == "logs" && c.ErrorCode != "" && c.Fault == "" &&
			c.ErrorCode != "ResourceNotFoundException" && c.ErrorCode != "ResourceAlreadyExistsException" {
			t.Errorf("logs %s refused: %s (status %d)", c.Action, c.ErrorCode, c.Status)
		}
	}
}

// logsStatus returns the "logs" reporter of `stackhand status --json`, nil if none yet.
func logsStatus(w *world) map[string]any {
	r, _ := w.statusJSON()["reporters"].(map[string]any)
	l, _ := r["logs"].(map[string]any)
	return l
}

func newLogsWorld(t *testing.T) (*awsWorld, string) {
	return newLogsWorldCompressed(t, "")
}

// newLogsWorldCompressed is newLogsWorld with the entry's compression set to comp ("":
// left out, gzip).
func newLogsWorldCompressed(t *testing.T, comp string) (*awsWorld, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "app.log")
	cfg := logsConfig(path)
	if comp != "" {
		cfg += "      compression: " + comp + "\n"
	}
	return newAWSWorld(t, cfg, imdsmock.Config{}), path
}

// The compressions of logs.files entries. The scenarios where the way a body goes on
// the wire could matter (rotation, SIGKILL, throttling) run for each; the 60 s outage,
// whose failed calls never reach a decoder, for gzip only (see
// TestAWSLogsEndpointDownSixtySeconds).
var logCompressions = []string{"gzip", "huffman", "none"}

// forEachCompression runs scenario as a parallel subtest for each of logCompressions.
func forEachCompression(t *testing.T, scenario func(t *testing.T, comp string)) {
	for _, comp := range logCompressions {
		t.Run(comp, func(t *testing.T) {
			t.Parallel()
			scenario(t, comp)
		})
	}
}

// checkContentEncoding fails the test unless every PutLogEvents to the app stream went
// as comp sends it: gzipped (gzip, huffman) or plain JSON without a Content-Encoding
// (none). (The agent's own streams follow logs.compression, not the entry's.)
func checkContentEncoding(t *testing.T, srv *awsfake.Server, comp string) {
	t.Helper()
	want := "gzip"
	if comp == "none" {
		want = ""
	}
	for _, c := range srv.CallLog() {
		if c.Action == "PutLogEvents" && c.Input["logStreamName"] == appStream && c.ContentEncoding != want {
			t.Errorf("PutLogEvents with Content-Encoding %q, want %q for compression %s", c.ContentEncoding, want, comp)
			return
		}
	}
}

// Rename rotation five times while 200 lines/s are written, two of them 50 lines
// apart so that a renamed file is renamed again before it is read to its end: every
// line arrives once, in order, in the stream and group configured, and the group
// created gets its retention. For each compression.
func TestAWSLogsRenameRotation(t *testing.T) {
	t.Parallel()
	forEachCompression(t, testLogsRenameRotation)
}

func testLogsRenameRotation(t *testing.T, comp string) {
	w, path := newLogsWorldCompressed(t, comp)
	a := w.startAWS()
	app := startSeqLog(t, path, 2)
	for i, at := range []int{300, 600, 650, 900, 1200} {
		w.until(fmt.Sprintf("%d lines written before rotation %d", at, i+1), a, func() bool { return app.written() >= at })
		app.rotate()
	}
	w.until("1,500 lines written", a, func() bool { return app.written() >= 1500 })
	n := app.stop()
	w.waitShipped(a, n, waitLimit)
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	checkComplete(t, w.aws, n, false)
	t.Logf("%d lines across 5 rotations", n)
	checkContentEncoding(t, w.aws, comp)
	noRefusedLogsCalls(t, w.aws)
}

// A file written once and left alone is shipped at once, not after
// force_flush_interval (here a minute): the tailer tells the batcher the file is
// caught up and quiet.
func TestAWSLogsQuietFileNeedsNoFlushInterval(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "app.log")
	cfg := strings.Replace(logsConfig(path), "force_flush_interval: 1s", "force_flush_interval: 1m", 1)
	w := newAWSWorld(t, cfg, imdsmock.Config{})
	var b strings.Builder
	for i := 1; i <= 100; i++ {
		b.WriteString(seqLine(i))
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	a := w.startAWS()
	w.waitShipped(a, 100, 30*time.Second)
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	checkComplete(t, w.aws, 100, false)
}

// copytruncate four times while lines are written. copytruncate itself loses the lines
// written between the copy and the truncation that the tailer has not read yet, and a
// truncated file that grows past the old offset before the tailer looks again is read
// from that offset: no tool can follow either. So that the test shows what the agent
// does rather than that race, the writer pauses around each copy and truncation, the
// copy starts once the stand-in holds every line written (the tailer read the file to
// its end), and the writer resumes once the agent logged that it saw the truncation.
func TestAWSLogsCopyTruncate(t *testing.T) {
	t.Parallel()
	w, path := newLogsWorld(t)
	a := w.startAWS()
	app := startSeqLog(t, path, 2)
	const rotations = 4
	for i := 1; i <= rotations; i++ {
		w.until(fmt.Sprintf("200 lines before copytruncate %d", i), a, func() bool { return app.written() >= 200*i })
		app.copyTruncate(func(n int) {
			w.until(fmt.Sprintf("lines up to %d shipped before copytruncate %d", n, i), a, func() bool { return holdsAll(w.aws, appStream, n) })
		}, func() {
			w.until(fmt.Sprintf("the agent to see truncation %d", i), a, func() bool {
				return strings.Count(a.output(), "file was truncated") >= i
			})
		})
	}
	n := app.stop()
	w.waitShipped(a, n, waitLimit)
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	checkComplete(t, w.aws, n, false)
	t.Logf("%d lines across %d copytruncates", n, rotations)
	noRefusedLogsCalls(t, w.aws)
}

// crashSeed is the seed of the kill moments: STACKHAND_E2E_SEED, or the clock.
func crashSeed(t *testing.T) uint64 {
	if s := os.Getenv("STACKHAND_E2E_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("STACKHAND_E2E_SEED=%q: %v", s, err)
		}
		return v
	}
	return uint64(time.Now().UnixNano())
}

// batchStarts returns, for the events of stream in the order they arrived, the index of
// the first event of each batch (accepted PutLogEvents call) and, last, the number of
// events.
func batchStarts(srv *awsfake.Server, stream string) []int {
	starts := []int{0}
	for _, c := range srv.CallLog() {
		if c.Action != "PutLogEvents" || c.Status != 200 || c.Input["logStreamName"] != stream {
			continue
		}
		if ev, ok := c.Input["logEvents"].(map[string]any); ok {
			n, _ := ev["count"].(int)
			starts = append(starts, starts[len(starts)-1]+n)
		}
	}
	return starts
}

// SIGKILL ten times at random moments while 200 lines/s are written (some shortly after
// a batch was stored, some after a few batches), restarting each time: every line arrives, and the only duplicates are where a restarted agent resends
// from its checkpoint lines an earlier run had stored — at most one batch per crash
// (checkpoints follow acknowledgements within 200 ms, batches leave once a second). For
// each compression.
func TestAWSLogsSIGKILLLosesNothing(t *testing.T) {
	t.Parallel()
	forEachCompression(t, testLogsSIGKILLLosesNothing)
}

func testLogsSIGKILLLosesNothing(t *testing.T, comp string) {
	seed := crashSeed(t)
	t.Logf("kill moments seeded with %d (STACKHAND_E2E_SEED=%d repeats them)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	w, path := newLogsWorldCompressed(t, comp)
	a := w.startAWS()
	app := startSeqLog(t, path, 2)
	const kills = 10
	batches := func(k int) {
		for range k {
			stored := w.aws.LogEventCount(logsGroup, appStream)
			w.until("a batch stored", a, func() bool { return w.aws.LogEventCount(logsGroup, appStream) > stored })
		}
	}
	for i := range kills {
		// The random moments are the scenario, not waits for the agent.
		switch i % 3 {
		case 0: // anywhere, from start-up on
			time.Sleep(time.Duration(rng.Int64N(int64(2500 * time.Millisecond))))
		case 1: // within 250 ms of a batch being stored: the checkpoint may lag
			batches(1)
			time.Sleep(time.Duration(rng.Int64N(int64(250 * time.Millisecond))))
		case 2: // after a run that checkpointed a few batches
			batches(3)
			time.Sleep(time.Duration(rng.Int64N(int64(time.Second))))
		}
		a.kill()
		a = w.startAWS()
	}
	n := app.stop()
	w.waitShipped(a, n, waitLimit)
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	st := checkComplete(t, w.aws, n, true)
	t.Logf("%d lines, %d kills: %d duplicates in %d resends %v", n, kills, st.dups, len(st.restarts), st.restarts)
	if len(st.restarts) > kills {
		t.Errorf("the stream went back %d times (%v), more than the %d crashes", len(st.restarts), st.restarts, kills)
	}
	// What a restart resends must all have come in the batch just before it: the one
	// whose acknowledgement the killed agent had not checkpointed yet. (Its first copies
	// may be older: a run killed before its checkpoint resends, in one catch-up batch,
	// what the run before it had sent.)
	starts := batchStarts(w.aws, appStream)
	if total := w.aws.LogEventCount(logsGroup, appStream); starts[len(starts)-1] != total {
		t.Fatalf("the call log counts %d events in accepted batches, the stream holds %d", starts[len(starts)-1], total)
	}
	for k, at := range st.restartAt {
		b := sort.SearchInts(starts, at+1) - 1 // the batch of event at
		if starts[b] != at {
			t.Errorf("resend %d starts inside a batch (event %d, batch from %d)", k+1, at, starts[b])
			continue
		}
		if prev := starts[b] - starts[b-1]; st.restarts[k] > prev {
			t.Errorf("resend %d repeats %d events, more than the %d of the batch before it", k+1, st.restarts[k], prev)
		}
	}
	checkContentEncoding(t, w.aws, comp)
	noRefusedLogsCalls(t, w.aws)
}

// The CloudWatch Logs endpoint is gone for 60 s (every connection dropped) while 200
// lines/s are written and the log is rotated: the files are the buffer. status shows the
// failure while it lasts and clears once batches go through; every line arrives once.
// With gzip only: what the outage tests (retries without end, the files as the buffer,
// status) does not depend on how a body is encoded, which is encoded once and resent as
// is in every mode (logship's TestRetryResendsSameBatch), and a second minute of
// outage per mode would cost make test two.
func TestAWSLogsEndpointDownSixtySeconds(t *testing.T) {
	t.Parallel()
	w, path := newLogsWorld(t)
	a := w.startAWS()
	app := startSeqLog(t, path, 2)
	w.until("the first lines shipped", a, func() bool { return holdsAll(w.aws, appStream, 100) })

	w.aws.SetFaults(awsfake.Faults{DropRate: 1, Only: map[string]bool{"logs:*": true}})
	down := time.Now()
	var lastErr string
	// The shipper reports to status every 10 s.
	w.within(45*time.Second, "status to show the logs reporter failing", a, func() bool {
		l := logsStatus(w.world)
		lastErr, _ = l["last_error"].(string)
		return lastErr != ""
	})
	t.Logf("status while down, after %s: %s", time.Since(down).Round(time.Second), lastErr)
	if !strings.Contains(lastErr, appStream) {
		t.Errorf("logs last_error %q does not name the stream %s", lastErr, appStream)
	}
	stored := w.aws.LogEventCount(logsGroup, appStream)
	app.rotate()
	// The outage's length is the scenario.
	time.Sleep(time.Until(down.Add(60 * time.Second)))
	if now := w.aws.LogEventCount(logsGroup, appStream); now != stored {
		t.Errorf("%d events stored while the endpoint dropped every connection", now-stored)
	}
	behind := app.written() - stored
	w.aws.SetFaults(awsfake.Faults{})
	up := time.Now()
	t.Logf("endpoint back after %s with %d lines to catch up", up.Sub(down).Round(time.Second), behind)

	// Batches wait at most 30 s (the longest backoff) before the next try.
	w.within(60*time.Second, "the lines written during the outage", a, func() bool { return holdsAll(w.aws, appStream, stored+behind) })
	t.Logf("caught up %s after the endpoint came back", time.Since(up).Round(100*time.Millisecond))
	n := app.stop()
	w.waitShipped(a, n, waitLimit)
	w.within(30*time.Second, "status without the logs error", a, func() bool {
		l := logsStatus(w.world)
		return l != nil && l["last_error"] == nil
	})
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	checkComplete(t, w.aws, n, false)
	dropped := 0
	for _, c := range w.aws.CallLog() {
		if c.Service == "logs" && c.Fault == "drop" {
			dropped++
		}
	}
	t.Logf("%d lines; %d calls dropped during the outage", n, dropped)
	if dropped == 0 {
		t.Error("no call met the outage")
	}
	noRefusedLogsCalls(t, w.aws)
}

// 30 % of CloudWatch Logs calls throttled from the start: every line arrives, once, in
// order. For each compression.
func TestAWSLogsThrottled(t *testing.T) {
	t.Parallel()
	forEachCompression(t, testLogsThrottled)
}

func testLogsThrottled(t *testing.T, comp string) {
	w, path := newLogsWorldCompressed(t, comp)
	w.aws.SetFaults(awsfake.Faults{Seed: 30, ThrottleRate: 0.3, Only: map[string]bool{"logs:*": true}})
	a := w.startAWS()
	app := startSeqLog(t, path, 2)
	w.until("1,000 lines written", a, func() bool { return app.written() >= 1000 })
	n := app.stop()
	w.waitShipped(a, n, waitLimit)
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	checkComplete(t, w.aws, n, false)
	throttled, puts := 0, 0
	for _, c := range w.aws.CallLog() {
		if c.Action == "PutLogEvents" {
			puts++
			if c.Fault == "throttle" {
				throttled++
			}
		}
	}
	t.Logf("%d lines; %d of %d PutLogEvents throttled", n, throttled, puts)
	if throttled == 0 {
		t.Error("no PutLogEvents was throttled")
	}
	checkContentEncoding(t, w.aws, comp)
	noRefusedLogsCalls(t, w.aws)
}

// The hooks' output and the agent's own log go to <instance>/hooks and <instance>/agent
// of the first entry's group.
func TestAWSLogsHooksAndAgentStreams(t *testing.T) {
	t.Parallel()
	w, path := newLogsWorld(t)
	if err := os.WriteFile(path, []byte(seqLine(1)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.hook("configure", "10-say", `echo "hook says hello to $STACKHAND_EVENT"; echo "hook complains on stderr" >&2`)
	a := w.startAWS()
	messages := func(stream string) string {
		var b strings.Builder
		for _, e := range w.aws.LogEvents(logsGroup, stream) {
			b.WriteString(e.Message + "\n")
		}
		return b.String()
	}
	hooks, agentStream := awsInstance+"/hooks", awsInstance+"/agent"
	w.until("the hook's output in "+hooks, a, func() bool {
		m := messages(hooks)
		return strings.Contains(m, "hook says hello to configure") && strings.Contains(m, "hook complains on stderr")
	})
	w.until("the agent's log in "+agentStream, a, func() bool { return strings.Contains(messages(agentStream), "engine started") })
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	// The agent's log is JSON lines, one event each.
	for _, e := range w.aws.LogEvents(logsGroup, agentStream) {
		var m map[string]any
		if err := json.Unmarshal([]byte(e.Message), &m); err != nil {
			t.Errorf("agent log event is not one JSON line: %q", e.Message)
			break
		}
	}
	if got, want := w.aws.LogStreams(logsGroup), []string{agentStream, appStream, hooks}; !slices.Equal(got, want) {
		t.Errorf("streams %v, want %v", got, want)
	}
	noRefusedLogsCalls(t, w.aws)
}

// In mode local the lines land in local.dir/logs/<group>/<stream>.jsonl, each name
// path-escaped (README, "Shipping logs to CloudWatch Logs").
func TestLocalLogsWriteJSONLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	w := newWorld(t, logsConfig(path))
	const instance = "i-0e2e0000000000001" // newWorld's instance.json
	a := w.start()
	app := startSeqLog(t, path, 1)
	w.until("300 lines written", a, func() bool { return app.written() >= 300 })
	n := app.stop()
	// The names as README gives them: each path-escaped, "/" written %2F.
	file := filepath.Join(w.local, "logs", "%2Fe2e%2Fapp", instance+"%2Fapp.log.jsonl")
	read := func() []awsfake.LogEvent {
		f, err := os.Open(file)
		if err != nil {
			return nil
		}
		defer f.Close()
		var out []awsfake.LogEvent
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var e struct {
				Timestamp int64  `json:"timestamp"`
				Message   string `json:"message"`
			}
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("%s: %v: %q", file, err, sc.Text())
			}
			out = append(out, awsfake.LogEvent{Timestamp: e.Timestamp, Message: e.Message})
		}
		return out
	}
	w.until(fmt.Sprintf("%d lines in %s", n, file), a, func() bool { return len(read()) >= n })
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	events := read()
	st := analyse(events, n)
	if len(st.missing) > 0 || len(st.bad) > 0 || st.dups > 0 {
		t.Errorf("%s: missing %v, bad %v, %d duplicates", file, st.missing, st.bad, st.dups)
	}
	for _, e := range events {
		if d := time.Since(time.UnixMilli(e.Timestamp)); d < 0 || d > time.Minute {
			t.Errorf("event timestamp %d is not the time it was read", e.Timestamp)
			break
		}
	}
}

// appendSeq appends lines from..to of seqLine to path.
func appendSeq(t *testing.T, path, prefix string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(prefix)
	for i := from; i <= to; i++ {
		b.WriteString(seqLine(i))
		b.WriteByte('\n')
	}
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// The agent is stopped; the application goes on writing and its log is rotated twice
// (app.log → app.log.1 → app.log.2), with lines in each generation. The checkpoint names
// the oldest generation; the middle one only its place in the rotation set. After the
// start every line arrives, in order, once.
func TestAWSLogsRotatedTwiceWhileDown(t *testing.T) {
	t.Parallel()
	w, path := newLogsWorld(t)
	a := w.startAWS()
	app := startSeqLog(t, path, 2)
	w.until("300 lines written", a, func() bool { return app.written() >= 300 })
	w.waitShipped(a, 300, waitLimit)
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	for i, at := range []int{600, 900} {
		w.until(fmt.Sprintf("%d lines written before rotation %d", at, i+1), a, func() bool { return app.written() >= at })
		app.rotate()
	}
	w.until("1,200 lines written", a, func() bool { return app.written() >= 1200 })
	a = w.startAWS()
	n := app.stop()
	w.waitShipped(a, n, waitLimit)
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	checkComplete(t, w.aws, n, false)
	if !strings.Contains(a.output(), "shipping a file rotated while the agent was down") {
		t.Errorf("the middle generation's pickup is not logged:\n%s", a.output())
	}
	t.Logf("%d lines, 2 rotations while the agent was down", n)
	noRefusedLogsCalls(t, w.aws)
}

// The agent is stopped; the log, which starts with a banner longer than a KiB, is copied
// to app.log.1 and truncated (copytruncate), then written again — the same banner, then
// more lines than before — past the offset the checkpoint names. After the start the
// agent reads the copy from the checkpoint and the new file from its start: every line
// arrives, in order, once, and the truncation is logged.
func TestAWSLogsCopyTruncateWhileDown(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "app.log")
	cfg := logsConfig(path) + "      filters:\n        - type: exclude\n          expression: '^banner'\n"
	w := newAWSWorld(t, cfg, imdsmock.Config{})
	banner := "banner " + strings.Repeat("=", 1100) + "\n"
	appendSeq(t, path, banner, 1, 300)
	a := w.startAWS()
	w.waitShipped(a, 300, waitLimit)
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	appendSeq(t, path, "", 301, 400)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".1", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendSeq(t, path, banner, 401, 1000)
	a = w.startAWS()
	w.waitShipped(a, 1000, waitLimit)
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	checkComplete(t, w.aws, 1000, false)
	if !strings.Contains(a.output(), "truncated while the agent was down") {
		t.Errorf("the truncation is not logged:\n%s", a.output())
	}
	noRefusedLogsCalls(t, w.aws)
}

// TestAWSLogsNamesFromTagsAndPlacement: log group and stream names take the instance's
// tags ({tag:KEY}, read at discovery through DescribeTags here, as IMDS has no tags),
// its Auto Scaling group, zone, region and type. A tag the instance does not have
// expands to nothing and says so in the agent's log.
func TestAWSLogsNamesFromTagsAndPlacement(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "app.log")
	var b strings.Builder
	for i := 1; i <= 50; i++ {
		b.WriteString(seqLine(i))
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`logs:
  force_flush_interval: 1s
  files:
    - file_path: %s
      log_group_name: "/e2e/{tag:Role}/{region}"
      log_stream_name: "{asg}/{az}/{instance_type}/{tag:Missing}x"
`, path)
	w := newAWSWorld(t, cfg, imdsmock.Config{})
	a := w.startAWS()
	const group, stream = "/e2e/web/us-east-1", awsGroup + "/us-east-1a/t3.small/x"
	w.within(30*time.Second, "50 lines in "+group+" "+stream, a, func() bool {
		return w.aws.LogEventCount(group, stream) == 50
	})
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if log := a.output(); !strings.Contains(log, "the instance has no tag this log name asks for") || !strings.Contains(log, `"Missing"`) {
		t.Errorf("no warning about the missing tag in the agent's log:\n%s", log)
	}
}

// TestLocalLogsNamesFromTags: in mode local, {tag:KEY} takes tags.json's value, as the
// tags source reads it.
func TestLocalLogsNamesFromTags(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "app.log")
	appendSeq(t, path, "", 1, 20)
	w := newWorld(t, strings.Replace(logsConfig(path), "log_group_name: "+logsGroup, `log_group_name: "/e2e/{tag:Role}"`, 1))
	w.writeLocal("tags.json", `{"Role": "web server"}`)
	const instance = "i-0e2e0000000000001" // newWorld's instance.json
	a := w.start()
	file := filepath.Join(w.local, "logs", "%2Fe2e%2Fweb_server", instance+"%2Fapp.log.jsonl")
	w.until("20 lines in "+file, a, func() bool {
		b, _ := os.ReadFile(file)
		return bytes.Count(b, []byte("\n")) == 20
	})
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}
