package logship

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
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

	// Guarded by Tailer.mu.
	gens       []*generation // not yet finished (closed and acknowledged), oldest first
	toClose    []*os.File    // files of dropped generations, for the follower to close
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
	cp := &checkpoint{Path: fl.path, Updated: now}
	for i, g := range fl.gens {
		e := genEntry(g.id, g.fp, g.acked)
		if i == 0 {
			cp.checkpointGen = e
		} else {
			cp.Next = append(cp.Next, e)
		}
	}
	return cp
}

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
// the path or under a rotated name in the same directory, from its acknowledged offset,
// then the file now at the path. Without a checkpoint a file is read from its start, or
// from its end when it was there at start and from_beginning is false. It reports whether
// the path is gone (does not exist).
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
	var list []opened
	has := func(id fileID) bool {
		for _, o := range list {
			if o.id == id {
				return true
			}
		}
		return false
	}
	usedF := false
	if cp != nil {
		for _, e := range cp.gens() {
			if has(e.id()) {
				continue
			}
			efp, _ := e.fp()
			var gf *os.File
			at := false
			if e.id() == fid && efp.matches(f) {
				gf, at, usedF = f, true, true
			} else if e.id() != fid {
				var p string
				gf, p = locateGen(fl.path, e)
				if gf != nil {
					t.log.Info("draining the rotated file a checkpoint names first", zap.String("path", fl.path),
						zap.String("rotated", p), zap.Int64("offset", e.Offset))
				}
			}
			if gf == nil {
				t.log.Warn("a file the checkpoint names is gone (rotated away, compressed or deleted while the agent was down); lines after its checkpoint may not be shipped",
					zap.String("path", fl.path), zap.Int64("offset", e.Offset), zap.Uint64("inode", e.Inode))
				continue
			}
			gid, gsize, err := statFile(gf)
			if err != nil {
				if gf != f {
					gf.Close()
				}
				continue
			}
			pos := e.Offset
			if pos > gsize {
				t.log.Info("file is shorter than its checkpoint (truncated while the agent was down); reading it from the start",
					zap.String("path", fl.path), zap.Int64("offset", pos), zap.Int64("size", gsize))
				pos = 0
			}
			gfp, _ := fingerprintOf(gf, gsize)
			list = append(list, opened{f: gf, id: gid, fp: gfp, pos: pos, size: gsize, at: at})
		}
	}
	if !has(fid) {
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
		list = append(list, opened{f: f, id: fid, fp: fp, pos: pos, size: size, at: true})
		usedF = true
	}
	if !usedF {
		f.Close()
	}
	now := t.clk.Now()
	t.mu.Lock()
	for i, o := range list {
		g := t.newGen(fl, o.f, o.id, o.fp, o.pos, o.size)
		if i < len(list)-1 || !o.at {
			g.superseded = now
		}
		fl.gens = append(fl.gens, g)
	}
	fl.restored = true
	fl.everOpened = true
	t.enforceBound(fl)
	t.mu.Unlock()
	t.clearWarning(fl.path)
	fl.poke()
	return false
}

// run reads fl's generations whenever woken, until ctx ends.
func (fl *follower) run(ctx context.Context) {
	fl.ctx = ctx
	defer fl.closeAll()
	for {
		wait := fl.pass(ctx)
		if ctx.Err() != nil {
			return
		}
		if wait <= 0 || wait > pollInterval {
			wait = pollInterval
		}
		tm := fl.t.clk.AfterFunc(wait, fl.poke)
		select {
		case <-ctx.Done():
			tm.Stop()
			return
		case <-fl.wake:
			tm.Stop()
		}
	}
}

func (fl *follower) closeAll() {
	t := fl.t
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
// long to wait at most before the next pass (0: until woken).
func (fl *follower) pass(ctx context.Context) time.Duration {
	t := fl.t
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
		return 0
	}
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	var wait time.Duration
	soonest := func(d time.Duration) {
		if d > 0 && (wait == 0 || d < wait) {
			wait = d
		}
	}
	for i, g := range gens {
		if g.dropped.Load() {
			continue
		}
		err := fl.read(ctx, g, *bp)
		if ctx.Err() != nil {
			return 0
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
						return 0
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
			return 0
		}
		if g.rr.hasPartial() {
			due := g.lastData.Add(partialWait)
			if now.Before(due) {
				soonest(due.Sub(now))
			} else if err := g.rr.flush(now.UnixMilli()); err != nil && ctx.Err() != nil {
				return 0
			}
		}
	}
	return wait
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
