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

// lineReach is how far capRunLog looks for a line boundary to cut at.
const lineReach = 4096

// capRunLog keeps at most limit bytes of the output a run added to the log file at path
// (from offset from on): the first and the last limit/2, cut at line boundaries when
// one is in reach, with a line between them saying how many bytes were cut. It rewrites
// the file in place once the hook has ended: a process the hook left behind still
// appends at the new end (its descriptor is O_APPEND). It returns the bytes cut.
func capRunLog(path string, from, limit int64) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	if size-from <= limit {
		return 0, nil
	}
	headEnd := from + limit/2
	if i := lastNewline(f, max(from, headEnd-lineReach), headEnd); i >= 0 {
		headEnd = i + 1
	}
	tailStart := size - limit/2
	if i := nextNewline(f, tailStart-1, min(size, tailStart+lineReach)); i >= 0 {
		tailStart = i + 1
	}
	cut := tailStart - headEnd
	marker := fmt.Sprintf("[stackhand: %d bytes of this run's output cut here; the first %d and the last %d bytes are kept]\n",
		cut, headEnd-from, size-tailStart)
	if headEnd > 0 && lastNewline(f, headEnd-1, headEnd) < 0 {
		marker = "\n" + marker
	}
	if _, err := f.WriteAt([]byte(marker), headEnd); err != nil {
		return 0, fmt.Errorf("cut %s: %w", path, err)
	}
	// Move the tail down, and whatever was appended meanwhile with it.
	dst, src := headEnd+int64(len(marker)), tailStart
	buf := make([]byte, 64<<10)
	for {
		n, rerr := f.ReadAt(buf, src)
		if n > 0 {
			if _, err := f.WriteAt(buf[:n], dst); err != nil {
				return 0, fmt.Errorf("cut %s: %w", path, err)
			}
			src, dst = src+int64(n), dst+int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, fmt.Errorf("cut %s: %w", path, rerr)
		}
	}
	if err := f.Truncate(dst); err != nil {
		return 0, fmt.Errorf("cut %s: %w", path, err)
	}
	return cut, nil
}

// lastNewline returns the offset of the last '\n' of f in [from, to), -1 if none.
func lastNewline(f *os.File, from, to int64) int64 {
	if to <= from {
		return -1
	}
	b := make([]byte, to-from)
	n, _ := f.ReadAt(b, from)
	if i := bytes.LastIndexByte(b[:n], '\n'); i >= 0 {
		return from + int64(i)
	}
	return -1
}

// nextNewline returns the offset of the first '\n' of f in [from, to), -1 if none.
func nextNewline(f *os.File, from, to int64) int64 {
	if to <= from {
		return -1
	}
	b := make([]byte, to-from)
	n, _ := f.ReadAt(b, from)
	if i := bytes.IndexByte(b[:n], '\n'); i >= 0 {
		return from + int64(i)
	}
	return -1
}

// capLog applies MaxRunLog to a finished hook's log file, and says when it cut.
func (r *Runner) capLog(log *zap.Logger, hook, path string, from int64) {
	limit := r.MaxRunLog
	if limit == 0 {
		limit = DefaultMaxRunLog
	}
	if limit < 0 {
		return
	}
	cut, err := capRunLog(path, from, limit)
	switch {
	case err != nil:
		log.Warn("cannot cut a hook's output down to the cap; the log file keeps all of it", zap.String("hook", hook), zap.String("path", path), zap.Error(err))
	case cut > 0:
		log.Info("hook output over the per-run cap; its middle was cut from the log file", zap.String("hook", hook),
			zap.String("path", path), zap.Int64("cut_bytes", cut), zap.Int64("cap_bytes", limit))
	}
}
