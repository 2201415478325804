package hooks

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"
)

// prune keeps the newest Keep payload files and run log directories, the current run's
// always among them, and deletes the older ones. It deletes only what the runner
// writes: *.json files in PayloadDir, and directories of *.log files in LogDir.
func (r *Runner) prune(current string, log *zap.Logger) {
	keep := r.Keep
	if keep == 0 {
		keep = DefaultKeep
	}
	if keep < 0 {
		return
	}
	isPayload := func(e os.DirEntry) bool {
		return e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".")
	}
	isRunLog := func(e os.DirEntry) bool {
		return e.IsDir() && onlyLogs(filepath.Join(r.LogDir, e.Name()))
	}
	r.fallbackMu.Lock()
	fallback := r.fallback
	r.fallbackMu.Unlock()
	for _, p := range []struct {
		dir     string
		current string
		is      func(os.DirEntry) bool
	}{
		{r.PayloadDir, current + ".json", isPayload},
		{fallback, current + ".json", isPayload},
		{r.LogDir, current, isRunLog},
	} {
		if p.dir == "" {
			continue
		}
		for _, name := range pruneList(p.dir, p.current, keep, p.is) {
			path := filepath.Join(p.dir, name)
			if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink != 0 {
				continue // gone, or replaced by a link since it was listed: never follow it
			}
			if err := os.RemoveAll(path); err != nil {
				log.Warn("cannot prune old hook file", zap.String("path", path), zap.Error(err))
			}
		}
	}
	r.pruneBytes(current, isRunLog, log)
}

// pruneBytes deletes the oldest run log directories, the current run's never, while
// together they hold more than MaxLogTotal bytes.
func (r *Runner) pruneBytes(current string, isRunLog func(os.DirEntry) bool, log *zap.Logger) {
	limit := r.MaxLogTotal
	if limit == 0 {
		limit = DefaultMaxLogTotal
	}
	if limit < 0 {
		return
	}
	total := dirBytes(filepath.Join(r.LogDir, current))
	// pruneList with keep 1 lists every other run log, newest first.
	for _, name := range pruneList(r.LogDir, current, 1, isRunLog) {
		path := filepath.Join(r.LogDir, name)
		total += dirBytes(path)
		if total <= limit {
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			log.Warn("cannot prune old hook file", zap.String("path", path), zap.Error(err))
		} else {
			log.Info("pruned an old run's hook logs: the run logs together passed their bound", zap.String("path", path), zap.Int64("max_total_bytes", limit))
		}
	}
}

// dirBytes returns the bytes of the regular files in dir.
func dirBytes(dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}

// pruneList returns the names in dir that is selects, beyond the newest keep (by
// modification time, then name); current is never returned and counts as the newest.
func pruneList(dir, current string, keep int, is func(os.DirEntry) bool) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	type aged struct {
		name string
		mod  time.Time
	}
	var old []aged
	for _, e := range entries {
		if e.Name() == current || !is(e) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		old = append(old, aged{e.Name(), fi.ModTime()})
	}
	keep-- // the current run
	if len(old) <= keep {
		return nil
	}
	sort.Slice(old, func(i, j int) bool {
		if !old[i].mod.Equal(old[j].mod) {
			return old[i].mod.After(old[j].mod)
		}
		return old[i].name > old[j].name
	})
	var names []string
	for _, a := range old[max(keep, 0):] {
		names = append(names, a.name)
	}
	return names
}

// onlyLogs reports whether dir holds nothing but regular *.log files, as a run log
// directory does.
func onlyLogs(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".log") {
			return false
		}
	}
	return true
}
