//go:build unix

package release

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/archive"
	"github.com/stackhand/stackhand/internal/trust"
)

func TestPrepareSwitchKeepsPrevious(t *testing.T) {
	m := newManager()
	app := newApp(t)
	app.Owner = "nobody"
	src := t.TempDir()
	r1 := deploy(t, m, app, "v1", "file://"+version(t, src, "v1", nil))
	if got := currentVersion(t, app); got != "v1" {
		t.Fatalf("current is %q, want v1", got)
	}
	// A plain path is a file source too.
	r2, err := m.Prepare(t.Context(), app, Deploy{Revision: "v2", Source: version(t, src, "v2", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if currentVersion(t, app) != "v1" {
		t.Fatal("Prepare alone changed current")
	}
	prev, err := m.Switch(app, r2)
	if err != nil {
		t.Fatal(err)
	}
	if prev == nil || prev.Name != r1.Name {
		t.Fatalf("Switch returned previous %+v, want %s", prev, r1.Name)
	}
	if got := currentVersion(t, app); got != "v2" {
		t.Fatalf("current is %q, want v2", got)
	}
	if _, err := os.Stat(filepath.Join(r1.Dir, "VERSION")); err != nil {
		t.Fatalf("previous release gone: %v", err)
	}
	if l := leftovers(t, app); len(l) > 0 {
		t.Fatalf("left behind: %v", l)
	}
	// The owner has the release's files, root keeps the directories around them.
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(u.Uid)
	for _, p := range []string{r2.Dir, filepath.Join(r2.Dir, "app", "main.txt"), filepath.Join(r2.Dir, "bin")} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := int(fi.Sys().(*syscall.Stat_t).Uid); got != uid {
			t.Errorf("%s owned by %d, want %d (nobody)", p, got, uid)
		}
	}
	for _, p := range []string{app.DeployTo + "/releases", app.DeployTo + "/.stackhand"} {
		fi, _ := os.Lstat(p)
		if got := fi.Sys().(*syscall.Stat_t).Uid; got != uint32(os.Geteuid()) {
			t.Errorf("%s owned by %d, want the agent's", p, got)
		}
	}
	rs, err := m.List(app)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Name != r1.Name || !rs[0].Previous || rs[0].Current || rs[1].Name != r2.Name || !rs[1].Current || rs[1].Revision != "v2" {
		t.Fatalf("List = %+v", rs)
	}
	if rs[1].Size != int64(len("v2\n")+len("hello v2")) {
		t.Errorf("size %d, want %d", rs[1].Size, len("v2\n")+len("hello v2"))
	}
}

func TestHTTPSourceAndChecksum(t *testing.T) {
	body, _ := os.ReadFile(version(t, t.TempDir(), "v1", nil))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "v1.tar.gz", time.Unix(1700000000, 0), strings.NewReader(string(body)))
	}))
	defer srv.Close()
	m := newManager()
	app := newApp(t)
	r, err := m.Prepare(t.Context(), app, Deploy{Revision: "v1", Source: srv.URL + "/v1.tar.gz", SHA256: strings.ToUpper(sum(body))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Switch(app, r); err != nil {
		t.Fatal(err)
	}
	if currentVersion(t, app) != "v1" {
		t.Fatal("not switched")
	}
	// A wrong checksum: nothing unpacked, the download gone, current untouched.
	_, err = m.Prepare(t.Context(), app, Deploy{Revision: "v2", Source: srv.URL + "/v1.tar.gz?X-Amz-Signature=secret", SHA256: strings.Repeat("0", 64)})
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") || !strings.Contains(err.Error(), sum(body)) {
		t.Fatalf("err = %v, want a checksum mismatch naming the digest", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("the query (a presigned signature) leaked into the error: %v", err)
	}
	if l := leftovers(t, app); len(l) > 0 {
		t.Fatalf("left behind: %v", l)
	}
	if rs, _ := m.List(app); len(rs) != 1 {
		t.Fatalf("releases %+v, want only v1", rs)
	}
	if currentVersion(t, app) != "v1" {
		t.Fatal("current changed")
	}
}

func TestHTTPErrorsNotRetried(t *testing.T) {
	for _, code := range []int{http.StatusForbidden, http.StatusNotFound} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				http.Error(w, "no", code)
			}))
			defer srv.Close()
			m := newManager()
			app := newApp(t)
			src := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1) + "/web/v1.tar.gz?token=hunter2"
			_, err := m.Prepare(t.Context(), app, Deploy{Revision: "v1", Source: src})
			if err == nil || !strings.Contains(err.Error(), strconv.Itoa(code)) || !strings.Contains(err.Error(), srv.URL+"/web/v1.tar.gz") {
				t.Fatalf("err = %v, want %d naming the URL", err, code)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("credentials in the error: %v", err)
			}
			if !errors.Is(err, ErrPermanent) {
				t.Errorf("%v is not ErrPermanent", err)
			}
			if n := hits.Load(); n != 1 {
				t.Fatalf("%d requests, want 1 (no retry)", n)
			}
			if l := leftovers(t, app); len(l) > 0 {
				t.Fatalf("left behind: %v", l)
			}
		})
	}
}

