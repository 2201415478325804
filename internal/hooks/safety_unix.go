//go:build unix

package hooks

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// Check returns why the hook at path may not run, or nil. As cron and sudo do, a hook
// (the target, when path is a symlink) and the directory holding it must be owned by
// root, or by the agent's own effective uid when the agent is not root, and must not be
// writable by group or others. The error says what to run to fix it.
func Check(path string) error {
	return check(path, path, os.Geteuid())
}

// check is Check with the name the hook has in messages (label) and the agent's euid.
func check(path, label string, euid int) error {
	return checkTree(path, label, func(p, l string, _ bool) error { return checkOwnerMode(p, l, euid) })
}

// checkOwnerMode checks one file or directory, resolved already; label names it.
func checkOwnerMode(path, label string, euid int) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: cannot read its owner", label)
	}
	if st.Uid != 0 && (euid == 0 || int(st.Uid) != euid) {
		want := "root"
		if euid != 0 {
			want = fmt.Sprintf("root or uid %d (the agent's user)", euid)
		}
		return fmt.Errorf("%s is owned by %s, not %s; run: chown root %s", label, describeUID(st.Uid), want, path)
	}
	perm := fi.Mode().Perm()
	var who string
	switch {
	case perm&0o022 == 0o022:
		who = "group and others"
	case perm&0o020 != 0:
		who = "group"
	case perm&0o002 != 0:
		who = "others"
	default:
		return nil
	}
	return fmt.Errorf("%s is writable by %s (mode %04o); run: chmod go-w %s", label, who, perm, path)
}

func describeUID(uid uint32) string {
	s := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(s); err == nil {
		return "uid " + s + " (" + u.Username + ")"
	}
	return "uid " + s
}
