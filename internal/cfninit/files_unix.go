//go:build unix

package cfninit

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// How a root write is kept where the Init block says, against someone with a shell on
// the box.
//
// The path is walked from / one name at a time through directory file descriptors
// (openat with O_NOFOLLOW), missing directories made on the way (mkdirat 0755, as
// cfn-init's os.makedirs under umask 022), and the file is created, filled, given its
// owner and mode, and renamed into place relative to the descriptor of its parent. No
// name is looked up twice, so nothing can be swapped between a check and the write.
//
// The rule, checked on the descriptor itself (fstat) of each directory on the way:
// it is owned by root, by the agent's own user, or by the file's target owner (who
// could write the file anyway), and is writable by neither group nor others unless it
// is sticky (as /tmp is: the sticky bit lets only an entry's owner move or remove it,
// and every entry used below it must itself pass this rule). A symlink on the way is
// followed only when it is owned by one of the same users; its target is then walked
// from / again under the same rule. package trust's Check is the same idea for what
// the agent runs (root or the agent's user only, path-based); here the target owner
// is allowed and missing directories are made, so the walk is its own.

const maxLinks = 40 // as the kernel's ELOOP limit

// walker resolves a path's parent directory under the rule above.
type walker struct {
	euid    int
	allowed []int // owners a directory or symlink on the way may have
	links   int
}

func newWalker(targetUID int) *walker {
	euid := os.Geteuid()
	w := &walker{euid: euid, allowed: []int{0, euid}}
	if targetUID >= 0 {
		w.allowed = append(w.allowed, targetUID)
	}
	return w
}

func (w *walker) ownerOK(uid uint32) bool {
	for _, a := range w.allowed {
		if uint32(a) == uid {
			return true
		}
	}
	return false
}

// checkDir applies the rule to an open directory; shown is its path for messages.
func (w *walker) checkDir(st *unix.Stat_t, shown string) error {
	if !w.ownerOK(st.Uid) {
		return fmt.Errorf("refusing to write through %s: it is owned by uid %d, who could redirect what root writes there (fix: chown root %s)", shown, st.Uid, shown)
	}
	if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
		return fmt.Errorf("refusing to write through %s: it is writable by group or others (mode %04o), who could redirect what root writes there (fix: chmod go-w %s)", shown, st.Mode&0o7777, shown)
	}
	return nil
}

// openParent returns a descriptor of path's parent directory, made when missing, and
// path's last name. The caller closes the descriptor.
func (w *walker) openParent(path string) (int, string, error) {
	dir, name := filepath.Split(path)
	if name == "" {
		return -1, "", fmt.Errorf("%s names no file", path)
	}
	fd, err := w.openDir(dir)
	return fd, name, err
}

