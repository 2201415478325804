// Package release gives an app OpsWorks-style releases on one instance: a revision is
// fetched (file, HTTP(S), S3, Git), verified, unpacked into
// deploy_to/releases/<UTC time>-<revision>, given its shared entries and its owner, and
// made live by switching the deploy_to/current symlink atomically; old releases are
// pruned and `current` can be switched back (rollback). It knows nothing of events,
// config files or hooks: the engine calls Prepare, runs the deploy hooks, calls Switch,
// Check, and Prune or Rollback.
//
// Layout under deploy_to (every directory below made and owned by the agent, never by
// the app's owner, so that the owner cannot redirect what the agent writes as root):
//
//	releases/<20060102T150405Z>-<revision>/   one complete release each, owned by Owner
//	releases/<...>.partial/                     a release being made; discarded by Recover
//	shared/<x>                                  linked into each release as <release>/<x>
//	.stackhand/fetch-<revision>.partial         the download in progress
//	current -> releases/<name>                  the live release, switched by rename(2)
//
// Every path under deploy_to is reached through an os.Root opened on deploy_to after it
// was checked (see checkDeployTo), and paths handed to other code (the unpacker, git)
// go through /proc/<pid>/fd of a directory the agent holds open: renaming or replacing a
// directory on the way cannot send a write elsewhere.
package release

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// App is what the package needs to know about one configured app.
type App struct {
	// Name names the app in messages.
	Name string
	// DeployTo is the absolute directory holding releases/, shared/ and current.
	DeployTo string
	// Owner is the user name that owns each release's files; "" leaves them to root.
	Owner string
	// KeepReleases is how many releases Prune keeps (0 means DefaultKeepReleases); the
	// current release and the one before it are kept whatever it says.
	KeepReleases int
	// Shared lists relative paths: deploy_to/shared/<x> is linked into each release as
	// <release>/<x>.
	Shared []string
	// Checks is the gate Check applies after a switch.
	Checks Checks
	// RollbackOnFailure and ReleaseHooks are carried for the engine; this package does
	// not act on them.
	RollbackOnFailure, ReleaseHooks bool
}

// DefaultKeepReleases is App.KeepReleases when it is 0, as OpsWorks kept five.
const DefaultKeepReleases = 5

func (a App) keep() int {
	if a.KeepReleases <= 0 {
		return DefaultKeepReleases
	}
	return a.KeepReleases
}

// Checks is the health gate after a switch: an HTTP GET that must answer 2xx.
type Checks struct {
	// HTTP is the URL polled; "" means no check.
	HTTP string
	// Within is how long the check may take to pass (0 means DefaultWithin).
	Within time.Duration
	// Interval is the wait between tries (0 means DefaultInterval).
	Interval time.Duration
}

// Defaults of Checks.
const (
	DefaultWithin   = 60 * time.Second
	DefaultInterval = 2 * time.Second
)

// Deploy is one revision to release.
type Deploy struct {
	// Revision names the release (it is sanitized into the directory name).
	Revision string
	// Source is where to fetch it, {revision} already expanded: file:///p, /p,
	// http(s)://, s3://bucket/key[?versionId=v], git+https://host/repo.git#REF.
	Source string
	// SHA256 is the expected hex digest of what is fetched; "" skips the check.
	SHA256 string
}

// Release is one release directory on disk.
type Release struct {
	// Name is the directory name under releases/, Dir its full path.
	Name, Dir string
	// Revision is the (sanitized) revision from the name, Time the UTC time in it.
	Revision string
	Time     time.Time
	// Size is the bytes of its regular files (filled by List).
	Size int64
	// Current is true for the release `current` names; Previous for the newest one
	// before it of another revision (the release a rollback without --to goes back to,
	// which pruning keeps).
	Current, Previous bool
}

const timeLayout = "20060102T150405Z"

var unsafeRevChars = regexp.MustCompile(`[^A-Za-z0-9._+-]`)

// maxRevLen bounds the revision part of a name, well under NAME_MAX (255) with the time.
const maxRevLen = 128

// revisionPart turns a revision into something safe as a path component: a Git ref
// "feature/x" or a revision with spaces must not make a subdirectory or escape.
func revisionPart(rev string) (string, error) {
	s := unsafeRevChars.ReplaceAllString(rev, "_")
	s = strings.TrimLeft(s, ".") // never "." or ".." or a hidden name
	if len(s) > maxRevLen {
		s = s[:maxRevLen]
	}
	for strings.HasSuffix(s, partialSuffix) {
		s = strings.TrimSuffix(s, partialSuffix) // a half-made release's mark, never a revision's
	}
	if s == "" {
		return "", fmt.Errorf("revision %q gives an empty release name: use letters, digits, '.', '_', '-'", rev)
	}
	return s, nil
}

// parseName splits a release directory name; ok is false for anything else (a
// .partial, a stray file), which List and Prune leave alone.
func parseName(name string) (t time.Time, rev string, ok bool) {
	if len(name) < len(timeLayout)+2 || name[len(timeLayout)] != '-' || strings.HasSuffix(name, ".partial") {
		return time.Time{}, "", false
	}
	t, err := time.Parse(timeLayout, name[:len(timeLayout)])
	if err != nil {
		return time.Time{}, "", false
	}
	rev = name[len(timeLayout)+1:]
	if r, err := revisionPart(rev); err != nil || r != rev {
		return time.Time{}, "", false
	}
	return t, rev, true
}

// sortReleases orders releases oldest first (names sort by time, then revision).
func sortReleases(rs []Release) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
}

// Overlap returns an error naming the first two apps whose deploy_to are the same
// directory or one inside the other: their releases, current links and pruning would
// collide. The wiring step reports it as a config error.
func Overlap(apps []App) error {
	for i := range apps {
		for j := i + 1; j < len(apps); j++ {
			a, b := filepath.Clean(apps[i].DeployTo), filepath.Clean(apps[j].DeployTo)
			if a == b || within(a, b) || within(b, a) {
				return fmt.Errorf("apps %q and %q: deploy_to %s and %s overlap: give each app its own directory", apps[i].Name, apps[j].Name, apps[i].DeployTo, apps[j].DeployTo)
			}
		}
	}
	return nil
}

func within(parent, child string) bool {
	rel, err := filepath.Rel(parent, child)
	return err == nil && rel != "." && !strings.HasPrefix(rel, "..")
}

// validShared checks one shared entry: relative, clean, inside the release.
func validShared(s string) error {
	if s == "" || path.IsAbs(s) || filepath.IsAbs(s) {
		return fmt.Errorf("shared entry %q: must be a relative path such as log or config/database.yml", s)
	}
	c := path.Clean(s)
	if c != s || c == "." || c == ".." || strings.HasPrefix(c, "../") || c == ".stackhand" || strings.HasPrefix(c, ".stackhand/") {
		return fmt.Errorf("shared entry %q: must be a clean path inside the release (no '..', no trailing '/', not .stackhand)", s)
	}
	return nil
}

// Validate checks what the package relies on in app: an absolute deploy_to and clean
// shared entries. Config loading calls it to report file:line errors early.
func (a App) Validate() error {
	if a.Name == "" {
		return errors.New("app without a name")
	}
	if !filepath.IsAbs(a.DeployTo) || filepath.Clean(a.DeployTo) == "/" {
		return fmt.Errorf("app %q: deploy_to %q must be an absolute directory other than /", a.Name, a.DeployTo)
	}
	for _, s := range a.Shared {
		if err := validShared(s); err != nil {
			return fmt.Errorf("app %q: %w", a.Name, err)
		}
	}
	return nil
}
