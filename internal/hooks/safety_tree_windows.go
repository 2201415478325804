//go:build windows

package hooks

import (
	"fmt"
	"path/filepath"
)

// checkTree resolves a hook and runs one on what must be safe for it to run: the
// directory holding it, the target's directory when a symlink leads elsewhere, and the
// target itself. label names the hook in messages; isDir tells one what it looks at.
func checkTree(path, label string, one func(path, label string, isDir bool) error) error {
	dir, err := filepath.EvalSymlinks(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("%s: resolve its directory: %w", label, err)
	}
	if err := one(dir, "directory "+dir, true); err != nil {
		return err
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("%s: resolve: %w", label, err)
	}
	if target != filepath.Join(dir, filepath.Base(path)) {
		label += " (-> " + target + ")"
		if tdir := filepath.Dir(target); tdir != dir {
			if err := one(tdir, "directory "+tdir+" (holding the target of "+label+")", true); err != nil {
				return err
			}
		}
	}
	return one(target, label, false)
}
