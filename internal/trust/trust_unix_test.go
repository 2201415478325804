//go:build unix

package trust

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const nobody = 65534

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to another user (CI runs as root)")
	}
}

func mkdir(t *testing.T, path string, mode os.FileMode, uid int) string {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Chmod(path, uint32(mode)); err != nil { // 0o1777 means sticky here
		t.Fatal(err)
	}
	if err := os.Lchown(path, uid, -1); err != nil {
		t.Fatal(err)
	}
	return path
}

func file(t *testing.T, path string, mode os.FileMode, uid int) string {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(path, uid, -1); err != nil {
		t.Fatal(err)
	}
	return path
}

func symlink(t *testing.T, target, path string, uid int) string {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(path, uid, -1); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCheckWalksEveryComponentUpToRoot: each way a path can be taken over by another user
// is refused with the command that fixes it, and what root alone controls is trusted —
// including a root-owned directory under the sticky, world-writable /tmp, where every
// test's files live.
func TestCheckWalksEveryComponentUpToRoot(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name  string
		kind  Kind
		setup func(t *testing.T, base string) string // returns the path to check
		want  string                                 // "" = trusted; else a substring of the error
	}{
		{"root file in root dirs under sticky /tmp", File, func(t *testing.T, base string) string {
			return file(t, filepath.Join(mkdir(t, filepath.Join(base, "d"), 0o755, 0), "hook"), 0o755, 0)
		}, ""},
		{"directory under /tmp", Dir, func(t *testing.T, base string) string {
			return mkdir(t, filepath.Join(base, "state"), 0o700, 0)
		}, ""},
		{"file owned by another user", File, func(t *testing.T, base string) string {
			return file(t, filepath.Join(base, "hook"), 0o755, nobody)
		}, "is owned by uid 65534"},
		{"file writable by others", File, func(t *testing.T, base string) string {
			return file(t, filepath.Join(base, "hook"), 0o757, 0)
		}, "writable by others (mode 0757); run: chmod go-w"},
		{"grandparent owned by another user", File, func(t *testing.T, base string) string {
			top := mkdir(t, filepath.Join(base, "app"), 0o755, nobody)
			d := mkdir(t, filepath.Join(top, "hooks.d", "deploy"), 0o755, 0)
			mkdir(t, filepath.Join(top, "hooks.d"), 0o755, 0)
			return file(t, filepath.Join(d, "10-app"), 0o755, 0)
		}, "directory " + "BASE/app is owned by uid 65534"},
		{"grandparent group-writable", File, func(t *testing.T, base string) string {
			top := mkdir(t, filepath.Join(base, "app"), 0o775, 0)
			d := mkdir(t, filepath.Join(top, "deploy"), 0o755, 0)
			return file(t, filepath.Join(d, "10-app"), 0o755, 0)
		}, "directory BASE/app is writable by group (mode 0775); run: chmod go-w BASE/app"},
		{"event directory replaced by a symlink to /usr/bin in a directory another user owns", File, func(t *testing.T, base string) string {
			hd := mkdir(t, filepath.Join(base, "hooks.d"), 0o755, nobody)
			symlink(t, "/usr/bin", filepath.Join(hd, "deploy"), nobody)
			return filepath.Join(hd, "deploy", "id")
		}, "directory BASE/hooks.d is owned by uid 65534"},
		{"symlink to a trusted file from a trusted directory", File, func(t *testing.T, base string) string {
			d := mkdir(t, filepath.Join(base, "d"), 0o755, 0)
			return symlink(t, "/usr/bin/id", filepath.Join(d, "hook"), nobody)
		}, ""},
		{"relative symlink with .. to an untrusted place", File, func(t *testing.T, base string) string {
			bad := mkdir(t, filepath.Join(base, "bad"), 0o777, 0)
			file(t, filepath.Join(bad, "x"), 0o755, 0)
			d := mkdir(t, filepath.Join(base, "d"), 0o755, 0)
			return symlink(t, "../bad/x", filepath.Join(d, "hook"), 0)
		}, "directory BASE/bad is writable by group and others"},
		{"file directly in a sticky world-writable directory", File, func(t *testing.T, base string) string {
			d := mkdir(t, filepath.Join(base, "tmp"), 0o1777, 0)
			return file(t, filepath.Join(d, "hook"), 0o755, 0)
		}, "BASE/tmp is writable by group and others (mode 1777); run: chmod go-w"},
		{"sticky directory holding a directory another user owns", File, func(t *testing.T, base string) string {
			d := mkdir(t, filepath.Join(base, "tmp"), 0o1777, 0)
			e := mkdir(t, filepath.Join(d, "evil"), 0o755, nobody)
			return file(t, filepath.Join(e, "hook"), 0o755, 0)
		}, "it is sticky, but evil in it is owned by uid 65534"},
		{"sticky directory holding another user's symlink", Dir, func(t *testing.T, base string) string {
			d := mkdir(t, filepath.Join(base, "tmp"), 0o1777, 0)
			mkdir(t, filepath.Join(base, "real"), 0o700, 0)
			return symlink(t, "../real", filepath.Join(d, "state"), nobody)
		}, "it is sticky, but state in it is owned by uid 65534"},
		{"symlink loop", File, func(t *testing.T, base string) string {
			d := mkdir(t, filepath.Join(base, "d"), 0o755, 0)
			symlink(t, "b", filepath.Join(d, "a"), 0)
			return symlink(t, "a", filepath.Join(d, "b"), 0)
		}, "too many levels of symbolic links"},
		{"a directory where a file is expected", File, func(t *testing.T, base string) string {
			return mkdir(t, filepath.Join(base, "d"), 0o755, 0)
		}, "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			p := tc.setup(t, base)
			res, err := Check(p, "hook", tc.kind, 0)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want trusted", p, err)
				}
				if res.Resolved == "" || res.Ino == 0 {
					t.Fatalf("Check(%s) resolved nothing: %+v", p, res)
				}
				return
			}
			want := strings.ReplaceAll(tc.want, "BASE", base)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Check(%s) = %v, want an error containing %q", p, err, want)
			}
		})
	}
}

func TestCheckMissingIsNotExist(t *testing.T) {
	_, err := Check(filepath.Join(t.TempDir(), "nope", "x"), "config file", File, os.Geteuid())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

// TestCheckAgentUserMayOwn: an agent that is not root trusts its own files as well as root's.
func TestCheckAgentUserMayOwn(t *testing.T) {
	needRoot(t)
	base := t.TempDir()
	d := mkdir(t, filepath.Join(base, "d"), 0o755, nobody)
	p := file(t, filepath.Join(d, "hook"), 0o755, nobody)
	if _, err := Check(p, "hook", File, nobody); err != nil {
		t.Fatalf("agent uid %d: %v", nobody, err)
	}
	if _, err := Check(p, "hook", File, 0); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("agent uid 0: %v, want ErrUntrusted", err)
	}
}
