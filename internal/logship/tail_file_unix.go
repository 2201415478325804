//go:build unix

package logship

import (
	"os"
	"syscall"
)

// fileID names a file on this machine: device and inode.
type fileID struct{ dev, ino uint64 }

func idOf(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)} //nolint:unconvert // Dev's type differs by OS
	}
	return fileID{}
}

// statFile returns an open file's identity and size.
func statFile(f *os.File) (fileID, int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return fileID{}, 0, err
	}
	return idOf(fi), fi.Size(), nil
}

// statPath returns the identity of the file at path, and whether it is a directory.
func statPath(path string) (fileID, bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, false, err
	}
	return idOf(fi), fi.IsDir(), nil
}

// openFile opens a log file for reading.
func openFile(path string) (*os.File, error) { return os.Open(path) }

// notifyTrusted: inotify reports every write to a file in a watched directory of a local
// file system, so a follower needs no poll of its own there (see pollInterval).
const notifyTrusted = true
