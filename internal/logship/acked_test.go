package logship

import (
	"slices"
	"testing"

	"github.com/stackhand/stackhand/internal/clock"
)

// TestAckedPositions: an acknowledgement up to an offset stores the records it covers
// and makes the last one's position the checkpoint, written once at sync; nothing new,
// nothing written; the checkpoint never goes back.
func TestAckedPositions(t *testing.T) {
	var saved []string
	a := &ackedPositions[string]{clk: clock.Real{}, save: func(p string) { saved = append(saved, p) }}
	a.restore("c0")
	if n := a.add("c1"); n != 1 {
		t.Fatalf("first offset %d", n)
	}
	a.add("c2")
	a.add("c3")
	a.ack(2)
	if read, stored, acked := a.counts(); read != 3 || stored != 2 || acked != "c2" || a.unshipped() != 1 {
		t.Fatalf("read %d stored %d acked %q unshipped %d", read, stored, acked, a.unshipped())
	}
	a.sync()
	a.sync()
	a.ack(1) // an older acknowledgement changes nothing
	a.sync()
	a.ack(3)
	a.sync()
	if !slices.Equal(saved, []string{"c2", "c3"}) {
		t.Errorf("saved %q, want c2 then c3, each once", saved)
	}
}
