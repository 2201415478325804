package logship

import (
	"sync"

	"github.com/stackhand/stackhand/internal/clock"
)

// ackedPositions is what a reader of positioned records (a journal's cursors, an event
// log's record ids) handed to the batcher and what CloudWatch Logs stored of it: each
// record read gets the next offset of the reader's source; an acknowledgement up to an
// offset makes the position of the last record it covers the one to checkpoint, written
// by save at most checkpointDelay later (or at Sync).
type ackedPositions[P comparable] struct {
	clk  clock.Clock
	save func(P) // writes the checkpoint

	mu      sync.Mutex
	pending []pendingPosition[P] // read, not stored yet, in read order
	read    int64                // records handed to the batcher
	stored  int64                // records CloudWatch Logs stored
	acked   P                    // position of the last record stored
	dirty   bool
	timer   clock.Timer
}

type pendingPosition[P comparable] struct {
	n   int64
	pos P
}

// restore sets the position a checkpoint read at start names.
func (a *ackedPositions[P]) restore(pos P) {
	a.mu.Lock()
	a.acked = pos
	a.mu.Unlock()
}

// add records that the record at pos is handed to the batcher and returns its offset.
func (a *ackedPositions[P]) add(pos P) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.read++
	a.pending = append(a.pending, pendingPosition[P]{a.read, pos})
	return a.read
}

// ack records that the service stored the records up to offset.
func (a *ackedPositions[P]) ack(offset int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := 0
	for i < len(a.pending) && a.pending[i].n <= offset {
		a.acked = a.pending[i].pos
		i++
	}
	if i == 0 {
		return
	}
	a.stored += int64(i)
	a.pending = append(a.pending[:0], a.pending[i:]...)
	a.dirty = true
	if a.timer == nil {
		a.timer = a.clk.AfterFunc(checkpointDelay, a.sync)
	}
}

// sync writes the checkpoint now if it changed.
func (a *ackedPositions[P]) sync() {
	a.mu.Lock()
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	dirty, pos := a.dirty, a.acked
	a.dirty = false
	a.mu.Unlock()
	var none P
	if dirty && pos != none {
		a.save(pos)
	}
}

// counts returns the records read and stored, and the position of the last stored.
func (a *ackedPositions[P]) counts() (read, stored int64, acked P) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.read, a.stored, a.acked
}

// unshipped is how many records were read and not stored yet.
func (a *ackedPositions[P]) unshipped() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.read - a.stored
}
