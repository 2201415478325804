package logship

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/status"
)

// Defaults of TailerOptions.
const (
	DefaultRescanInterval = 10 * time.Second
	DefaultMaxOpenRotated = 8
)

const (
	// checkpointDelay coalesces checkpoint writes: at most one per file per delay.
	checkpointDelay = 200 * time.Millisecond
	// rotatedLinger is how long a file that was renamed away or deleted stays open after
	// it was read to its end, for a writer that has not reopened its log yet.
	rotatedLinger = 5 * time.Second
	// pollInterval is how often a followed file is looked at without a notification
	// where notifications are not trusted to tell of every write: when fsnotify could not
	// start or could not watch the file's directory, and on Windows (notifyTrusted),
	// where a file's size is updated lazily while its writer holds it open. Where they
	// are trusted, a quiet file is not looked at between notifications, except by the
	// rescan every RescanInterval (10 s): the safety poll for file systems that accept a
	// watch and stay silent (NFS, FUSE, a file written from another machine).
	pollInterval = time.Second
	// readBufSize is the one read buffer each followed file uses.
	readBufSize = 64 << 10
	// coalesceWait is how long a follower that has just read data lets more arrive
	// before it reads again, whatever notifications come meanwhile. A writer that
	// writes a thousand times a second would otherwise wake the follower, and the Go
	// runtime's scheduler, a thousand times a second for a few lines each: most of the
	// CPU of live tailing. Batches wait for force_flush_interval (1 s at least) anyway,
	// so the lines lose nothing by it; a file that stays quiet for one whole wait is
	// caught up and its last batch is sent at once (TailerOptions.Idle). 50 ms: see
	// the README's Performance section for the measurements.
	coalesceWait = 50 * time.Millisecond
	// maxRemembered bounds the identities of closed files the tailer remembers, so that a
	// glob that also matches rotated names does not send a drained file again.
	maxRemembered = 256
)

// TailerOptions configures a Tailer.
type TailerOptions struct {
	// File is the collect_list entry: its file_path glob and record rules.
	File config.LogFile
	// Stream returns the stream a file's events go to (placeholders already resolved).
	Stream func(path string) StreamKey
	// Put hands an event to the batcher. It blocks while the batcher's queue is full and
	// fails only when ctx ends.
	Put func(ctx context.Context, key StreamKey, ev Event) error
	// Idle, when not nil, is told that a file of stream key was read to its end and
	// nothing more came for a whole coalescing wait: what it put is complete for now
	// (Batcher.Idle sends it without waiting for the flush interval).
	Idle func(key StreamKey)
	// CheckpointDir holds one checkpoint per followed file; "" keeps none.
	CheckpointDir string
	Clock         clock.Clock
	Log           *zap.Logger
	// RescanInterval is how often the glob is expanded again besides file system
	// notifications (10 s when zero).
	RescanInterval time.Duration
	// MaxOpenRotated bounds how many rotated generations of one path are kept open while
	// the tailer is behind (8 when zero); past it the oldest is dropped, and counted.
	MaxOpenRotated int
	// Location is the time zone of timestamps that name none (time.Local when nil).
	Location *time.Location
}

// Tailer follows the files of one collect_list entry and hands their events to Put. It is
// also the Acker of those events: Ack moves the files' checkpoints forward.
type Tailer struct {
	opt TailerOptions
	rc  *recordConfig
	log *zap.Logger
	clk clock.Clock
	// coalesce is coalesceWait, changed by tests.
	coalesce time.Duration
	// trustNotify is notifyTrusted, changed by tests: whether a follower whose
	// directory is watched may go without its own poll.
	trustNotify bool

	rescanC chan struct{}
	// scanReq carries Rescan's requests: a channel closed once the scan is done.
	scanReq chan chan struct{}
	// first is true during the scan at start, when from_beginning false applies.
	first bool
	// watched are the directories given to fsnotify (Run's goroutine only).
	watched map[string]bool

	cpMu sync.Mutex // serializes checkpoint writes, so that they land in order

	mu         sync.Mutex
	files      map[string]*follower
	srcs       map[SourceID]*generation
	warned     map[string]string // path -> the problem already logged for it
	dirty      map[*follower]bool
	cpTimer    clock.Timer
	cpWarned   bool
	cpMissing  bool // the checkpoint directory could not be created: none to read
	remembered []closedFile
	dropped    int64
}

