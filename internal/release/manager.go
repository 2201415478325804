package release

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/archive"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/trust"
)

// Unpacker is what Prepare needs from an archive reader: Unpack refuses what is not an
// archive or holds hostile entries, checks that the unpacked size fits in dest's free
// space with reserve bytes to spare, and only then unpacks into dest (an empty directory)
// without writing outside it, returning the bytes unpacked. Archive (internal/archive) is
// the agent's; tests may wrap it.
type Unpacker interface {
	Unpack(ctx context.Context, archive, dest string, reserve int64) (size int64, err error)
}

// Archive is the Unpacker of internal/archive: tar, tar.gz, tar.bz2, tar.zst and zip,
// scanned whole before anything is written. The owner is set by Prepare afterwards.
type Archive struct{}

// Unpack calls archive.Extract.
func (Archive) Unpack(ctx context.Context, path, dest string, reserve int64) (int64, error) {
	st, err := archive.Extract(ctx, path, dest, archive.Options{UID: -1, GID: -1, Reserve: reserve})
	return st.Bytes, err
}

// Manager makes, switches, lists and prunes the releases of apps. Its zero value is ready
// to use (mode local: file and HTTP(S) and Git sources); set Fetchers["s3"] for S3. Calls for the same
// deploy_to are serialized; calls for different apps run side by side.
type Manager struct {
	// Unpacker reads archives (nil means Archive).
	Unpacker Unpacker
	// Fetchers by source kind: "file", "http", "https", "s3", "git". A missing entry
	// falls back to FileFetcher, HTTPFetcher and GitFetcher; "s3" has no default (it
	// needs the agent's AWS configuration).
	Fetchers map[string]Fetcher
	// Reserve is what must stay free after unpacking (0 means 64 MiB), so that a release
	// does not fill the disk the app logs to. The unpacker checks it against the
	// archive's scanned size before it writes anything.
	Reserve int64
	// HTTPClient makes Check's requests (nil means http.DefaultClient with per-try
	// deadlines).
	HTTPClient *http.Client
	// Clock stamps release names and paces Check (nil means the wall clock).
	Clock clock.Clock
	// Log gets what the manager did and what it cleaned up (nil means none).
	Log *zap.Logger

	locks sync.Map // clean deploy_to → *sync.Mutex
	seq   atomic.Uint64

	// at, when set (tests only), is called at each phase: "fetch" once bytes have
	// arrived, "fetched" once the download is verified, "unpack" once it is unpacked
	// into the .partial directory, "switch" with the new link made but not yet renamed,
	// "switched" once current names the new release but before the caller records it;
	// so that a test can SIGKILL the process at a known point.
	at func(phase string)
}

func (m *Manager) hook(phase string) {
	crashpoint(phase)
	if m.at != nil {
		m.at(phase)
	}
}

func (m *Manager) clock() clock.Clock {
	if m.Clock == nil {
		return clock.Real{}
	}
	return m.Clock
}

func (m *Manager) log() *zap.Logger {
	if m.Log == nil {
		return zap.NewNop()
	}
	return m.Log
}

