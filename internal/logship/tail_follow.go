package logship

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// errDropped stops reading a generation that was dropped while the tailer was blocked.
var errDropped = errors.New("generation dropped")

// readBufs lends the 64 KiB read buffer to whichever follower is reading, so that a glob
// with a thousand quiet files does not hold a thousand buffers.
var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// follower reads one path: the generations it has had, oldest first. One goroutine per
// path; the Run goroutine opens new generations and hands them over under Tailer.mu.
type follower struct {
	t       *Tailer
	path    string
	key     StreamKey
	initial bool // found by the scan at start: from_beginning false applies
	wake    chan struct{}
	cancel  context.CancelFunc
	ctx     context.Context

	// restored is set once the checkpoint was applied (Run's goroutine only).
	restored bool
	// unidled: events were put since Idle was last called (the follower's own).
	unidled bool
	// notified: the path's directory is watched and its notifications are trusted, so
	// the follower waits for them (and the tailer's rescan) without a poll of its own.
	notified atomic.Bool
	// passes counts the passes over the file, and resting is set while the follower
	// waits after one (not while it coalesces): for tests.
	passes  atomic.Int64
	resting atomic.Bool

	// Guarded by Tailer.mu.
	gens       []*generation   // not yet finished (closed and acknowledged), oldest first
	toClose    []*os.File      // files of dropped generations, for the follower to close
	done       []checkpointGen // the last generations read to their end and closed
	everOpened bool
	lastErr    string
	errAt      time.Time
}

// generation is one opened file behind a path (a rotated file and its successor are two).
type generation struct {
	src     SourceID
	fl      *follower
	f       *os.File
	id      fileID
	rr      *recordReader
	emitted atomic.Int64 // offset after the last event handed to Put
	dropped atomic.Bool

	// The follower's own.
	pos         int64
	lastData    time.Time
	checkedSize int64

	// Guarded by Tailer.mu.
	fp         fingerprint
	mark       fileMark // for the checkpoint: see checkpointGen.TailFingerprint
	size       int64
	acked      int64
	skipTo     int64 // offset after trailing bytes that made no event
	superseded time.Time
	closed     bool
	end        int64
	lag        lagRing
}

func (fl *follower) poke() {
	select {
	case fl.wake <- struct{}{}:
	default:
	}
}

// newest returns the generation the path is believed to name, nil if none is open. t.mu held.
func (fl *follower) newest() *generation {
	if n := len(fl.gens); n > 0 && !fl.gens[n-1].closed {
		return fl.gens[n-1]
	}
	return nil
}

// event hands one event to the batcher; it implements recordSink.
func (g *generation) event(msg []byte, ts, end int64) error {
	g.emitted.Store(end)
	fl := g.fl
	fl.unidled = true
	if err := fl.t.opt.Put(fl.ctx, fl.key, Event{Time: ts, Message: msg, Src: g.src, Offset: end}); err != nil {
		return err
	}
	if g.dropped.Load() {
		return errDropped
	}
	return nil
}

// skipped notes bytes that made no event: when nothing is in flight they are
// acknowledged at once, else together with the events in flight.
func (g *generation) skipped(end int64) {
	t := g.fl.t
	t.mu.Lock()
	g.skipTo = end
	if g.acked >= g.emitted.Load() {
		g.acked = end
		g.lag.pop(end)
		t.markDirty(g.fl)
	}
	t.mu.Unlock()
}

// checkpoint returns fl's checkpoint, nil when it follows nothing. t.mu held.
func (fl *follower) checkpoint(now time.Time) *checkpoint {
	if len(fl.gens) == 0 {
		return nil
	}
	cp := &checkpoint{Path: fl.path, Updated: now, Done: slices.Clone(fl.done)}
	for i, g := range fl.gens {
		e := genEntryMarked(g.id, g.fp, g.acked, g.mark)
		if i == 0 {
			cp.checkpointGen = e
		} else {
			cp.Next = append(cp.Next, e)
		}
	}
	return cp
}

