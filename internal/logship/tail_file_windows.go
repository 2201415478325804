//go:build windows

package logship

import (
	"os"

	"golang.org/x/sys/windows"
)

// fileID names a file on this machine: the volume serial number and the file index, which
// GetFileInformationByHandle reports in place of an inode.
type fileID struct{ dev, ino uint64 }

func idOfHandle(h windows.Handle) (fileID, int64, bool, error) {
	var fi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &fi); err != nil {
		return fileID{}, 0, false, err
	}
	id := fileID{dev: uint64(fi.VolumeSerialNumber), ino: uint64(fi.FileIndexHigh)<<32 | uint64(fi.FileIndexLow)}
	size := int64(fi.FileSizeHigh)<<32 | int64(fi.FileSizeLow)
	return id, size, fi.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0, nil
}

// statFile returns an open file's identity and size.
func statFile(f *os.File) (fileID, int64, error) {
	id, size, _, err := idOfHandle(windows.Handle(f.Fd()))
	return id, size, err
}

// statPath returns the identity of the file at path, and whether it is a directory.
func statPath(path string) (fileID, bool, error) {
	h, err := openHandle(path)
	if err != nil {
		return fileID{}, false, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer windows.CloseHandle(h)
	id, _, dir, err := idOfHandle(h)
	return id, dir, err
}

func openHandle(path string) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, err
	}
	// FILE_SHARE_DELETE lets the writer rename (rotate) or delete the file while it is
	// open here; FILE_FLAG_BACKUP_SEMANTICS lets a directory be opened to be recognised.
	return windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
}

// openFile opens a log file for reading without keeping others from rotating it.
func openFile(path string) (*os.File, error) {
	h, err := openHandle(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// notifyTrusted: ReadDirectoryChangesW reports a write only once the file's size or time
// in its directory entry is updated, which NTFS may put off while the writer holds the
// file open; followers keep their 1 s poll (see pollInterval).
const notifyTrusted = false
