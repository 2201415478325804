// Package trust decides whether the agent, root on every instance, may act on a file
// that someone else could have put there: a hook it runs, a config file whose commands it
// runs, a directory it writes state or logs into. It checks ownership and mode along the
// whole path, from / down, after resolving symlinks (sshd's StrictModes, cron, sudo), and
// opens files inside trusted directories without following symlinks.
//
// The rule, on Unix: every directory in which a name is looked up on the way to the file,
// and every directory a symlink is read from, must be owned by root or by the agent's own
// user and writable by neither group nor others — except that a sticky directory (such as
// /tmp, mode 1777) may be writable by others when the entry looked up in it is owned by
// root or the agent's user, because the sticky bit lets only an entry's owner rename or
// remove it. The directory that holds the file itself gets no such exception: whoever can
// create files there can add a hook or a config file. The file must be owned by root or
// the agent's user and writable by neither group nor others.
package trust

import "errors"

// ErrUntrusted marks the errors of Check, ReadFile, OwnDir and Subdir that are about ownership or mode
// (as opposed to a path that cannot be read).
var ErrUntrusted = errors.New("untrusted")

// Kind says what Check expects at the end of the path.
type Kind int

const (
	// File is a regular file (a hook, a config file).
	File Kind = iota
	// Dir is a directory (a hooks directory, a state or log directory).
	Dir
)

// Result is what Check found: the path with every symlink resolved, and the identity of
// the file there, so that what is opened or run later can be compared with what was checked.
type Result struct {
	Resolved string
	Dev, Ino uint64
}
