package logship

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// compressedExts are the extensions rotation tools give the files they compress.
var compressedExts = []string{".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z", ".zip"}

// rotatedFile is a file of a followed path's rotation set: a name rotation gives it in
// the path's directory.
type rotatedFile struct {
	path       string
	mod        time.Time
	compressed string // the compression's extension; "" for a plain file
	num        int    // N of app.log.N (or app.log.N.gz); -1 for other names
}

// rotationSuffix reports whether s is what rotation tools append to a name: a separator
// (. - _) then digits, dates and times (20261204, 2026-12-04T10-00-00.000, 1).
func rotationSuffix(s string) bool {
	if len(s) < 2 || !strings.ContainsRune(".-_", rune(s[0])) {
		return false
	}
	digit := false
	for _, c := range s[1:] {
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c == '.' || c == '-' || c == '_' || c == 'T':
		default:
			return false
		}
	}
	return digit
}

// rotatedName reports whether name is a rotated name of base (app.log): app.log.1,
// app.log.2.gz, app.log-20261204, app-20261204.log, app.1.log.
func rotatedName(base, name string) (ok bool, compressed string, num int) {
	num = -1
	for _, ext := range compressedExts {
		if strings.HasSuffix(name, ext) && len(name) > len(ext) {
			name, compressed = strings.TrimSuffix(name, ext), ext
			break
		}
	}
	if name == base {
		// app.log.gz: the file itself, compressed.
		return compressed != "", compressed, num
	}
	if rest, found := strings.CutPrefix(name, base); found && rotationSuffix(rest) {
		if n, err := strconv.Atoi(rest[1:]); err == nil && rest[0] == '.' {
			num = n
		}
		return true, compressed, num
	}
	if ext := filepath.Ext(base); ext != "" && strings.HasSuffix(name, ext) {
		stem := strings.TrimSuffix(base, ext)
		if rest, found := strings.CutPrefix(strings.TrimSuffix(name, ext), stem); found && rotationSuffix(rest) {
			return true, compressed, num
		}
	}
	return false, "", -1
}

// rotationSet returns the rotated files of path, oldest first (by modification time;
// app.log.2 before app.log.1 when the times are equal). Names that glob (the entry's
// file_path) matches are left out: they are followed on their own.
func rotationSet(path, glob string) []rotatedFile {
	dir, base := filepath.Split(path)
	ents, err := os.ReadDir(filepath.Clean(dir))
	if err != nil {
		return nil
	}
	var out []rotatedFile
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		ok, comp, num := rotatedName(base, e.Name())
		if !ok {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if m, _ := filepath.Match(glob, p); m {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, rotatedFile{path: p, mod: fi.ModTime(), compressed: comp, num: num})
	}
	slices.SortFunc(out, func(a, b rotatedFile) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		if a.num >= 0 && b.num >= 0 {
			return cmp.Compare(b.num, a.num)
		}
		return cmp.Compare(a.path, b.path)
	})
	return out
}
