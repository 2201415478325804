//go:build linux

package hooks

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procInfo is what the runner needs of /proc/<pid>/stat.
type procInfo struct {
	pid, ppid, pgrp int
	state           byte
	start           uint64 // clock ticks after boot; tells a process from a later one with the same pid
}

// parseStat parses the contents of /proc/<pid>/stat. The command name is in parentheses
// and may itself hold spaces and parentheses, so the fields are counted from the last ')'.
func parseStat(b []byte) (procInfo, error) {
	s := string(b)
	lp, rp := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if lp < 0 || rp < lp {
		return procInfo{}, fmt.Errorf("parse stat %q: no command name", s)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:lp]))
	if err != nil {
		return procInfo{}, fmt.Errorf("parse stat: pid: %w", err)
	}
	f := strings.Fields(s[rp+1:])
	// f[0] is field 3 of proc(5): state, ppid, pgrp, ... starttime is field 22.
	if len(f) < 20 || len(f[0]) != 1 {
		return procInfo{}, fmt.Errorf("parse stat of pid %d: %d fields", pid, len(f)+2)
	}
	p := procInfo{pid: pid, state: f[0][0]}
	if p.ppid, err = strconv.Atoi(f[1]); err != nil {
		return procInfo{}, fmt.Errorf("parse stat of pid %d: ppid: %w", pid, err)
	}
	if p.pgrp, err = strconv.Atoi(f[2]); err != nil {
		return procInfo{}, fmt.Errorf("parse stat of pid %d: pgrp: %w", pid, err)
	}
	if p.start, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return procInfo{}, fmt.Errorf("parse stat of pid %d: starttime: %w", pid, err)
	}
	return p, nil
}

// running reports whether p still runs: zombies and dead tasks are done.
func (p procInfo) running() bool { return p.state != 'Z' && p.state != 'X' && p.state != 'x' }

// scanProcs reads every process under procfs (normally /proc). Processes that vanish
// while it reads are left out.
func scanProcs(procfs string) map[int]procInfo {
	entries, err := os.ReadDir(procfs)
	if err != nil {
		return nil
	}
	procs := make(map[int]procInfo, len(entries))
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procfs, e.Name(), "stat"))
		if err != nil {
			continue
		}
		if p, err := parseStat(b); err == nil {
			procs[p.pid] = p
		}
	}
	return procs
}

// treeOf returns the running processes of a hook's tree: the members of process group
// pgid, the roots (pid → start time; a pid now held by another process is ignored), and
// every descendant of those by parent pid, wherever they moved (setsid, setpgid).
func treeOf(procs map[int]procInfo, pgid int, roots map[int]uint64) map[int]procInfo {
	children := map[int][]int{}
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	tree := map[int]procInfo{}
	var queue []int
	add := func(p procInfo) {
		if _, ok := tree[p.pid]; !ok {
			tree[p.pid] = p
			queue = append(queue, p.pid)
		}
	}
	for _, p := range procs {
		if p.pgrp == pgid {
			add(p)
		}
	}
	for pid, start := range roots {
		if p, ok := procs[pid]; ok && p.start == start {
			add(p)
		}
	}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			add(procs[c])
		}
	}
	for pid, p := range tree {
		if !p.running() || pid <= 1 {
			delete(tree, pid)
		}
	}
	return tree
}

// treeKiller signals one hook's process tree, remembering every process it has seen so
// that their descendants stay in reach after their parents die. With a cgroup, every
// member of the group is in the tree too, wherever it moved.
type treeKiller struct {
	procfs  string
	pgid    int
	cg      *container
	seen    map[int]uint64 // pid → start time
	grouped bool           // the group has had its first signal
}

// sweep finds the tree's running processes and signals them: all of them, or with
// onlyNew only those not signalled before. Members of the hook's group get one signal to
// the group, the others one each. It returns how many processes are still running.
func (k *treeKiller) sweep(sig syscall.Signal, onlyNew bool) int {
	procs := scanProcs(k.procfs)
	roots := k.seen
	members := k.cg.procs()
	if k.cg != nil && k.cg.path == "" && isSubreaper.Load() {
		members = adoptedOf(procs, k.cg.eventID) // orphans reparented to the agent
	}
	if len(members) > 0 {
		roots = make(map[int]uint64, len(k.seen)+len(members))
		for pid, start := range k.seen {
			roots[pid] = start
		}
		for _, pid := range members {
			if p, ok := procs[pid]; ok {
				roots[pid] = p.start
			}
		}
	}
	tree := treeOf(procs, k.pgid, roots)
	toGroup := !onlyNew || !k.grouped
	group := false
	for pid, p := range tree {
		_, seen := k.seen[pid]
		k.seen[pid] = p.start
		if p.pgrp == k.pgid {
			group = true
			if toGroup {
				continue
			}
		}
		if onlyNew && seen {
			continue
		}
		k.send(pid, sig)
	}
	// Signal the group only while it has members: an empty group's id may be reused.
	if toGroup && group {
		k.send(-k.pgid, sig)
		k.grouped = true
	}
	return len(tree)
}

