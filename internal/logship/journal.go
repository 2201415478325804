package logship

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/atomicfile"
	"github.com/stackhand/stackhand/internal/backoff"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/status"
	"github.com/stackhand/stackhand/internal/trust"
)

// JournalctlPaths are where the agent looks for journalctl, in order: never $PATH, as
// root runs it. The one it runs must pass trust.Check (owned by root and writable by
// nobody else, through every directory above it).
var JournalctlPaths = []string{"/usr/bin/journalctl", "/bin/journalctl"}

// journalRestart bounds the wait before journalctl is started again after it ended.
var journalRestart = backoff.Policy{Base: time.Second, Factor: 2, Max: 30 * time.Second, Jitter: 0.2}

// journalStderrKeep is how much of journalctl's error output is kept for the log and
// status.
const journalStderrKeep = 4096

// journalReader follows one logs.journald entry: it runs journalctl -o export --follow
// with the entry's units, priority and matches, hands each entry's message to the
// batcher, and checkpoints the cursor of the last entry CloudWatch Logs stored, so a
// restart resumes after it (at most a batch is sent twice after a SIGKILL; none is
// lost while the journal still holds it).
type journalReader struct {
	name  string // "logs.journald[0]"
	entry config.Journal
	key   StreamKey
	src   SourceID
	put   func(context.Context, StreamKey, Event) error
	rc    *recordConfig // filters only
	ckp   string        // checkpoint file
	clk   clock.Clock
	log   *zap.Logger
	exe   func() (string, error)
	// onlyMessage: journalctl writes only the fields the agent reads (--output-fields,
	// systemd 236 and later), set once at the first start from journalctl --version.
	onlyMessage bool
	versionRead bool
	// oldest returns the cursor of the journal's oldest entry (oldestCursor; tests set
	// their own).
	oldest func(ctx context.Context, exe string) (string, error)

	// pos is each entry read, by cursor, until CloudWatch Logs stored it; its
	// checkpoint is the cursor of the last stored.
	pos ackedPositions[string]

	mu      sync.Mutex
	resume  string // cursor to go on from after journalctl ends: the last read
	lost    int64  // entries vacuumed before they were shipped
	lastAt  time.Time
	lastErr string
	errAt   time.Time
	stderr  *tailBuffer // the running journalctl's error output; nil when none runs
}

// journalCheckpoint is the content of a journal's checkpoint file.
type journalCheckpoint struct {
	Cursor string `json:"cursor"`
	Entry  string `json:"entry"` // what the entry reads, for a person looking at the file
}

// journalCheckpointFile names the checkpoint of entry j in dir: a hash of what chooses
// its entries and where they go, so that changing either starts afresh (by start_at).
func journalCheckpointFile(dir string, j config.Journal) string {
	return filepath.Join(dir, "journal-"+journalID(j)[:16]+".json")
}

