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
