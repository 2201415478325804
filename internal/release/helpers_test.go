//go:build unix

package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/backoff"
)

// tarGz builds a tar.gz of files (name → content; a name ending in "/" is a directory).
func tarGz(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte(files[n]))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	return buf.Bytes()
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// version writes a release archive whose VERSION file says v, and returns its path.
func version(t testing.TB, dir, v string, extra map[string]string) string {
	t.Helper()
	files := map[string]string{"VERSION": v + "\n", "app/main.txt": "hello " + v, "bin/": ""}
	for k, val := range extra {
		files[k] = val
	}
	p := filepath.Join(dir, v+".tar.gz")
	if err := os.WriteFile(p, tarGz(t, files), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// newApp returns an app deploying to a fresh directory.
func newApp(t testing.TB) App {
	t.Helper()
	return App{Name: "web", DeployTo: filepath.Join(t.TempDir(), "srv", "web")}
}

// fastRetry tries again at once: the tests count tries, not waits.
var fastRetry = Retry{Attempts: 4, Policy: backoff.Policy{Base: time.Millisecond}, Stall: 5 * time.Second}

func newManager() *Manager {
	return &Manager{
		Fetchers: map[string]Fetcher{"http": HTTPFetcher{Retry: fastRetry}},
		Reserve:  1 << 20,
	}
}

// currentVersion reads deploy_to/current/VERSION.
func currentVersion(t testing.TB, app App) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(app.DeployTo, "current", "VERSION"))
	if err != nil {
		t.Fatalf("current/VERSION: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// leftovers lists what a finished or cleaned-up run must not leave behind.
func leftovers(t testing.TB, app App) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"releases/*.partial", ".stackhand/*", "current.tmp-*"} {
		m, _ := filepath.Glob(filepath.Join(app.DeployTo, pat))
		out = append(out, m...)
	}
	return out
}

func deploy(t testing.TB, m *Manager, app App, rev, source string) *Release {
	t.Helper()
	r, err := m.Prepare(t.Context(), app, Deploy{Revision: rev, Source: source})
	if err != nil {
		t.Fatalf("Prepare %s: %v", rev, err)
	}
	if _, err := m.Switch(app, r); err != nil {
		t.Fatalf("Switch %s: %v", rev, err)
	}
	return r
}

// releaseName is the directory name of a release of rev made at t, as Prepare names it.
func releaseName(t time.Time, rev string) (string, error) {
	r, err := revisionPart(rev)
	if err != nil {
		return "", err
	}
	return t.UTC().Format(timeLayout) + "-" + r, nil
}
