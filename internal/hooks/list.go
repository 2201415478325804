package hooks

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Hook is one runnable file of a hooks directory.
type Hook struct {
	// Name is the file name, e.g. "10-app".
	Name string
	// Path is the absolute path of the file (a symlink is not resolved here).
	Path string
}

// Skipped is a file of a hooks directory that List does not run, and why.
type Skipped struct {
	Name   string
	Reason string
	// Warn is true when the file looks like a hook but cannot run (not executable, not
	// runnable on this OS, a broken symlink): the operator probably wants to hear about it.
	// It is false for what run-parts skips silently: dotfiles, backups, package-manager
	// leftovers and directories.
	Warn bool
}

// List returns the hooks in dir in run order (lexical by file name, run-parts style)
// and the files it skips, with the reason. A missing dir is an error that satisfies
// errors.Is(err, fs.ErrNotExist). List does not check ownership; see Check.
func List(dir string) (hooks []Hook, skipped []Skipped, err error) {
	return list(dir, runtime.GOOS)
}

func list(dir, goos string) ([]Hook, []Skipped, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("hooks directory %s: %w", dir, err)
	}
	entries, err := os.ReadDir(abs) // sorted by file name
	if err != nil {
		return nil, nil, fmt.Errorf("read hooks directory: %w", err)
	}
	var hooks []Hook
	var skipped []Skipped
	for _, e := range entries {
		name := e.Name()
		if reason := conventionalSkip(name); reason != "" {
			skipped = append(skipped, Skipped{Name: name, Reason: reason})
			continue
		}
		path := filepath.Join(abs, name)
		fi, err := os.Stat(path) // follows a symlink: the target decides
		if err != nil {
			skipped = append(skipped, Skipped{Name: name, Reason: fmt.Sprintf("cannot stat: %v", err), Warn: true})
			continue
		}
		if fi.IsDir() {
			skipped = append(skipped, Skipped{Name: name, Reason: "directory"})
			continue
		}
		if !fi.Mode().IsRegular() {
			skipped = append(skipped, Skipped{Name: name, Reason: fmt.Sprintf("not a regular file (%s)", fi.Mode().Type()), Warn: true})
			continue
		}
		if goos == "windows" {
			if _, err := commandLine(goos, path); err != nil {
				skipped = append(skipped, Skipped{Name: name, Reason: err.Error(), Warn: true})
				continue
			}
		} else if fi.Mode().Perm()&0o111 == 0 {
			skipped = append(skipped, Skipped{
				Name:   name,
				Reason: fmt.Sprintf("not executable (mode %04o); run: chmod +x %s", fi.Mode().Perm(), path),
				Warn:   true,
			})
			continue
		}
		hooks = append(hooks, Hook{Name: name, Path: path})
	}
	return hooks, skipped, nil
}

// conventionalSkip says why run-parts conventions skip a file by its name, or "".
func conventionalSkip(name string) string {
	switch {
	case strings.HasPrefix(name, "."):
		return "dotfile"
	case strings.HasSuffix(name, "~"):
		return "editor backup (ends in ~)"
	}
	ext := strings.ToLower(filepath.Ext(name))
	switch {
	case ext == ".disabled":
		return "disabled (ends in .disabled)"
	case strings.HasPrefix(ext, ".dpkg-"):
		return "dpkg leftover (" + ext + ")"
	case strings.HasPrefix(ext, ".rpm"):
		return "rpm leftover (" + ext + ")"
	}
	return ""
}