// markTarget is an open generation whose mark is out of date, and the offset to take it at.
type markTarget struct {
	g   *generation
	f   *os.File
	off int64
}

// staleMarks returns fl's open generations whose mark is older than their acknowledged
// offset. t.mu held.
func (fl *follower) staleMarks(out []markTarget) []markTarget {
	for _, g := range fl.gens {
		if !g.closed && g.f != nil && g.mark.tailAt != g.acked {
			out = append(out, markTarget{g, g.f, g.acked})
		}
	}
	return out
}

// takeMarks reads the marks of ts (without t.mu: a small read and a stat each; a file
// closed meanwhile just keeps its old mark) and stores them.
func (t *Tailer) takeMarks(ts []markTarget) {
	marks := make([]fileMark, len(ts))
	ok := make([]bool, len(ts))
	for i, m := range ts {
		marks[i], ok[i] = markOf(m.f, m.off)
	}
	t.mu.Lock()
	for i, m := range ts {
		if ok[i] && m.g.f == m.f && m.off <= m.g.acked {
			m.g.mark = marks[i]
		}
	}
	t.mu.Unlock()
}

// maxDone bounds the closed generations a checkpoint lists.
const maxDone = DefaultMaxOpenRotated

// checkPath looks at what fl's path names now: the first time, it applies the checkpoint;
// later it opens a new generation when the path names a new file (rotation), and marks
// the current one superseded when the path is gone. It reports whether the path is gone
// (does not exist). Run's goroutine only.
func (t *Tailer) checkPath(fl *follower) (gone bool) {
	if !fl.restored {
		return t.restore(fl)
	}
	id, dir, err := statPath(fl.path)
	now := t.clk.Now()
	if err != nil || dir {
		gone = errors.Is(err, fs.ErrNotExist)
		if err != nil && !gone {
			t.warnOnce(fl.path, "stat", "cannot look at a log file; retrying at every rescan", err)
		}
		t.mu.Lock()
		if g := fl.newest(); g != nil && g.superseded.IsZero() {
			g.superseded = now
		}
		t.mu.Unlock()
		fl.poke()
		return gone
	}
	t.mu.Lock()
	if g := fl.newest(); g != nil && g.id == id {
		g.superseded = time.Time{}
		t.mu.Unlock()
		return false
	}
	t.mu.Unlock()
	f, fid, size, err := t.open(fl.path)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	t.mu.Lock()
	if g := fl.newest(); (g != nil && g.id == fid) || t.openElsewhere(fl.path, fid) {
		t.mu.Unlock()
		f.Close()
		return false
	}
	t.mu.Unlock()
	var pos int64
	if end, ok := t.rememberedEnd(fid, f); ok && end <= size {
		pos = end
	}
	fp, _ := fingerprintOf(f, size)
	t.mu.Lock()
	if g := fl.newest(); g != nil && g.superseded.IsZero() {
		g.superseded = now
	}
	fl.gens = append(fl.gens, t.newGen(fl, f, fid, fp, pos, size))
	t.enforceBound(fl)
	t.mu.Unlock()
	t.clearWarning(fl.path)
	t.log.Debug("following a new file", zap.String("path", fl.path), zap.Int64("offset", pos))
	fl.poke()
	return false
}

// enforceBound drops the oldest open generations beyond MaxOpenRotated rotated ones. t.mu held.
func (t *Tailer) enforceBound(fl *follower) {
	for {
		open := 0
		for _, g := range fl.gens {
			if !g.closed {
				open++
			}
		}
		if open <= t.opt.MaxOpenRotated+1 {
			return
		}
		for _, g := range fl.gens {
			if g.closed {
				continue
			}
			g.dropped.Store(true)
			g.closed = true
			g.end = g.acked
			if g.f != nil {
				fl.toClose = append(fl.toClose, g.f)
			}
			t.dropped++
			t.log.Error("too many rotated files piled up while shipping was blocked; the oldest is dropped and its unsent lines are lost",
				zap.String("path", fl.path), zap.Int("max_open_rotated", t.opt.MaxOpenRotated),
				zap.Int64("from_offset", g.acked), zap.Int64("size", g.size))
			t.finishIfDone(g)
			break
		}
	}
}

