package hooks

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCgroup2Mount(t *testing.T) {
	const v1andUnified = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	const onlyV2 = `25 1 0:22 /agents /mnt/my\040cgroups rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate
`
	for _, tc := range []struct {
		in, mount, root string
		ok              bool
	}{
		{v1andUnified, "/sys/fs/cgroup/unified", "/", true},
		{onlyV2, "/mnt/my cgroups", "/agents", true},
		{"31 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", "", "", false},
	} {
		mount, root, ok := cgroup2Mount([]byte(tc.in))
		if mount != tc.mount || root != tc.root || ok != tc.ok {
			t.Errorf("cgroup2Mount(%q) = %q %q %v, want %q %q %v", tc.in, mount, root, ok, tc.mount, tc.root, tc.ok)
		}
	}
	if g, ok := unifiedGroup([]byte("4:memory:/x\n0::/system.slice/stackhand.service\n")); !ok || g != "/system.slice/stackhand.service" {
		t.Errorf("unifiedGroup = %q %v", g, ok)
	}
}

// startTree starts a process group like a hook's: a shell, leader of its group, with a
// background child; it returns the shell and the child's pid.
func startTree(t *testing.T) (*exec.Cmd, int) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "sleep 300 & echo $!; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd, child
}

// Without a cgroup, a dead agent's hook is found again by its pid and start time, and its
// group is ended; a pid that now belongs to another process is left alone.
func TestEndLeftoverWithoutCgroup(t *testing.T) {
	cmd, child := startTree(t)
	pid := cmd.Process.Pid
	if n := endLeftover(runningHook{PID: pid, Start: procStart(pid) + 1}, 100*time.Millisecond); n != 0 {
		t.Errorf("a recorded start time that differs: %d processes ended, want none (the pid is someone else's)", n)
	}
	if !running(pid) || !running(child) {
		t.Fatalf("a process whose start time differs from the record was signalled")
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }() // the agent that started it is gone: someone reaps it
	if n := endLeftover(runningHook{PID: pid, Start: procStart(pid)}, 100*time.Millisecond); n != 2 {
		t.Errorf("ended %d processes, want the hook and its child", n)
	}
	<-done
	waitGone(t, []int{pid, child})
}

// A daemon that double-forked into a session of its own is ended at the hook's timeout:
// through the hook's cgroup, and, where none can be made, as an orphan the agent adopted
// as a child subreaper.
func TestRunEndsADoubleForkedDaemon(t *testing.T) {
	for _, mode := range []string{"cgroup", "subreaper"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "cgroup" {
				if _, err := cgroupParent(); err != nil {
					t.Skipf("no cgroup v2 group can be made here: %v", err)
				}
			} else {
				saved := cgroupParent
				cgroupParent = func() (string, error) { return "", errors.New("test: no cgroup") }
				t.Cleanup(func() { cgroupParent = saved })
			}
			f := newFixture(t)
			pidFile := filepath.Join(f.out, "pids")
			killAtCleanup(t, pidFile)
			f.hook("10-daemon", `( setsid sleep 300 > /dev/null 2>&1 < /dev/null & echo $! >> "$PIDS" )
sleep 300`)
			s := f.spec("ev-daemon-" + mode)
			s.Timeout = 500 * time.Millisecond
			s.Env = append(s.Env, "PIDS="+pidFile)
			res := f.runner.Run(context.Background(), s)
			if res.OK || len(res.Hooks) != 1 || !res.Hooks[0].TimedOut {
				t.Fatalf("result %+v; want a timeout", res)
			}
			pids := readPids(t, pidFile)
			if len(pids) != 1 {
				t.Fatalf("daemon pids %v", pids)
			}
			waitGone(t, pids)
		})
	}
}