// cutServer serves body, cutting the connection half-way through the first answer;
// ranges says whether it honours Range.
func cutServer(t *testing.T, body []byte, ranges bool) (*httptest.Server, *[]string) {
	var hits atomic.Int32
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		seen = append(seen, r.Header.Get("Range"))
		if n == 1 {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			if ranges {
				w.Header().Set("Accept-Ranges", "bytes")
				w.Header().Set("ETag", `"v1"`)
			}
			w.WriteHeader(http.StatusOK)
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // the connection drops mid-body
		}
		if ranges {
			w.Header().Set("ETag", `"v1"`)
			http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(body)))
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestHTTPCutResumedWithRange(t *testing.T) {
	big := map[string]string{"big.bin": strings.Repeat("x", 1<<20) + fmt.Sprint(time.Now().UnixNano())}
	body, _ := os.ReadFile(version(t, t.TempDir(), "v1", big))
	srv, seen := cutServer(t, body, true)
	m := newManager()
	app := newApp(t)
	r, err := m.Prepare(t.Context(), app, Deploy{Revision: "v1", Source: srv.URL + "/a.tar.gz", SHA256: sum(body)})
	if err != nil {
		t.Fatal(err)
	}
	if len(*seen) != 2 || (*seen)[0] != "" || !strings.HasPrefix((*seen)[1], "bytes=") || (*seen)[1] == "bytes=0-" {
		t.Fatalf("Range headers %q, want none then a resume", *seen)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "big.bin")); err != nil {
		t.Fatal(err)
	}
}

func TestHTTPCutRestartedWithoutRange(t *testing.T) {
	body, _ := os.ReadFile(version(t, t.TempDir(), "v1", map[string]string{"pad": strings.Repeat("y", 100000)}))
	srv, seen := cutServer(t, body, false)
	m := newManager()
	app := newApp(t)
	if _, err := m.Prepare(t.Context(), app, Deploy{Revision: "v1", Source: srv.URL + "/a.tar.gz", SHA256: sum(body)}); err != nil {
		t.Fatal(err)
	}
	if len(*seen) != 2 || (*seen)[1] != "" {
		t.Fatalf("Range headers %q, want a restart without Range", *seen)
	}
}

func TestHTTPGivesUpAfterAttempts(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	m := newManager()
	_, err := m.Prepare(t.Context(), newApp(t), Deploy{Revision: "v1", Source: srv.URL + "/a.tar.gz"})
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "gave up after 4 tries") {
		t.Fatalf("err = %v", err)
	}
	if hits.Load() != 4 {
		t.Fatalf("%d tries, want 4", hits.Load())
	}
}

