package logship

import (
	"os"
	"strings"
	"testing"

	"github.com/stackhand/stackhand/internal/config"
)

// TestWinEventCheckpointRoundTrip: a checkpoint reads back what was saved last, two
// entries of one channel keep their own, and a corrupt one is an error naming the file.
func TestWinEventCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	const ch = "Microsoft-Windows-Sysmon/Operational"
	a := winEventCheckpointFile(dir, config.WinEvents{EventName: ch, EventLevels: []string{"ERROR"}, LogGroupName: "g"})
	b := winEventCheckpointFile(dir, config.WinEvents{EventName: ch, EventIDs: []int{1}, LogGroupName: "g"})
	if a == b {
		t.Fatal("two entries of one channel share a checkpoint")
	}
	if id, err := loadWinEventCheckpoint(a, ch); err != nil || id != 0 {
		t.Fatalf("no checkpoint: got %d, %v; want 0, nil", id, err)
	}
	for _, id := range []uint64{41, 42} {
		if err := saveWinEventCheckpoint(a, ch, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := saveWinEventCheckpoint(b, ch, 7); err != nil {
		t.Fatal(err)
	}
	if id, err := loadWinEventCheckpoint(a, ch); err != nil || id != 42 {
		t.Fatalf("got %d, %v; want 42", id, err)
	}
	if id, err := loadWinEventCheckpoint(b, ch); err != nil || id != 7 {
		t.Fatalf("the other entry: got %d, %v; want 7", id, err)
	}
	if _, err := loadWinEventCheckpoint(b, "System"); err == nil {
		t.Error("a checkpoint of another channel loaded without an error")
	}
	if err := os.WriteFile(b, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadWinEventCheckpoint(b, ch); err == nil || !strings.Contains(err.Error(), b) {
		t.Errorf("corrupt checkpoint: %v, want an error naming %s", err, b)
	}
}

func TestWinEventsLost(t *testing.T) {
	for _, c := range []struct{ cp, oldest, want uint64 }{
		{0, 500, 0}, {10, 11, 0}, {10, 5, 0}, {10, 15, 4},
	} {
		if got := WinEventsLost(c.cp, c.oldest); got != c.want {
			t.Errorf("WinEventsLost(%d, %d) = %d, want %d", c.cp, c.oldest, got, c.want)
		}
	}
}
