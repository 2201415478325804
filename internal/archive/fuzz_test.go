package archive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzExtract feeds arbitrary bytes to Extract as an archive: it must never panic, never
// write outside dest, leave dest untouched whenever Scan refuses the bytes, and leave
// only symbolic links that stay inside dest.
func FuzzExtract(f *testing.F) {
	seedBox := sandbox{base: "/tmp/fuzz", dest: "/tmp/fuzz/dest", outside: "/tmp/fuzz/outside"}
	for _, c := range hostileCases {
		for _, format := range []Format{Tar, TarGzip, TarZstd, Zip} {
			f.Add(build(f, format, c.members(seedBox)))
		}
	}
	f.Add(build(f, TarGzip, sampleMembers))
	if bz, err := os.ReadFile("testdata/sample.tar.bz2"); err == nil {
		f.Add(bz)
	}
	free, err := FreeBytes(os.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	// However much an input claims to unpack to, at most 64 MiB of it may be written.
	reserve := free - 64<<20
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSandbox(t)
		mustWrite(t, filepath.Join(s.outside, "secret"), "secret")
		mustWrite(t, filepath.Join(s.dest, "existing"), "mine")
		p := filepath.Join(s.base, "input")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, scanErr := Scan(context.Background(), p)
		_, err := Extract(context.Background(), p, s.dest, Options{UID: -1, GID: -1, Reserve: reserve})
		if got := listing(t, s.outside); !reflect.DeepEqual(got, []string{"f secret"}) {
			t.Fatalf("outside holds %q after Extract (err %v)", got, err)
		}
		if b, _ := os.ReadFile(filepath.Join(s.outside, "secret")); string(b) != "secret" {
			t.Fatalf("outside/secret changed")
		}
		got := listing(t, s.dest)
		if scanErr != nil {
			if err == nil {
				t.Fatalf("Scan refused (%v) but Extract succeeded", scanErr)
			}
			if !reflect.DeepEqual(got, []string{"f existing"}) && !errors.Is(err, ErrNoSpace) {
				t.Fatalf("Scan refused (%v) yet dest holds %q", scanErr, got)
			}
		}
		for _, l := range got {
			if !strings.HasPrefix(l, "l ") {
				continue
			}
			name, target, _ := strings.Cut(strings.TrimPrefix(l, "l "), " -> ")
			resolved := filepath.Join(s.dest, filepath.Dir(name), target)
			if resolved != s.dest && !strings.HasPrefix(resolved, s.dest+string(filepath.Separator)) {
				t.Fatalf("link %s -> %s resolves to %s, outside dest", name, target, resolved)
			}
		}
	})
}
