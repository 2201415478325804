//go:build unix

package release

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/stackhand/stackhand/internal/trust"
)

// fdPath names the directory f holds open. On Linux /proc/<pid>/fd/N resolves to that
// very directory whatever has been renamed since, so code given the path (the unpacker,
// a git child process) writes where the agent checked. The agent's pid rather than
// "self", so that a child, which does not inherit the descriptor, resolves it too.
func fdPath(f *os.File) string {
	p := "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(int(f.Fd()))
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return f.Name()
}

func readOnly(dir string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, err
	}
	return st.Flags&unix.ST_RDONLY != 0, nil
}

func isReadOnly(err error) bool { return errors.Is(err, syscall.EROFS) }
func isNoSpace(err error) bool  { return errors.Is(err, syscall.ENOSPC) }

// syncFS flushes the file system f is on: the unpacked files reach the disk before the
// rename that makes them a release, so that after a power cut a release is whole.
func syncFS(f *os.File) error { return unix.Syncfs(int(f.Fd())) }

type ownerProblem struct{ msg string }

func (p *ownerProblem) Error() string        { return p.msg }
func (p *ownerProblem) Is(target error) bool { return target == trust.ErrUntrusted }

// checkOwnedDir checks root/name (name "." for root itself): a real directory (not a
// link), owned by root, the agent (euid) or, when ownerUID >= 0, the app's owner, and
// writable by neither group nor others. display names it in messages.
func checkOwnedDir(root *os.Root, name, display, label string, euid, ownerUID int) error {
	fi, err := root.Lstat(name)
	if err != nil {
		return fmt.Errorf("%s %s: %w", label, display, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.IsDir() {
		return &ownerProblem{fmt.Sprintf("%s %s is not a directory (a link or a file is there): remove it; the agent makes it", label, display)}
	}
	uid := int(st.Uid)
	if uid != 0 && uid != euid && (ownerUID < 0 || uid != ownerUID) {
		return &ownerProblem{fmt.Sprintf("%s %s is owned by uid %d, who could redirect what the agent writes as root: chown root %s", label, display, uid, display)}
	}
	if st.Mode&0o022 != 0 {
		return &ownerProblem{fmt.Sprintf("%s %s is writable by group or others (mode %04o): chmod go-w %s", label, display, st.Mode&0o7777, display)}
	}
	return nil
}

// checkOpenedDir checks a directory the agent holds open: its own, and private to it.
func checkOpenedDir(f *os.File, euid int) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.IsDir() || (int(st.Uid) != 0 && int(st.Uid) != euid) || st.Mode&0o022 != 0 {
		return &ownerProblem{fmt.Sprintf("%s changed between its check and its use: look for another process writing there", f.Name())}
	}
	return nil
}