type opened struct {
	f    *os.File
	id   fileID
	fp   fingerprint
	pos  int64
	size int64
	at   bool // still at the path
}

// open opens the file at path and reads its identity and size. A file that is not there
// is no problem (it may come later); any other failure is warned about once.
func (t *Tailer) open(path string) (*os.File, fileID, int64, error) {
	f, err := openFile(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			t.warnOnce(path, "open", "cannot open a log file; retrying at every rescan", err)
		}
		return nil, fileID{}, 0, err
	}
	fid, size, err := statFile(f)
	if err != nil {
		f.Close()
		t.warnOnce(path, "open", "cannot look at a log file; retrying at every rescan", err)
		return nil, fileID{}, 0, err
	}
	return f, fid, size, nil
}

// restore starts following fl from its checkpoint: each generation it names, found at
// the path or under a rotated name in the same directory, from its acknowledged offset;
// then the files of the rotation set modified since (rotated while the agent was down,
// which no checkpoint names), oldest first; then the file now at the path. A generation
// truncated in place while the agent was down (its first bytes or the bytes before its
// offset changed: copytruncate) is read from its start, after the copy beside it from the
// offset. What cannot be read (a generation deleted, compressed, a copy not kept) is
// logged and set as the file's error. Without a checkpoint a file is read from its start,
// or from its end when it was there at start and from_beginning is false. It reports
// whether the path is gone (does not exist).
func (t *Tailer) restore(fl *follower) (gone bool) {
	var cp *checkpoint
	var cerr error
	if !t.cpMissing {
		cp, cerr = readCheckpoint(t.opt.CheckpointDir, fl.path)
	}
	if cerr != nil {
		t.log.Warn("checkpoint unreadable; reading the file from its beginning (lines already shipped are sent again)",
			zap.String("path", fl.path), zap.Error(cerr))
	}
	f, fid, size, err := t.open(fl.path)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	t.mu.Lock()
	elsewhere := t.openElsewhere(fl.path, fid)
	t.mu.Unlock()
	if elsewhere {
		// Another path of this glob is draining this very file (it was just rotated to
		// this name): look again later.
		f.Close()
		return false
	}
	r := restoring{t: t, fl: fl, f: f, fid: fid}
	if cp != nil {
		r.fromCheckpoint(cp)
	}
	if !r.has(fid) {
		var pos int64
		switch {
		case cp != nil || cerr != nil:
			// A checkpoint exists, so this file came after it: all of it is new.
		case fl.initial && t.opt.File.FromBeginning != nil && !*t.opt.File.FromBeginning:
			pos = size
		default:
			if end, ok := t.rememberedEnd(fid, f); ok && end <= size {
				pos = end
			}
		}
		fp, _ := fingerprintOf(f, size)
		r.list = append(r.list, opened{f: f, id: fid, fp: fp, pos: pos, size: size, at: true})
		r.usedF = true
	}
	if !r.usedF {
		f.Close()
	}
	now := t.clk.Now()
	t.mu.Lock()
	for i, o := range r.list {
		g := t.newGen(fl, o.f, o.id, o.fp, o.pos, o.size)
		if i < len(r.list)-1 || !o.at {
			g.superseded = now
		}
		fl.gens = append(fl.gens, g)
	}
	if cp != nil {
		fl.done = cp.Done
	}
	fl.restored = true
	fl.everOpened = true
	t.enforceBound(fl)
	t.mu.Unlock()
	t.clearWarning(fl.path)
	if len(r.lost) > 0 {
		t.mu.Lock()
		fl.lastErr, fl.errAt = "not shipped: "+strings.Join(r.lost, "; "), now
		t.mu.Unlock()
	}
	fl.poke()
	return false
}

