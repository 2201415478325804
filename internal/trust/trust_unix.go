//go:build unix

package trust

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// maxLinks bounds the symlinks followed while resolving one path, as the kernel's ELOOP does.
const maxLinks = 40

// problem is an ownership or mode problem; Error says what and the command that fixes it.
type problem struct{ msg string }

func (p *problem) Error() string        { return p.msg }
func (p *problem) Is(target error) bool { return target == ErrUntrusted }

func untrusted(format string, args ...any) error {
	return &problem{msg: fmt.Sprintf(format, args...)}
}

// splitPath returns the components of a clean absolute path ("/a/b" → ["a", "b"]).
func splitPath(p string) []string {
	p = strings.Trim(filepath.ToSlash(p), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// Check walks path from / to its end as described in the package doc and returns the
// resolved path, or why the agent (effective uid euid) must not trust it. label names
// path in messages: "deploy/10-app", or the path itself. Every error about ownership or
// mode satisfies errors.Is(err, ErrUntrusted) and ends with the chown or chmod command
// that fixes it; a missing component gives an error satisfying errors.Is(err,
// fs.ErrNotExist).
func Check(path, label string, kind Kind, euid int) (Result, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Result{}, fmt.Errorf("%s %s: %w", label, path, err)
	}
	w := walker{label: label, orig: abs, euid: euid}
	return w.walk(abs, kind)
}

type walker struct {
	label string
	orig  string
	euid  int
	links int
}

func (w *walker) walk(abs string, kind Kind) (Result, error) {
	cur := "/"
	rootSt, err := lstat(cur)
	if err != nil {
		return Result{}, w.wrap(err)
	}
	if err := w.ownerMode(cur, rootSt, false); err != nil {
		return Result{}, err
	}
	curSt := rootSt
	rest := splitPath(abs)
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case ".", "":
			continue
		case "..":
			cur = filepath.Dir(cur)
			if curSt, err = lstat(cur); err != nil {
				return Result{}, w.wrap(err)
			}
			continue
		}
		next := filepath.Join(cur, name)
		st, err := lstat(next)
		if err != nil {
			return Result{}, w.wrap(err)
		}
		last := len(rest) == 0 && kind == File
		// cur is where name is looked up: nobody untrusted may replace the entry.
		if err := w.lookupDir(cur, curSt, next, st, last); err != nil {
			return Result{}, err
		}
		if st.Mode&syscall.S_IFMT == syscall.S_IFLNK {
			w.links++
			if w.links > maxLinks {
				return Result{}, fmt.Errorf("%s: too many levels of symbolic links", w.label)
			}
			target, err := os.Readlink(next)
			if err != nil {
				return Result{}, w.wrap(err)
			}
			rest = append(splitPath(target), rest...)
			if filepath.IsAbs(target) {
				cur, curSt = "/", rootSt
			}
			continue
		}
		if len(rest) > 0 {
			if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
				return Result{}, w.wrap(&fs.PathError{Op: "lookup", Path: next, Err: syscall.ENOTDIR})
			}
		}
		cur, curSt = next, st
	}
	// cur is the end of the path, resolved.
	switch {
	case kind == Dir && curSt.Mode&syscall.S_IFMT != syscall.S_IFDIR:
		return Result{}, fmt.Errorf("%s: %s is not a directory", w.label, cur)
	case kind == File && curSt.Mode&syscall.S_IFMT == syscall.S_IFDIR:
		return Result{}, fmt.Errorf("%s: %s is a directory", w.label, cur)
	}
	if err := w.ownerMode(cur, curSt, true); err != nil {
		return Result{}, err
	}
	return Result{Resolved: cur, Dev: uint64(curSt.Dev), Ino: uint64(curSt.Ino)}, nil //nolint:unconvert // Dev is uint32 on some platforms
}

// lookupDir checks that dir, where the entry at next (stat st) is looked up, lets nobody
// untrusted replace that entry. last is true when next is the file at the end of the path:
// its directory must not be writable by others even when sticky (anyone could add files).
func (w *walker) lookupDir(dir string, dirSt *syscall.Stat_t, next string, st *syscall.Stat_t, last bool) error {
	if err := w.owner(dir, dirSt, false); err != nil {
		return err
	}
	perm := dirSt.Mode & 0o7777
	if perm&0o022 == 0 {
		return nil
	}
	sticky := perm&syscall.S_ISVTX != 0
	if sticky && !last && w.trustedUID(st.Uid) {
		return nil // only the entry's owner (trusted) may rename or remove it
	}
	hint := ""
	if sticky && !last {
		hint = fmt.Sprintf(" (it is sticky, but %s in it is owned by %s, who can replace it)", filepath.Base(next), describeUID(st.Uid))
	}
	return w.modeProblem(dir, perm, false, hint)
}

// ownerMode checks the owner and mode of one file or directory; end is true for the
// end of the path, false for a directory on the way.
func (w *walker) ownerMode(path string, st *syscall.Stat_t, end bool) error {
	if err := w.owner(path, st, end); err != nil {
		return err
	}
	if perm := st.Mode & 0o7777; perm&0o022 != 0 {
		return w.modeProblem(path, perm, end, "")
	}
	return nil
}

func (w *walker) owner(path string, st *syscall.Stat_t, end bool) error {
	if w.trustedUID(st.Uid) {
		return nil
	}
	want := "root"
	if w.euid != 0 {
		want = fmt.Sprintf("root or uid %d (the agent's user)", w.euid)
	}
	return untrusted("%s is owned by %s, not %s; run: chown root %s", w.subject(path, end), describeUID(st.Uid), want, path)
}

