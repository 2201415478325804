package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockName is the lock file's name inside the state directory.
const LockName = "agent.lock"

// ErrLocked says another agent holds the state directory.
type ErrLocked struct {
	Dir string
	PID int // 0 when the holder's pid could not be read
}

func (e *ErrLocked) Error() string {
	who := "another stackhand agent"
	if e.PID > 0 {
		who = fmt.Sprintf("another stackhand agent (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s is already running with state directory %s; stop it first (two agents must never share a state directory)", who, e.Dir)
}

// Lock is an exclusive hold on a state directory, released by Close or by the process ending.
type Lock struct {
	f *os.File
}

// Acquire takes the lock on dir without waiting, and writes this process's pid into it.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := tryLock(f); err != nil {
		pid := readPID(f)
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, &ErrLocked{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		f.Sync()
	}
	return &Lock{f: f}, nil
}

// Close releases the lock.
func (l *Lock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	unlock(l.f)
	err := l.f.Close()
	l.f = nil
	return err
}

// Holder reports whether an agent holds dir's lock now, and its pid.
func Holder(dir string) (pid int, held bool) {
	f, err := os.OpenFile(filepath.Join(dir, LockName), os.O_RDWR, 0)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	if err := tryLock(f); err != nil {
		return readPID(f), errors.Is(err, errWouldBlock)
	}
	unlock(f)
	return 0, false
}

func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	return pid
}