// restoring is what restore has found of a path's generations so far.
type restoring struct {
	t     *Tailer
	fl    *follower
	f     *os.File // the file at the path
	fid   fileID
	usedF bool
	list  []opened
	// since is the newest modification time (Unix ns) of the generations the checkpoint
	// names: rotated files modified since hold lines nothing names.
	since int64
	// lost says what could not be read.
	lost []string
}

func (r *restoring) has(id fileID) bool {
	for _, o := range r.list {
		if o.id == id {
			return true
		}
	}
	return false
}

// add lists gf (found under name) to be read from pos.
func (r *restoring) add(gf *os.File, pos int64, at bool) {
	gid, gsize, err := statFile(gf)
	if err != nil {
		if gf != r.f {
			gf.Close()
		}
		return
	}
	if fi, err := gf.Stat(); err == nil {
		r.since = max(r.since, fi.ModTime().UnixNano())
	}
	gfp, _ := fingerprintOf(gf, gsize)
	r.list = append(r.list, opened{f: gf, id: gid, fp: gfp, pos: pos, size: gsize, at: at})
}

func (r *restoring) lose(msg, what string, fields ...zap.Field) {
	r.lost = append(r.lost, what)
	r.t.log.Warn(msg, append([]zap.Field{zap.String("path", r.fl.path), zap.String("not_shipped", what)}, fields...)...)
}

// fromCheckpoint lists the generations cp names, and after them the rotated files
// modified since that cp does not name.
func (r *restoring) fromCheckpoint(cp *checkpoint) {
	t, fl := r.t, r.fl
	for _, e := range cp.gens() {
		r.since = max(r.since, e.ModTime)
		if r.has(e.id()) {
			continue
		}
		efp, _ := e.fp()
		var gf *os.File
		where := fl.path
		if e.id() == r.fid && efp.matches(r.f) {
			gf = r.f
			r.usedF = true
		} else if e.id() != r.fid {
			gf, where = locateGen(fl.path, e)
			if gf != nil {
				t.log.Info("draining the rotated file a checkpoint names first", zap.String("path", fl.path),
					zap.String("rotated", where), zap.Int64("offset", e.Offset))
			}
		}
		if gf == nil {
			// Renamed and compressed, deleted, or (same inode, other first bytes) truncated
			// in place: a copy with the same bytes up to the checkpoint still has its lines.
			if c, p := locateCopy(fl.path, e, r.has); c != nil {
				t.log.Info("the file a checkpoint names was replaced (copytruncate while the agent was down?); reading its copy from the checkpoint",
					zap.String("path", fl.path), zap.String("copy", p), zap.Int64("offset", e.Offset))
				r.add(c, e.Offset, false)
				continue
			}
			r.lose("a file the checkpoint names is gone (rotated away, compressed or deleted while the agent was down) and no plain copy is beside it; its lines after the checkpoint could not be read",
				fmt.Sprintf("the lines after offset %d of the file that was %s (inode %d)", e.Offset, fl.path, e.Inode),
				zap.Int64("offset", e.Offset), zap.Uint64("inode", e.Inode))
			continue
		}
		_, gsize, err := statFile(gf)
		if err != nil {
			if gf != r.f {
				gf.Close()
			}
			continue
		}
		pos := e.Offset
		if pos > gsize || !e.tailMatches(gf) {
			// Truncated in place while the agent was down, and perhaps written again past
			// the offset: what came after the checkpoint is in a copy, if one was kept.
			if c, p := locateCopy(fl.path, e, func(id fileID) bool { return id == r.fid || r.has(id) }); c != nil {
				t.log.Info("file was truncated while the agent was down (copytruncate); reading its copy from the checkpoint, then the file from its start",
					zap.String("path", where), zap.String("copy", p), zap.Int64("offset", pos), zap.Int64("size", gsize))
				r.add(c, pos, false)
			} else {
				r.lose("file was truncated while the agent was down (copytruncate?) and no plain copy of it is beside it; the lines between the checkpoint and the truncation could not be read; reading the file from its start",
					fmt.Sprintf("the lines of %s between offset %d and its truncation", where, pos),
					zap.Int64("offset", pos), zap.Int64("size", gsize))
			}
			pos = 0
		}
		r.add(gf, pos, gf == r.f)
	}
	if r.since == 0 {
		r.since = cp.Updated.UnixNano() // a checkpoint of an older agent
	}
	for _, rf := range rotationSet(fl.path, t.opt.File.FilePath) {
		if rf.mod.UnixNano() < r.since {
			continue
		}
		if rf.compressed != "" {
			r.lose("a rotated file modified since the checkpoint is compressed and cannot be tailed; its lines that were not shipped could not be read (logrotate's delaycompress keeps the newest rotated file plain)",
				fmt.Sprintf("%s (compressed, modified %s)", rf.path, rf.mod.UTC().Format(time.RFC3339)))
			continue
		}
		gf, err := openFile(rf.path)
		if err != nil {
			r.lose("cannot open a rotated file modified since the checkpoint; its lines could not be read",
				fmt.Sprintf("%s (%v)", rf.path, err))
			continue
		}
		gid, gsize, err := statFile(gf)
		if err != nil || gid == r.fid || r.has(gid) {
			gf.Close()
			continue
		}
		var pos int64
		for _, d := range cp.Done {
			if dfp, _ := d.fp(); d.id() == gid && dfp.matches(gf) && d.Offset <= gsize {
				pos = d.Offset
			}
		}
		if pos >= gsize {
			gf.Close()
			continue
		}
		t.log.Info("shipping a file rotated while the agent was down, which the checkpoint does not name",
			zap.String("path", fl.path), zap.String("rotated", rf.path), zap.Int64("offset", pos))
		r.add(gf, pos, false)
	}
}

