//go:build unix

package source

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkSpoolDir refuses a spool that others could write into: a request makes the agent
// run hooks as root.
func checkSpoolDir(dir string) error {
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if info.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("request spool %s is writable by group or others (mode %04o); run: chmod 0700 %s", dir, info.Mode().Perm(), dir)
	}
	return nil
}

// checkRequestOwner accepts request files owned by root or by the agent's own user.
func checkRequestOwner(path string, info fs.FileInfo) error {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not by root or the agent's user; request refused", path, st.Uid)
	}
	return nil
}
