package release

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/archive"
)

const partialSuffix = ".partial"

// Prepare makes a complete release of d for app, not yet live:
//
//  1. fetch d.Source to deploy_to/.stackhand/fetch-<rev>.partial, hashing while writing;
//  2. verify d.SHA256 when given (a mismatch unpacks nothing and removes the download);
//  3. scan the archive and check its unpacked size against the free space, then unpack
//     it into deploy_to/releases/<UTC time>-<rev>.partial (private to root meanwhile);
//  4. link the shared entries;
//  5. give every file to app.Owner, children before parents;
//  6. flush the file system and rename the directory to its final name.
//
// When the release does not fit, the releases that keep_releases would remove anyway
// once it is added are removed first and the unpack tried once more; nothing else is.
// A leftover .partial of a run that was killed is removed first (see Recover), so a
// crash at any step leaves nothing that List, Switch or Prune would take for a release.
func (m *Manager) Prepare(ctx context.Context, app App, d Deploy) (*Release, error) {
	defer m.lock(app)()
	dd, err := m.open(app, true)
	if err != nil {
		return nil, err
	}
	defer dd.close()
	m.recover(dd)
	rev, err := revisionPart(d.Revision)
	if err != nil {
		return nil, fmt.Errorf("app %q: %w", app.Name, err)
	}
	f, err := m.fetcher(d.Source)
	if err != nil {
		return nil, fmt.Errorf("app %q: %w", app.Name, err)
	}

	// 1. Fetch.
	dlName := "fetch-" + rev + partialSuffix
	dl, err := dd.root.OpenFile(".stackhand/"+dlName, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, m.fsError(app, dd.path+"/.stackhand/"+dlName, "create", err)
	}
	removeDL := func() { dl.Close(); dd.root.Remove(".stackhand/" + dlName) }
	defer removeDL()
	var once sync.Once
	sink := newSink(dl, func(int64) { once.Do(func() { m.hook("fetch") }) })
	sink.ScratchDir = dd.workPath()
	if err := f.Fetch(ctx, d.Source, sink); err != nil {
		if isNoSpace(err) || isReadOnly(err) {
			return nil, m.fsError(app, dd.path+"/.stackhand", "download "+Redact(d.Source)+" into", err)
		}
		return nil, fmt.Errorf("app %q: fetch revision %s: %w", app.Name, d.Revision, err)
	}

	// 2. Verify.
	if want := strings.ToLower(strings.TrimSpace(d.SHA256)); want != "" {
		if got := sink.SHA256(); got != want {
			return nil, fmt.Errorf("app %q: revision %s from %s: checksum mismatch: sha256 is %s, want %s: the source changed or the configured sha256 is wrong; nothing was unpacked",
				app.Name, d.Revision, Redact(d.Source), got, want)
		}
	}

	m.hook("fetched")

	// 3. The release directory, private to root until it is complete; the archive is
	// scanned, the room checked and the archive unpacked into it (the unpacker scans the
	// whole archive before it writes: a file that is no archive, a hostile entry or too
	// little room write nothing).
	archivePath := dd.workPath() + "/" + dlName
	t, err := m.freeName(dd)
	if err != nil {
		return nil, err
	}
	name := t.Format(timeLayout) + "-" + rev
	partial := name + partialSuffix
	if err := dd.releases.Mkdir(partial, 0o700); err != nil {
		return nil, m.fsError(app, dd.path+"/releases/"+partial, "create", err)
	}
	done := false
	defer func() {
		if !done {
			if err := dd.releases.RemoveAll(partial); err != nil {
				m.log().Warn("could not remove a half-made release", zap.String("app", app.Name), zap.String("dir", partial), zap.Error(err))
			}
		}
	}()
	var unpacker Unpacker = Archive{}
	if m.Unpacker != nil {
		unpacker = m.Unpacker
	}
	reserve := m.Reserve
	if reserve <= 0 {
		reserve = DefaultReserve
	}
	size, err := unpacker.Unpack(ctx, archivePath, dd.relPath()+"/"+partial, reserve)
	var pruned []string
	if err != nil && (errors.Is(err, archive.ErrNoSpace) || isNoSpace(err)) {
		// Room may be made only from releases keep_releases would remove once this one
		// is added: never the current one nor the one before it.
		var perr error
		if pruned, perr = m.pruneForRoom(dd); perr != nil {
			return nil, perr
		}
		if len(pruned) > 0 {
			if err := dd.releases.RemoveAll(partial); err != nil {
				return nil, fmt.Errorf("app %q: %w", app.Name, err)
			}
			if err := dd.releases.Mkdir(partial, 0o700); err != nil {
				return nil, m.fsError(app, dd.path+"/releases/"+partial, "create", err)
			}
			size, err = unpacker.Unpack(ctx, archivePath, dd.relPath()+"/"+partial, reserve)
		}
	}
	if err != nil {
		err = cleanPaths(err, archivePath, dd.path+"/.stackhand/"+dlName, dd.relPath(), dd.path+"/releases")
		switch {
		case errors.Is(err, archive.ErrNoSpace) || isNoSpace(err):
			did := "no release beyond keep_releases could be removed"
			if len(pruned) > 0 {
				did = "removing the releases beyond keep_releases (" + strings.Join(pruned, ", ") + ") was not enough"
			}
			return nil, fmt.Errorf("app %q: revision %s: %w; %s: free space or lower keep_releases; nothing was switched", app.Name, d.Revision, err, did)
		case isReadOnly(err):
			return nil, m.fsError(app, dd.path+"/releases/"+partial, "unpack into", err)
		}
		return nil, fmt.Errorf("app %q: unpack revision %s from %s: %w", app.Name, d.Revision, Redact(d.Source), err)
	}
	removeDL() // the archive is no longer needed: give its room back before the release is used
	m.hook("unpack")

	rel, err := dd.releases.OpenRoot(partial)
	if err != nil {
		return nil, fmt.Errorf("app %q: %w", app.Name, err)
	}
	defer rel.Close()
	// 4. Shared entries.
	if err := m.linkShared(dd, rel, name); err != nil {
		return nil, err
	}
	// 5. Owner.
	if err := chownTree(rel, dd.uid, dd.gid); err != nil {
		return nil, fmt.Errorf("app %q: give release %s to %s: %w", app.Name, name, app.Owner, err)
	}
	if err := rel.Chmod(".", 0o755); err != nil {
		return nil, fmt.Errorf("app %q: %w", app.Name, err)
	}
	// 6. Durable, then visible.
	if err := syncFS(dd.relDir); err != nil {
		return nil, fmt.Errorf("app %q: flush release %s: %w", app.Name, name, err)
	}
	if err := dd.releases.Rename(partial, name); err != nil {
		return nil, m.fsError(app, dd.path+"/releases/"+name, "rename to", err)
	}
	done = true
	if err := dd.relDir.Sync(); err != nil {
		return nil, fmt.Errorf("app %q: flush %s/releases: %w", app.Name, dd.path, err)
	}
	m.log().Info("release prepared", zap.String("app", app.Name), zap.String("release", name), zap.Int64("size", size))
	return &Release{Name: name, Dir: dd.path + "/releases/" + name, Revision: rev, Time: t, Size: size}, nil
}

