package logship

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// globMeta reports whether a path component has glob wildcards.
func globMeta(s string) bool {
	if runtime.GOOS == "windows" {
		return strings.ContainsAny(s, "*?[")
	}
	return strings.ContainsAny(s, `*?[\`)
}

// globWatchDirs returns the directories whose changes can make a new file match pattern:
// the pattern's fixed leading directory (or, while that does not exist, its nearest
// existing ancestor) and every existing directory that matches one of the pattern's
// directory levels (for /var/log/hooks/*/*.log: /var/log/hooks and each /var/log/hooks/X).
func globWatchDirs(pattern string) []string {
	pattern = filepath.Clean(pattern)
	vol := filepath.VolumeName(pattern)
	parts := strings.Split(pattern[len(vol):], string(filepath.Separator))
	first := -1
	for i, p := range parts {
		if globMeta(p) {
			first = i
			break
		}
	}
	last := len(parts) - 1
	if first < 0 || first == last {
		return []string{existingAncestor(filepath.Dir(pattern))}
	}
	root := vol + strings.Join(parts[:first], string(filepath.Separator))
	if root == vol {
		root = vol + string(filepath.Separator)
	}
	dirs := []string{existingAncestor(root)}
	for k := first; k < last; k++ {
		prefix := vol + strings.Join(parts[:k+1], string(filepath.Separator))
		matches, _ := filepath.Glob(prefix)
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.IsDir() {
				dirs = append(dirs, m)
			}
		}
	}
	return dirs
}

func existingAncestor(dir string) string {
	for {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return dir
		}
		dir = up
	}
}