func TestNotAnArchive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "page.tar.gz")
	os.WriteFile(p, []byte("<html><body>Bad gateway</body></html>\n"), 0o644)
	m := newManager()
	app := newApp(t)
	_, err := m.Prepare(t.Context(), app, Deploy{Revision: "v1", Source: p})
	if err == nil || !strings.Contains(err.Error(), "not an archive") || !strings.Contains(err.Error(), "HTML") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "/proc/") {
		t.Errorf("the error names an fd path, not deploy_to: %v", err)
	}
	if l := leftovers(t, app); len(l) > 0 {
		t.Fatalf("left behind: %v", l)
	}
	if rs, _ := m.List(app); len(rs) != 0 {
		t.Fatalf("releases %+v", rs)
	}
}

func TestDiskTooSmall(t *testing.T) {
	m := newManager()
	app := newApp(t)
	src := t.TempDir()
	deploy(t, m, app, "v1", version(t, src, "v1", nil))
	// A reserve beyond any disk here: the unpacker finds too little room before writing.
	m.Reserve = 1 << 60
	_, err := m.Prepare(t.Context(), app, Deploy{Revision: "v2", Source: version(t, src, "v2", nil)})
	if err == nil || !strings.Contains(err.Error(), "not enough free space") || !strings.Contains(err.Error(), "no release beyond keep_releases could be removed") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "/proc/") {
		t.Errorf("the error names an fd path: %v", err)
	}
	if currentVersion(t, app) != "v1" {
		t.Fatal("current changed")
	}
	if l := leftovers(t, app); len(l) > 0 {
		t.Fatalf("left behind: %v", l)
	}
	if rs, _ := m.List(app); len(rs) != 1 {
		t.Fatalf("releases %+v: the old one must stay and no new one appear", rs)
	}
}

