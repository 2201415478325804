//go:build unix

package cfninit

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tgz builds a tar.gz of name → content ("" with a trailing / in the name is a dir).
func tgz(t *testing.T, entries ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Mode: 0o644, Size: int64(len(e[1])), Typeflag: tar.TypeReg}
		if strings.HasSuffix(e[0], "/") {
			h = &tar.Header{Name: e[0], Mode: 0o755, Typeflag: tar.TypeDir}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e[1]))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func archiveServer(t *testing.T, files map[string][]byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		b, ok := files[q.URL.Path]
		if !ok {
			http.NotFound(w, q)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func runSources(r *Runner, srcs ...Source) (*Changes, error) {
	ch := newChanges()
	err := r.applySources(context.Background(), &Config{Name: "c", Sources: srcs}, ch, &Result{})
	return ch, err
}

func TestSourcesUnpackOverTarget(t *testing.T) {
	srv := archiveServer(t, map[string][]byte{
		"/app.tgz": tgz(t, [2]string{"bin/", ""}, [2]string{"bin/run", "#!/bin/sh\n"}, [2]string{"README", "new"}),
		"/owner/repo/tarball/main": tgz(t, [2]string{"owner-repo-0123abc/", ""},
			[2]string{"owner-repo-0123abc/README", "from github"}),
	})
	// The GitHub URL reaches the test server through the transport.
	r, _ := testRunner(t)
	r.Fetch = &HTTPFetcher{Transport: toServer(srv)}
	base := t.TempDir()
	target := filepath.Join(base, "srv/app")
	os.MkdirAll(target, 0o755)
	os.WriteFile(filepath.Join(target, "README"), []byte("old"), 0o644)
	os.WriteFile(filepath.Join(target, "keep.txt"), []byte("kept"), 0o644)
	gh := filepath.Join(base, "gh")
	ch, err := runSources(r,
		Source{Target: target, URL: srv.URL + "/app.tgz"},
		Source{Target: gh, URL: "http://github.com/owner/repo/tarball/main"},
	)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		filepath.Join(target, "README"):   "new",
		filepath.Join(target, "bin/run"):  "#!/bin/sh\n",
		filepath.Join(target, "keep.txt"): "kept",
		filepath.Join(gh, "README"):       "from github",
	} {
		if got := readString(t, path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if !ch.Sources[target] || !ch.Sources[gh] {
		t.Errorf("changes %v", ch.Sources)
	}
	// Nothing left beside the targets: the download was removed.
	for _, d := range []string{filepath.Join(base, "srv"), base} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if strings.Contains(e.Name(), "stackhand-source") {
				t.Errorf("download left behind: %s", filepath.Join(d, e.Name()))
			}
		}
	}
}

func TestSourcesHostileArchiveAndErrors(t *testing.T) {
	srv := archiveServer(t, map[string][]byte{
		"/evil.tgz": tgz(t, [2]string{"ok.txt", "x"}, [2]string{"../escaped.txt", "evil"}),
	})
	r, _ := testRunner(t)
	r.Fetch = &HTTPFetcher{}
	base := t.TempDir()
	target := filepath.Join(base, "t")
	_, err := runSources(r, Source{Target: target, URL: srv.URL + "/evil.tgz"})
	if err == nil || !strings.Contains(err.Error(), "escaped.txt") {
		t.Fatalf("err = %v, want the hostile entry refused", err)
	}
	if _, err := os.Lstat(filepath.Join(base, "escaped.txt")); err == nil {
		t.Error("an entry was written outside the target")
	}
	if _, err := os.Lstat(filepath.Join(target, "ok.txt")); err == nil {
		t.Error("something was written though the archive was refused")
	}
	_, err = runSources(r, Source{Target: target, URL: srv.URL + "/missing.tgz?X-Amz-Signature=zzz"})
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 404 || strings.Contains(err.Error(), "zzz") {
		t.Errorf("404: %v", err)
	}
	if _, err := runSources(r, Source{Target: "rel/dir", URL: srv.URL + "/evil.tgz"}); err == nil {
		t.Error("a relative target is accepted")
	}
}

func TestSourcesLocalArchiveAndHostileTarget(t *testing.T) {
	r, _ := testRunner(t)
	base := t.TempDir()
	local := filepath.Join(base, "a.tgz")
	os.WriteFile(local, tgz(t, [2]string{"f", "local"}), 0o600)
	if _, err := runSources(r, Source{Target: filepath.Join(base, "out"), URL: local}); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(base, "out/f")); got != "local" {
		t.Errorf("local archive: %q", got)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes a directory owned by another user")
	}
	os.Chmod(base, 0o755)
	ww := filepath.Join(base, "ww")
	os.Mkdir(ww, 0o777)
	os.Chmod(ww, 0o777)
	os.Chown(ww, nobody, nobody)
	_, err := runSources(r, Source{Target: filepath.Join(ww, "app"), URL: local})
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("err = %v, want the target refused", err)
	}
	if ents, _ := os.ReadDir(ww); len(ents) != 0 {
		t.Errorf("written under a directory another user owns: %v", ents)
	}
}