// closedFile is a file generation the tailer drained and closed.
type closedFile struct {
	id  fileID
	fp  fingerprint
	end int64
}

// lastSourceID numbers opened file generations across all tailers.
var lastSourceID atomic.Uint64

// NewTailer checks the options and compiles the entry's record rules.
func NewTailer(opt TailerOptions) (*Tailer, error) {
	if opt.File.FilePath == "" {
		return nil, errors.New("logship: tailer without file_path")
	}
	if _, err := filepath.Match(opt.File.FilePath, ""); err != nil {
		return nil, fmt.Errorf("file_path %q: %w", opt.File.FilePath, err)
	}
	if opt.Put == nil || opt.Stream == nil {
		return nil, errors.New("logship: tailer needs Put and Stream")
	}
	if opt.Clock == nil {
		opt.Clock = clock.Real{}
	}
	if opt.Log == nil {
		opt.Log = zap.NewNop()
	}
	if opt.RescanInterval <= 0 {
		opt.RescanInterval = DefaultRescanInterval
	}
	if opt.MaxOpenRotated <= 0 {
		opt.MaxOpenRotated = DefaultMaxOpenRotated
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	rc, err := newRecordConfig(opt.File, opt.Location)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opt.File.FilePath, err)
	}
	t := &Tailer{
		opt:         opt,
		rc:          rc,
		log:         opt.Log.With(zap.String("file_path", opt.File.FilePath)),
		clk:         opt.Clock,
		coalesce:    coalesceWait,
		trustNotify: notifyTrusted,
		rescanC:     make(chan struct{}, 1),
		scanReq:     make(chan chan struct{}),
		watched:     map[string]bool{},
		files:       map[string]*follower{},
		srcs:        map[SourceID]*generation{},
		warned:      map[string]string{},
		dirty:       map[*follower]bool{},
	}
	if opt.CheckpointDir != "" {
		if err := os.MkdirAll(opt.CheckpointDir, 0o700); err != nil {
			t.cpWarned = true
			t.cpMissing = true
			t.log.Warn("cannot create the checkpoint directory; files are shipped, but after a restart they are read again from the start",
				zap.String("dir", opt.CheckpointDir), zap.Error(err))
		}
	}
	return t, nil
}

// Run follows the files until ctx ends. It returns an error only when it could not start.
func (t *Tailer) Run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.log.Warn("no file system notifications; new files and data are found by polling", zap.Error(err))
		w = nil
	}
	var events chan fsnotify.Event
	var errs chan error
	if w != nil {
		events, errs = w.Events, w.Errors
		defer w.Close()
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		t.SyncCheckpoints()
	}()

	t.first = true
	t.scan(ctx, w, &wg)
	t.first = false
	timer := t.clk.AfterFunc(t.opt.RescanInterval, t.requestRescan)
	defer func() { timer.Stop() }()
	// After a write notification the tailer takes no notification for t.coalesce: the
	// follower it woke waits that long before reading again anyway, and meanwhile the
	// kernel folds the writes' identical notifications into one (inotify merges an
	// unread event with an identical one after it; fsnotify stops reading while its
	// channel is not drained). Otherwise a file written a thousand times a second
	// costs a thousand wake-ups of two goroutines a second. Other notifications
	// (creation, rename, removal) wait at most as long. A runtime timer, reused, as
	// the followers' (see follower.run).
	var rest *time.Timer
	var resting <-chan time.Time
	defer func() {
		if rest != nil {
			rest.Stop()
		}
	}()
	for {
		evs := events
		if resting != nil {
			evs = nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-resting:
			resting = nil
		case ev, ok := <-evs:
			if !ok {
				events = nil
				continue
			}
			t.handleEvent(ctx, w, &wg, ev)
			if ev.Op == fsnotify.Write && t.coalesce > 0 {
				if rest == nil {
					rest = time.NewTimer(t.coalesce)
				} else {
					rest.Reset(t.coalesce)
				}
				resting = rest.C
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// Most likely an overflow of the notification queue: look at everything.
			t.log.Debug("file notification error; rescanning", zap.Error(err))
			t.scan(ctx, w, &wg)
		case <-t.rescanC:
			t.scan(ctx, w, &wg)
			timer = t.clk.AfterFunc(t.opt.RescanInterval, t.requestRescan)
		case done := <-t.scanReq:
			t.scan(ctx, w, &wg)
			close(done)
		}
	}
}

