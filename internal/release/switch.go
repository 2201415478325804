package release

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// Switch makes r the live release: a new symlink current.tmp-<pid>-<n> -> releases/<name>
// is renamed over `current` (rename(2) replaces it in one step, so at every instant
// `current` names a complete release), and deploy_to is flushed. It returns the release
// `current` named before, nil when there was none.
func (m *Manager) Switch(app App, r *Release) (previous *Release, err error) {
	defer m.lock(app)()
	dd, err := m.open(app, false)
	if err != nil {
		return nil, err
	}
	defer dd.close()
	return m.switchTo(dd, r.Name)
}

func (m *Manager) switchTo(dd *deployDir, name string) (*Release, error) {
	if _, _, ok := parseName(name); !ok {
		return nil, fmt.Errorf("app %q: %q is not a release name", dd.app.Name, name)
	}
	if fi, err := dd.releases.Lstat(name); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("app %q: release %s is not on disk under %s/releases", dd.app.Name, name, dd.path)
	}
	cur, err := dd.current()
	if err != nil {
		return nil, err
	}
	tmp := "current.tmp-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(m.seq.Add(1), 10)
	if err := dd.root.Symlink("releases/"+name, tmp); err != nil {
		return nil, m.fsError(dd.app, dd.path+"/"+tmp, "create link", err)
	}
	m.hook("switch")
	if err := dd.root.Rename(tmp, "current"); err != nil {
		dd.root.Remove(tmp)
		return nil, m.fsError(dd.app, dd.path+"/current", "switch", err)
	}
	if err := syncDir(dd.root); err != nil {
		return nil, fmt.Errorf("app %q: flush %s: %w", dd.app.Name, dd.path, err)
	}
	m.hook("switched")
	m.log().Info("release switched", zap.String("app", dd.app.Name), zap.String("release", name), zap.String("previous", cur))
	if cur == "" {
		return nil, nil
	}
	return dd.release(cur), nil
}

func syncDir(root *os.Root) error {
	f, err := root.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// release describes the release directory name (no size).
func (dd *deployDir) release(name string) *Release {
	t, rev, _ := parseName(name)
	return &Release{Name: name, Dir: dd.path + "/releases/" + name, Revision: rev, Time: t}
}

// list returns the releases on disk, oldest first, with Current and Previous set, and
// their sizes when sizes is true.
func (dd *deployDir) list(sizes bool) ([]Release, error) {
	f, err := dd.releases.Open(".")
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("app %q: read %s/releases: %w", dd.app.Name, dd.path, err)
	}
	cur, err := dd.current()
	if err != nil {
		return nil, err
	}
	var rs []Release
	for _, n := range names {
		if _, _, ok := parseName(n); !ok {
			continue
		}
		if fi, err := dd.releases.Lstat(n); err != nil || !fi.IsDir() {
			continue
		}
		r := *dd.release(n)
		r.Current = n == cur
		if sizes {
			r.Size = treeSize(dd.releases, n)
		}
		rs = append(rs, r)
	}
	sortReleases(rs)
	// Previous is the newest release older than current of another revision: a deploy
	// run again after a kill makes a second release of the same revision, and going
	// "back" to the first copy of a revision that failed would go nowhere.
	for i := range rs {
		if !rs[i].Current {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			if rs[j].Revision != rs[i].Revision {
				rs[j].Previous = true
				break
			}
		}
	}
	return rs, nil
}

func treeSize(root *os.Root, name string) int64 {
	var n int64
	fs.WalkDir(root.FS(), name, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// List returns app's releases on disk, oldest first, with their sizes and which is
// current and previous. An app never deployed has none (and no error).
func (m *Manager) List(app App) ([]Release, error) {
	defer m.lock(app)()
	dd, err := m.open(app, false)
	if errors.Is(err, ErrNothingDeployed) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer dd.close()
	return dd.list(true)
}

// Rollback switches `current` back: to the release named to (a directory name, or a
// revision, the newest release of it), or with to == "" to the release before the current
// one. It returns the releases switched from (nil when nothing was current) and to.
func (m *Manager) Rollback(app App, to string) (from, toRel *Release, err error) {
	defer m.lock(app)()
	dd, err := m.open(app, false)
	if err != nil {
		return nil, nil, err
	}
	defer dd.close()
	rs, err := dd.list(false)
	if err != nil {
		return nil, nil, err
	}
	var target *Release
	var cur *Release
	for i := range rs {
		if rs[i].Current {
			cur = &rs[i]
		}
	}
	switch {
	case to == "" && cur == nil:
		return nil, nil, fmt.Errorf("app %q: no current release to roll back from (undeployed?): name one with --to: %s", app.Name, names(rs))
	case to == "":
		for i := range rs {
			if rs[i].Previous {
				target = &rs[i]
			}
		}
		if target == nil {
			return nil, nil, fmt.Errorf("app %q: nothing to roll back to: %s is the oldest release on disk", app.Name, cur.Name)
		}
	default:
		for i := range rs {
			if rs[i].Name == to || rs[i].Revision == to {
				target = &rs[i] // the newest match wins: rs is oldest first
			}
		}
		if target == nil {
			return nil, nil, fmt.Errorf("app %q: no release %q on disk: choose one of %s", app.Name, to, names(rs))
		}
		if target.Current {
			return nil, nil, fmt.Errorf("app %q: release %s is already current", app.Name, target.Name)
		}
	}
	from, err = m.switchTo(dd, target.Name)
	if err != nil {
		return nil, nil, err
	}
	t := *target
	t.Current, t.Previous = true, false
	return from, &t, nil
}

func names(rs []Release) string {
	if len(rs) == 0 {
		return "(none)"
	}
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.Name
	}
	return strings.Join(s, ", ")
}

// Prune removes app's oldest releases, keeping the newest KeepReleases and, whatever
// their age, the current release and the one before it. It returns the names removed.
func (m *Manager) Prune(app App) ([]string, error) {
	defer m.lock(app)()
	dd, err := m.open(app, false)
	if err != nil {
		return nil, err
	}
	defer dd.close()
	rs, err := dd.list(false)
	if err != nil {
		return nil, err
	}
	var removed []string
	keepFrom := len(rs) - app.keep()
	for i, r := range rs {
		if i >= keepFrom || r.Current || r.Previous {
			continue
		}
		if err := dd.releases.RemoveAll(r.Name); err != nil {
			return removed, m.fsError(app, r.Dir, "remove old release", err)
		}
		removed = append(removed, r.Name)
	}
	if len(removed) > 0 {
		m.log().Info("old releases removed", zap.String("app", app.Name), zap.Strings("releases", removed))
	}
	return removed, nil
}

// Undeploy removes `current`, keeping the releases for a later rollback (the next
// deploy's Prune removes them as usual).
func (m *Manager) Undeploy(app App) error {
	defer m.lock(app)()
	dd, err := m.open(app, false)
	if errors.Is(err, ErrNothingDeployed) {
		return nil
	}
	if err != nil {
		return err
	}
	defer dd.close()
	if _, err := dd.current(); err != nil {
		return err // a directory there is not ours to remove
	}
	if err := dd.root.Remove("current"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return m.fsError(app, dd.path+"/current", "remove", err)
	}
	return syncDir(dd.root)
}