// freeName returns the name of a new release of rev: the time now, or one second after
// the newest release on disk when that is not earlier (two deploys within a second, a
// clock set back), so that names sort in the order releases were made and the one before
// current is the one deployed before it.
func (m *Manager) freeName(dd *deployDir) (time.Time, error) {
	t := m.clock().Now().UTC().Truncate(time.Second)
	f, err := dd.releases.Open(".")
	if err != nil {
		return t, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return t, fmt.Errorf("app %q: read %s/releases: %w", dd.app.Name, dd.path, err)
	}
	for _, n := range names {
		if rt, _, ok := parseName(strings.TrimSuffix(n, partialSuffix)); ok && !rt.Before(t) {
			t = rt.Add(time.Second)
		}
	}
	return t, nil
}

// pruneForRoom removes the releases Prune would remove once one more is added: all but
// the newest KeepReleases-1, never the current one nor the one before it.
func (m *Manager) pruneForRoom(dd *deployDir) ([]string, error) {
	rs, err := dd.list(false)
	if err != nil {
		return nil, err
	}
	var removed []string
	keepFrom := len(rs) - (dd.app.keep() - 1)
	for i, r := range rs {
		if i >= keepFrom || r.Current || r.Previous {
			continue
		}
		if err := dd.releases.RemoveAll(r.Name); err != nil {
			return removed, m.fsError(dd.app, r.Dir, "remove old release", err)
		}
		removed = append(removed, r.Name)
	}
	if len(removed) > 0 {
		m.log().Info("old releases removed to make room", zap.String("app", dd.app.Name), zap.Strings("releases", removed))
	}
	return removed, nil
}

// DefaultReserve is Manager.Reserve when it is 0.
const DefaultReserve = 64 << 20

// cleanPaths rewrites the /proc/<pid>/fd paths in an unpacker's message into the
// directories a person knows.
func cleanPaths(err error, pairs ...string) error {
	msg := err.Error()
	for i := 0; i+1 < len(pairs); i += 2 {
		msg = strings.ReplaceAll(msg, pairs[i], pairs[i+1])
	}
	if msg == err.Error() {
		return err
	}
	return &renamed{msg: msg, err: err}
}

type renamed struct {
	msg string
	err error
}

func (r *renamed) Error() string { return r.msg }
func (r *renamed) Unwrap() error { return r.err }