// openDir walks dir from /, making missing directories.
func (w *walker) openDir(dir string) (int, error) {
restart:
	fd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("stat /: %v", err)
	}
	if err := w.checkDir(&st, "/"); err != nil {
		unix.Close(fd)
		return -1, err
	}
	cur := "/"
	names := strings.Split(strings.Trim(filepath.Clean(dir), "/"), "/")
	for i := 0; i < len(names); i++ {
		name := names[i]
		if name == "" || name == "." {
			continue
		}
		next := filepath.Join(cur, name)
		if name == ".." { // only from a symlink's target: walk the cleaned path from / again
			unix.Close(fd)
			dir = filepath.Join(next, filepath.Join(names[i+1:]...))
			goto restart
		}
		var lst unix.Stat_t
		err := unix.Fstatat(fd, name, &lst, unix.AT_SYMLINK_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(fd, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				unix.Close(fd)
				return -1, fmt.Errorf("create directory %s: %v", next, err)
			}
			err = unix.Fstatat(fd, name, &lst, unix.AT_SYMLINK_NOFOLLOW)
		}
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("stat %s: %v", next, err)
		}
		if lst.Mode&unix.S_IFMT == unix.S_IFLNK {
			if !w.ownerOK(lst.Uid) {
				unix.Close(fd)
				return -1, fmt.Errorf("refusing to follow the symlink %s: it is owned by uid %d, not by root (fix: replace it with a root-owned link or directory)", next, lst.Uid)
			}
			w.links++
			if w.links > maxLinks {
				unix.Close(fd)
				return -1, fmt.Errorf("%s: too many levels of symbolic links", next)
			}
			target, err := readlinkat(fd, name)
			unix.Close(fd)
			if err != nil {
				return -1, fmt.Errorf("read the symlink %s: %v", next, err)
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(cur, target)
			}
			dir = filepath.Join(target, filepath.Join(names[i+1:]...))
			goto restart
		}
		nfd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
				return -1, fmt.Errorf("%s exists and is not a directory", next)
			}
			return -1, fmt.Errorf("open directory %s: %v", next, err)
		}
		fd = nfd
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("stat %s: %v", next, err)
		}
		if err := w.checkDir(&st, next); err != nil {
			unix.Close(fd)
			return -1, err
		}
		cur = next
	}
	return fd, nil
}

func readlinkat(fd int, name string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(fd, name, buf)
		if err != nil {
			return "", err
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

func tempName(name string) string {
	var b [6]byte
	rand.Read(b[:])
	return "." + name + ".stackhand-" + hex.EncodeToString(b[:])
}

func owners(w wantFile) (int, int) {
	uid, gid := w.uid, w.gid
	if uid < 0 {
		uid = os.Geteuid()
	}
	if gid < 0 {
		gid = os.Getegid()
	}
	return uid, gid
}

// openTarget opens the directory that holds path through the walker's checks and reads
// what is at path now, without following a link: exists is false when nothing is; a
// directory in the way is an error ("a directory is in the way<of>").
func openTarget(path string, uid int, of string) (dfd int, name string, old unix.Stat_t, exists bool, err error) {
	dfd, name, err = newWalker(uid).openParent(path)
	if err != nil {
		return -1, "", old, false, err
	}
	exists = true
	if err = unix.Fstatat(dfd, name, &old, unix.AT_SYMLINK_NOFOLLOW); errors.Is(err, unix.ENOENT) {
		exists, err = false, nil
	} else if err != nil {
		err = fmt.Errorf("stat: %v", err)
	} else if old.Mode&unix.S_IFMT == unix.S_IFDIR {
		err = fmt.Errorf("a directory is in the way%s; remove it or choose another path", of)
	}
	if err != nil {
		unix.Close(dfd)
		return -1, "", old, false, err
	}
	return dfd, name, old, exists, nil
}

// writeRegular writes content to w.path as described at the top of this file and
// reports whether anything changed. An unchanged file is not touched.
func writeRegular(w wantFile, content io.Reader) (bool, error) {
	uid, gid := owners(w)
	dfd, name, old, exists, err := openTarget(w.path, uid, "")
	if err != nil {
		return false, err
	}
	defer unix.Close(dfd)

	tmp := tempName(name)
	tfd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return false, fmt.Errorf("create a temporary file beside it: %v", err)
	}
	tf := os.NewFile(uintptr(tfd), filepath.Join(filepath.Dir(w.path), tmp))
	done := false
	defer func() {
		tf.Close()
		if !done {
			unix.Unlinkat(dfd, tmp, 0)
		}
	}()
	if testHookTemp != nil {
		testHookTemp("created", tf.Name())
	}
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(tf, h), content)
	if err != nil {
		return false, fmt.Errorf("write: %w", err)
	}
	if exists && old.Mode&unix.S_IFMT == unix.S_IFREG && old.Size == size &&
		int(old.Uid) == uid && int(old.Gid) == gid && uint32(old.Mode)&0o7777 == w.perm {
		same, err := sameContent(dfd, name, h.Sum(nil))
		if err != nil {
			return false, err
		}
		if same {
			return false, nil // the temporary file is removed by the deferred cleanup
		}
	}
	// Owner before mode: chown clears the set-id bits a mode may ask for.
	if err := tf.Chown(uid, gid); err != nil {
		return false, fmt.Errorf("chown %d:%d: %v", uid, gid, err)
	}
	if err := tf.Chmod(os.FileMode(w.perm&0o777) | setIDBits(w.perm)); err != nil {
		return false, fmt.Errorf("chmod %04o: %v", w.perm, err)
	}
	if err := tf.Sync(); err != nil {
		return false, fmt.Errorf("sync: %v", err)
	}
	if err := replace(dfd, tmp, name, exists, tf.Name()); err != nil {
		return false, err
	}
	done = true
	return true, nil
}

