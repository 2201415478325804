package archive

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// FreeBytes is the room on dir's volume available to the caller (GetDiskFreeSpaceEx).
func FreeBytes(dir string) (int64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, err
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, fmt.Errorf("GetDiskFreeSpaceEx %s: %w", dir, err)
	}
	return int64(avail), nil
}

func isNoSpace(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL)
}

// setMtime sets a file's access and modification times through its handle.
func setMtime(f *os.File, t time.Time) error {
	ft := windows.NsecToFiletime(t.UnixNano())
	if err := windows.SetFileTime(windows.Handle(f.Fd()), nil, &ft, &ft); err != nil {
		return fmt.Errorf("set the modification time of %s: %w", f.Name(), err)
	}
	return nil
}
