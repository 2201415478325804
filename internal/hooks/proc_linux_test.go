package hooks

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// statLine is a /proc/<pid>/stat line with the fields the runner reads set.
func statLine(pid int, comm string, state byte, ppid, pgrp int, start uint64) string {
	return strconv.Itoa(pid) + " (" + comm + ") " + string(state) + " " + strconv.Itoa(ppid) + " " + strconv.Itoa(pgrp) +
		" 100 0 -1 4194560 33185 0 0 0 41 121 0 0 20 0 1 0 " + strconv.FormatUint(start, 10) +
		" 42835968 3090 18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		line string
		want procInfo
	}{
		{statLine(42, "sleep", 'S', 7, 7, 12345), procInfo{pid: 42, ppid: 7, pgrp: 7, state: 'S', start: 12345}},
		{statLine(43, "evil) Z 1 1 (name", 'R', 42, 7, 99), procInfo{pid: 43, ppid: 42, pgrp: 7, state: 'R', start: 99}},
		{statLine(44, "", 'Z', 1, 7, 1), procInfo{pid: 44, ppid: 1, pgrp: 7, state: 'Z', start: 1}},
	}
	for _, tt := range tests {
		got, err := parseStat([]byte(tt.line))
		if err != nil || got != tt.want {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "42 sleep S 1", "42 (sleep) S 1 2", "x (sleep) S 1 1 " + "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q): no error", bad)
		}
	}
}

// TestTreeOf runs against a fixture /proc: the hook (100, group 100) with a child in its
// group, a child that moved to its own session, that child's child, an orphan of the
// group reparented to init, a zombie, a stale root whose pid now belongs to someone else,
// and an unrelated process.
func TestTreeOf(t *testing.T) {
	procfs := t.TempDir()
	for _, p := range []struct {
		pid, ppid, pgrp int
		state           byte
		start           uint64
	}{
		{1, 0, 1, 'S', 1},
		{100, 50, 100, 'S', 1000},  // the hook
		{101, 100, 100, 'S', 1001}, // background child
		{102, 100, 102, 'S', 1002}, // setsid child
		{103, 102, 102, 'S', 1003}, // its child
		{104, 1, 100, 'S', 1004},   // double-forked orphan, still in the group
		{105, 100, 100, 'Z', 1005}, // zombie
		{106, 1, 106, 'S', 9999},   // reused pid of a root seen earlier with start 1006
		{107, 106, 106, 'S', 9999}, // its child: not ours
		{200, 1, 200, 'S', 2000},   // unrelated
	} {
		dir := filepath.Join(procfs, strconv.Itoa(p.pid))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(statLine(p.pid, "sh", p.state, p.ppid, p.pgrp, p.start)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(procfs, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	tree := treeOf(scanProcs(procfs), 100, map[int]uint64{106: 1006})
	for _, pid := range []int{100, 101, 102, 103, 104} {
		if _, ok := tree[pid]; !ok {
			t.Errorf("pid %d missing from the tree", pid)
		}
	}
	if len(tree) != 5 {
		t.Errorf("tree = %v, want 5 processes", tree)
	}
}
