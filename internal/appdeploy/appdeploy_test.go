//go:build unix

package appdeploy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/engine"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/release"
)

// recRunner records each Run and fails the hooks dirs named in fail.
type recRunner struct {
	mu    sync.Mutex
	specs []hooks.Spec
	fail  map[string]bool
}

func (r *recRunner) Run(_ context.Context, s hooks.Spec) hooks.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.specs = append(r.specs, s)
	if r.fail[filepath.Base(s.Dir)] {
		return hooks.Result{Failed: "10-x", Hooks: []hooks.HookResult{{Name: "10-x", ExitCode: 4}}}
	}
	return hooks.Result{OK: true, Hooks: []hooks.HookResult{{Name: "10-x"}}}
}

func envOf(s hooks.Spec) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func writeRelease(t *testing.T, dir, v string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	body := v + "\n"
	tw.WriteHeader(&tar.Header{Name: "VERSION", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)})
	tw.Write([]byte(body))
	tw.Close()
	gz.Close()
	if err := os.WriteFile(filepath.Join(dir, v+".tar.gz"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func currentVersion(t *testing.T, deployTo string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployTo, "current", "VERSION"))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return strings.TrimSpace(string(b))
}

// A deploy runs hooks.d/deploy once for the app with its variables, switches current and
// gates it on the check; a failing check switches back, says "rolled back to <release>:
// <why>"; a failing deploy hook leaves current alone; an undeploy runs hooks.d/undeploy
// with the app's variables and removes current.
func TestDeployRollbackUndeploy(t *testing.T) {
	builds, root := t.TempDir(), t.TempDir()
	for _, v := range []string{"v1", "v2", "v3"} {
		writeRelease(t, builds, v)
	}
	var healthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	deployTo := filepath.Join(root, "web")
	app := config.App{Name: "web", Source: "file://" + builds + "/{revision}.tar.gz", DeployTo: deployTo, KeepReleases: 5,
		Checks: config.AppChecks{HTTP: srv.URL, Within: config.Duration(1500 * time.Millisecond)}}
	rr := &recRunner{fail: map[string]bool{}}
	d := &Deployer{Manager: &release.Manager{}, Runner: rr}
	spec := hooks.Spec{Event: event.Deploy, EventID: "deploy-000001", Dir: "/hooks.d/deploy", Env: []string{"APP_ENV=prod"}}
	ctx := context.Background()

	healthy.Store(true)
	res, ar := d.Run(ctx, spec, []engine.AppWork{{App: app, Revision: "v1"}})
	if !res.OK || len(ar) != 1 || !ar[0].OK || !strings.HasSuffix(ar[0].Release, "-v1") || currentVersion(t, deployTo) != "v1" {
		t.Fatalf("v1: %+v %+v current %s", res, ar, currentVersion(t, deployTo))
	}
	v1 := ar[0].Release
	env := envOf(rr.specs[0])
	if len(rr.specs) != 1 || env["STACKHAND_APP"] != "web" || env["STACKHAND_REVISION"] != "v1" || env["APP_ENV"] != "prod" ||
		env["STACKHAND_RELEASE_DIR"] != filepath.Join(deployTo, "releases", v1) || env["STACKHAND_PREVIOUS_RELEASE_DIR"] != "" {
		t.Errorf("deploy hooks ran %d times, env %v", len(rr.specs), env)
	}
	if res.Hooks[0].Name != "web:10-x" {
		t.Errorf("hook names %+v", res.Hooks)
	}

	healthy.Store(false)
	res, ar = d.Run(ctx, spec, []engine.AppWork{{App: app, Revision: "v2"}})
	if res.OK || ar[0].OK || !ar[0].RolledBack || ar[0].Release != v1 || !strings.HasPrefix(ar[0].Err, "rolled back to "+v1+": ") {
		t.Fatalf("v2: %+v %+v", res, ar)
	}
	if !strings.Contains(res.Err, "app web: rolled back to "+v1) || res.Failed != "" {
		t.Errorf("event error %q failed %q", res.Err, res.Failed)
	}
	if got := currentVersion(t, deployTo); got != "v1" {
		t.Errorf("current after the rollback = %s", got)
	}
	if env := envOf(rr.specs[1]); env["STACKHAND_PREVIOUS_RELEASE_DIR"] != filepath.Join(deployTo, "releases", v1) {
		t.Errorf("previous release dir %q", env["STACKHAND_PREVIOUS_RELEASE_DIR"])
	}

	healthy.Store(true)
	rr.fail["deploy"] = true
	res, ar = d.Run(ctx, spec, []engine.AppWork{{App: app, Revision: "v3"}})
	if res.OK || ar[0].RolledBack || !strings.Contains(ar[0].Err, "deploy hook 10-x exited with status 4 (current not switched)") || currentVersion(t, deployTo) != "v1" {
		t.Errorf("v3 with a failing deploy hook: %+v current %s", ar, currentVersion(t, deployTo))
	}

	uspec := hooks.Spec{Event: event.Undeploy, EventID: "undeploy-000002", Dir: "/hooks.d/undeploy"}
	res, ar = d.Run(ctx, uspec, []engine.AppWork{{App: app, Revision: "v1", Undeploy: true}})
	if !res.OK || !ar[0].OK {
		t.Fatalf("undeploy %+v %+v", res, ar)
	}
	last := rr.specs[len(rr.specs)-1]
	if env := envOf(last); last.Dir != "/hooks.d/undeploy" || env["STACKHAND_APP"] != "web" || env["STACKHAND_RELEASE_DIR"] != filepath.Join(deployTo, "releases", v1) {
		t.Errorf("undeploy hooks %s env %v", last.Dir, env)
	}
	if _, err := os.Lstat(filepath.Join(deployTo, "current")); !os.IsNotExist(err) {
		t.Errorf("current after undeploy: %v", err)
	}
	rs, _ := d.Manager.List(app.ReleaseApp())
	if len(rs) < 2 {
		t.Errorf("releases kept after undeploy: %+v", rs)
	}
}

