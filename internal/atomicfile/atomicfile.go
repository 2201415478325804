// Package atomicfile writes files so that a reader, or the agent after a crash, sees
// either the old content or the new, never a mix: the state file, payloads, request
// answers, checkpoints, the systemd unit.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes data to path through a temporary file in the same directory that gets
// perm before any byte is written, is fsynced, and is renamed over path; the directory
// is fsynced after the rename where the platform has that.
//
// Its error names path and the cause, never the temporary file's random name, so that the
// same failure gives the same message each time (callers log a failure once by message).
func Write(path string, data []byte, perm os.FileMode) error {
	return WriteKeep(path, data, perm, "")
}

// WriteVolatile is Write without the fsyncs: a reader sees the old content or the new,
// never a mix, but after a power loss the file may hold an older content, or none. It is
// for a file rewritten often and rebuilt whenever the agent starts (status.json), where
// two fsyncs at every write cost disk writes (EBS I/O) and CPU for nothing.
func WriteVolatile(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, "", false)
}

// WriteKeep is Write that first keeps the file it replaces as prev (renamed, not copied):
// once it returns nil, prev holds what path held before, if path existed. A crash between
// the two renames leaves prev and no path; a reader that finds no path reads prev.
func WriteKeep(path string, data []byte, perm os.FileMode, prev string) error {
	return write(path, data, perm, prev, true)
}

func write(path string, data []byte, perm os.FileMode, prev string, durable bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: create a temporary file in %s: %w", path, dir, cause(err))
	}
	tmp := f.Name()
	fail := func(what string, err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %s: %w", path, what, cause(err))
	}
	if err := f.Chmod(perm); err != nil {
		return fail("chmod", err)
	}
	if _, err := f.Write(data); err != nil {
		return fail("write", err)
	}
	if durable {
		if err := f.Sync(); err != nil {
			return fail("fsync", err)
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: close: %w", path, cause(err))
	}
	if prev != "" {
		if err := os.Rename(path, prev); err != nil && !errors.Is(err, fs.ErrNotExist) {
			os.Remove(tmp)
			return fmt.Errorf("write %s: keep the previous file as %s: %w", path, prev, cause(err))
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: rename: %w", path, cause(err))
	}
	if durable {
		syncDir(dir)
	}
	return nil
}

// cause strips the path from a *fs.PathError or *os.LinkError: the temporary file's name
// changes at every write and would make every message a new one.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