// locateCopy finds, among path's rotation set, a plain file that holds what the
// checkpoint generation g named up to its offset (the same first bytes and the same bytes
// before the offset): the copy copytruncate made. skip leaves out files already listed.
func locateCopy(path string, g checkpointGen, skip func(fileID) bool) (*os.File, string) {
	fp, _ := g.fp()
	for _, rf := range rotationSet(path, "") {
		if rf.compressed != "" {
			continue
		}
		f, err := openFile(rf.path)
		if err != nil {
			continue
		}
		id, size, err := statFile(f)
		if err == nil && !skip(id) && size >= g.Offset && fp.matches(f) && g.tailMatches(f) {
			return f, rf.path
		}
		f.Close()
	}
	return nil, ""
}

// run reads fl's generations whenever woken, until ctx ends. After a pass that read
// data it waits t.coalesce, deaf to notifications, and reads again: a busy file is read
// some twenty times a second, however often it is written. When that next pass finds
// nothing new, the file is caught up and quiet, and what was put since the last such
// moment is complete: Idle has it sent now rather than after the flush interval.
func (fl *follower) run(ctx context.Context) {
	fl.ctx = ctx
	defer fl.closeAll()
	// One timer for every coalescing wait. It is a runtime timer, not one of t.clk: the
	// wait only spaces out reads to save CPU and says nothing about the time of any
	// event; on a test's fake clock it would stall every follower after its first read.
	var coalesce *time.Timer
	defer func() {
		if coalesce != nil {
			coalesce.Stop()
		}
	}()
	for {
		wait, read := fl.pass(ctx)
		if ctx.Err() != nil {
			return
		}
		if read && fl.t.coalesce > 0 {
			if coalesce == nil {
				coalesce = time.NewTimer(fl.t.coalesce)
			} else {
				coalesce.Reset(fl.t.coalesce)
			}
			select {
			case <-ctx.Done():
				return
			case <-coalesce.C:
			}
			// The notifications that came meanwhile are for what the next pass reads.
			select {
			case <-fl.wake:
			default:
			}
			continue
		}
		if !read && fl.unidled {
			fl.unidled = false
			if idle := fl.t.opt.Idle; idle != nil {
				idle(fl.key)
			}
		}
		if wait <= 0 && fl.notified.Load() {
			// Nothing is due: a notification, or the tailer's rescan, wakes it.
			fl.resting.Store(true)
			select {
			case <-ctx.Done():
				return
			case <-fl.wake:
			}
			fl.resting.Store(false)
			continue
		}
		if wait <= 0 || wait > pollInterval {
			wait = pollInterval
		}
		tm := fl.t.clk.AfterFunc(wait, fl.poke)
		fl.resting.Store(true)
		select {
		case <-ctx.Done():
			tm.Stop()
			return
		case <-fl.wake:
			tm.Stop()
		}
		fl.resting.Store(false)
	}
}

