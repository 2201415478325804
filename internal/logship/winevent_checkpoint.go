package logship

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/stackhand/stackhand/internal/atomicfile"
)

// winEventCheckpoint is what is stored per channel: the last EventRecordID
// that PutLogEvents acknowledged.
type winEventCheckpoint struct {
	Channel  string `json:"channel"`
	RecordID uint64 `json:"record_id"`
}

// winEventCheckpointFile is the checkpoint's path under dir (the
// <state_dir>/logs directory the file checkpoints use). The channel name is
// hashed because channels contain '/' ("Microsoft-Windows-Sysmon/Operational").
func winEventCheckpointFile(dir, channel string) string {
	return filepath.Join(dir, fmt.Sprintf("winevent-%016x.json", hashBytes([]byte(channel))))
}

// LoadWinEventCheckpoint returns the acknowledged record id for channel, 0
// when there is none yet (read from the oldest record).
func LoadWinEventCheckpoint(dir, channel string) (uint64, error) {
	path := winEventCheckpointFile(dir, channel)
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

// SaveWinEventCheckpoint stores recordID as channel's acknowledged record id,
// atomically.
func SaveWinEventCheckpoint(dir, channel string, recordID uint64) error {
	b, err := json.Marshal(winEventCheckpoint{Channel: channel, RecordID: recordID})
	if err != nil {
		return err
	}
	return atomicfile.Write(winEventCheckpointFile(dir, channel), append(b, '\n'), 0o600)
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
