package hooks

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// A hook run on Linux is contained in a cgroup v2 group of its own, made under the
// agent's own group: the hook starts inside it (clone3 with CLONE_INTO_CGROUP, so there is
// no moment when it or a child is outside), everything it starts stays in it whatever it
// does with sessions and parents, and cgroup.kill ends all of it at once. Where no such
// group can be made (no cgroup2 mount, not root, a service manager that did not delegate
// the agent's group), the runner falls back to the process-group and /proc tree walk.

// cgroupParent is where hook groups are made, found once per process.
var cgroupParent = sync.OnceValues(findCgroupParent)

// cgroupSeq numbers the hook groups of this agent process.
var cgroupSeq atomic.Uint64

// findCgroupParent returns the directory of the agent's own cgroup v2 group, where it can
// make child groups: the cgroup2 mount (read from /proc/self/mountinfo, wherever it is
// mounted) joined with the agent's group (from /proc/self/cgroup, the "0::" line).
func findCgroupParent() (string, error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("read /proc/self/mountinfo: %w", err)
	}
	mount, root, ok := cgroup2Mount(mi)
	if !ok {
		return "", errors.New("no cgroup2 file system is mounted (/proc/self/mountinfo)")
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("read /proc/self/cgroup: %w", err)
	}
	own, ok := unifiedGroup(cg)
	if !ok {
		return "", errors.New("the agent is in no cgroup v2 group (/proc/self/cgroup has no 0:: line)")
	}
	rel, err := filepath.Rel(root, own)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("the agent's cgroup %s is outside the cgroup2 mount's root %s", own, root)
	}
	dir := filepath.Join(mount, rel)
	if err := syscall.Access(dir, 2 /* W_OK */); err != nil {
		return "", fmt.Errorf("cgroup %s is not writable by the agent (%v); under systemd the unit needs Delegate=yes", dir, err)
	}
	return dir, nil
}

// cgroup2Mount finds the cgroup2 mount in the contents of /proc/self/mountinfo: its mount
// point and the root of the hierarchy it shows.
func cgroup2Mount(mountinfo []byte) (mount, root string, ok bool) {
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
		pre, post, found := strings.Cut(sc.Text(), " - ")
		if !found {
			continue
		}
		f, p := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(p) < 1 || p[0] != "cgroup2" {
			continue
		}
		return unescapeMountinfo(f[4]), unescapeMountinfo(f[3]), true
	}
	return "", "", false
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of a mountinfo path.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unifiedGroup returns the cgroup v2 path of the "0::" line of /proc/<pid>/cgroup.
func unifiedGroup(cgroup []byte) (string, bool) {
	for _, line := range strings.Split(string(cgroup), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p, true
		}
	}
	return "", false
}

// container is how one hook run is contained: its cgroup (path), or, when none could be
// made (path ""), the agent as a child subreaper and the run's event id, which its
// adopted orphans carry in their environment.
type container struct {
	path    string
	dir     *os.File // open while the hook starts: clone3 puts the child in it
	eventID string
}

// contain makes a cgroup for the hook of run eventID that cmd is about to start, and makes
// cmd start inside it. When no group can be made it says why, makes the agent a child
// subreaper instead, and returns a container without a group.
func contain(cmd *exec.Cmd, eventID string) (*container, error) {
	c := &container{eventID: eventID}
	parent, err := cgroupParent()
	if err == nil {
		err = c.makeGroup(cmd, parent)
	}
	if err != nil {
		if serr := becomeSubreaper(); serr != nil {
			err = fmt.Errorf("%w; and the agent cannot be a child subreaper either: %v", err, serr)
		}
		return c, err
	}
	return c, nil
}

func (c *container) makeGroup(cmd *exec.Cmd, parent string) error {
	path := filepath.Join(parent, fmt.Sprintf("stackhand-hook-%d-%d", os.Getpid(), cgroupSeq.Add(1)))
	if err := os.Mkdir(path, 0o755); err != nil {
		return fmt.Errorf("make cgroup %s: %w", path, err)
	}
	dir, err := os.Open(path)
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("open cgroup %s: %w", path, err)
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = int(dir.Fd())
	c.path, c.dir = path, dir
	return nil
}

// name is what the record keeps of the container: the group's path.
func (c *container) name() string {
	if c == nil {
		return ""
	}
	return c.path
}

// started is called once the hook started (pid) or failed to (0): the group's directory
// is no longer needed open.
func (c *container) started(int) {
	if c != nil && c.dir != nil {
		_ = c.dir.Close()
		c.dir = nil
	}
}

// procs returns the pids in the group, nil when it is gone.
func (c *container) procs() []int {
	if c == nil || c.path == "" {
		return nil
	}
	return cgroupProcs(c.path)
}

func cgroupProcs(path string) []int {
	b, err := os.ReadFile(filepath.Join(path, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// kill SIGKILLs everything in the group at once (cgroup.kill, Linux 5.14); on an older
// kernel it signals each member.
func (c *container) kill() {
	if c != nil && c.path != "" {
		killCgroup(c.path)
	}
}

func killCgroup(path string) {
	if err := os.WriteFile(filepath.Join(path, "cgroup.kill"), []byte("1"), 0); err == nil {
		return
	}
	for _, pid := range cgroupProcs(path) {
		signal(pid, syscall.SIGKILL)
	}
}

// release removes the group once it is empty. A hook that exited normally may have left
// processes in it (a daemon it started): the group then stays, with them, until the
// service stops; it is removed at a later release once they are gone.
func (c *container) release() {
	if c == nil {
		return
	}
	c.started(0)
	if c.path == "" {
		reapAdopted()
		return
	}
	lingering.add(c.path)
	lingering.sweep()
}

// lingering holds the groups not yet removed because processes were left in them.
var lingering = &groupSet{paths: map[string]bool{}}

type groupSet struct {
	mu    sync.Mutex
	paths map[string]bool
}

func (s *groupSet) add(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paths[path] = true
}

// sweep removes every group of the set that is empty now.
func (s *groupSet) sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.paths {
		if err := os.Remove(p); err == nil || errors.Is(err, os.ErrNotExist) {
			delete(s.paths, p)
		}
	}
}
