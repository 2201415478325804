package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// sampleMembers is the tree testdata/make-sample.sh puts in sample.tar.bz2.
var sampleMembers = []member{
	{name: "app/", typ: tar.TypeDir},
	{name: "app/README", body: "hello\n"},
	{name: "app/README.hard", typ: tar.TypeLink, link: "app/README"},
	{name: "app/bin/", typ: tar.TypeDir, mode: 0o750},
	{name: "app/bin/run.sh", mode: 0o755, body: "#!/bin/sh\necho hi\n"},
	{name: "app/empty", mode: 0o600},
	{name: "app/run", typ: tar.TypeSymlink, link: "bin/run.sh"},
}

var sampleListing = []string{
	"d app/", "d app/bin/", "f app/README", "f app/README.hard", "f app/bin/run.sh", "f app/empty",
	"l app/run -> bin/run.sh",
}

func TestExtractFormats(t *testing.T) {
	archives := map[string][]byte{}
	for _, f := range []Format{Tar, TarGzip, TarZstd} {
		archives["sample."+f.String()] = build(t, f, sampleMembers)
	}
	// Zip has no hard links: the zip sample holds a second copy instead.
	zipMembers := append([]member(nil), sampleMembers...)
	zipMembers[2] = member{name: "app/README.hard", body: "hello\n"}
	archives["sample.zip"] = build(t, Zip, zipMembers)
	bz, err := os.ReadFile("testdata/sample.tar.bz2")
	if err != nil {
		t.Fatal(err)
	}
	archives["sample.tar.bz2"] = bz

	for name, data := range archives {
		t.Run(name, func(t *testing.T) {
			p := writeTemp(t, name, data)
			s := newSandbox(t)
			st, err := Extract(context.Background(), p, s.dest, Options{UID: -1, GID: -1})
			if err != nil {
				t.Fatal(err)
			}
			want := Stats{Files: 3, Bytes: 6 + 18, Entries: 7, OneTopDir: "app"}
			if strings.HasSuffix(name, ".zip") {
				want.Files, want.Bytes = 4, 6+6+18
			}
			if st != want {
				t.Errorf("stats = %+v, want %+v", st, want)
			}
			if got := listing(t, s.dest); !reflect.DeepEqual(got, sampleListing) {
				t.Errorf("dest holds\n%q\nwant\n%q", got, sampleListing)
			}
			for file, want := range map[string]string{"app/README": "hello\n", "app/README.hard": "hello\n", "app/bin/run.sh": "#!/bin/sh\necho hi\n", "app/empty": "", "app/run": "#!/bin/sh\necho hi\n"} {
				b, err := os.ReadFile(filepath.Join(s.dest, file))
				if err != nil || string(b) != want {
					t.Errorf("%s = %q, %v; want %q", file, b, err, want)
				}
			}
			if runtime.GOOS == "windows" {
				return
			}
			for file, want := range map[string]fs.FileMode{"app": fs.ModeDir | 0o755, "app/bin": fs.ModeDir | 0o750, "app/bin/run.sh": 0o755, "app/README": 0o644, "app/empty": 0o600} {
				fi, err := os.Lstat(filepath.Join(s.dest, file))
				if err != nil || fi.Mode() != want {
					t.Errorf("%s mode = %v, %v; want %v", file, fi.Mode(), err, want)
				}
				if err == nil && !fi.ModTime().Equal(testTime) {
					t.Errorf("%s mtime = %v, want %v", file, fi.ModTime(), testTime)
				}
			}
			if !strings.HasSuffix(name, ".zip") {
				a, _ := os.Stat(filepath.Join(s.dest, "app/README"))
				b, _ := os.Stat(filepath.Join(s.dest, "app/README.hard"))
				if !os.SameFile(a, b) {
					t.Errorf("app/README.hard is not a hard link of app/README")
				}
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tarHead := tarBytes(t, []member{{name: "a", body: "x"}})[:HeadSize]
	v7 := append([]byte(nil), tarHead...)
	copy(v7[257:], make([]byte, 8)) // no ustar magic: an old tar
	sum := int64(0)
	for i, b := range v7 {
		if i >= 148 && i < 156 {
			b = ' '
		}
		sum += int64(b)
	}
	copy(v7[148:156], []byte(strings.Repeat("0", 6-len(octal(sum)))+octal(sum)+"\x00 "))
	cases := []struct {
		name string
		head []byte
		want Format
		err  string
	}{
		{"a.tgz", []byte{0x1f, 0x8b, 8, 0}, TarGzip, ""},
		{"a.zip", []byte{0x1f, 0x8b, 8, 0}, TarGzip, ""}, // magic wins over the name
		{"a", []byte("BZh91AY&SY"), TarBzip2, ""},
		{"a", []byte{0x28, 0xb5, 0x2f, 0xfd, 0}, TarZstd, ""},
		{"a", []byte("PK\x03\x04rest"), Zip, ""},
		{"a", []byte("PK\x05\x06" + strings.Repeat("\x00", 18)), Zip, ""},
		{"a", tarHead, Tar, ""},
		{"old.tar", v7, Tar, ""},
		{"a.tar.xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0}, Unknown, "xz-compressed"},
		{"https://x/a.tar.gz", []byte("\n<!DOCTYPE html><html>Not Found"), Unknown, "HTML or XML page"},
		{"a.tar.gz", []byte("AccessDenied: no\n"), Unknown, `looks like text, starting "AccessDenied`},
		{"a.tar", nil, Unknown, "is empty"},
		{"a.bin", []byte{0, 1, 2, 0xff}, Unknown, "starts with bytes 000102ff"},
	}
	for _, c := range cases {
		got, err := Detect(c.name, c.head)
		if got != c.want {
			t.Errorf("Detect(%s, %q) = %v, want %v", c.name, c.head, got, c.want)
		}
		if c.err == "" && err != nil {
			t.Errorf("Detect(%s) error %v", c.name, err)
		}
		if c.err != "" && (err == nil || !errors.Is(err, ErrNotArchive) || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), c.name)) {
			t.Errorf("Detect(%s) error = %v, want ErrNotArchive naming the file and saying %q", c.name, err, c.err)
		}
	}
}

func octal(n int64) string {
	const digits = "01234567"
	s := ""
	for ; n > 0; n /= 8 {
		s = string(digits[n%8]) + s
	}
	return s
}

func TestNotAnArchive(t *testing.T) {
	p := writeTemp(t, "release.tar.gz", []byte("<html><body>404 Not Found</body></html>\n"))
	s := newSandbox(t)
	_, err := Extract(context.Background(), p, s.dest, Options{UID: -1, GID: -1})
	if !errors.Is(err, ErrNotArchive) || !strings.Contains(err.Error(), "HTML") || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v, want ErrNotArchive naming %s and saying it looks like HTML", err, p)
	}
	if l := listing(t, s.dest); len(l) != 0 {
		t.Errorf("dest holds %q", l)
	}
	if _, err := Scan(context.Background(), p); !errors.Is(err, ErrNotArchive) {
		t.Errorf("Scan err = %v, want ErrNotArchive", err)
	}
}

func TestTruncated(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB, so the cut falls inside it
	ms := []member{{name: "first", body: "1"}, {name: "big", body: big}, {name: "last", body: "z"}}
	for _, f := range []Format{Tar, TarGzip, TarZstd, Zip} {
		t.Run(f.String(), func(t *testing.T) {
			data := build(t, f, ms)
			cut := data[:len(data)/2]
			if f == Tar {
				cut = data[:512+512+512+100] // inside big's content
			}
			p := writeTemp(t, "a."+f.String(), cut)
			s := newSandbox(t)
			_, err := Extract(context.Background(), p, s.dest, Options{UID: -1, GID: -1})
			if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "truncated") {
				t.Fatalf("err = %v, want ErrTruncated", err)
			}
			if l := listing(t, s.dest); len(l) != 0 {
				t.Errorf("dest holds %q after a truncated archive", l)
			}
		})
	}
}

func TestUnpackOverExisting(t *testing.T) {
	s := newSandbox(t)
	mustWrite(t, filepath.Join(s.dest, "keep.txt"), "mine")
	mustWrite(t, filepath.Join(s.dest, "conf/app.conf"), "old")
	// A hard link from outside to a file in dest: replacing the file must not write
	// through it (the file is replaced by a rename, never rewritten in place).
	if err := os.Link(filepath.Join(s.dest, "conf/app.conf"), filepath.Join(s.outside, "alias")); err != nil {
		t.Fatal(err)
	}
	os.Symlink("old-target", filepath.Join(s.dest, "link"))
	p := writeTemp(t, "a.tar.gz", build(t, TarGzip, []member{
		{name: "conf/app.conf", body: "new"},
		{name: "link", typ: tar.TypeSymlink, link: "conf/app.conf"},
		{name: "added", body: "+"},
	}))
	if _, err := Extract(context.Background(), p, s.dest, Options{UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"keep.txt": "mine", "conf/app.conf": "new", "added": "+", "link": "new"} {
		if b, err := os.ReadFile(filepath.Join(s.dest, file)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", file, b, err, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(s.outside, "alias")); string(b) != "old" {
		t.Errorf("the outside hard link now reads %q: the file was rewritten in place", b)
	}
	want := []string{"d conf/", "f added", "f conf/app.conf", "f keep.txt", "l link -> conf/app.conf"}
	if got := listing(t, s.dest); !reflect.DeepEqual(got, want) {
		t.Errorf("dest holds %q, want %q (no temporary files left)", got, want)
	}
	// A second run converges to the same tree.
	if _, err := Extract(context.Background(), p, s.dest, Options{UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	if got := listing(t, s.dest); !reflect.DeepEqual(got, want) {
		t.Errorf("after a second run dest holds %q, want %q", got, want)
	}
}

func TestReplaceDirectoryRefused(t *testing.T) {
	s := newSandbox(t)
	os.MkdirAll(filepath.Join(s.dest, "data/sub"), 0o755)
	p := writeTemp(t, "a.tar", build(t, Tar, []member{{name: "data", body: "x"}}))
	_, err := Extract(context.Background(), p, s.dest, Options{UID: -1, GID: -1})
	if err == nil || !strings.Contains(err.Error(), `entry "data"`) || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("err = %v, want one naming the entry and saying data is a directory", err)
	}
	if got, want := listing(t, s.dest), []string{"d data/", "d data/sub/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("dest holds %q, want %q", got, want)
	}
}

func TestStripComponents(t *testing.T) {
	// The shape of a GitHub tarball: a pax global header, then one top directory.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "0123abc"}})
	tw.Close()
	glob := buf.Bytes()[:buf.Len()-1024] // without the end-of-archive blocks
	body := tarBytes(t, []member{
		{name: "owner-repo-0123abc/", typ: tar.TypeDir},
		{name: "owner-repo-0123abc/index.html", body: "<p>"},
		{name: "owner-repo-0123abc/css/", typ: tar.TypeDir},
		{name: "owner-repo-0123abc/css/a.css", body: "a{}"},
		{name: "owner-repo-0123abc/alias", typ: tar.TypeLink, link: "owner-repo-0123abc/index.html"},
		{name: "owner-repo-0123abc/up", typ: tar.TypeSymlink, link: "css/a.css"},
	})
	p := writeTemp(t, "repo.tar.gz", gzipBytes(t, append(glob, body...)))
	st, err := Scan(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if st.OneTopDir != "owner-repo-0123abc" || st.Entries != 6 {
		t.Errorf("Scan = %+v, want OneTopDir owner-repo-0123abc and 6 entries", st)
	}
	s := newSandbox(t)
	st, err = Extract(context.Background(), p, s.dest, Options{StripComponents: 1, UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	if st.Entries != 5 || st.Files != 2 {
		t.Errorf("Extract stats = %+v, want 5 entries (the top directory stripped), 2 files", st)
	}
	want := []string{"d css/", "f alias", "f css/a.css", "f index.html", "l up -> css/a.css"}
	if got := listing(t, s.dest); !reflect.DeepEqual(got, want) {
		t.Errorf("dest holds %q, want %q", got, want)
	}

	// Two top-level names: no OneTopDir, as cfn-init then leaves the archive as it is.
	p2 := writeTemp(t, "two.tar", tarBytes(t, []member{{name: "a/x", body: "1"}, {name: "b/y", body: "2"}}))
	if st, _ := Scan(context.Background(), p2); st.OneTopDir != "" {
		t.Errorf("OneTopDir = %q for two top directories", st.OneTopDir)
	}
	p3 := writeTemp(t, "file.tar", tarBytes(t, []member{{name: "a/x", body: "1"}, {name: "top", body: "2"}}))
	if st, _ := Scan(context.Background(), p3); st.OneTopDir != "" {
		t.Errorf("OneTopDir = %q with a top-level file", st.OneTopDir)
	}
}

func TestStripMakesLinkEscape(t *testing.T) {
	// Inside "top/" the link climbs to top's parent, which is dest; stripped, it would
	// climb out of dest: Extract's scan checks the stripped names, before writing.
	p := writeTemp(t, "a.tar", tarBytes(t, []member{{name: "top/f", body: "1"}, {name: "top/l", typ: tar.TypeSymlink, link: "../f"}}))
	if _, err := Scan(context.Background(), p); err != nil {
		t.Fatalf("Scan without stripping: %v", err)
	}
	s := newSandbox(t)
	_, err := Extract(context.Background(), p, s.dest, Options{StripComponents: 1, UID: -1, GID: -1})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), `"top/l"`) {
		t.Fatalf("err = %v, want the link refused", err)
	}
	if l := listing(t, s.dest); len(l) != 0 {
		t.Errorf("dest holds %q", l)
	}
}

func TestNoSpaceBeforeWriting(t *testing.T) {
	p := writeTemp(t, "a.tar.gz", build(t, TarGzip, []member{{name: "d/", typ: tar.TypeDir}, {name: "d/big", body: strings.Repeat("x", 100000)}}))
	s := newSandbox(t)
	old := freeBytes
	t.Cleanup(func() { freeBytes = old })
	freeBytes = func(string) (int64, error) { return 150 << 10, nil }
	_, err := Extract(context.Background(), p, s.dest, Options{UID: -1, GID: -1, Reserve: 100 << 10})
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("err = %v, want ErrNoSpace", err)
	}
	for _, want := range []string{"needs 109.7 KiB", "150.0 KiB is free", "100.0 KiB must stay free", p} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if l := listing(t, s.dest); len(l) != 0 {
		t.Errorf("dest holds %q", l)
	}
	// Without the reserve it fits.
	if _, err := Extract(context.Background(), p, s.dest, Options{UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
}

func TestCanceled(t *testing.T) {
	p := writeTemp(t, "a.tar", tarBytes(t, sampleMembers))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := newSandbox(t)
	if _, err := Extract(ctx, p, s.dest, Options{UID: -1, GID: -1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func mustWrite(t *testing.T, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
