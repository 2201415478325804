package logship

import (
	"os"
	"testing"
)

func TestWinEventCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	const ch = "Microsoft-Windows-Sysmon/Operational"
	if id, err := LoadWinEventCheckpoint(dir, ch); err != nil || id != 0 {
		t.Fatalf("no checkpoint: got %d, %v; want 0, nil", id, err)
	}
	if err := SaveWinEventCheckpoint(dir, ch, 41); err != nil {
		t.Fatal(err)
	}
	if err := SaveWinEventCheckpoint(dir, ch, 42); err != nil {
		t.Fatal(err)
	}
	if err := SaveWinEventCheckpoint(dir, "System", 7); err != nil {
		t.Fatal(err)
	}
	if id, err := LoadWinEventCheckpoint(dir, ch); err != nil || id != 42 {
		t.Fatalf("got %d, %v; want 42", id, err)
	}
	if id, err := LoadWinEventCheckpoint(dir, "System"); err != nil || id != 7 {
		t.Fatalf("System: got %d, %v; want 7", id, err)
	}
	if err := os.WriteFile(winEventCheckpointFile(dir, "System"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWinEventCheckpoint(dir, "System"); err == nil {
		t.Error("corrupt checkpoint loaded without an error")
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
