//go:build unix

package hooks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunRefusesHooksDirTakenOver is issue 15's first hole: the user who owns hooks_dir
// (the directory above hooks.d/<event>) replaces the event directory with a symlink to a
// root-owned directory of executables. Every hook there would run as root; the walk from
// the hook up to / refuses them, naming hooks_dir and the chown that fixes it.
func TestRunRefusesHooksDirTakenOver(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	hooksDir := filepath.Dir(f.dir)
	// A root-owned directory of executables, as /usr/sbin is.
	sbin := filepath.Join(filepath.Dir(hooksDir), "sbin")
	mkdir(t, sbin, 0o755)
	writeFile(t, filepath.Join(sbin, "reboot"), "#!/bin/sh\ntouch \"$OUT/ran-as-root\"\n", 0o755)
	if err := os.RemoveAll(f.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(sbin, f.dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{hooksDir, f.dir} {
		if err := os.Lchown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	res := f.runner.Run(context.Background(), f.spec("ev-takeover"))
	if f.exists("ran-as-root") {
		t.Fatal("a hook reached through a directory another user owns ran as root")
	}
	want := "deploy/reboot: directory " + hooksDir + " is owned by uid 65534 (nobody), not root; run: chown root " + hooksDir
	if res.OK || len(res.Hooks) != 1 || res.Hooks[0].Refused != want {
		t.Fatalf("result %+v\nwant the hook refused with %q", res, want)
	}
	if err := Check(filepath.Join(f.dir, "reboot")); err == nil || !strings.Contains(err.Error(), "directory "+hooksDir+" is owned by uid 65534") {
		t.Errorf("Check (what validate uses) = %v", err)
	}
}

// TestRunRefusesWritableAncestor: a directory anywhere above the hook that group or
// others can write lets them rename the tree below it away and put their own in its place.
func TestRunRefusesWritableAncestor(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	f.hook("10-app", `touch "$OUT/10"`)
	top := filepath.Dir(filepath.Dir(f.dir)) // the directory holding hooks.d
	mkdir(t, top, 0o775)
	res := f.runner.Run(context.Background(), f.spec("ev-ancestor"))
	want := "deploy/10-app: directory " + top + " is writable by group (mode 0775); run: chmod go-w " + top
	if res.OK || len(res.Hooks) != 1 || res.Hooks[0].Refused != want || f.exists("10") {
		t.Fatalf("result %+v\nwant the hook refused with %q", res, want)
	}
}

// TestRunExecutesTheCheckedFile: a hook reached through a symlink runs as the file the
// check resolved (its $0 is the target), and a file swapped after the check is not run.
func TestRunExecutesTheCheckedFile(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	lib := filepath.Join(filepath.Dir(f.dir), "lib")
	mkdir(t, lib, 0o755)
	target := writeFile(t, filepath.Join(lib, "app.sh"), "#!/bin/sh\necho \"zero=$0\"\n", 0o755)
	if err := os.Symlink(target, filepath.Join(f.dir, "10-app")); err != nil {
		t.Fatal(err)
	}
	res := f.runner.Run(context.Background(), f.spec("ev-resolved"))
	if !res.OK || !strings.Contains(res.Tail, "zero="+target) {
		t.Fatalf("result %+v; want the resolved file run", res)
	}

	checked, err := check(target, "deploy/10-app", 0)
	if err != nil {
		t.Fatal(err)
	}
	swapped := writeFile(t, filepath.Join(lib, "other"), "#!/bin/sh\n", 0o755)
	if err := os.Rename(swapped, target); err != nil {
		t.Fatal(err)
	}
	if err := checked.Unchanged(); err == nil || !strings.Contains(err.Error(), "was replaced after it was checked") {
		t.Errorf("Unchanged after a swap = %v", err)
	}
}

// TestRunWritesNothingThroughPlantedSymlinks: a link planted where the runner writes — the
// run's log directory, a hook's log file, the payload directory — is not followed, and
// what it points at is left alone; pruning removes no link's target.
func TestRunWritesNothingThroughPlantedSymlinks(t *testing.T) {
	victimDir := t.TempDir()
	victim := writeFile(t, filepath.Join(victimDir, "shadow"), "root:secret\n", 0o644)
	for _, tc := range []struct {
		name  string
		plant func(f *fixture)
		want  string
	}{
		{"hook log", func(f *fixture) {
			mkdir(t, filepath.Join(f.runner.LogDir, "ev-1"), 0o750)
			os.Symlink(victim, filepath.Join(f.runner.LogDir, "ev-1", "10-app.log"))
		}, "open hook log"},
		{"run log directory", func(f *fixture) {
			mkdir(t, f.runner.LogDir, 0o750)
			os.Symlink(victimDir, filepath.Join(f.runner.LogDir, "ev-1"))
		}, "is a symlink, not the directory the agent made"},
		{"hook log root", func(f *fixture) {
			os.Symlink(victimDir, f.runner.LogDir)
		}, "is a symlink, not the directory the agent made"},
		{"payload directory", func(f *fixture) {
			os.Symlink(victimDir, f.runner.PayloadDir)
		}, "is a symlink, not the directory the agent made"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.hook("10-app", "echo overwritten")
			tc.plant(f)
			res := f.runner.Run(context.Background(), f.spec("ev-1"))
			got := res.Err
			if len(res.Hooks) > 0 {
				got += res.Hooks[0].Err
			}
			if tc.name == "payload directory" {
				// A payload directory the agent cannot use is not a reason to skip the
				// event: the payload goes to a private directory, and the event says why.
				got = strings.Join(res.Warnings, "\n")
				if !res.OK || !strings.Contains(got, tc.want) {
					t.Errorf("result %+v\nwant the event run, with a warning containing %q", res, tc.want)
				}
			} else if res.OK || !strings.Contains(got, tc.want) {
				t.Errorf("result %+v\nwant a failure containing %q", res, tc.want)
			}
			if b, _ := os.ReadFile(victim); string(b) != "root:secret\n" {
				t.Errorf("the link's target was written: %q", b)
			}
			if entries, _ := os.ReadDir(victimDir); len(entries) != 1 {
				t.Errorf("files appeared where the link points: %v", entries)
			}
		})
	}

	// Pruning: a link among the old payloads and run logs is skipped, its target kept.
	f := newFixture(t)
	f.runner.Keep = 1
	f.hook("10-app", "true")
	f.runner.Run(context.Background(), f.spec("ev-0"))
	os.Symlink(victimDir, filepath.Join(f.runner.LogDir, "ev-00-link"))
	os.Symlink(victim, filepath.Join(f.runner.PayloadDir, "ev-00-link.json"))
	f.runner.Run(context.Background(), f.spec("ev-1"))
	if b, _ := os.ReadFile(victim); string(b) != "root:secret\n" {
		t.Errorf("pruning followed a link: %q", b)
	}
}

// TestRunAsGetsOnlyTheContractEnvironment: a command run as another user gets sudo's
// env_reset — the hook contract's variables, hook_env, a sane PATH, the user's HOME, USER,
// LOGNAME and SHELL, LANG and TZ — never the agent's AWS credentials, and a payload file it
// can read.
func TestRunAsGetsOnlyTheContractEnvironment(t *testing.T) {
	requireRoot(t)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "agent-secret")
	t.Setenv("AWS_SESSION_TOKEN", "agent-token")
	t.Setenv("STACKHAND_AGENT_ONLY", "x")
	t.Setenv("PATH", "/opt/agent/bin:/usr/bin:/bin")
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("TZ", "UTC")
	f := newFixture(t)
	s := f.spec("ev-runas")
	s.Dir, s.RunAs = "", "nobody"
	s.Env = []string{"APP_ENV=prod"}
	s.Command = `env | sort; echo "payload=$(cat "$STACKHAND_EVENT_FILE")"`
	res := f.runner.Run(context.Background(), s)
	if !res.OK {
		t.Fatalf("result %+v", res)
	}
	for _, want := range []string{"STACKHAND_EVENT=deploy\n", "APP_ENV=prod\n", "PATH=" + defaultPath + "\n",
		"USER=nobody\n", "LOGNAME=nobody\n", "HOME=", "SHELL=", "LANG=C.UTF-8\n", "TZ=UTC\n",
		`payload={"event":"deploy"}`} {
		if !strings.Contains(res.Tail, want) {
			t.Errorf("output lacks %q:\n%s", want, res.Tail)
		}
	}
	for _, leak := range []string{"agent-secret", "agent-token", "STACKHAND_AGENT_ONLY", "/opt/agent/bin"} {
		if strings.Contains(res.Tail, leak) {
			t.Errorf("output has %q from the agent's environment:\n%s", leak, res.Tail)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(os.TempDir(), "stackhand-runas-*")); len(entries) > 0 {
		for _, e := range entries {
			if fi, err := os.Stat(e); err == nil && fi.ModTime().After(res.Hooks[0].Start) {
				t.Errorf("the payload copy %s was not removed after the run", e)
			}
		}
	}
}

// TestRunBoundsTheEnvironment: a reason listing thousands of peers is cut in
// STACKHAND_REASON (the payload has it all) and the hooks run; a CFN_NEW_* value from the
// fleet owner's metadata too big for exec fails the event with its name and size.
func TestRunBoundsTheEnvironment(t *testing.T) {
	f := newFixture(t)
	f.hook("10-app", `printf 'reason=%s\n' "${#STACKHAND_REASON}"`)
	s := f.spec("ev-peers")
	s.Reason = "peers joined: " + strings.Repeat("i-0123456789abcdef0, ", 10000)
	res := f.runner.Run(context.Background(), s)
	if !res.OK || !strings.Contains(res.Tail, "reason=") {
		t.Fatalf("result %+v; a long reason must not stop the hooks", res)
	}
	if env := hookEnv("linux", nil, s, "p", nil); len(env[2]) > maxReason+len("STACKHAND_REASON=")+10 {
		t.Errorf("STACKHAND_REASON is %d bytes", len(env[2]))
	}

	s = f.spec("ev-big-meta")
	s.Env = append(s.Env, "CFN_NEW_METADATA="+strings.Repeat("x", 200000))
	res = f.runner.Run(context.Background(), s)
	want := "environment variable CFN_NEW_METADATA is 200000 bytes, more than the 131054 bytes exec allows"
	if res.OK || !strings.Contains(res.Err, want) {
		t.Errorf("result %+v\nwant the event failed with %q", res, want)
	}
}
