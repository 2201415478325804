//go:build unix

package archive

import (
	"archive/tar"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
)

func TestOwnerAndSpecialBits(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() != 0 {
		t.Skip("needs root to give files another owner")
	}
	ms := []member{
		{name: "bin/", typ: tar.TypeDir, mode: 0o2775},
		{name: "bin/tool", mode: 0o4755, body: "x"},
		{name: "bin/link", typ: tar.TypeSymlink, link: "tool"},
	}
	p := writeTemp(t, "a.tar", tarBytes(t, ms))
	for _, keep := range []bool{false, true} {
		s := newSandbox(t)
		if _, err := Extract(context.Background(), p, s.dest, Options{UID: 4321, GID: 4322, KeepSpecialBits: keep}); err != nil {
			t.Fatal(err)
		}
		wantFile, wantDir := fs.FileMode(0o755), fs.ModeDir|0o775
		if keep {
			wantFile, wantDir = 0o755|fs.ModeSetuid, fs.ModeDir|0o775|fs.ModeSetgid
		}
		for name, want := range map[string]fs.FileMode{"bin": wantDir, "bin/tool": wantFile, "bin/link": fs.ModeSymlink | 0o777} {
			fi, err := os.Lstat(filepath.Join(s.dest, name))
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode() != want || st.Uid != 4321 || st.Gid != 4322 {
				t.Errorf("keep=%v: %s is %v %d:%d, want %v 4321:4322", keep, name, fi.Mode(), st.Uid, st.Gid, want)
			}
		}
	}
}
