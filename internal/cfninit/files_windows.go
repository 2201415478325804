//go:build windows

package cfninit

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// On Windows files are written through a temporary file in the same directory and a
// rename, the previous file kept as .bak as cfn-init does; owner, group and mode do not
// apply (cfn-init ignores them there too). The directory walk of files_unix.go has no
// ACL counterpart here yet: what a Windows parent directory's ACL lets others do is
// not checked.

func writeRegular(w wantFile, content io.Reader) (bool, error) {
	dir := filepath.Dir(w.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(w.path)+".stackhand-*")
	if err != nil {
		return false, fmt.Errorf("create a temporary file beside it: %v", err)
	}
	done := false
	defer func() {
		f.Close()
		if !done {
			os.Remove(f.Name())
		}
	}()
	if testHookTemp != nil {
		testHookTemp("created", f.Name())
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), content); err != nil {
		return false, fmt.Errorf("write: %w", err)
	}
	if old, err := os.ReadFile(w.path); err == nil {
		s := sha256.Sum256(old)
		if bytes.Equal(s[:], h.Sum(nil)) {
			return false, nil
		}
	}
	if err := f.Sync(); err != nil {
		return false, err
	}
	f.Close()
	if _, err := os.Lstat(w.path); err == nil {
		os.Remove(w.path + ".bak")
		if err := os.Rename(w.path, w.path+".bak"); err != nil {
			return false, fmt.Errorf("keep the previous file as .bak: %v", err)
		}
	}
	if testHookTemp != nil {
		testHookTemp("rename", f.Name())
	}
	if err := os.Rename(f.Name(), w.path); err != nil {
		return false, fmt.Errorf("rename into place: %v", err)
	}
	done = true
	return true, nil
}

func writeLink(w wantFile) (bool, error) {
	if t, err := os.Readlink(w.path); err == nil && t == w.target {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(w.path), 0o755); err != nil {
		return false, err
	}
	if _, err := os.Lstat(w.path); err == nil {
		os.Remove(w.path + ".bak")
		if err := os.Rename(w.path, w.path+".bak"); err != nil {
			return false, fmt.Errorf("keep the previous file as .bak: %v", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err := os.Symlink(w.target, w.path); err != nil {
		return false, err
	}
	return true, nil
}

func checkTargetDir(dir string) error { return os.MkdirAll(dir, 0o755) }
