package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// member is an archive entry a test builds.
type member struct {
	name string
	typ  byte // tar.TypeReg (default), TypeDir, TypeSymlink, TypeLink, TypeChar, TypeFifo
	mode int64
	body string
	link string
}

var testTime = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// tarBytes builds a tar archive of ms.
func tarBytes(tb testing.TB, ms []member) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Typeflag: m.typ, Mode: m.mode, Linkname: m.link, ModTime: testTime, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(m.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatalf("tar header %s: %v", m.name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, m.body); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(tb testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func zstdBytes(tb testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	zw.Write(b)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// zipBytes builds a zip archive of ms, made "on Unix" so that modes count.
func zipBytes(tb testing.TB, ms []member) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range ms {
		h := &zip.FileHeader{Name: m.name, Method: zip.Deflate, Modified: testTime}
		mode := fs.FileMode(m.mode)
		if mode == 0 {
			mode = 0o644
		}
		body := m.body
		switch m.typ {
		case tar.TypeDir:
			mode = fs.ModeDir | fs.FileMode(m.mode)
			if m.mode == 0 {
				mode |= 0o755
			}
			if !strings.HasSuffix(h.Name, "/") {
				h.Name += "/"
			}
		case tar.TypeSymlink:
			mode = fs.ModeSymlink | 0o777
			body = m.link
		case tar.TypeChar:
			mode = fs.ModeDevice | fs.ModeCharDevice | 0o644
		case tar.TypeFifo:
			mode = fs.ModeNamedPipe | 0o644
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			tb.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// build makes an archive of ms in format f.
func build(tb testing.TB, f Format, ms []member) []byte {
	switch f {
	case Tar:
		return tarBytes(tb, ms)
	case TarGzip:
		return gzipBytes(tb, tarBytes(tb, ms))
	case TarZstd:
		return zstdBytes(tb, tarBytes(tb, ms))
	case Zip:
		return zipBytes(tb, ms)
	}
	tb.Fatalf("cannot build %v", f)
	return nil
}

// writeTemp writes b to a file named name in a new temporary directory.
func writeTemp(tb testing.TB, name string, b []byte) string {
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// sandbox is a base directory holding dest and a sibling "outside" that must stay empty.
type sandbox struct {
	base, dest, outside string
}

func newSandbox(tb testing.TB) sandbox {
	base := tb.TempDir()
	s := sandbox{base: base, dest: filepath.Join(base, "dest"), outside: filepath.Join(base, "outside")}
	for _, d := range []string{s.dest, s.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// listing is every path under dir (relative, slash-separated, sorted) with a letter for
// its type: "f name", "d name/", "l name -> target".
func listing(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			t, _ := os.Readlink(p)
			out = append(out, "l "+rel+" -> "+t)
		case d.IsDir():
			out = append(out, "d "+rel+"/")
		default:
			out = append(out, "f "+rel)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(out)
	return out
}
