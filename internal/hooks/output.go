package hooks

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/zap"
)

const (
	// tailSize bounds Result.Tail.
	tailSize = 4096
	// logCap bounds how much of one hook's output goes to the agent's logger; the
	// per-run log file always has all of it.
	logCap = 1 << 20
)

// readTail returns the last tailSize bytes of the file at path from offset from on,
// starting at a line boundary when one is in reach.
func readTail(path string, from int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	start := max(from, fi.Size()-tailSize)
	if start >= fi.Size() {
		return "", nil
	}
	buf := make([]byte, fi.Size()-start)
	n, err := f.ReadAt(buf, start)
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return cutTail(buf[:n], start > from), nil
}

// cutTail drops the partial first line of b when b was cut from a longer output and
// holds a line boundary.
func cutTail(b []byte, cut bool) string {
	if cut {
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i+1 < len(b) {
			b = b[i+1:]
		}
	}
	return string(b)
}

// logOutput writes the output lines a hook added to the file at path (from offset from
// on) to log, at most logCap bytes of them, with a note when there was more.
func logOutput(log *zap.Logger, hook, path string, from int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.NewSectionReader(f, from, logCap))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	fields := []zap.Field{zap.String("hook", hook), zap.String("stream", "output")}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimRight(line, "\r\n")
		if line != "" {
			log.Info(line, fields...)
		}
	}
	if rest := fi.Size() - from - int64(len(data)); rest > 0 {
		log.Info(fmt.Sprintf("output truncated after %d bytes; %d more bytes are in %s", len(data), rest, path), fields...)
	}
	return nil
}

// endsWithNewline reports whether the file at path is empty or ends with a newline, so
// a note appended to it starts on a line of its own.
func endsWithNewline(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return true
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return true
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, fi.Size()-1); err != nil {
		return true
	}
	return b[0] == '\n'
}
