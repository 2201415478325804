//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The security model's tests through the binary (README, "Security model"): what the
// agent refuses to trust, and what it says to fix it.

const nobodyUID = 65534

func requireRootE2E(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to another user (CI runs as root)")
	}
}

// TestSecurityValidateRefusesHooksUnderAnotherUsersDirectory: the user who owns hooks_dir
// points hooks.d/deploy at a root-owned directory of executables (as /usr/sbin is);
// validate refuses each of them, naming hooks_dir and the chown that fixes it.
func TestSecurityValidateRefusesHooksUnderAnotherUsersDirectory(t *testing.T) {
	requireRootE2E(t)
	w := newWorld(t, "")
	sbin := filepath.Join(w.dir, "sbin")
	if err := os.Mkdir(sbin, 0o755); err != nil {
		t.Fatal(err)
	}
	w.writeFile(filepath.Join(sbin, "reboot"), "#!/bin/sh\n")
	os.Chmod(filepath.Join(sbin, "reboot"), 0o755)
	if err := os.Symlink(sbin, filepath.Join(w.hooks, "deploy")); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(w.hooks, nobodyUID, nobodyUID); err != nil {
		t.Fatal(err)
	}
	out, _, code := w.cli("validate")
	want := "directory " + w.hooks + " is owned by uid 65534 (nobody), not root; run: chown root " + w.hooks
	if code != 1 || !strings.Contains(out, want) {
		t.Fatalf("validate: exit %d, want 1 and %q\n%s", code, want, out)
	}

	if err := os.Lchown(w.hooks, 0, 0); err != nil {
		t.Fatal(err)
	}
	if out, _, code := w.cli("validate"); code != 0 {
		t.Fatalf("validate with hooks_dir given back to root: exit %d\n%s", code, out)
	}
}

// TestSecurityConfigOthersCanChangeIsRefused: stackhand.yaml's commands run as root, so a
// config file another user owns or may write is refused by validate and by run, each with
// the command that fixes it; the same file, root-owned 0644 in a root 0755 directory under
// the sticky /tmp, is fine.
func TestSecurityConfigOthersCanChangeIsRefused(t *testing.T) {
	requireRootE2E(t)
	for _, tc := range []struct {
		name  string
		setup func(w *world)
		want  string
	}{
		{"world-writable", func(w *world) { os.Chmod(w.cfg, 0o666) },
			w0 + " is writable by group and others (mode 0666); run: chmod go-w " + w0},
		{"owned by nobody", func(w *world) { os.Chown(w.cfg, nobodyUID, nobodyUID) },
			w0 + " is owned by uid 65534 (nobody), not root; run: chown root " + w0},
		{"directory above writable by group", func(w *world) { os.Chmod(w.dir, 0o775) },
			"directory " + d0 + " is writable by group (mode 0775); run: chmod go-w " + d0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, "")
			tc.setup(w)
			want := strings.NewReplacer(w0, w.cfg, d0, w.dir).Replace(tc.want)
			out, _, code := w.cli("validate")
			if code != 1 || !strings.Contains(out, want) {
				t.Errorf("validate: exit %d, want 1 and %q\n%s", code, want, out)
			}
			a := w.launch(runCmd(w))
			if code := a.exited(); code == 0 || !strings.Contains(a.output(), want) {
				t.Errorf("run: exit %d, want non-zero and %q\n%s", code, want, a.output())
			}
		})
	}
	w := newWorld(t, "")
	if out, _, code := w.cli("validate"); code != 0 {
		t.Fatalf("root 0644 config in a root 0755 directory under /tmp: exit %d\n%s", code, out)
	}
}

// TestSecurityCfnHupConfOthersCanChangeIsRefused: issue 15's 0666 hooks.d/*.conf owned by
// nobody, whose action ran as root, is refused (validate and run); cfn-hup.conf too.
func TestSecurityCfnHupConfOthersCanChangeIsRefused(t *testing.T) {
	requireRootE2E(t)
	for _, file := range []string{"cfn-hup.conf", "hooks.d/evil.conf"} {
		t.Run(file, func(t *testing.T) {
			w := newWorld(t, "")
			cfn := filepath.Join(w.dir, "cfn")
			if err := os.MkdirAll(filepath.Join(cfn, "hooks.d"), 0o755); err != nil {
				t.Fatal(err)
			}
			w.writeFile(filepath.Join(cfn, "cfn-hup.conf"), "[main]\nstack=e2e-stack\nregion=eu-west-1\n")
			w.writeFile(filepath.Join(cfn, "hooks.d", "evil.conf"), "[evil]\ntriggers=post.update\npath=Resources.WebServer.Metadata\naction=touch "+filepath.Join(w.dir, "pwned")+"\n")
			out, _, code := w.cli("validate", "--cfn-hup-dir", cfn)
			if code != 0 {
				t.Fatalf("root-owned cfn-hup files: validate exit %d\n%s", code, out)
			}
			bad := filepath.Join(cfn, file)
			os.Chmod(bad, 0o666)
			os.Chown(bad, nobodyUID, nobodyUID)
			want := bad + " is owned by uid 65534 (nobody), not root; run: chown root " + bad
			out, _, code = w.cli("validate", "--cfn-hup-dir", cfn)
			if code != 1 || !strings.Contains(out, want) {
				t.Errorf("validate: exit %d, want 1 and %q\n%s", code, want, out)
			}
			a := w.launch(runCmd(w, "--cfn-hup-dir", cfn))
			if code := a.exited(); code == 0 || !strings.Contains(a.output(), want) {
				t.Errorf("run: exit %d, want non-zero and %q\n%s", code, want, a.output())
			}
		})
	}
}