func (m *Manager) lock(app App) func() {
	v, _ := m.locks.LoadOrStore(filepath.Clean(app.DeployTo), new(sync.Mutex))
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

func (m *Manager) fetcher(source string) (Fetcher, error) {
	kind := scheme(source)
	if f, ok := m.Fetchers[kind]; ok && f != nil {
		return f, nil
	}
	switch kind {
	case "file":
		return FileFetcher{}, nil
	case "http", "https":
		return HTTPFetcher{Retry: Retry{Log: m.Log}}, nil
	case "git":
		return GitFetcher{}, nil
	case "s3":
		return nil, fmt.Errorf("source %s: S3 sources need the agent's AWS access (mode aws)", Redact(source))
	}
	return nil, fmt.Errorf("source %s: unknown kind: use file:///path, https://…, s3://bucket/key or git+https://host/repo.git#REF", Redact(source))
}

// deployDir is an app's deploy_to opened after its checks: every operation below goes
// through root (it cannot leave deploy_to, whatever is renamed inside), and the paths
// given to other code go through /proc/<pid>/fd of the directories held open.
type deployDir struct {
	app      App
	path     string // deploy_to, symlinks resolved
	root     *os.Root
	releases *os.Root
	relDir   *os.File // releases/, held open for its /proc/<pid>/fd path
	work     *os.File // .stackhand/, likewise
	uid, gid int      // the owner's, or -1
}

func (d *deployDir) close() {
	for _, c := range []interface{ Close() error }{d.relDir, d.work, d.releases, d.root} {
		if c != nil && !isNilCloser(c) {
			c.Close()
		}
	}
}

func isNilCloser(c interface{ Close() error }) bool {
	switch v := c.(type) {
	case *os.File:
		return v == nil
	case *os.Root:
		return v == nil
	}
	return false
}

func (d *deployDir) relPath() string  { return fdPath(d.relDir) }
func (d *deployDir) workPath() string { return fdPath(d.work) }

// ownerIDs resolves App.Owner.
func ownerIDs(app App) (uid, gid int, err error) {
	if app.Owner == "" {
		return -1, -1, nil
	}
	u, err := user.Lookup(app.Owner)
	if err != nil {
		return 0, 0, fmt.Errorf("app %q: owner %q: %w: create the user first (or fix owner:)", app.Name, app.Owner, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("app %q: owner %q has a non-numeric uid or gid", app.Name, app.Owner)
	}
	return uid, gid, nil
}

// open checks deploy_to and opens it; create makes deploy_to and its directories when
// missing (Prepare), and is false for the calls that only read or switch.
func (m *Manager) open(app App, create bool) (*deployDir, error) {
	if err := app.Validate(); err != nil {
		return nil, err
	}
	uid, gid, err := ownerIDs(app)
	if err != nil {
		return nil, err
	}
	euid := os.Geteuid()
	dt := filepath.Clean(app.DeployTo)
	if create {
		if _, err := os.Lstat(dt); errors.Is(err, fs.ErrNotExist) {
			// Made by the agent, 0755, below the nearest directory that exists, once
			// that one passes trust's check (nobody else could slip a link in between).
			base := filepath.Dir(dt)
			for {
				if _, err := os.Lstat(base); err == nil || base == "/" {
					break
				}
				base = filepath.Dir(base)
			}
			if _, err := trust.Check(base, "deploy_to "+dt, trust.Dir, euid); err != nil {
				return nil, fmt.Errorf("app %q: %w", app.Name, err)
			}
			if err := os.MkdirAll(dt, 0o755); err != nil {
				return nil, m.fsError(app, dt, "create deploy_to", err)
			}
		}
	}
	resolved, err := filepath.EvalSymlinks(dt)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("app %q: deploy_to %s does not exist: %w", app.Name, dt, ErrNothingDeployed)
		}
		return nil, fmt.Errorf("app %q: deploy_to %s: %w", app.Name, dt, err)
	}
	// Everything above deploy_to: root's (or the agent's) alone, by trust's rule.
	if _, err := trust.Check(filepath.Dir(resolved), "deploy_to "+dt, trust.Dir, euid); err != nil {
		return nil, fmt.Errorf("app %q: %w", app.Name, err)
	}
	d := &deployDir{app: app, path: resolved, uid: uid, gid: gid}
	ok := false
	defer func() {
		if !ok {
			d.close()
		}
	}()
	if d.root, err = os.OpenRoot(resolved); err != nil {
		return nil, fmt.Errorf("app %q: deploy_to %s: %w", app.Name, dt, err)
	}
	// deploy_to itself, checked on what was opened: root's, the agent's or the owner's,
	// writable by neither group nor others.
	if err := checkOwnedDir(d.root, ".", dt, "deploy_to", euid, uid); err != nil {
		return nil, fmt.Errorf("app %q: %w", app.Name, err)
	}
	if create {
		if ro, err := readOnlyFS(resolved); err == nil && ro {
			return nil, fmt.Errorf("app %q: deploy_to %s is on a read-only file system: remount it read-write or choose another deploy_to", app.Name, dt)
		}
		for _, sub := range []string{"releases", "shared", ".stackhand"} {
			if err := d.root.Mkdir(sub, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return nil, m.fsError(app, filepath.Join(dt, sub), "create", err)
			}
		}
	}
	for _, sub := range []string{"releases", ".stackhand"} {
		// The agent's own directories: a real directory owned by the agent, so the app's
		// owner (who may own deploy_to) cannot have planted or replaced them.
		if err := checkOwnedDir(d.root, sub, filepath.Join(dt, sub), sub, euid, -2); err != nil {
			if errors.Is(err, fs.ErrNotExist) && !create {
				return nil, fmt.Errorf("app %q: %s has no releases: %w", app.Name, dt, ErrNothingDeployed)
			}
			return nil, fmt.Errorf("app %q: %w", app.Name, err)
		}
	}
	if d.releases, err = d.root.OpenRoot("releases"); err != nil {
		return nil, fmt.Errorf("app %q: %w", app.Name, err)
	}
	if d.relDir, err = d.root.Open("releases"); err != nil {
		return nil, fmt.Errorf("app %q: %w", app.Name, err)
	}
	if d.work, err = d.root.Open(".stackhand"); err != nil {
		return nil, fmt.Errorf("app %q: %w", app.Name, err)
	}
	// What was opened is what was checked: compare the held directories' identity.
	for _, f := range []*os.File{d.relDir, d.work} {
		if err := checkOpenedDir(f, euid); err != nil {
			return nil, fmt.Errorf("app %q: %s: %w", app.Name, dt, err)
		}
	}
	ok = true
	return d, nil
}

// fsError words a file-system failure, naming EROFS and ENOSPC for what they are.
func (m *Manager) fsError(app App, p, what string, err error) error {
	switch {
	case isReadOnly(err):
		return fmt.Errorf("app %q: %s %s: read-only file system: remount it read-write or choose another deploy_to", app.Name, what, p)
	case isNoSpace(err):
		return fmt.Errorf("app %q: %s %s: no space left on device: free space or lower keep_releases", app.Name, what, p)
	}
	return fmt.Errorf("app %q: %s %s: %w", app.Name, what, p, err)
}

// current returns the name of the release `current` links to, "" when there is none.
func (d *deployDir) current() (string, error) {
	target, err := d.root.Readlink("current")
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		if fi, serr := d.root.Lstat("current"); serr == nil && !fi.Mode().IsRegular() && fi.IsDir() {
			return "", fmt.Errorf("app %q: %s/current is a directory, not a link: move it away so releases can be switched", d.app.Name, d.app.DeployTo)
		}
		return "", fmt.Errorf("app %q: read %s/current: %w", d.app.Name, d.app.DeployTo, err)
	}
	dir, name := path.Split(filepath.ToSlash(target))
	if strings.TrimSuffix(dir, "/") != "releases" {
		return "", fmt.Errorf("app %q: %s/current points to %s, not to a release under releases/: remove it to let the agent manage it", d.app.Name, d.app.DeployTo, target)
	}
	return name, nil
}

// ErrNothingDeployed is wrapped by the errors of Switch and Rollback for an app whose
// deploy_to holds no releases yet; List, Undeploy and Recover treat it as an empty app.
var ErrNothingDeployed = errors.New("nothing deployed yet")

// readOnlyFS is readOnly, replaced by tests (a read-only mount needs privileges tests do
// not assume).
var readOnlyFS = readOnly
