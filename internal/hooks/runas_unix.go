//go:build unix

package hooks

import (
	"fmt"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// identity is the user a command runs as when it is not the agent's own.
type identity struct {
	name     string
	home     string
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
	id := &identity{name: u.Username, home: u.HomeDir, uid: uint32(uid), gid: uint32(gid)}
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