func journalID(j config.Journal) string {
	b, _ := json.Marshal(struct {
		U  []string
		P  string
		M  []map[string]string
		D  string
		G  string
		St string
	}{j.Units, j.Priority, j.Matches, j.Directory, j.LogGroupName, j.LogStreamName})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (j *journalReader) describe() string {
	var parts []string
	if len(j.entry.Units) > 0 {
		parts = append(parts, "units "+strings.Join(j.entry.Units, ","))
	}
	parts = append(parts, "priority "+j.entry.Priority)
	if len(j.entry.Matches) > 0 {
		parts = append(parts, fmt.Sprintf("%d matches", len(j.entry.Matches)))
	}
	if j.entry.Directory != "" {
		parts = append(parts, "directory "+j.entry.Directory)
	}
	return "journal (" + strings.Join(parts, ", ") + ")"
}

// findJournalctl returns the first of JournalctlPaths that exists and is trusted.
func findJournalctl() (string, error) {
	if runtime.GOOS == "windows" {
		return "", errors.New("the systemd journal is read on Linux only: remove logs.journald from this host's configuration")
	}
	var errs []error
	for _, p := range JournalctlPaths {
		res, err := trust.Check(p, "journalctl", trust.File, os.Geteuid())
		if err == nil {
			return res.Resolved, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return "", errors.Join(errs...)
	}
	return "", fmt.Errorf("journalctl is not at %s: install systemd's journalctl (package systemd) to ship the journal", strings.Join(JournalctlPaths, " or "))
}

// args are journalctl's arguments to follow the entry from cursor (none: from start_at).
func (j *journalReader) args(cursor string) []string {
	a := []string{"--output=export", "--follow", "--no-pager", "--quiet"}
	if j.onlyMessage {
		// The cursor and the timestamps come always; an entry's other fields (twenty
		// and more, its process's command line among them) are neither read nor
		// parsed: two thirds of journalctl's CPU and most of the agent's.
		a = append(a, "--output-fields=MESSAGE")
	}
	if j.entry.Directory != "" {
		// Files another machine wrote (a directory from systemd-journal-remote, an
		// image's journal) are read only with --merge.
		a = append(a, "--directory="+j.entry.Directory, "--merge")
	}
	// With --follow, journalctl shows only 10 entries of those already written unless
	// told otherwise, and then waits for new ones: after a cursor as from a start_at, the
	// rest would stay unshipped until the journal was next written (and behind the
	// following entries after that). So every start but "end" says --lines=all.
	switch {
	case cursor != "":
		// --cursor, not --after-cursor: when the cursor's entry is gone, journalctl 252
		// skips one entry more after the place it would have been. The entry itself,
		// when still there, is dropped by its cursor.
		a = append(a, "--cursor="+cursor, "--lines=all")
	case j.entry.StartAt == "end":
		a = append(a, "--lines=0")
	case j.entry.StartAt == "boot":
		a = append(a, "--boot", "--lines=all")
	default: // beginning
		a = append(a, "--lines=all")
	}
	if p, _ := config.JournalPriority(j.entry.Priority); p < 7 {
		a = append(a, fmt.Sprintf("--priority=%d", p))
	}
	for _, u := range j.entry.Units {
		a = append(a, "--unit="+u)
	}
	for i, m := range j.entry.Matches {
		if i > 0 {
			a = append(a, "+")
		}
		for _, f := range slices.Sorted(maps.Keys(m)) {
			a = append(a, f+"="+m[f])
		}
	}
	return a
}

// Run follows the journal until ctx ends, starting journalctl again (with a growing
// wait) whenever it ends or cannot start.
func (j *journalReader) Run(ctx context.Context) error {
	// The checkpoint's directory is made once, not at every write.
	if err := os.MkdirAll(filepath.Dir(j.ckp), 0o700); err != nil {
		j.log.Error("cannot make the journal checkpoint directory: a restart would ship again what was shipped", zap.String("entry", j.name), zap.Error(err))
	}
	if cp, err := j.readCheckpoint(); err != nil {
		j.fail(fmt.Sprintf("checkpoint %s: %v; reading from start_at %s", j.ckp, err, j.entry.StartAt))
	} else if cp != "" {
		j.mu.Lock()
		j.resume = cp
		j.mu.Unlock()
		j.pos.restore(cp)
	}
	first := true
	for attempt := 0; ; {
		ran, err := j.follow(ctx, first)
		first = false
		if ctx.Err() != nil {
			return nil
		}
		if ran {
			attempt = 0
		}
		wait := journalRestart.Delay(attempt)
		attempt++
		j.fail(fmt.Sprintf("%v; starting journalctl again in %s", err, wait.Round(time.Second)))
		j.log.Warn("following the journal stopped", zap.String("entry", j.name), zap.Error(err), zap.Duration("retry_in", wait))
		if !clock.Sleep(ctx, j.clk, wait) {
			return nil
		}
	}
}

// follow runs journalctl once; ran reports that it delivered an entry (so the restart
// wait starts over). first is the agent's first run on the checkpoint, when a cursor
// the journal no longer holds is counted as a loss.
func (j *journalReader) follow(ctx context.Context, first bool) (ran bool, err error) {
	exe, err := j.exe()
	if err != nil {
		return false, err
	}
	if !j.versionRead {
		j.versionRead = true
		j.onlyMessage = journalctlVersion(ctx, exe) >= 236
	}
	j.mu.Lock()
	cursor := j.resume
	j.mu.Unlock()
	cmd := exec.CommandContext(ctx, exe, j.args(cursor)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.SysProcAttr = journalctlAttr()
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = []string{"LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0"}
	stderr := &tailBuffer{max: journalStderrKeep}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return false, err
	}
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("start %s: %w", exe, err)
	}
	j.mu.Lock()
	j.stderr = stderr
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		j.stderr = nil
		j.mu.Unlock()
	}()
	r := bufio.NewReaderSize(out, 64<<10)
	var e journalEntry
	atCursor := cursor != ""
	var readErr error
	for {
		if err := readExportEntry(r, &e); err != nil {
			if err != io.EOF {
				readErr = err
			}
			break
		}
		if atCursor {
			atCursor = false
			if e.cursor == cursor {
				continue // shipped before
			}
			if first {
				j.countVacuumed(ctx, exe, cursor)
			}
		}
		ran = true
		if err := j.ship(ctx, &e); err != nil {
			break // ctx ended
		}
	}
	// Whatever ended the output, journalctl is stopped and waited for.
	if readErr != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return ran, ctx.Err()
	}
	msg := strings.TrimSpace(stderr.String())
	switch {
	case readErr != nil:
		return ran, fmt.Errorf("%s: %w", exe, readErr)
	case waitErr != nil && msg != "":
		return ran, fmt.Errorf("%s: %w: %s", exe, waitErr, journalHint(msg))
	case waitErr != nil:
		return ran, fmt.Errorf("%s: %w", exe, waitErr)
	case msg != "":
		return ran, fmt.Errorf("%s ended: %s", exe, journalHint(msg))
	}
	return ran, fmt.Errorf("%s ended", exe)
}