func (fl *follower) closeAll() {
	t := fl.t
	// The last checkpoint is written after the files are closed: mark them now.
	t.mu.Lock()
	marks := fl.staleMarks(nil)
	t.mu.Unlock()
	t.takeMarks(marks)
	t.mu.Lock()
	var files []*os.File
	for _, g := range fl.gens {
		if g.f != nil && !g.closed {
			files = append(files, g.f)
		}
	}
	files = append(files, fl.toClose...)
	fl.toClose = nil
	t.mu.Unlock()
	for _, f := range files {
		f.Close()
	}
}

// pass reads every open generation of fl as far as it goes, oldest first, and returns how
// long to wait at most before the next pass (0: until woken) and whether it read any
// bytes.
func (fl *follower) pass(ctx context.Context) (wait time.Duration, read bool) {
	t := fl.t
	fl.passes.Add(1)
	t.mu.Lock()
	toClose := fl.toClose
	fl.toClose = nil
	gens := make([]*generation, 0, len(fl.gens))
	for _, g := range fl.gens {
		if !g.closed {
			gens = append(gens, g)
		}
	}
	t.mu.Unlock()
	for _, f := range toClose {
		f.Close()
	}
	if len(gens) == 0 {
		return 0, false
	}
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	soonest := func(d time.Duration) {
		if d > 0 && (wait == 0 || d < wait) {
			wait = d
		}
	}
	for i, g := range gens {
		if g.dropped.Load() {
			continue
		}
		pos := g.pos
		err := fl.read(ctx, g, *bp)
		read = read || g.pos != pos
		if ctx.Err() != nil {
			return 0, read
		}
		if errors.Is(err, errDropped) {
			continue
		}
		if err != nil {
			t.warnOnce(fl.path, "read", "cannot read a log file; retrying", err)
			continue
		}
		now := t.clk.Now()
		t.mu.Lock()
		sup := g.superseded
		if sup.IsZero() && i < len(gens)-1 {
			g.superseded, sup = now, now
		}
		t.mu.Unlock()
		if !sup.IsZero() {
			// Renamed away or deleted, and read to its end: what is held is complete.
			if g.rr.hasPartial() {
				if err := g.rr.flush(now.UnixMilli()); err != nil {
					if ctx.Err() != nil {
						return 0, read
					}
					continue
				}
			}
			since := sup
			if g.lastData.After(since) {
				since = g.lastData
			}
			if left := rotatedLinger - now.Sub(since); left > 0 {
				soonest(left)
			} else {
				fl.closeGen(g)
			}
			continue
		}
		if fl.truncated(g) {
			fl.poke()
			return 0, read
		}
		if g.rr.hasPartial() {
			due := g.lastData.Add(partialWait)
			if now.Before(due) {
				soonest(due.Sub(now))
			} else if err := g.rr.flush(now.UnixMilli()); err != nil && ctx.Err() != nil {
				return 0, read
			}
		}
	}
	return wait, read
}

