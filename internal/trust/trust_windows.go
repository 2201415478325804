//go:build windows

package trust

import (
	"fmt"
	"os"
	"path/filepath"
)

// Check resolves path and returns it. On Windows it checks no owner or DACL (package
// hooks checks a hook's ACLs itself; config, state and log directories are not checked
// yet): it only says what the path resolves to, so that callers read what they name.
func Check(path, label string, kind Kind, euid int) (Result, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Result{}, fmt.Errorf("%s %s: %w", label, path, err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return Result{}, fmt.Errorf("%s %s: %w", label, path, err)
	}
	fi, err := os.Stat(resolved)
	if err != nil {
		return Result{}, fmt.Errorf("%s %s: %w", label, path, err)
	}
	if kind == Dir && !fi.IsDir() {
		return Result{}, fmt.Errorf("%s %s: %s is not a directory", label, path, resolved)
	}
	if kind == File && fi.IsDir() {
		return Result{}, fmt.Errorf("%s %s: %s is a directory", label, path, resolved)
	}
	return Result{Resolved: resolved}, nil
}

// Unchanged does nothing on Windows, where Check records no file identity.
func (r Result) Unchanged() error { return nil }

// OpenNoFollow is os.OpenFile on Windows.
func OpenNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag, perm)
}

// ReadFile resolves path (see Check) and reads it.
func ReadFile(path, label string, euid int) ([]byte, error) {
	res, err := Check(path, label, File, euid)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(res.Resolved)
}

// OwnDir creates dir when it is missing and returns it; Windows checks no owner here.
func OwnDir(dir, label string, perm os.FileMode, euid int) (string, error) {
	if err := os.MkdirAll(dir, perm); err != nil {
		return "", fmt.Errorf("create %s %s: %w", label, dir, err)
	}
	return dir, nil
}

// Subdir creates parent/name when it is missing and refuses a symlink there.
func Subdir(parent, name string, perm os.FileMode, euid int) (string, error) {
	p := filepath.Join(parent, name)
	if err := os.Mkdir(p, perm); err != nil && !os.IsExist(err) {
		return "", err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory (a link?); remove it", p)
	}
	return p, nil
}
