//go:build unix

package hooks

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// identity is the user a command runs as when it is not the agent's own.
type identity struct {
	name     string
	home     string
	shell    string // from the passwd database; /bin/sh when it says none
	uid, gid uint32
	groups   []uint32
}

// lookupRunAs resolves a cfn-hup runas user (a name or a numeric uid). It returns nil
// when the command runs as the agent's own user: runas empty, or naming the agent's
// effective uid. Running as anyone else needs the agent to be root.
func lookupRunAs(runAs string, euid int) (*identity, error) {
	if runAs == "" {
		return nil, nil
	}
	u, err := user.Lookup(runAs)
	if err != nil {
		if _, notNumeric := strconv.Atoi(runAs); notNumeric != nil {
			return nil, fmt.Errorf("runas %s: %w; create the user or fix runas", runAs, err)
		}
		if u, err = user.LookupId(runAs); err != nil {
			return nil, fmt.Errorf("runas %s: %w; create the user or fix runas", runAs, err)
		}
	}
	if u.Uid == strconv.Itoa(euid) {
		return nil, nil
	}
	if euid != 0 {
		return nil, fmt.Errorf("runas %s: running a command as another user needs the agent to run as root, and it runs as uid %d; drop runas or run the agent as root", runAs, euid)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("runas %s: uid %q: %w", runAs, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("runas %s: gid %q: %w", runAs, u.Gid, err)
	}
	id := &identity{name: u.Username, home: u.HomeDir, shell: loginShell(u.Uid), uid: uint32(uid), gid: uint32(gid)}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("runas %s: supplementary groups: %w", runAs, err)
	}
	for _, g := range gids {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("runas %s: group id %q: %w", runAs, g, err)
		}
		id.groups = append(id.groups, uint32(n))
	}
	return id, nil
}

// apply makes cmd run as id: its uid, primary gid and supplementary groups.
func (id *identity) apply(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: id.uid, Gid: id.gid, Groups: id.groups}
}

// loginShell returns the login shell of uid from /etc/passwd (os/user does not give it),
// or /bin/sh.
func loginShell(uid string) string {
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return "/bin/sh"
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) == 7 && f[2] == uid && f[6] != "" {
			return f[6]
		}
	}
	return "/bin/sh"
}

// payloadCopy makes a copy of the payload file that id can read and no one else but
// root: in a fresh directory of its own (0711 root: id can reach the file, not list or
// change the directory), a file owned by id, mode 0400, given its owner and mode before it
// appears under its final name. cleanup removes it.
func (id *identity) payloadCopy(payloadFile string) (path string, cleanup func(), err error) {
	data, err := os.ReadFile(payloadFile)
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "stackhand-runas-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	tmp := filepath.Join(dir, ".payload.json.tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o400)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Chown(int(id.uid), int(id.gid)), f.Chmod(0o400), f.Close()); err != nil {
		cleanup()
		return "", nil, err
	}
	path = filepath.Join(dir, filepath.Base(payloadFile))
	if err := os.Rename(tmp, path); err != nil {
		cleanup()
		return "", nil, err
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		cleanup()
		return "", nil, err
	}
	return path, cleanup, nil
}