// Rescan has Run expand the glob and look at every followed file now, and returns once
// it has (or ctx ended, or Run is not running): a file created a moment ago is then
// followed, and counted in Status.
func (t *Tailer) Rescan(ctx context.Context) {
	done := make(chan struct{})
	select {
	case t.scanReq <- done:
	case <-ctx.Done():
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (t *Tailer) requestRescan() {
	select {
	case t.rescanC <- struct{}{}:
	default:
	}
}

// scan expands the glob, watches the directories involved, picks up new files, looks at
// every followed path for a new identity, and wakes every follower.
func (t *Tailer) scan(ctx context.Context, w *fsnotify.Watcher, wg *sync.WaitGroup) {
	if w != nil {
		dirs := globWatchDirs(t.opt.File.FilePath)
		for _, d := range dirs {
			if !t.watched[d] {
				if err := w.Add(d); err == nil {
					t.watched[d] = true
				} else {
					t.log.Debug("cannot watch directory", zap.String("dir", d), zap.Error(err))
				}
			}
		}
		for d := range t.watched {
			if !slices.Contains(dirs, d) {
				_ = w.Remove(d)
				delete(t.watched, d)
			}
		}
	}
	matches, _ := filepath.Glob(t.opt.File.FilePath)
	for _, p := range matches {
		t.mu.Lock()
		fl := t.files[p]
		t.mu.Unlock()
		if fl == nil {
			t.addFile(ctx, wg, p)
		}
	}
	t.mu.Lock()
	fls := make([]*follower, 0, len(t.files))
	for _, fl := range t.files {
		fls = append(fls, fl)
	}
	t.mu.Unlock()
	var gone []*follower
	for _, fl := range fls {
		t.setNotified(fl)
		if t.checkPath(fl) {
			gone = append(gone, fl)
		}
		fl.poke()
	}
	t.forgetGone(gone)
}

// handleEvent reacts to one file system notification.
func (t *Tailer) handleEvent(ctx context.Context, w *fsnotify.Watcher, wg *sync.WaitGroup, ev fsnotify.Event) {
	if ev.Has(fsnotify.Create) {
		if _, dir, err := statPath(ev.Name); err == nil && dir {
			// A new directory may match a wildcard directory level.
			t.scan(ctx, w, wg)
			return
		}
	}
	t.mu.Lock()
	fl := t.files[ev.Name]
	t.mu.Unlock()
	if fl != nil {
		if !ev.Has(fsnotify.Write) {
			t.checkPath(fl)
		}
		fl.poke()
		return
	}
	if ok, _ := filepath.Match(t.opt.File.FilePath, ev.Name); ok && !ev.Has(fsnotify.Remove) && !ev.Has(fsnotify.Rename) {
		t.addFile(ctx, wg, ev.Name)
		return
	}
	// Another name in a watched directory: likely a rotated file still being written.
	dir := filepath.Dir(ev.Name)
	t.mu.Lock()
	var wake []*follower
	for p, fl := range t.files {
		if filepath.Dir(p) == dir && (len(fl.gens) > 1 || len(fl.gens) == 1 && !fl.gens[0].superseded.IsZero()) {
			wake = append(wake, fl)
		}
	}
	t.mu.Unlock()
	for _, fl := range wake {
		fl.poke()
	}
}

// addFile starts following path.
func (t *Tailer) addFile(ctx context.Context, wg *sync.WaitGroup, path string) {
	_, dir, err := statPath(path)
	if err != nil {
		return
	}
	if dir {
		t.warnOnce(path, "directory", "file_path matches a directory; it is skipped", nil)
		return
	}
	fl := &follower{
		t:       t,
		path:    path,
		key:     t.opt.Stream(path),
		initial: t.first,
		wake:    make(chan struct{}, 1),
	}
	t.setNotified(fl)
	t.mu.Lock()
	t.files[path] = fl
	t.mu.Unlock()
	t.checkPath(fl)
	fctx, cancel := context.WithCancel(ctx)
	fl.cancel = cancel
	wg.Add(1)
	go func() {
		defer wg.Done()
		fl.run(fctx)
	}()
}

// setNotified tells fl whether notifications from its directory can be trusted to wake
// it for every write, so that it needs no poll of its own: not when its path is a
// symbolic link (Kubernetes' /var/log/containers/*.log), whose target's writes are
// reported in the target's directory, which is not watched. Run's goroutine only.
func (t *Tailer) setNotified(fl *follower) {
	trusted := t.trustNotify && t.watched[filepath.Dir(fl.path)]
	if trusted {
		fi, err := os.Lstat(fl.path)
		trusted = err == nil && fi.Mode()&os.ModeSymlink == 0
	}
	fl.notified.Store(trusted)
}

// forgetGone stops following those of fls, whose paths checkPath found gone, that have
// all their generations drained and acknowledged, and removes their checkpoints.
func (t *Tailer) forgetGone(fls []*follower) {
	for _, fl := range fls {
		t.mu.Lock()
		idle := len(fl.gens) == 0
		everOpened := fl.everOpened
		if idle {
			delete(t.files, fl.path)
			delete(t.dirty, fl)
			delete(t.warned, fl.path)
		}
		t.mu.Unlock()
		if !idle {
			continue
		}
		fl.cancel()
		// A follower that never opened its file leaves an earlier run's checkpoint alone.
		if t.opt.CheckpointDir != "" && everOpened {
			t.cpMu.Lock()
			_ = removeCheckpoint(t.opt.CheckpointDir, fl.path)
			t.cpMu.Unlock()
		}
	}
}

// warnOnce logs a problem with path once, until a different problem replaces it, and
// records it as the file's last error.
func (t *Tailer) warnOnce(path, kind, msg string, err error) {
	t.mu.Lock()
	seen := t.warned[path] == kind
	t.warned[path] = kind
	if fl := t.files[path]; fl != nil && err != nil {
		fl.lastErr, fl.errAt = err.Error(), t.clk.Now()
	}
	t.mu.Unlock()
	if !seen {
		t.log.Warn(msg, zap.String("path", path), zap.Error(err))
	}
}

func (t *Tailer) clearWarning(path string) {
	t.mu.Lock()
	delete(t.warned, path)
	t.mu.Unlock()
}

// newGen registers a generation of fl read from pos (acknowledged up to pos). t.mu held.
func (t *Tailer) newGen(fl *follower, f *os.File, id fileID, fp fingerprint, pos, size int64) *generation {
	g := &generation{
		src:   SourceID(lastSourceID.Add(1)),
		fl:    fl,
		f:     f,
		id:    id,
		fp:    fp,
		pos:   pos,
		acked: pos,
		size:  size,
	}
	g.emitted.Store(pos)
	g.rr = newRecordReader(t.rc, g)
	t.srcs[g.src] = g
	t.markDirty(fl)
	return g
}

// remember notes a drained, closed generation. t.mu held.
func (t *Tailer) remember(g *generation, end int64) {
	if len(t.remembered) >= maxRemembered {
		t.remembered = t.remembered[1:]
	}
	t.remembered = append(t.remembered, closedFile{id: g.id, fp: g.fp, end: end})
}

// rememberedEnd returns where a drained, closed file with f's identity ended.
func (t *Tailer) rememberedEnd(id fileID, f *os.File) (int64, bool) {
	t.mu.Lock()
	var c *closedFile
	for i := len(t.remembered) - 1; i >= 0; i-- {
		if t.remembered[i].id == id {
			c = &t.remembered[i]
			break
		}
	}
	t.mu.Unlock()
	if c == nil || !c.fp.matches(f) {
		return 0, false
	}
	return c.end, true
}

// openElsewhere reports whether another followed path has id open (a glob that matches
// both app.log and app.log.1 right after a rotation). t.mu held.
func (t *Tailer) openElsewhere(path string, id fileID) bool {
	for _, g := range t.srcs {
		if g.id == id && g.fl.path != path && !g.closed {
			return true
		}
	}
	return false
}

// Ack records that the events of src up to offset are stored, and schedules the
// checkpoint write. It implements Acker.
func (t *Tailer) Ack(src SourceID, offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.srcs[src]
	if g == nil {
		return
	}
	if offset > g.acked {
		g.acked = offset
	}
	if g.acked >= g.emitted.Load() && g.skipTo > g.acked {
		g.acked = g.skipTo
	}
	g.lag.pop(g.acked)
	t.finishIfDone(g)
	t.markDirty(g.fl)
}

// finishIfDone forgets a closed generation once all it held is acknowledged. t.mu held.
func (t *Tailer) finishIfDone(g *generation) {
	if !g.closed || g.acked < g.end {
		return
	}
	delete(t.srcs, g.src)
	fl := g.fl
	if i := slices.Index(fl.gens, g); i >= 0 {
		fl.gens = slices.Delete(fl.gens, i, i+1)
	}
	t.markDirty(fl)
}

// markDirty schedules fl's checkpoint write. t.mu held.
func (t *Tailer) markDirty(fl *follower) {
	if t.opt.CheckpointDir == "" {
		return
	}
	t.dirty[fl] = true
	if t.cpTimer == nil {
		t.cpTimer = t.clk.AfterFunc(checkpointDelay, t.SyncCheckpoints)
	}
}

// SyncCheckpoints writes every checkpoint that changed now. Run calls it when it ends; the
// agent calls it again after the batcher's last acknowledgements.
func (t *Tailer) SyncCheckpoints() {
	if t.opt.CheckpointDir == "" {
		return
	}
	t.cpMu.Lock()
	defer t.cpMu.Unlock()
	t.mu.Lock()
	if t.cpTimer != nil {
		t.cpTimer.Stop()
		t.cpTimer = nil
	}
	var marks []markTarget
	for fl := range t.dirty {
		marks = fl.staleMarks(marks)
	}
	t.mu.Unlock()
	t.takeMarks(marks)
	t.mu.Lock()
	type job struct {
		fl *follower
		cp *checkpoint
	}
	var jobs []job
	now := t.clk.Now().UTC()
	for fl := range t.dirty {
		jobs = append(jobs, job{fl, fl.checkpoint(now)})
	}
	clear(t.dirty)
	t.mu.Unlock()
	for _, j := range jobs {
		var err error
		if j.cp == nil {
			if j.fl.everOpened {
				err = removeCheckpoint(t.opt.CheckpointDir, j.fl.path)
			}
		} else {
			err = writeCheckpoint(t.opt.CheckpointDir, j.cp)
		}
		if err == nil {
			continue
		}
		t.mu.Lock()
		j.fl.lastErr, j.fl.errAt = err.Error(), now
		warned := t.cpWarned
		t.cpWarned = true
		t.mu.Unlock()
		if !warned {
			t.log.Warn("cannot write a checkpoint; shipping goes on, but after a crash more lines are sent twice",
				zap.String("path", j.fl.path), zap.Error(err))
		}
	}
}

// Status reports each followed file.
func (t *Tailer) Status() []status.File {
	now := t.clk.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]status.File, 0, len(t.files))
	for _, fl := range t.files {
		st := status.File{Path: fl.path, Group: fl.key.Group, Stream: fl.key.Stream, LastError: fl.lastErr, ErrorAt: fl.errAt}
		var oldest int64
		for i, g := range fl.gens {
			if i == len(fl.gens)-1 {
				st.Shipped = g.acked
				st.Size += g.size
			} else if g.size > g.acked {
				// Bytes still to ship from rotated generations count as lag.
				st.Size += g.size - g.acked
			}
			if at, ok := g.lag.oldest(); ok && (oldest == 0 || at < oldest) {
				oldest = at
			}
		}
		if oldest != 0 {
			st.LagSeconds = max(0, now.Sub(time.Unix(0, oldest)).Seconds())
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b status.File) int { return cmp.Compare(a.Path, b.Path) })
	return out
}

// Dropped returns how many rotated generations were dropped unread because more than
// MaxOpenRotated piled up.
func (t *Tailer) Dropped() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dropped
}
