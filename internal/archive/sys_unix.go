//go:build unix

package archive

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// FreeBytes is the room on dir's file system that an unprivileged writer may use
// (statfs's f_bavail): root may use a few percent more, which is kept as a margin.
func FreeBytes(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// setMtime sets a file's access and modification times through its descriptor.
func setMtime(f *os.File, t time.Time) error {
	tv := []unix.Timeval{unix.NsecToTimeval(t.UnixNano()), unix.NsecToTimeval(t.UnixNano())}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Futimes(int(fd), tv) }); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("set the modification time of %s: %w", f.Name(), serr)
	}
	return nil
}