// journalctlVersion is the systemd version journalctl --version names ("systemd 252
// (252.39-1~deb12u2)"), 0 when it cannot be told.
func journalctlVersion(ctx context.Context, exe string) int {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "--version")
	cmd.Env = []string{"LANG=C.UTF-8"}
	out, err := cmd.Output()
	if err != nil {
		return 0
	}
	var v int
	if _, err := fmt.Sscanf(string(out), "systemd %d", &v); err != nil {
		return 0
	}
	return v
}

// journalHint adds, to journalctl's complaint of a journal it may not read, what to do.
func journalHint(msg string) string {
	if strings.Contains(msg, "insufficient permissions") || strings.Contains(msg, "Permission denied") {
		return msg + " (the agent reads the journal as root, or as a user in the systemd-journal group)"
	}
	return msg
}

// ship hands one entry to the batcher.
func (j *journalReader) ship(ctx context.Context, e *journalEntry) error {
	j.mu.Lock()
	j.resume = e.cursor
	if e.realtime > 0 {
		j.lastAt = time.UnixMicro(e.realtime)
	}
	j.mu.Unlock()
	if len(e.message) == 0 {
		return nil
	}
	msg := e.message
	if n := len(msg); n > 0 && msg[n-1] == '\n' {
		msg = msg[:n-1]
	}
	for _, f := range j.rc.filters {
		if f.re.Match(msg) != f.include {
			return nil
		}
	}
	ts := e.realtime / 1000
	if ts <= 0 {
		ts = j.clk.Now().UnixMilli()
	}
	n := j.pos.add(e.cursor)
	// The batcher keeps the message; e's buffer is reused for the next entry.
	return j.put(ctx, j.key, Event{Time: ts, Message: append([]byte(nil), msg...), Src: j.src, Offset: n})
}

