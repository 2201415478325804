package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/stackhand/stackhand/internal/clock"
)

// Files of a local-mode directory.
const (
	InstanceFile  = "instance.json"
	MetadataFile  = "metadata.json"
	TagsFile      = "tags.json"
	PeersFile     = "peers.json"
	LifecycleFile = "lifecycle"
)

// maxLocalFile bounds what a local source reads from one file.
const maxLocalFile = 16 << 20

// Local is the common part of the local backends: a directory, a clock and a poll interval.
type Local struct {
	Dir      string
	Clock    clock.Clock
	Interval time.Duration
}

func (l Local) clock() clock.Clock {
	if l.Clock == nil {
		return clock.Real{}
	}
	return l.Clock
}

func (l Local) interval() time.Duration {
	if l.Interval <= 0 {
		return time.Minute
	}
	return l.Interval
}

// readLocal reads name in l.Dir; a missing file gives nil, nil.
func (l Local) readLocal(name string) ([]byte, error) {
	path := filepath.Join(l.Dir, name)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(f, maxLocalFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if n > maxLocalFile {
		return nil, fmt.Errorf("%s is larger than %d MiB; local mode reads smaller files", path, maxLocalFile>>20)
	}
	return buf.Bytes(), nil
}

// decodeLocal unmarshals b (the content of name) into v with a message naming the file
// and the line of a syntax error.
func (l Local) decodeLocal(name string, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		path := filepath.Join(l.Dir, name)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(b[:min(int(se.Offset), len(b))], []byte("\n"))
			return fmt.Errorf("%s:%d: not valid JSON: %v; fix the file, nothing changes until then", path, line, se)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			line := 1 + bytes.Count(b[:min(int(te.Offset), len(b))], []byte("\n"))
			return fmt.Errorf("%s:%d: %s must be %s, not %s", path, line, fieldName(te), te.Type, te.Value)
		}
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

func fieldName(te *json.UnmarshalTypeError) string {
	if te.Field == "" {
		return "the value"
	}
	return fmt.Sprintf("%q", te.Field)
}