func TestShared(t *testing.T) {
	m := newManager()
	app := newApp(t)
	app.Shared = []string{"log", "tmp/pids"}
	src := t.TempDir()
	// An empty placeholder directory in the archive is replaced by the link.
	r := deploy(t, m, app, "v1", version(t, src, "v1", map[string]string{"log/": ""}))
	for _, x := range app.Shared {
		target, err := os.Readlink(filepath.Join(r.Dir, x))
		if err != nil {
			t.Fatalf("%s: %v", x, err)
		}
		abs := filepath.Clean(filepath.Join(filepath.Dir(filepath.Join(r.Dir, x)), target))
		if abs != filepath.Join(app.DeployTo, "shared", x) {
			t.Errorf("%s links to %s, want deploy_to/shared/%s", x, abs, x)
		}
	}
	// Written through current, it lands in shared/.
	if err := os.WriteFile(filepath.Join(app.DeployTo, "current", "log", "app.log"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(app.DeployTo, "shared", "log", "app.log")); err != nil {
		t.Fatal(err)
	}
	// A shared entry the archive carries with content: refused, nothing kept.
	_, err := m.Prepare(t.Context(), app, Deploy{Revision: "v2", Source: version(t, src, "v2", map[string]string{"log/old.log": "x"})})
	if err == nil || !strings.Contains(err.Error(), "shared entry log is a directory in the archive") {
		t.Fatalf("err = %v", err)
	}
	if l := leftovers(t, app); len(l) > 0 {
		t.Fatalf("left behind: %v", l)
	}
	if currentVersion(t, app) != "v1" {
		t.Fatal("current changed")
	}
}

func TestRollback(t *testing.T) {
	m := newManager()
	app := newApp(t)
	src := t.TempDir()
	r1 := deploy(t, m, app, "v1", version(t, src, "v1", nil))
	// Nothing before the only release.
	if _, _, err := m.Rollback(app, ""); err == nil || !strings.Contains(err.Error(), "nothing to roll back to") {
		t.Fatalf("err = %v", err)
	}
	r2 := deploy(t, m, app, "v2", version(t, src, "v2", nil))
	r3 := deploy(t, m, app, "v3", version(t, src, "v3", nil))
	from, to, err := m.Rollback(app, "")
	if err != nil {
		t.Fatal(err)
	}
	if from.Name != r3.Name || to.Name != r2.Name || currentVersion(t, app) != "v2" {
		t.Fatalf("rolled back %v → %v, current %s", from, to, currentVersion(t, app))
	}
	// Again: one more step back.
	if _, to, err = m.Rollback(app, ""); err != nil || to.Name != r1.Name {
		t.Fatalf("second rollback: %v %v", to, err)
	}
	// --to by revision and by name.
	if _, to, err = m.Rollback(app, "v3"); err != nil || to.Name != r3.Name || currentVersion(t, app) != "v3" {
		t.Fatalf("--to v3: %v %v", to, err)
	}
	if _, _, err = m.Rollback(app, r2.Name); err != nil || currentVersion(t, app) != "v2" {
		t.Fatalf("--to %s: %v", r2.Name, err)
	}
	if _, _, err = m.Rollback(app, "v9"); err == nil || !strings.Contains(err.Error(), `no release "v9"`) || !strings.Contains(err.Error(), r1.Name) {
		t.Fatalf("--to v9: %v", err)
	}
	if _, _, err = m.Rollback(app, "v2"); err == nil || !strings.Contains(err.Error(), "already current") {
		t.Fatalf("--to current: %v", err)
	}
}

// A deploy run again after a kill makes a second release of the same revision: "the
// release before current" is then the newest one of another revision, for rollback and
// for pruning alike, so that a failing revision is never rolled back to itself.
func TestPreviousIsAnotherRevision(t *testing.T) {
	m := newManager()
	app := newApp(t)
	app.KeepReleases = 1
	src := t.TempDir()
	r1 := deploy(t, m, app, "v1", version(t, src, "v1", nil))
	v2 := version(t, src, "v2", nil)
	r2a := deploy(t, m, app, "v2", v2)
	r2b := deploy(t, m, app, "v2", v2)
	rs, err := m.List(app)
	if err != nil {
		t.Fatal(err)
	}
	var flags []string
	for _, r := range rs {
		flags = append(flags, fmt.Sprintf("%s current=%v previous=%v", r.Revision, r.Current, r.Previous))
	}
	if want := "v1 current=false previous=true|v2 current=false previous=false|v2 current=true previous=false"; strings.Join(flags, "|") != want {
		t.Fatalf("listed %q, want %q", strings.Join(flags, "|"), want)
	}
	removed, err := m.Prune(app)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != r2a.Name {
		t.Fatalf("pruned %v, want only the first copy of v2 %s", removed, r2a.Name)
	}
	from, to, err := m.Rollback(app, "")
	if err != nil {
		t.Fatal(err)
	}
	if from.Name != r2b.Name || to.Name != r1.Name || currentVersion(t, app) != "v1" {
		t.Fatalf("rolled back %v → %v, current %s; want v1", from, to, currentVersion(t, app))
	}
}

func TestPruneKeepsCurrentAndPrevious(t *testing.T) {
	m := newManager()
	app := newApp(t)
	app.KeepReleases = 2
	src := t.TempDir()
	var rs []*Release
	for i := 1; i <= 6; i++ {
		rs = append(rs, deploy(t, m, app, fmt.Sprintf("v%d", i), version(t, src, fmt.Sprintf("v%d", i), nil)))
	}
	// Back to v2: current v2, previous v1; newest two v5, v6.
	if _, _, err := m.Rollback(app, "v2"); err != nil {
		t.Fatal(err)
	}
	removed, err := m.Prune(app)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{rs[2].Name, rs[3].Name}; strings.Join(removed, ",") != strings.Join(want, ",") {
		t.Fatalf("removed %v, want %v", removed, want)
	}
	left, _ := m.List(app)
	var got []string
	for _, r := range left {
		got = append(got, r.Revision)
	}
	if strings.Join(got, ",") != "v1,v2,v5,v6" {
		t.Fatalf("left %v, want v1,v2,v5,v6", got)
	}
	if currentVersion(t, app) != "v2" {
		t.Fatal("current changed")
	}
	// The default keeps five.
	app.KeepReleases = 0
	if removed, _ := m.Prune(app); len(removed) != 0 {
		t.Fatalf("removed %v with keep 5", removed)
	}
}

func TestUndeploy(t *testing.T) {
	m := newManager()
	app := newApp(t)
	src := t.TempDir()
	deploy(t, m, app, "v1", version(t, src, "v1", nil))
	if err := m.Undeploy(app); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(app.DeployTo, "current")); !os.IsNotExist(err) {
		t.Fatalf("current still there: %v", err)
	}
	rs, _ := m.List(app)
	if len(rs) != 1 || rs[0].Current {
		t.Fatalf("releases %+v, want v1 kept and not current", rs)
	}
	if err := m.Undeploy(app); err != nil {
		t.Fatalf("a second undeploy: %v", err)
	}
	if _, _, err := m.Rollback(app, ""); err == nil || !strings.Contains(err.Error(), "no current release") {
		t.Fatalf("rollback without current: %v", err)
	}
	if _, _, err := m.Rollback(app, "v1"); err != nil || currentVersion(t, app) != "v1" {
		t.Fatalf("rollback --to v1 after undeploy: %v", err)
	}
	// Never deployed: nothing to do, no error.
	never := newApp(t)
	if err := m.Undeploy(never); err != nil {
		t.Fatal(err)
	}
	if rs, err := m.List(never); err != nil || len(rs) != 0 {
		t.Fatal(rs, err)
	}
	if err := m.Recover(never); err != nil {
		t.Fatal(err)
	}
	// deploy_to made by hand, nothing deployed in it: the same.
	os.MkdirAll(never.DeployTo, 0o755)
	if rs, err := m.List(never); err != nil || len(rs) != 0 {
		t.Fatal(rs, err)
	}
	if _, _, err := m.Rollback(never, ""); !errors.Is(err, ErrNothingDeployed) {
		t.Fatalf("rollback of nothing: %v", err)
	}
}

