package archive

import (
	"archive/tar"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// hostileCase is an archive that tries to write outside dest, or to make what an
// archive may not make.
type hostileCase struct {
	name    string
	members func(s sandbox) []member
	entry   string // the entry the error must name
	say     string // and what it must say
	// prepare changes dest before the run (what an earlier run or the admin left there);
	// such cases are refused while writing, not by the scan.
	prepare func(t *testing.T, s sandbox)
	noZip   bool // zip has no such entry (hard links)
}

var hostileCases = []hostileCase{
	{name: "dotdot", members: fixed(member{name: "../outside/x", body: "pwned"}), entry: "../outside/x", say: `".." component`},
	{name: "dotdot-inside", members: fixed(member{name: "a/", typ: tar.TypeDir}, member{name: "a/../../outside/x", body: "pwned"}), entry: "a/../../outside/x", say: `".." component`},
	{name: "backslash-dotdot", members: fixed(member{name: `..\outside\x`, body: "pwned"}), entry: `..\outside\x`, say: `".." component`},
	{name: "absolute", members: func(s sandbox) []member { return []member{{name: s.outside + "/x", body: "pwned"}} }, entry: "/outside/x", say: "absolute name"},
	{name: "symlink-out-then-through", members: fixed(
		member{name: "a", typ: tar.TypeSymlink, link: "../outside"},
		member{name: "a/passwd", body: "root::0:0::/:/bin/sh"}), entry: "a", say: "resolves outside"},
	{name: "symlink-etc", members: fixed(member{name: "d/etc", typ: tar.TypeSymlink, link: "../../etc"}), entry: "d/etc", say: "resolves outside"},
	{name: "symlink-absolute", members: fixed(member{name: "etc", typ: tar.TypeSymlink, link: "/etc"}), entry: "etc", say: "absolute target"},
	{name: "symlink-dotdot-after-name", members: fixed(member{name: "x", typ: tar.TypeSymlink, link: "s/../../outside"}), entry: "x", say: `".." after a name`},
	{name: "symlink-chain", members: fixed(
		member{name: "s", typ: tar.TypeSymlink, link: "."},
		member{name: "s/s/x", typ: tar.TypeSymlink, link: "../../outside"}), entry: "s/s/x", say: "symbolic link made earlier by this archive"},
	{name: "write-through-own-link", members: fixed(
		member{name: "d/", typ: tar.TypeDir},
		member{name: "l", typ: tar.TypeSymlink, link: "d"},
		member{name: "l/x", body: "1"}), entry: "l/x", say: "symbolic link made earlier"},
	{name: "hardlink-etc-passwd", members: fixed(member{name: "p", typ: tar.TypeLink, link: "/etc/passwd"}), entry: "p", say: "hard link", noZip: true},
	{name: "hardlink-outside", members: fixed(member{name: "p", typ: tar.TypeLink, link: "../outside/secret"}), entry: "p", say: "hard link", noZip: true},
	{name: "hardlink-not-in-archive", members: fixed(member{name: "p", typ: tar.TypeLink, link: "existing"}), entry: "p", say: "not a regular file that comes earlier", noZip: true},
	{name: "hardlink-to-link", members: fixed(
		member{name: "l", typ: tar.TypeSymlink, link: "x"},
		member{name: "p", typ: tar.TypeLink, link: "l"}), entry: "p", say: "hard link", noZip: true},
	{name: "device", members: fixed(member{name: "null", typ: tar.TypeChar}), entry: "null", say: "device"},
	{name: "fifo", members: fixed(member{name: "pipe", typ: tar.TypeFifo}), entry: "pipe", say: "fifo"},
	{name: "existing-link-out", prepare: func(t *testing.T, s sandbox) {
		if err := os.Symlink("../outside", filepath.Join(s.dest, "logs")); err != nil {
			t.Fatal(err)
		}
	}, members: fixed(member{name: "logs/x", body: "pwned"}), entry: "logs/x", say: "logs is a symbolic link in the target directory"},
	{name: "existing-link-in", prepare: func(t *testing.T, s sandbox) {
		os.Mkdir(filepath.Join(s.dest, "real"), 0o755)
		if err := os.Symlink("real", filepath.Join(s.dest, "logs")); err != nil {
			t.Fatal(err)
		}
	}, members: fixed(member{name: "logs/x", body: "1"}), entry: "logs/x", say: "symbolic link in the target directory"},
}

func fixed(ms ...member) func(sandbox) []member { return func(sandbox) []member { return ms } }

func TestHostile(t *testing.T) {
	for _, c := range hostileCases {
		for _, f := range []Format{TarGzip, Zip} {
			if f == Zip && c.noZip {
				continue
			}
			t.Run(c.name+"/"+f.String(), func(t *testing.T) {
				s := newSandbox(t)
				mustWrite(t, filepath.Join(s.outside, "secret"), "secret")
				mustWrite(t, filepath.Join(s.dest, "existing"), "mine")
				if c.prepare != nil {
					c.prepare(t, s)
				}
				before := listing(t, s.dest)
				p := writeTemp(t, "hostile."+f.String(), build(t, f, c.members(s)))
				_, err := Extract(context.Background(), p, s.dest, Options{UID: -1, GID: -1})
				if !errors.Is(err, ErrRefused) {
					t.Fatalf("err = %v, want ErrRefused", err)
				}
				var ee *EntryError
				if !errors.As(err, &ee) || !strings.HasSuffix(ee.Name, c.entry) || !strings.Contains(err.Error(), c.say) {
					t.Fatalf("err = %v, want one naming entry %q and saying %q", err, c.entry, c.say)
				}
				if got := listing(t, s.outside); !reflect.DeepEqual(got, []string{"f secret"}) {
					t.Errorf("outside holds %q, want only its secret", got)
				}
				if b, _ := os.ReadFile(filepath.Join(s.outside, "secret")); string(b) != "secret" {
					t.Errorf("outside/secret now reads %q", b)
				}
				if c.prepare != nil {
					return // refused while writing: what came before may be written
				}
				if got := listing(t, s.dest); !reflect.DeepEqual(got, before) {
					t.Errorf("dest holds %q after a refused archive, want it unchanged %q", got, before)
				}
				if _, err := Scan(context.Background(), p); !errors.Is(err, ErrRefused) {
					t.Errorf("Scan err = %v, want ErrRefused", err)
				}
			})
		}
	}
}