// countVacuumed is called when the checkpoint's entry is gone from the journal: the
// journal's oldest entry now tells how many entries were removed before they were
// shipped (when both count in the same sequence; a journal begun anew cannot say).
func (j *journalReader) countVacuumed(ctx context.Context, exe, cursor string) {
	was := parseJournalCursor(cursor)
	find := j.oldest
	if find == nil {
		find = j.oldestCursor
	}
	oldest, err := find(ctx, exe)
	now := parseJournalCursor(oldest)
	switch {
	case err != nil || !was.ok || !now.ok:
		j.log.Warn("the journal no longer holds the entry the checkpoint names: entries after it may have been vacuumed before they were shipped",
			zap.String("entry", j.name), zap.String("cursor", cursor), zap.NamedError("oldest", err))
	case now.seqnumID != was.seqnumID:
		j.log.Warn("the journal no longer holds the entry the checkpoint names, and its entries count in a new sequence: how many were vacuumed before they were shipped cannot be told",
			zap.String("entry", j.name), zap.String("cursor", cursor))
	case now.seqnum > was.seqnum+1:
		lost := int64(now.seqnum - was.seqnum - 1)
		j.mu.Lock()
		j.lost += lost
		j.mu.Unlock()
		j.log.Error("journal entries were vacuumed before they were shipped: the journal was rotated or vacuumed past the checkpoint while the agent was not reading it",
			zap.String("entry", j.name), zap.Int64("entries_lost", lost),
			zap.String("hint", "give the journal more room (SystemMaxUse= in journald.conf) or keep the agent running"))
	}
}

// oldestCursor is the cursor of the oldest entry the journal holds, any unit.
func (j *journalReader) oldestCursor(ctx context.Context, exe string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	args := []string{"--output=export", "--no-pager", "--quiet"}
	if j.entry.Directory != "" {
		args = append(args, "--directory="+j.entry.Directory, "--merge")
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = []string{"LANG=C.UTF-8", "SYSTEMD_PAGER="}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	var e journalEntry
	err = readExportEntry(bufio.NewReader(out), &e)
	cancel()
	_ = cmd.Wait()
	if err != nil {
		return "", err
	}
	return e.cursor, nil
}

// Ack records that the service stored the entries up to offset of this reader's source.
func (j *journalReader) Ack(src SourceID, offset int64) {
	if src == j.src {
		j.pos.ack(offset)
	}
}

// SyncCheckpoint writes the checkpoint now if it changed.
func (j *journalReader) SyncCheckpoint() { j.pos.sync() }

// writeCheckpoint writes cursor as the checkpoint, atomically.
func (j *journalReader) writeCheckpoint(cursor string) {
	b, _ := json.Marshal(journalCheckpoint{Cursor: cursor, Entry: j.describe()})
	if err := atomicfile.Write(j.ckp, append(b, '\n'), 0o600); err != nil {
		j.log.Error("cannot write the journal checkpoint: a restart would ship again what was shipped since the last one", zap.String("entry", j.name), zap.Error(err))
	}
}

func (j *journalReader) readCheckpoint() (string, error) {
	b, err := os.ReadFile(j.ckp)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var cp journalCheckpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return "", fmt.Errorf("not a checkpoint: %w", err)
	}
	return cp.Cursor, nil
}

// unshipped is how many entries were read and not stored yet.
func (j *journalReader) unshipped() int64 { return j.pos.unshipped() }

func (j *journalReader) fail(msg string) {
	j.mu.Lock()
	j.lastErr, j.errAt = msg, j.clk.Now()
	j.mu.Unlock()
}

// Status is what status shows of the reader.
func (j *journalReader) Status() status.Journal {
	read, stored, acked := j.pos.counts()
	j.mu.Lock()
	defer j.mu.Unlock()
	st := status.Journal{Entry: j.name, What: j.describe(), Group: j.key.Group, Stream: j.key.Stream,
		Shipped: stored, Pending: read - stored, VacuumedUnshipped: j.lost, LastEntry: j.lastAt, Cursor: acked}
	switch {
	case j.stderr == nil:
		// Not running: why it ended, and when it starts again.
		st.LastError, st.ErrorAt = j.lastErr, j.errAt
	case j.stderr.String() != "":
		// Running, but complaining: a journal it may not read is no error exit.
		st.LastError, st.ErrorAt = journalHint(strings.TrimSpace(j.stderr.String())), j.clk.Now()
	}
	return st
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
