//go:build unix

package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/release"
)

// appConfig writes a local config with app web in <dir>/web and returns its path and
// the app as loaded.
func appConfig(t *testing.T) (string, config.App) {
	t.Helper()
	path := localConfig(t, "apps:\n  - name: web\n    revision: {metadata: release}\n    source: file://"+"{builds}/{revision}.tar.gz\n    deploy_to: web\n")
	builds := filepath.Join(filepath.Dir(path), "builds")
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.ReplaceAll(b, []byte("{builds}"), []byte(builds)), 0o644)
	os.Mkdir(builds, 0o755)
	for _, v := range []string{"v1", "v2", "v3"} {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		tw.WriteHeader(&tar.Header{Name: "VERSION", Mode: 0o644, Size: 3, Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)})
		tw.Write([]byte(v + "\n"))
		tw.Close()
		gz.Close()
		os.WriteFile(filepath.Join(builds, v+".tar.gz"), buf.Bytes(), 0o644)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, cfg.Apps[0]
}

// releases reads the disk: newest first, current and previous marked; it needs no agent.
func TestReleasesListsFromDisk(t *testing.T) {
	path, app := appConfig(t)
	r := run(t, "releases", "web", "--config", path)
	r.check(t, ExitOK, []string{"web: no releases in " + app.DeployTo}, nil)

	m := &release.Manager{}
	for _, v := range []string{"v1", "v2", "v3"} {
		rel, err := m.Prepare(context.Background(), app.ReleaseApp(), release.Deploy{Revision: v, Source: app.SourceFor(v)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Switch(app.ReleaseApp(), rel); err != nil {
			t.Fatal(err)
		}
	}
	r = run(t, "releases", "web", "--config", path)
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "REVISION") ||
		!strings.HasPrefix(lines[1], "current") || !strings.Contains(lines[1], "-v3") ||
		!strings.HasPrefix(lines[2], "previous") || !strings.Contains(lines[2], "-v2") ||
		strings.HasPrefix(lines[3], "current") || !strings.Contains(lines[3], "v1") || !strings.Contains(lines[3], " B") {
		t.Errorf("releases:\n%s", r.stdout)
	}

	r = run(t, "releases", "nope", "--config", path)
	r.check(t, ExitUsage, nil, []string{`no app "nope"`, "the apps are: web"})
}

// rollback hands a deploy request carrying the app and --to to the spool.
func TestRollbackWritesRequest(t *testing.T) {
	path, _ := appConfig(t)
	r := run(t, "rollback", "web", "--to", "v1", "--no-wait", "--config", path)
	r.check(t, ExitOK, nil, []string{"no agent is running"})
	reqs := spooled(t, path)
	if len(reqs) != 1 || reqs[0].Event != "deploy" || reqs[0].Rollback == nil || reqs[0].Rollback.App != "web" || reqs[0].Rollback.To != "v1" {
		t.Errorf("requests %+v", reqs)
	}
	r = run(t, "rollback", "api", "--config", path)
	r.check(t, ExitUsage, nil, []string{`no app "api"`})
}

// validate counts the apps apart from the watch rules (their implicit rules are theirs).
func TestValidateCountsApps(t *testing.T) {
	path, _ := appConfig(t)
	os.MkdirAll(filepath.Join(filepath.Dir(path), "hooks.d"), 0o755)
	r := run(t, "validate", "--config", path)
	if !strings.Contains(r.stdout, "is valid (0 watch rules, 1 apps;") {
		t.Errorf("validate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