// w0 and d0 stand for a world's config file and directory in expected messages.
const w0, d0 = "<CFG>", "<DIR>"

// runCmd is `stackhand run` of w's config with extra arguments.
func runCmd(w *world, extra ...string) *exec.Cmd {
	return exec.Command(binPath, append([]string{"run", "--config", w.cfg}, extra...)...)
}

// TestSecurityStateAndLogDirsOthersCanChangeAreRefused: a state or log directory another
// user owns or may write would let that user redirect what root writes there; run refuses
// it with the command that fixes it. Missing directories are created 0700 and 0750.
func TestSecurityStateAndLogDirsOthersCanChangeAreRefused(t *testing.T) {
	requireRootE2E(t)
	for _, tc := range []struct {
		name string
		dir  string // under the world
		set  func(p string)
		want string
	}{
		{"state owned by nobody", "state", func(p string) { os.Chown(p, nobodyUID, nobodyUID) },
			"state directory <P> is owned by uid 65534 (nobody), not root; run: chown root <P>"},
		{"log writable by others", "log", func(p string) { os.Chmod(p, 0o777) },
			"log directory <P> is writable by group and others (mode 0777); run: chmod go-w <P>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, "")
			p := filepath.Join(w.dir, tc.dir)
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			tc.set(p)
			want := strings.ReplaceAll(tc.want, "<P>", p)
			a := w.launch(runCmd(w))
			if code := a.exited(); code == 0 || !strings.Contains(a.output(), want) {
				t.Errorf("run: exit %d, want non-zero and %q\n%s", code, want, a.output())
			}
		})
	}

	w := newWorld(t, "")
	a := w.start()
	for dir, mode := range map[string]os.FileMode{"state": 0o700, "log": 0o750} {
		fi, err := os.Stat(filepath.Join(w.dir, dir))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v; want created with %04o", dir, err, fi.Mode().Perm(), mode)
		}
	}
	a.stop()
}

// TestSecurityAgentLogIsNotWrittenThroughASymlink: an agent.log replaced by a link to a
// file root can write is not followed; the agent says so and logs to stderr only.
func TestSecurityAgentLogIsNotWrittenThroughASymlink(t *testing.T) {
	w := newWorld(t, "")
	victim := filepath.Join(w.dir, "victim")
	w.writeFile(victim, "untouched\n")
	if err := os.MkdirAll(filepath.Join(w.dir, "log"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(w.dir, "log", "agent.log")); err != nil {
		t.Fatal(err)
	}
	a := w.start()
	a.stop()
	if b, _ := os.ReadFile(victim); string(b) != "untouched\n" {
		t.Errorf("agent.log's link target was written:\n%s", b)
	}
	if !strings.Contains(a.output(), "cannot write the agent log file") {
		t.Errorf("the agent did not say it could not write agent.log:\n%s", a.output())
	}
}

// TestSecurityHookOutputCannotDriveTheTerminal: a hook that prints terminal escapes (a new
// window title, a cleared screen, a fake success) and fails shows them escaped in trigger's
// and status's output, never raw.
func TestSecurityHookOutputCannotDriveTheTerminal(t *testing.T) {
	w := newWorld(t, "")
	w.hook("deploy", "10-app", `printf '\033]0;all good\007\033[2J\033[Hdeploy succeeded\r\n'; exit 1`)
	a := w.start()
	defer a.stop()
	_, stderr, code := w.cli("trigger", "deploy")
	if code == 0 || strings.ContainsAny(stderr, "\x1b\x07\r") || !strings.Contains(stderr, `\x1b]0;all good\x07\x1b[2J`) {
		t.Errorf("trigger: exit %d, want a failure with the escapes shown escaped:\n%q", code, stderr)
	}
	out, _, _ := w.cli("status")
	if strings.ContainsAny(out, "\x1b\x07\r") || !strings.Contains(out, `\x1b[Hdeploy succeeded\x0d`) {
		t.Errorf("status shows raw control characters or hides the output:\n%q", out)
	}
}
