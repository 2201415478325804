//go:build unix

package hooks

import (
	"os"

	"github.com/stackhand/stackhand/internal/trust"
)

// Check returns why the hook at path may not run, or nil. As sshd's StrictModes and cron
// do, the hook and every directory above it up to /, after resolving symlinks (and every
// directory a symlink on the way is read from), must be owned by root, or by the agent's
// own effective uid when the agent is not root, and must not be writable by group or
// others; see package trust for the sticky-directory rule. The error says what to run to
// fix it.
func Check(path string) error {
	_, err := check(path, path, os.Geteuid())
	return err
}

// check is Check with the name the hook has in messages (label) and the agent's euid. It
// returns what was checked: the path with every symlink resolved, and its inode.
func check(path, label string, euid int) (trust.Result, error) {
	return trust.Check(path, label, trust.File, euid)
}