// linkShared links deploy_to/shared/<x> into the release as <x>, for each shared entry.
//
// An entry the archive also carries is refused, unless it is an empty directory (a
// placeholder such as log/ or tmp/pids/, which is replaced): the release would otherwise
// hide either what the archive shipped or what shared/ holds, silently, and a release must
// mean the same thing each time it is unpacked. The fix is for the archive to leave the
// entry out. A shared entry missing under shared/ is made as an empty directory owned by
// the app's owner (a shared file, such as config/database.yml, is put there beforehand,
// by cfn-init or the deploy hooks).
func (m *Manager) linkShared(dd *deployDir, rel *os.Root, name string) error {
	for _, x := range dd.app.Shared {
		if fi, err := rel.Lstat(x); err == nil {
			empty := false
			if fi.IsDir() {
				if f, err := rel.Open(x); err == nil {
					names, _ := f.Readdirnames(1)
					f.Close()
					empty = len(names) == 0
				}
			}
			if !empty {
				kind := "a file"
				if fi.IsDir() {
					kind = "a directory"
				} else if fi.Mode()&fs.ModeSymlink != 0 {
					kind = "a link"
				}
				return fmt.Errorf("app %q: shared entry %s is %s in the archive: leave %s out of the archive (each release links it to %s/shared/%s) or drop it from shared",
					dd.app.Name, x, kind, x, dd.path, x)
			}
			if err := rel.Remove(x); err != nil {
				return fmt.Errorf("app %q: replace the empty %s with the shared link: %w", dd.app.Name, x, err)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("app %q: shared entry %s: %w", dd.app.Name, x, err)
		}
		// deploy_to/shared/<x>: made when missing; its parents stay root's.
		sx := "shared/" + x
		if _, err := dd.root.Lstat(sx); errors.Is(err, fs.ErrNotExist) {
			if dir := path.Dir(sx); dir != "shared" {
				if err := dd.root.MkdirAll(dir, 0o755); err != nil {
					return m.fsError(dd.app, dd.path+"/"+dir, "create", err)
				}
			}
			if err := dd.root.Mkdir(sx, 0o755); err != nil {
				return m.fsError(dd.app, dd.path+"/"+sx, "create", err)
			}
			if dd.uid >= 0 {
				if err := dd.root.Lchown(sx, dd.uid, dd.gid); err != nil {
					return fmt.Errorf("app %q: %w", dd.app.Name, err)
				}
			}
		} else if err != nil {
			return fmt.Errorf("app %q: shared entry %s: %w", dd.app.Name, sx, err)
		}
		if dir := path.Dir(x); dir != "." {
			if err := rel.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("app %q: shared entry %s: %w", dd.app.Name, x, err)
			}
		}
		// Relative, so the link holds wherever deploy_to is mounted or linked from.
		up := strings.Repeat("../", strings.Count(x, "/")+2)
		if err := rel.Symlink(up+sx, x); err != nil {
			return fmt.Errorf("app %q: link shared entry %s: %w", dd.app.Name, x, err)
		}
	}
	return nil
}

// chownTree gives every entry under rel to uid:gid without following links, children
// before their parents: until an entry's parent is given away, nobody but root can
// change what a name in it refers to. rel is an os.Root, so nothing outside is touched.
func chownTree(rel *os.Root, uid, gid int) error {
	if uid < 0 {
		return nil
	}
	var names []string
	err := fs.WalkDir(rel.FS(), ".", func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return err
	}
	for i := len(names) - 1; i >= 0; i-- {
		if err := rel.Lchown(names[i], uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// Recover removes what a killed run left for app: half-made releases, downloads and
// temporary links. The agent calls it for each app at start; Prepare calls it too.
func (m *Manager) Recover(app App) error {
	defer m.lock(app)()
	dd, err := m.open(app, false)
	if errors.Is(err, ErrNothingDeployed) {
		return nil // never deployed: nothing to recover
	}
	if err != nil {
		return err
	}
	defer dd.close()
	m.recover(dd)
	return nil
}

func (m *Manager) recover(dd *deployDir) {
	clean := func(dir string, root *os.Root, match func(string) bool) {
		f, err := root.Open(dir)
		if err != nil {
			return
		}
		names, _ := f.Readdirnames(-1)
		f.Close()
		for _, n := range names {
			if !match(n) {
				continue
			}
			if err := root.RemoveAll(path.Join(dir, n)); err != nil {
				m.log().Warn("could not remove what a killed run left", zap.String("app", dd.app.Name), zap.String("path", path.Join(dd.path, dir, n)), zap.Error(err))
				continue
			}
			m.log().Info("removed what a killed run left", zap.String("app", dd.app.Name), zap.String("path", path.Join(dd.path, dir, n)))
		}
	}
	clean("releases", dd.root, func(n string) bool { return strings.HasSuffix(n, partialSuffix) })
	clean(".stackhand", dd.root, func(n string) bool {
		return strings.HasPrefix(n, "fetch-") || strings.HasPrefix(n, "git-")
	})
	clean(".", dd.root, func(n string) bool { return strings.HasPrefix(n, "current.tmp-") })
}