func (k *treeKiller) send(pid int, sig syscall.Signal) {
	signal(pid, sig)
	if sig == syscall.SIGTERM {
		signal(pid, syscall.SIGCONT) // a stopped process must run to act on SIGTERM
	}
}

// endTree ends the process tree of the hook whose pid is pid (the leader of its own
// process group), contained in cg when it is not nil. It collects the tree from /proc and
// the cgroup before signalling, so children that moved to another group or session are
// caught too (without a cgroup, only while their parent chain is there to follow); sends SIGTERM to the group and to
// each of them; and, when something still runs after grace, SIGKILL to all. It returns
// the hook's wait error, and whether the hook was reaped.
func endTree(pid int, cg *container, grace time.Duration, waited <-chan error) (error, bool) {
	k := &treeKiller{procfs: "/proc", pgid: pid, cg: cg, seen: map[int]uint64{}}
	k.sweep(syscall.SIGTERM, true)

	var waitErr error
	exited := false
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
term:
	for {
		select {
		case waitErr = <-waited:
			exited, waited = true, nil
		case <-tick.C:
			// Children forked since the last sweep get their SIGTERM too.
			if k.sweep(syscall.SIGTERM, true) == 0 && exited {
				return waitErr, true
			}
		case <-deadline.C:
			break term
		}
	}

	// Keep sweeping with SIGKILL until the tree is gone (a process may fork between a
	// scan and its signal), bounded for processes stuck in uninterruptible sleep.
	bound := time.NewTimer(reapWait)
	defer bound.Stop()
	for {
		cg.kill()
		if k.sweep(syscall.SIGKILL, false) == 0 && exited {
			return waitErr, true
		}
		select {
		case waitErr = <-waited:
			exited, waited = true, nil
		case <-tick.C:
		case <-bound.C:
			return waitErr, exited
		}
	}
}

// procStart returns the start time of pid (clock ticks after boot), 0 when it is gone.
func procStart(pid int) uint64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	p, err := parseStat(b)
	if err != nil {
		return 0
	}
	return p.start
}

// endLeftover ends what a hook recorded in rec left running when the agent died: its
// cgroup, all of it, when it had one; else its process group and the descendants of its
// first process, if that process is still the one recorded (same start time: a pid may
// have been reused). It returns how many processes it signalled.
func endLeftover(rec runningHook, grace time.Duration) int {
	n := 0
	var cg *container
	if rec.Cgroup != "" && strings.HasPrefix(filepath.Base(rec.Cgroup), "stackhand-hook-") {
		if _, err := os.Stat(filepath.Join(rec.Cgroup, "cgroup.procs")); err == nil {
			cg = &container{path: rec.Cgroup}
			n += len(cg.procs())
		}
	}
	if rec.PID > 1 {
		k := &treeKiller{procfs: "/proc", cg: cg, seen: map[int]uint64{}}
		procs := scanProcs("/proc")
		leader, ok := procs[rec.PID]
		switch {
		case ok && leader.start == rec.Start:
			k.pgid = rec.PID
			k.seen[rec.PID] = rec.Start
		case ok:
			// The pid belongs to another process now: the group id is not ours either.
			k.pgid = -1
		default:
			k.pgid = rec.PID // the leader is gone; its group's members, if any, are ours
		}
		tree := treeOf(procs, k.pgid, k.seen)
		for _, p := range cg.procs() {
			delete(tree, p)
		}
		n += len(tree)
		if n > 0 {
			k.sweep(syscall.SIGTERM, true)
			deadline := time.Now().Add(grace)
			for time.Now().Before(deadline) && k.sweep(syscall.SIGTERM, true) > 0 {
				time.Sleep(pollInterval)
			}
			bound := time.Now().Add(reapWait)
			for time.Now().Before(bound) && k.sweep(syscall.SIGKILL, false) > 0 {
				cg.kill()
				time.Sleep(pollInterval)
			}
		}
	}
	if cg != nil {
		cg.kill()
		bound := time.Now().Add(reapWait)
		for time.Now().Before(bound) && len(cg.procs()) > 0 {
			time.Sleep(pollInterval)
		}
		_ = os.Remove(cg.path)
	}
	return n
}