// read reads g from its position to its end.
func (fl *follower) read(ctx context.Context, g *generation, buf []byte) error {
	t := fl.t
	for {
		n, err := g.f.ReadAt(buf, g.pos)
		if n > 0 {
			g.pos += int64(n)
			now := t.clk.Now()
			g.lastData = now
			var fp fingerprint
			if g.fp.n < fpMax && g.pos > int64(g.fp.n) {
				fp, _ = fingerprintOf(g.f, g.pos)
			}
			t.mu.Lock()
			g.lag.push(g.pos, now.UnixNano())
			if g.pos > g.size {
				g.size = g.pos
			}
			if fp.n > g.fp.n {
				g.fp = fp
			}
			t.mu.Unlock()
			if ferr := g.rr.feed(buf[:n], g.pos, now.UnixMilli()); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// truncated reports whether g's file was truncated in place (copytruncate): shorter than
// what was read, or its first bytes changed. It then starts a new generation on the same
// file from offset 0.
func (fl *follower) truncated(g *generation) bool {
	t := fl.t
	_, size, err := statFile(g.f)
	if err != nil {
		return false
	}
	t.mu.Lock()
	g.size = size
	fp := g.fp
	t.mu.Unlock()
	trunc := size < g.pos
	if !trunc && size != g.checkedSize && fp.n > 0 && !fp.matches(g.f) {
		trunc = true
	}
	g.checkedSize = size
	if !trunc {
		return false
	}
	t.log.Info("file was truncated (copytruncate rotation?); reading it again from the start",
		zap.String("path", fl.path), zap.Int64("offset", g.pos), zap.Int64("size", size))
	_ = g.rr.flush(t.clk.Now().UnixMilli())
	nfp, _ := fingerprintOf(g.f, size)
	t.mu.Lock()
	ng := t.newGen(fl, g.f, g.id, nfp, 0, size)
	g.f = nil // the file now belongs to ng
	g.closed = true
	g.end = g.pos
	fl.gens = append(fl.gens, ng)
	t.finishIfDone(g)
	t.mu.Unlock()
	return true
}

// closeGen closes a superseded generation read to its end.
func (fl *follower) closeGen(g *generation) {
	t := fl.t
	t.mu.Lock()
	f := g.f
	g.closed = true
	g.end = g.pos
	t.remember(g, g.pos)
	if len(fl.done) >= maxDone {
		fl.done = slices.Delete(fl.done, 0, 1)
	}
	fl.done = append(fl.done, genEntry(g.id, g.fp, g.pos))
	t.finishIfDone(g)
	t.markDirty(fl)
	t.mu.Unlock()
	if f != nil {
		f.Close()
	}
	t.log.Debug("closed a rotated or deleted file", zap.String("path", fl.path), zap.Int64("size", g.pos))
}

// lagRing remembers when the bytes up to each offset were read, for the lag in seconds.
// Bounded: when full, the newest entry is extended, which overstates the lag a little.
type lagRing struct{ ents []lagEnt }

type lagEnt struct{ off, at int64 }

const lagRingLen = 32

func (r *lagRing) push(off, at int64) {
	if n := len(r.ents); n == lagRingLen {
		r.ents[n-1].off = off
		return
	}
	r.ents = append(r.ents, lagEnt{off, at})
}

func (r *lagRing) pop(acked int64) {
	i := 0
	for i < len(r.ents) && r.ents[i].off <= acked {
		i++
	}
	if i > 0 {
		n := copy(r.ents, r.ents[i:])
		r.ents = r.ents[:n]
	}
}

func (r *lagRing) oldest() (int64, bool) {
	if len(r.ents) == 0 {
		return 0, false
	}
	return r.ents[0].at, true
}