func (w *walker) modeProblem(path string, perm uint32, end bool, hint string) error {
	who := "others"
	switch {
	case perm&0o022 == 0o022:
		who = "group and others"
	case perm&0o020 != 0:
		who = "group"
	}
	return untrusted("%s is writable by %s (mode %04o)%s; run: chmod go-w %s", w.subject(path, end), who, perm, hint, path)
}

// subject names path in a message: the label for the end of the path ("deploy/10-app",
// or "deploy/10-app (-> /opt/app/hook)" when reached through a symlink), "label: directory
// /opt/app" for a directory on the way.
func (w *walker) subject(path string, end bool) string {
	switch {
	case !end:
		return w.label + ": directory " + path
	case path == w.orig:
		return w.label
	}
	return w.label + " (-> " + path + ")"
}

func (w *walker) trustedUID(uid uint32) bool {
	return uid == 0 || (w.euid != 0 && int(uid) == w.euid)
}

func (w *walker) wrap(err error) error {
	return fmt.Errorf("%s: %w", w.label, err)
}

func lstat(path string) (*syscall.Stat_t, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	return &st, nil
}

// describeUID names a uid for messages: "uid 65534 (nobody)".
func describeUID(uid uint32) string {
	s := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(s); err == nil {
		return "uid " + s + " (" + u.Username + ")"
	}
	return "uid " + s
}

// Unchanged returns an error when the file at r.Resolved is no longer the one Check
// looked at (another device or inode): called just before a checked hook is started, it
// narrows the window between check and exec to the exec itself. (The walk is what closes
// it: every directory on the way is one only root or the agent's user can change.)
func (r Result) Unchanged() error {
	if r.Resolved == "" {
		return nil // nothing was checked (a command, not a file)
	}
	st, err := lstat(r.Resolved)
	if err != nil {
		return err
	}
	if uint64(st.Dev) != r.Dev || uint64(st.Ino) != r.Ino { //nolint:unconvert // Dev is uint32 on some platforms
		return fmt.Errorf("%s was replaced after it was checked; run the event again", r.Resolved)
	}
	return nil
}

// OpenNoFollow opens path like os.OpenFile, failing (ELOOP) rather than following a
// symlink at its last component: what the agent writes into its own directories never
// lands where a planted link points.
func OpenNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag|syscall.O_NOFOLLOW, perm)
}

// ReadFile checks path as Check does (kind File) and returns its content, read from the
// very file that was checked: opened without following a symlink, its inode compared.
func ReadFile(path, label string, euid int) ([]byte, error) {
	res, err := Check(path, label, File, euid)
	if err != nil {
		return nil, err
	}
	f, err := OpenNoFollow(res.Resolved, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || uint64(st.Dev) != res.Dev || uint64(st.Ino) != res.Ino { //nolint:unconvert
		return nil, fmt.Errorf("%s: %s was replaced while it was read; try again", label, res.Resolved)
	}
	return io.ReadAll(f)
}

// OwnDir makes sure dir is a directory the agent (effective uid euid) may write into
// without anyone else redirecting what it writes: it creates dir with perm when it is
// missing (owned by the agent, as a process's files are), then requires dir to be owned by
// the agent's user itself, writable by neither group nor others, and every directory above
// it to pass Check. label names dir in messages ("state directory"). It returns the
// resolved path. An ownership or mode problem satisfies errors.Is(err, ErrUntrusted); a
// directory that cannot be created does not.
func OwnDir(dir, label string, perm os.FileMode, euid int) (string, error) {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, perm); err != nil {
			return "", fmt.Errorf("create %s %s: %w", label, dir, err)
		}
		if err := os.Chmod(dir, perm); err != nil { // past the umask
			return "", fmt.Errorf("%s %s: %w", label, dir, err)
		}
	}
	full := label + " " + dir
	res, err := Check(dir, full, Dir, euid)
	if err != nil {
		return "", err
	}
	st, err := lstat(res.Resolved)
	if err != nil {
		return "", fmt.Errorf("%s: %w", full, err)
	}
	if int(st.Uid) != euid {
		who := strconv.Itoa(euid)
		if euid == 0 {
			who = "root"
		}
		return "", untrusted("%s is owned by %s, not the agent's user (%s): that user could redirect what the agent writes there; run: chown %s %s",
			full, describeUID(st.Uid), who, who, res.Resolved)
	}
	return res.Resolved, nil
}

// Subdir returns parent/name, a directory the agent made itself inside a directory that
// passed OwnDir: created with perm when missing, and otherwise required to be a real
// directory (not a symlink planted there) owned by the agent's user.
func Subdir(parent, name string, perm os.FileMode, euid int) (string, error) {
	p := filepath.Join(parent, name)
	if err := os.Mkdir(p, perm); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	st, err := lstat(p)
	if err != nil {
		return "", err
	}
	switch {
	case st.Mode&syscall.S_IFMT == syscall.S_IFLNK:
		return "", untrusted("%s is a symlink, not the directory the agent made; remove it: rm %s", p, p)
	case st.Mode&syscall.S_IFMT != syscall.S_IFDIR:
		return "", fmt.Errorf("%s is not a directory; remove it: rm %s", p, p)
	case int(st.Uid) != euid:
		return "", untrusted("%s is owned by %s, not the agent's user; run: chown -R %d %s", p, describeUID(st.Uid), euid, p)
	}
	return p, nil
}
