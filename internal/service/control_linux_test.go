package service

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stackhand/stackhand/packaging"
)

// fakeSystemctl records the systemctl calls Control makes and answers them.
type fakeSystemctl struct {
	calls [][]string
	fail  map[string]error  // by the joined args
	out   map[string]string // by the joined args
}

func (f *fakeSystemctl) run(args ...string) (string, error) {
	f.calls = append(f.calls, args)
	key := strings.Join(args, " ")
	return f.out[key], f.fail[key]
}

// fakeRoot returns a root directory whose PID 1 is "fakeinit", with systemd running
// when running is true.
func fakeRoot(t *testing.T, running bool) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "proc/1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "proc/1/comm"), []byte("fakeinit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if running {
		if err := os.MkdirAll(filepath.Join(root, "run/systemd/system"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const notRunningLine = "systemd is not running on this machine (PID 1 is fakeinit); the unit is installed and enabled and will start at next boot\n"

func TestInstall(t *testing.T) {
	for _, tc := range []struct {
		name      string
		running   bool
		binary    string
		config    string
		execStart string
		calls     [][]string
	}{
		{
			name: "systemd running, defaults", running: true,
			execStart: "ExecStart=/usr/bin/stackhand run --config /etc/stackhand/stackhand.yaml",
			calls:     [][]string{{"daemon-reload"}, {"enable", "stackhand"}},
		},
		{
			name: "systemd running, custom paths", running: true,
			binary: "/opt/stackhand/bin/stackhand", config: "/srv/conf/stackhand.yaml",
			execStart: "ExecStart=/opt/stackhand/bin/stackhand run --config /srv/conf/stackhand.yaml",
			calls:     [][]string{{"daemon-reload"}, {"enable", "stackhand"}},
		},
		{
			name: "systemd not running", running: false,
			binary: "/opt/my tools/stackhand", config: "/etc/stackhand/100%.yaml",
			execStart: `ExecStart="/opt/my tools/stackhand" run --config /etc/stackhand/100%%.yaml`,
			calls:     [][]string{{"enable", "stackhand"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeRoot(t, tc.running)
			sc := &fakeSystemctl{out: map[string]string{
				"enable stackhand": "Created symlink /etc/systemd/system/multi-user.target.wants/stackhand.service → /etc/systemd/system/stackhand.service.",
			}}
			var out bytes.Buffer
			err := Control("install", Options{
				ConfigPath: tc.config, BinaryPath: tc.binary, Out: &out, Root: root, Systemctl: sc.run,
			})
			if err != nil {
				t.Fatalf("install: %v", err)
			}
			path := filepath.Join(root, "etc/systemd/system/stackhand.service")
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Replace(string(packaging.SystemdUnit),
				"ExecStart=/usr/bin/stackhand run --config /etc/stackhand/stackhand.yaml", tc.execStart, 1)
			if string(got) != want {
				t.Errorf("unit file:\n%s\nwant:\n%s", got, want)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o644 {
				t.Errorf("unit file mode = %v, want 0644", fi.Mode().Perm())
			}
			if !reflect.DeepEqual(sc.calls, tc.calls) {
				t.Errorf("systemctl calls = %q, want %q", sc.calls, tc.calls)
			}
			if !strings.Contains(out.String(), "Created symlink") {
				t.Errorf("output does not pass on systemctl enable's output:\n%s", out.String())
			}
			if hasLine := strings.Contains(out.String(), notRunningLine); hasLine == tc.running {
				t.Errorf("output has the not-running line: %v, want %v; output:\n%s", hasLine, !tc.running, out.String())
			}
		})
	}
}

func TestInstallOverwritesAndFailsLoudly(t *testing.T) {
	root := fakeRoot(t, true)
	path := filepath.Join(root, "etc/systemd/system/stackhand.service")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	sc := &fakeSystemctl{
		fail: map[string]error{"enable stackhand": errors.New("exit status 1")},
		out:  map[string]string{"enable stackhand": "Failed to enable unit: Access denied"},
	}
	err := Control("install", Options{Root: root, Systemctl: sc.run})
	if err == nil || !strings.Contains(err.Error(), "systemctl enable stackhand: exit status 1: Failed to enable unit: Access denied") {
		t.Errorf("install error = %v, want systemctl's command, status and output", err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, packaging.SystemdUnit) {
		t.Errorf("old unit file was not replaced")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("unit directory holds %d entries, want only the unit (no temp files left)", len(entries))
	}
}

func TestUninstall(t *testing.T) {
	for _, tc := range []struct {
		name    string
		running bool
		calls   [][]string
	}{
		{"systemd running", true, [][]string{{"disable", "--now", "stackhand"}, {"daemon-reload"}}},
		{"systemd not running", false, [][]string{{"disable", "stackhand"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeRoot(t, tc.running)
			if err := Control("install", Options{Root: root, Systemctl: (&fakeSystemctl{}).run}); err != nil {
				t.Fatal(err)
			}
			sc := &fakeSystemctl{}
			var out bytes.Buffer
			if err := Control("uninstall", Options{Root: root, Systemctl: sc.run, Out: &out}); err != nil {
				t.Fatalf("uninstall: %v", err)
			}
			if !reflect.DeepEqual(sc.calls, tc.calls) {
				t.Errorf("systemctl calls = %q, want %q", sc.calls, tc.calls)
			}
			if _, err := os.Stat(filepath.Join(root, "etc/systemd/system/stackhand.service")); !os.IsNotExist(err) {
				t.Errorf("unit file still there (stat: %v)", err)
			}
			if !strings.Contains(out.String(), "removed /etc/systemd/system/stackhand.service") {
				t.Errorf("output:\n%s\nwant it to say the unit was removed", out.String())
			}
		})
	}
	t.Run("not installed", func(t *testing.T) {
		sc := &fakeSystemctl{}
		var out bytes.Buffer
		if err := Control("uninstall", Options{Root: fakeRoot(t, true), Systemctl: sc.run, Out: &out}); err != nil {
			t.Fatalf("uninstall: %v", err)
		}
		if len(sc.calls) != 0 {
			t.Errorf("systemctl calls = %q, want none", sc.calls)
		}
		if !strings.Contains(out.String(), "nothing to uninstall") {
			t.Errorf("output:\n%s\nwant it to say there is nothing to uninstall", out.String())
		}
	})
}

func TestStartStopStatus(t *testing.T) {
	for _, action := range []string{"start", "stop", "status"} {
		t.Run(action+", systemd running", func(t *testing.T) {
			sc := &fakeSystemctl{out: map[string]string{"status stackhand": "● stackhand.service - stackhand agent\n     Active: active (running)\n"}}
			var out bytes.Buffer
			if err := Control(action, Options{Root: fakeRoot(t, true), Systemctl: sc.run, Out: &out}); err != nil {
				t.Fatalf("%s: %v", action, err)
			}
			if want := [][]string{{action, "stackhand"}}; !reflect.DeepEqual(sc.calls, want) {
				t.Errorf("systemctl calls = %q, want %q", sc.calls, want)
			}
			if action == "status" && !strings.Contains(out.String(), "Active: active (running)") {
				t.Errorf("status output:\n%s\nwant systemctl's output", out.String())
			}
		})
		t.Run(action+", systemd not running", func(t *testing.T) {
			root := fakeRoot(t, false)
			if err := Control("install", Options{Root: root, Systemctl: (&fakeSystemctl{}).run}); err != nil {
				t.Fatal(err)
			}
			sc := &fakeSystemctl{}
			err := Control(action, Options{Root: root, Systemctl: sc.run})
			if err == nil {
				t.Fatalf("%s succeeded without systemd", action)
			}
			for _, want := range []string{
				"cannot " + action + " stackhand",
				"systemd is not running on this machine (PID 1 is fakeinit)",
				"the unit is installed and enabled and will start at next boot",
				"/usr/bin/stackhand run --config /etc/stackhand/stackhand.yaml",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not say %q", err, want)
				}
			}
			if len(sc.calls) != 0 {
				t.Errorf("systemctl calls = %q, want none", sc.calls)
			}
		})
	}
	t.Run("status of a stopped unit fails", func(t *testing.T) {
		sc := &fakeSystemctl{
			fail: map[string]error{"status stackhand": errors.New("exit status 3")},
			out:  map[string]string{"status stackhand": "     Active: inactive (dead)\n"},
		}
		var out bytes.Buffer
		err := Control("status", Options{Root: fakeRoot(t, true), Systemctl: sc.run, Out: &out})
		if err == nil || !strings.Contains(err.Error(), "exit status 3") {
			t.Errorf("status error = %v, want systemctl's exit status", err)
		}
		if !strings.Contains(out.String(), "inactive (dead)") {
			t.Errorf("status output:\n%s\nwant systemctl's output", out.String())
		}
	})
	t.Run("not installed, systemd not running", func(t *testing.T) {
		err := Control("start", Options{Root: fakeRoot(t, false), Systemctl: (&fakeSystemctl{}).run})
		if err == nil || !strings.Contains(err.Error(), "install the unit with `/usr/bin/stackhand service install`") {
			t.Errorf("start error = %v, want advice to install", err)
		}
	})
}

func TestRenderUnit(t *testing.T) {
	for _, tc := range []struct {
		binary, config, want string
	}{
		{"/usr/bin/stackhand", "/etc/stackhand/stackhand.yaml", "ExecStart=/usr/bin/stackhand run --config /etc/stackhand/stackhand.yaml"},
		{"/usr/local/bin/stackhand", "/etc/stackhand/stackhand.yaml", "ExecStart=/usr/local/bin/stackhand run --config /etc/stackhand/stackhand.yaml"},
		{"/opt/a b/stackhand", "/c/$HOME/x.yaml", `ExecStart="/opt/a b/stackhand" run --config /c/$$HOME/x.yaml`},
		{`/opt/q"\/stackhand`, "/etc/x;y.yaml", `ExecStart="/opt/q\"\\/stackhand" run --config "/etc/x;y.yaml"`},
	} {
		got, err := renderUnit(packaging.SystemdUnit, tc.binary, tc.config)
		if err != nil {
			t.Fatalf("renderUnit(%q, %q): %v", tc.binary, tc.config, err)
		}
		if n := strings.Count(string(got), "ExecStart="); n != 1 {
			t.Errorf("rendered unit has %d ExecStart= lines, want 1", n)
		}
		if !strings.Contains(string(got), "\n"+tc.want+"\n") {
			t.Errorf("renderUnit(%q, %q) has no line %q:\n%s", tc.binary, tc.config, tc.want, got)
		}
	}
	if _, err := renderUnit(packaging.SystemdUnit, "/usr/bin/x\nExecStartPre=/bin/evil", DefaultConfigPath); err == nil {
		t.Error("renderUnit accepted a binary path with a newline")
	}
	if _, err := renderUnit([]byte("[Service]\n"), "/x", "/y"); err == nil {
		t.Error("renderUnit accepted a template without ExecStart=")
	}
}

// TestUnitVerifies runs systemd-analyze verify (it needs no running systemd) on the
// shipped unit and on one installed with awkward paths. verify exits 0 even on unknown
// keys and only prints a warning, so any output at all fails the test.
func TestUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is not installed; CI must install it (Debian package systemd)")
		}
		t.Skip("systemd-analyze is not installed (Debian package systemd); skipping the unit check")
	}
	// verify checks that ExecStart's program exists and is executable.
	dir := filepath.Join(t.TempDir(), "my tools 100%")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(dir, "stackhand")
	if err := os.WriteFile(binary, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, binary, config string }{
		{"shipped unit", "/bin/true", DefaultConfigPath},
		{"installed with awkward paths", binary, "/etc/stack hand/$x%.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeRoot(t, false)
			if err := Control("install", Options{Root: root, BinaryPath: tc.binary, ConfigPath: tc.config,
				Systemctl: (&fakeSystemctl{}).run}); err != nil {
				t.Fatal(err)
			}
			unit := filepath.Join(root, "etc/systemd/system/stackhand.service")
			out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
			if err != nil || len(out) > 0 {
				b, _ := os.ReadFile(unit)
				t.Errorf("systemd-analyze verify %s: %v\n%s\nunit:\n%s", unit, err, out, b)
			}
		})
	}
	t.Run("catches a typo", func(t *testing.T) {
		unit := filepath.Join(t.TempDir(), "stackhand.service")
		typo := strings.Replace(string(packaging.SystemdUnit), "KillMode=", "KilMode=", 1)
		typo = strings.Replace(typo, "/usr/bin/stackhand", "/bin/true", 1)
		if err := os.WriteFile(unit, []byte(typo), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, _ := exec.Command(analyze, "verify", unit).CombinedOutput(); len(out) == 0 {
			t.Error("systemd-analyze verify printed nothing for a misspelt key: the check above proves nothing")
		}
	})
}

// The shipped unit delegates its cgroup to the agent, which puts each hook run in a group
// of its own (see package hooks), and reloads on SIGHUP; both are in README.
func TestShippedUnitDelegatesItsCgroupAndReloads(t *testing.T) {
	lines := map[string]bool{}
	for _, l := range strings.Split(string(packaging.SystemdUnit), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{"Delegate=yes", "ExecReload=/bin/kill -HUP $MAINPID"} {
		if !lines[want] {
			t.Errorf("packaging/systemd/stackhand.service lacks the line %q", want)
		}
	}
}