// setIDBits turns the set-uid, set-gid and sticky bits of a numeric mode into
// os.FileMode's.
func setIDBits(perm uint32) os.FileMode {
	var m os.FileMode
	if perm&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if perm&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if perm&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

// replace keeps what name holds as name.bak, as cfn-init does, then renames tmp over
// name and syncs the directory. The .bak is made by a hard link and a rename, so that
// name never disappears.
func replace(dfd int, tmp, name string, exists bool, shownTmp string) error {
	if exists {
		bakTmp := tempName(name + ".bak")
		if err := unix.Linkat(dfd, name, dfd, bakTmp, 0); err != nil {
			return fmt.Errorf("keep the previous file as %s.bak: %v", name, err)
		}
		if err := unix.Renameat(dfd, bakTmp, dfd, name+".bak"); err != nil {
			unix.Unlinkat(dfd, bakTmp, 0)
			return fmt.Errorf("keep the previous file as %s.bak: %v", name, err)
		}
	}
	if testHookTemp != nil {
		testHookTemp("rename", shownTmp)
	}
	if err := unix.Renameat(dfd, tmp, dfd, name); err != nil {
		return fmt.Errorf("rename into place: %v", err)
	}
	unix.Fsync(dfd)
	return nil
}

// sameContent reports whether the regular file name in dfd hashes to sum.
func sameContent(dfd int, name string, sum []byte) (bool, error) {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return false, fmt.Errorf("read the existing file: %v", err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, fmt.Errorf("read the existing file: %v", err)
	}
	return bytes.Equal(h.Sum(nil), sum), nil
}

// writeLink makes w.path a symlink to w.target, owned as asked, unless it already is.
func writeLink(w wantFile) (bool, error) {
	uid, gid := owners(w)
	dfd, name, old, exists, err := openTarget(w.path, uid, " of the symlink")
	if err != nil {
		return false, err
	}
	defer unix.Close(dfd)
	if exists && old.Mode&unix.S_IFMT == unix.S_IFLNK && int(old.Uid) == uid && int(old.Gid) == gid {
		if t, err := readlinkat(dfd, name); err == nil && t == w.target {
			return false, nil
		}
	}
	tmp := tempName(name)
	if err := unix.Symlinkat(w.target, dfd, tmp); err != nil {
		return false, fmt.Errorf("create the symlink: %v", err)
	}
	if err := unix.Fchownat(dfd, tmp, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		unix.Unlinkat(dfd, tmp, 0)
		return false, fmt.Errorf("chown %d:%d the symlink: %v", uid, gid, err)
	}
	if err := replace(dfd, tmp, name, exists, filepath.Join(filepath.Dir(w.path), tmp)); err != nil {
		unix.Unlinkat(dfd, tmp, 0)
		return false, err
	}
	return true, nil
}

// checkTargetDir makes dir and its missing parents (0755) and checks every directory
// of it under the rule above, for a source's target: root's, the agent's or no one's
// else.
func checkTargetDir(dir string) error {
	fd, err := newWalker(-1).openDir(dir)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}