func TestDeployToChecked(t *testing.T) {
	m := newManager()
	src := version(t, t.TempDir(), "v1", nil)
	t.Run("group-writable", func(t *testing.T) {
		app := newApp(t)
		os.MkdirAll(app.DeployTo, 0o755)
		os.Chmod(app.DeployTo, 0o775)
		_, err := m.Prepare(t.Context(), app, Deploy{Revision: "v1", Source: src})
		if !errors.Is(err, trust.ErrUntrusted) || !strings.Contains(err.Error(), "chmod go-w") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("parent-writable", func(t *testing.T) {
		app := newApp(t)
		os.MkdirAll(filepath.Dir(app.DeployTo), 0o777)
		os.Chmod(filepath.Dir(app.DeployTo), 0o777)
		_, err := m.Prepare(t.Context(), app, Deploy{Revision: "v1", Source: src})
		if !errors.Is(err, trust.ErrUntrusted) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("releases-planted-link", func(t *testing.T) {
		app := newApp(t)
		os.MkdirAll(app.DeployTo, 0o755)
		elsewhere := t.TempDir()
		os.Symlink(elsewhere, filepath.Join(app.DeployTo, "releases"))
		_, err := m.Prepare(t.Context(), app, Deploy{Revision: "v1", Source: src})
		if !errors.Is(err, trust.ErrUntrusted) || !strings.Contains(err.Error(), "not a directory") {
			t.Fatalf("err = %v", err)
		}
		if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
			t.Fatalf("wrote through the link: %v", ents)
		}
	})
	t.Run("owner-owned", func(t *testing.T) {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Skip("no user nobody")
		}
		uid, _ := strconv.Atoi(u.Uid)
		app := newApp(t)
		os.MkdirAll(app.DeployTo, 0o755)
		os.Chown(app.DeployTo, uid, -1)
		if _, err := m.Prepare(t.Context(), app, Deploy{Revision: "v1", Source: src}); !errors.Is(err, trust.ErrUntrusted) {
			t.Fatalf("owned by nobody, no owner set: err = %v", err)
		}
		app.Owner = "nobody"
		if _, err := m.Prepare(t.Context(), app, Deploy{Revision: "v1", Source: src}); err != nil {
			t.Fatalf("owned by the app's owner: %v", err)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		app := newApp(t)
		old := readOnlyFS
		readOnlyFS = func(string) (bool, error) { return true, nil }
		defer func() { readOnlyFS = old }()
		_, err := m.Prepare(t.Context(), app, Deploy{Revision: "v1", Source: src})
		if err == nil || !strings.Contains(err.Error(), "read-only file system") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("current-is-a-directory", func(t *testing.T) {
		app := newApp(t)
		r, err := m.Prepare(t.Context(), app, Deploy{Revision: "v1", Source: src})
		if err != nil {
			t.Fatal(err)
		}
		os.Mkdir(filepath.Join(app.DeployTo, "current"), 0o755)
		if _, err := m.Switch(app, r); err == nil || !strings.Contains(err.Error(), "is a directory") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestOverlap(t *testing.T) {
	ok := []App{{Name: "a", DeployTo: "/srv/a"}, {Name: "b", DeployTo: "/srv/ab"}}
	if err := Overlap(ok); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]App{
		{{Name: "a", DeployTo: "/srv/a"}, {Name: "b", DeployTo: "/srv/a/"}},
		{{Name: "a", DeployTo: "/srv/a"}, {Name: "b", DeployTo: "/srv/a/b"}},
	} {
		if err := Overlap(bad); err == nil || !strings.Contains(err.Error(), `apps "a" and "b"`) {
			t.Errorf("%v: err = %v", bad, err)
		}
	}
}

func TestCheck(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" || hits.Add(1) < 3 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	m := &Manager{}
	app := App{Name: "web", Checks: Checks{HTTP: srv.URL + "/health", Within: 10 * time.Second, Interval: time.Millisecond}}
	if err := m.Check(t.Context(), app); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 3 {
		t.Fatalf("%d tries, want 3", hits.Load())
	}
	app.Checks = Checks{HTTP: srv.URL + "/bad", Within: 50 * time.Millisecond, Interval: 5 * time.Millisecond}
	err := m.Check(t.Context(), app)
	if err == nil || !strings.Contains(err.Error(), "did not pass within 50ms") || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v", err)
	}
	if err := m.Check(t.Context(), App{Name: "none"}); err != nil {
		t.Fatal(err)
	}
}

func TestReleaseNames(t *testing.T) {
	for rev, want := range map[string]string{"v1": "v1", "feature/x": "feature_x", "../..": "_..", "a b": "a_b", "abc123.partial": "abc123", "x.partial.partial": "x"} {
		name, err := releaseName(time.Date(2026, 12, 4, 15, 4, 5, 0, time.UTC), rev)
		if err != nil || name != "20261204T150405Z-"+want {
			t.Errorf("%q → %q, %v; want %q", rev, name, err, want)
			continue
		}
		if _, got, ok := parseName(name); !ok || got != want {
			t.Errorf("parse %q → %q %v", name, got, ok)
		}
	}
	if _, err := releaseName(time.Now(), "..."); err == nil {
		t.Error("a revision of dots gave a name")
	}
}

// FuzzReleaseName: whatever a revision holds (it comes from metadata, a tag or an SSM
// parameter, all writable by others than root), its release name is one path component
// that List parses back, never "." or "..", never hidden, never a .partial.
func FuzzReleaseName(f *testing.F) {
	for _, s := range []string{"v1", "feature/x", "../../etc", ".hidden", "a.partial", "", "…", strings.Repeat("x", 300)} {
		f.Add(s)
	}
	at := time.Date(2026, 12, 4, 15, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, rev string) {
		name, err := releaseName(at, rev)
		if err != nil {
			return
		}
		if strings.ContainsAny(name, "/\\\x00") || strings.HasSuffix(name, partialSuffix) || len(name) > 255 {
			t.Fatalf("%q → unsafe name %q", rev, name)
		}
		pt, prev, ok := parseName(name)
		if !ok || !pt.Equal(at) || prev == "" || prev == "." || prev == ".." || strings.HasPrefix(prev, ".") {
			t.Fatalf("%q → %q parses as %v %q %v", rev, name, pt, prev, ok)
		}
	})
}

// roomFor pretends the disk holds at most max releases: Unpack fails with
// archive.ErrNoSpace while more are on disk, as archive.Extract does before writing.
type roomFor struct {
	max   int
	calls int
}

func (u *roomFor) Unpack(ctx context.Context, path, dest string, reserve int64) (int64, error) {
	u.calls++
	ents, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), "*Z-v*"))
	n := 0
	for _, e := range ents {
		if !strings.HasSuffix(e, partialSuffix) {
			n++
		}
	}
	if n >= u.max {
		return 0, fmt.Errorf("unpack %s: %w: it needs more", path, archive.ErrNoSpace)
	}
	return Archive{}.Unpack(ctx, path, dest, reserve)
}

func TestDiskTooSmallPrunesOnlyWhatKeepAllows(t *testing.T) {
	m := newManager()
	app := newApp(t)
	app.KeepReleases = 3
	src := t.TempDir()
	for i := 1; i <= 4; i++ {
		deploy(t, m, app, fmt.Sprintf("v%d", i), version(t, src, fmt.Sprintf("v%d", i), nil))
	}
	// Room for three releases on disk: v5 fits once v1 and v2 (beyond keep 3 with v5
	// added) are gone.
	u := &roomFor{max: 3}
	m.Unpacker = u
	r5 := deploy(t, m, app, "v5", version(t, src, "v5", nil))
	var got []string
	rs, _ := m.List(app)
	for _, r := range rs {
		got = append(got, r.Revision)
	}
	if strings.Join(got, ",") != "v3,v4,v5" || u.calls != 2 || currentVersion(t, app) != "v5" || r5.Revision != "v5" {
		t.Fatalf("releases %v after %d unpacks", got, u.calls)
	}
	// Room for two: keep 3 lets v3 go (v6 would be the third), and that is not enough:
	// the deploy fails, current and the one before it stay.
	u.max, u.calls = 2, 0
	_, err := m.Prepare(t.Context(), app, Deploy{Revision: "v6", Source: version(t, src, "v6", nil)})
	if err == nil || !strings.Contains(err.Error(), "removing the releases beyond keep_releases ("+rs[0].Name+") was not enough") {
		t.Fatalf("err = %v", err)
	}
	// Room for one: nothing may go (v4 is the previous, v5 current), whatever keep says.
	app.KeepReleases = 1
	u.max = 1
	_, err = m.Prepare(t.Context(), app, Deploy{Revision: "v6", Source: version(t, src, "v6", nil)})
	if err == nil || !strings.Contains(err.Error(), "no release beyond keep_releases could be removed") {
		t.Fatalf("err = %v", err)
	}
	if l := leftovers(t, app); len(l) > 0 {
		t.Fatalf("left behind: %v", l)
	}
	rs, _ = m.List(app)
	if len(rs) != 2 || !rs[0].Previous || !rs[1].Current {
		t.Fatalf("releases %+v, want the previous and the current kept", rs)
	}
}
