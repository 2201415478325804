package logship

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/stackhand/stackhand/internal/atomicfile"
	"github.com/stackhand/stackhand/internal/config"
)

// winEventCheckpoint is what is stored per channel: the last EventRecordID
// that PutLogEvents acknowledged.
type winEventCheckpoint struct {
	Channel  string `json:"channel"`
	RecordID uint64 `json:"record_id"`
}

// winEventCheckpointFile names the checkpoint of entry e under dir (the <state_dir>/logs
// directory the other checkpoints use): a hash of what chooses its events and where they
// go, so that two entries of one channel keep their own, and changing either starts
// afresh from the channel's oldest event.
func winEventCheckpointFile(dir string, e config.WinEvents) string {
	b, _ := json.Marshal(struct {
		C     string
		L     []string
		I     []int
		G, St string
	}{e.EventName, e.EventLevels, e.EventIDs, e.LogGroupName, e.LogStreamName})
	return filepath.Join(dir, fmt.Sprintf("winevent-%016x.json", hashBytes(b)))
}

// loadWinEventCheckpoint returns the acknowledged record id in the checkpoint at path, 0
// when there is none yet (read from the oldest record).
func loadWinEventCheckpoint(path, channel string) (uint64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var cp winEventCheckpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return 0, fmt.Errorf("%s: %w; delete the file to read %s from its oldest record", path, err, channel)
	}
	if cp.Channel != channel {
		return 0, fmt.Errorf("%s: checkpoint is for channel %q, not %q; delete the file", path, cp.Channel, channel)
	}
	return cp.RecordID, nil
}

// saveWinEventCheckpoint stores recordID as channel's acknowledged record id at path,
// atomically.
func saveWinEventCheckpoint(path, channel string, recordID uint64) error {
	b, err := json.Marshal(winEventCheckpoint{Channel: channel, RecordID: recordID})
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}

// WinEventsLost is how many records were cleared or overwritten before they
// were read: the gap between the checkpoint and the oldest record still in
// the log. 0 when there is no checkpoint or no gap.
func WinEventsLost(checkpoint, oldest uint64) uint64 {
	if checkpoint == 0 || oldest <= checkpoint+1 {
		return 0
	}
	return oldest - checkpoint - 1
}