// An app whose work carries an error (its sha256 reference empty) fails without a fetch;
// the other apps of the event still deploy.
func TestOneAppFailingDoesNotStopOthers(t *testing.T) {
	builds, root := t.TempDir(), t.TempDir()
	writeRelease(t, builds, "v1")
	mk := func(name string) config.App {
		return config.App{Name: name, Source: "file://" + builds + "/{revision}.tar.gz", DeployTo: filepath.Join(root, name)}
	}
	d := &Deployer{Manager: &release.Manager{}, Runner: &recRunner{}}
	res, ar := d.Run(context.Background(), hooks.Spec{Event: event.Deploy, EventID: "deploy-000001", Dir: "/h/deploy"},
		[]engine.AppWork{{App: mk("a"), Revision: "v1", Err: "no sha256"}, {App: mk("b"), Revision: "v1"}})
	if res.OK || ar[0].OK || ar[0].Err != "no sha256" || !ar[1].OK || currentVersion(t, filepath.Join(root, "b")) != "v1" {
		t.Errorf("%+v %+v", res, ar)
	}
	if _, err := os.Stat(filepath.Join(root, "a")); !os.IsNotExist(err) {
		t.Errorf("app a was touched: %v", err)
	}
}

// release_hooks: the executables the release carries run as the app's owner (never as
// root), in phase order around the switch; after a rollback, after_switch runs for the
// release gone back to.
func TestReleaseHooksRunAsOwner(t *testing.T) {
	builds, root := t.TempDir(), t.TempDir()
	mk := func(v string) {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		add := func(name string, mode int64, body string) {
			tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)})
			tw.Write([]byte(body))
		}
		add("VERSION", 0o644, v+"\n")
		for _, ph := range []string{BeforeSwitch, AfterSwitch, Validate} {
			add(".stackhand/hooks/"+ph+"/10-"+v, 0o755, "#!/bin/sh\n")
		}
		add(".stackhand/hooks/after_switch/20-not-executable", 0o644, "#!/bin/sh\n")
		tw.Close()
		gz.Close()
		os.WriteFile(filepath.Join(builds, v+".tar.gz"), buf.Bytes(), 0o644)
	}
	mk("v1")
	mk("v2")
	var healthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	app := config.App{Name: "web", Source: "file://" + builds + "/{revision}.tar.gz", DeployTo: filepath.Join(root, "web"),
		Owner: "nobody", ReleaseHooks: true, Checks: config.AppChecks{HTTP: srv.URL, Within: config.Duration(time.Second)}}
	rr := &recRunner{fail: map[string]bool{}}
	d := &Deployer{Manager: &release.Manager{}, Runner: rr}
	spec := hooks.Spec{Event: event.Deploy, EventID: "deploy-000001", Dir: "/h/deploy"}
	healthy.Store(true)
	if res, ar := d.Run(context.Background(), spec, []engine.AppWork{{App: app, Revision: "v1"}}); !res.OK {
		t.Fatalf("v1: %+v %+v", res, ar)
	}
	var got []string
	for _, s := range rr.specs {
		if s.Command == "" {
			got = append(got, "hooks.d")
			continue
		}
		if s.RunAs != "nobody" || !strings.HasPrefix(s.Command, "exec '") {
			t.Errorf("release hook %s: runas %q command %q", s.Name, s.RunAs, s.Command)
		}
		got = append(got, s.Name)
	}
	want := "hooks.d release.before_switch.10-v1 release.after_switch.10-v1 release.validate.10-v1"
	if strings.Join(got, " ") != want {
		t.Errorf("ran %v, want %s", got, want)
	}

	healthy.Store(false)
	rr.specs = nil
	_, ar := d.Run(context.Background(), spec, []engine.AppWork{{App: app, Revision: "v2"}})
	if !ar[0].RolledBack {
		t.Fatalf("v2 not rolled back: %+v", ar)
	}
	last := rr.specs[len(rr.specs)-1]
	if last.Name != "release.after_switch.10-v1" || envOf(last)["STACKHAND_RELEASE_DIR"] != filepath.Join(app.DeployTo, "releases", ar[0].Release) ||
		envOf(last)["STACKHAND_REVISION"] != "v1" {
		t.Errorf("after the rollback ran %s with %v", last.Name, envOf(last))
	}
}
