//go:build unix

package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// appWorld is a world with one app, web, released from file:// archives in builds/ into
// srv/web, gated by a check on a local HTTP server whose health the test sets.
type appWorld struct {
	*world
	builds, deployTo string
	healthy          atomic.Bool
	appRec           string
}

func newAppWorld(t *testing.T, source, extra string) *appWorld {
	t.Helper()
	aw := &appWorld{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !aw.healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	aw.healthy.Store(true)
	w := newWorld(t, "") // for its directory; the config is written below
	aw.world = w
	aw.builds = filepath.Join(w.dir, "builds")
	aw.deployTo = filepath.Join(w.dir, "srv", "web")
	aw.appRec = filepath.Join(w.dir, "app-record")
	os.MkdirAll(aw.builds, 0o755)
	if source == "" {
		source = "file://" + aw.builds + "/{revision}.tar.gz"
	}
	w.writeFile(w.cfg, baseConfig+fmt.Sprintf(`apps:
  - name: web
    revision: {metadata: web_release}
    source: %s
    deploy_to: %s
    keep_releases: 2
    checks: {http: "%s/health", within: 3s}
%s`, source, aw.deployTo, srv.URL, extra))
	// The deploy and undeploy hooks record the app's variables.
	for _, ev := range []string{"deploy", "undeploy"} {
		w.hook(ev, "10-app", fmt.Sprintf(`echo "$STACKHAND_EVENT app=$STACKHAND_APP rev=$STACKHAND_REVISION dir=$STACKHAND_RELEASE_DIR prev=$STACKHAND_PREVIOUS_RELEASE_DIR retry=${STACKHAND_RETRY:-0}" >> %q`, aw.appRec))
	}
	return aw
}

// releaseArchive is a tar.gz holding VERSION (v) and a filler file.
func releaseArchive(v string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	add := func(name, body string) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)})
		tw.Write([]byte(body))
	}
	add("VERSION", v+"\n")
	add("app/main.txt", strings.Repeat("x", 4096))
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// build writes builds/<v>.tar.gz.
func (aw *appWorld) build(v string) {
	aw.t.Helper()
	aw.writeFile(filepath.Join(aw.builds, v+".tar.gz"), string(releaseArchive(v)))
}

func (aw *appWorld) current() string {
	b, err := os.ReadFile(filepath.Join(aw.deployTo, "current", "VERSION"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (aw *appWorld) appRecords() []string {
	b, _ := os.ReadFile(aw.appRec)
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func (aw *appWorld) releases() []string {
	es, _ := os.ReadDir(filepath.Join(aw.deployTo, "releases"))
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func (aw *appWorld) appStatus() map[string]any {
	aw.t.Helper()
	apps, _ := aw.statusJSON()["apps"].(map[string]any)
	web, _ := apps["web"].(map[string]any)
	return web
}

// watchCurrent polls current/VERSION until stop is closed and reports every read that
// found it missing or not one of the complete versions: at every instant `current` must
// name a complete release.
func watchCurrent(t *testing.T, aw *appWorld, valid func(string) bool) (stop func() []string) {
	var mu sync.Mutex
	var bad []string
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			default:
			}
			b, err := os.ReadFile(filepath.Join(aw.deployTo, "current", "VERSION"))
			if v := strings.TrimSpace(string(b)); err != nil || !valid(v) {
				mu.Lock()
				bad = append(bad, fmt.Sprintf("%q %v", v, err))
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return bad
	}
}

// A revision change makes a new release and switches current, the previous kept;
// keep_releases prunes; a failing check rolls back automatically (the event failed with
// its reason, status says the revision will not be deployed again until it changes);
// `stackhand releases` and `stackhand rollback` work; removing the revision undeploys.
func TestAppReleasesLocal(t *testing.T) {
	aw := newAppWorld(t, "", "")
	aw.recordHooks(event.Setup)
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		aw.build(v)
	}
	aw.writeLocal("metadata.json", `{"web_release": "v1"}`)
	a := aw.start()
	aw.until("v1 current", a, func() bool { return aw.current() == "v1" })

	stopWatch := watchCurrent(t, aw, func(v string) bool { return v == "v1" || v == "v2" || v == "v3" })
	aw.writeLocal("metadata.json", `{"web_release": "v2"}`)
	aw.until("v2 current", a, func() bool { return aw.current() == "v2" })
	aw.until("the v2 deploy recorded", a, func() bool { return len(aw.appRecords()) >= 2 })
	recs := aw.appRecords()
	if !strings.Contains(recs[1], "deploy app=web rev=v2 dir="+filepath.Join(aw.deployTo, "releases")) ||
		!strings.Contains(recs[1], "prev="+filepath.Join(aw.deployTo, "releases")) || !strings.Contains(recs[1], "-v1 retry=0") {
		t.Errorf("deploy hook variables: %q", recs[1])
	}
	if rs := aw.releases(); len(rs) != 2 {
		t.Errorf("releases after v2: %v", rs)
	}

	// keep_releases: 2 — the third release prunes the first.
	aw.writeLocal("metadata.json", `{"web_release": "v3"}`)
	aw.until("v3 current and v1 pruned", a, func() bool {
		rs := aw.releases()
		return aw.current() == "v3" && len(rs) == 2 && strings.HasSuffix(rs[0], "-v2") && strings.HasSuffix(rs[1], "-v3")
	})
	if bad := stopWatch(); len(bad) > 0 {
		t.Errorf("a reader saw current missing or partial %d times: %v", len(bad), bad[:min(5, len(bad))])
	}

	// A failing check: rolled back to v3, the event failed with the reason.
	aw.healthy.Store(false)
	aw.writeLocal("metadata.json", `{"web_release": "v4"}`)
	aw.until("v4 rolled back", a, func() bool { s := aw.appStatus(); return s != nil && s["failed_revision"] == "v4" })
	if aw.current() != "v3" {
		t.Errorf("current after the rollback = %q", aw.current())
	}
	web := aw.appStatus()
	if note, _ := web["note"].(string); !strings.Contains(note, "web: revision v4 failed and was rolled back to ") || !strings.Contains(note, "-v3; will deploy again when the revision changes") {
		t.Errorf("status note %q", note)
	}
	last := aw.statusJSON()["last"].(map[string]any)["deploy"].(map[string]any)
	if last["result"] != "failed" || !strings.Contains(last["error"].(string), "app web: rolled back to ") || !strings.Contains(last["error"].(string), "-v3: ") {
		t.Errorf("last deploy %v", last)
	}
	text, _, _ := aw.cli("status")
	if !strings.Contains(text, "will deploy again when the revision changes") {
		t.Errorf("status text:\n%s", text)
	}
	aw.healthy.Store(true)

	// releases reads the disk.
	out, errOut, code := aw.cli("releases", "web")
	if code != 0 || !strings.Contains(out, "current") || !strings.Contains(out, "-v3") || !strings.Contains(out, "-v4") {
		t.Errorf("releases: exit %d\n%s%s", code, out, errOut)
	}

	// rollback by hand to v2.
	n := len(aw.appRecords())
	if out, errOut, code := aw.cli("rollback", "web", "--to", "v2"); code != 0 {
		t.Fatalf("rollback: exit %d\n%s%s\n%s", code, out, errOut, a.output())
	}
	if aw.current() != "v2" {
		t.Errorf("current after stackhand rollback = %q", aw.current())
	}
	if s := aw.appStatus(); s["result"] != "rolled_back" || s["release"] == nil || !strings.HasSuffix(s["release"].(string), "-v2") {
		t.Errorf("status after rollback %v", s)
	}
	if len(aw.appRecords()) != n {
		t.Errorf("a rollback ran the deploy hooks: %v", aw.appRecords()[n:])
	}

	// Undeploy: the hook with the app's variables, current removed, releases kept.
	aw.writeLocal("metadata.json", `{}`)
	aw.until("undeploy", a, func() bool {
		_, err := os.Lstat(filepath.Join(aw.deployTo, "current"))
		return os.IsNotExist(err)
	})
	aw.until("the undeploy hook recorded", a, func() bool {
		r := aw.appRecords()
		return strings.HasPrefix(r[len(r)-1], "undeploy app=web")
	})
	if rs := aw.releases(); len(rs) < 2 {
		t.Errorf("releases after undeploy: %v", rs)
	}
	if code := a.stop(); code != 0 {
		t.Errorf("stop: exit %d", code)
	}
}

// The agent SIGKILLed during the fetch (an HTTP source that sends half the archive and
// then stalls) and again in the deploy hooks, before the switch: each time, on restart
// current is intact, the deploy runs again with STACKHAND_RETRY=1 and completes, and what
// the killed run left is discarded; a reader polling current/VERSION throughout never
// finds it missing or partial.
func TestAppKilledAtFetchAndBeforeSwitch(t *testing.T) {
	var stall atomic.Bool
	stalled := make(chan struct{}, 1)
	release := make(chan struct{})
	var aw *appWorld
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".tar.gz")
		b, err := os.ReadFile(filepath.Join(aw.builds, v+".tar.gz"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		if v == "v2" && stall.Load() {
			w.Write(b[:len(b)/2])
			w.(http.Flusher).Flush()
			select {
			case stalled <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Write(b)
	}))
	defer srv.Close()
	defer close(release)
	aw = newAppWorld(t, srv.URL+"/{revision}.tar.gz", "")
	gate := filepath.Join(aw.dir, "gate")
	blocked := filepath.Join(aw.dir, "blocked")
	// Before the switch of v3, the deploy hook blocks until the gate exists.
	aw.hook("deploy", "20-block", fmt.Sprintf(`if [ "$STACKHAND_REVISION" = v3 ] && [ ! -e %q ]; then touch %q; sleep 60; fi`, gate, blocked))
	for _, v := range []string{"v1", "v2", "v3"} {
		aw.build(v)
	}
	aw.writeLocal("metadata.json", `{"web_release": "v1"}`)
	a := aw.start()
	aw.until("v1 current", a, func() bool { return aw.current() == "v1" })
	stopWatch := watchCurrent(t, aw, func(v string) bool { return v == "v1" || v == "v2" || v == "v3" })

	// Killed in the fetch.
	stall.Store(true)
	aw.writeLocal("metadata.json", `{"web_release": "v2"}`)
	select {
	case <-stalled:
	case <-time.After(waitLimit):
		t.Fatalf("the fetch of v2 never started\n%s", a.output())
	}
	a.kill()
	if aw.current() != "v1" {
		t.Fatalf("current after a kill in the fetch = %q", aw.current())
	}
	stall.Store(false)
	a = aw.start()
	aw.until("v2 current after the restart", a, func() bool { return aw.current() == "v2" })
	recs := aw.appRecords()
	if last := recs[len(recs)-1]; !strings.Contains(last, "rev=v2") || !strings.HasSuffix(last, "retry=1") {
		t.Errorf("the deploy after the kill: %q, want rev=v2 with retry=1", last)
	}
	if left, _ := filepath.Glob(filepath.Join(aw.deployTo, ".stackhand", "*.partial")); len(left) > 0 {
		t.Errorf("downloads left: %v", left)
	}

	// Killed in the deploy hooks, before the switch.
	aw.writeLocal("metadata.json", `{"web_release": "v3"}`)
	aw.until("the v3 deploy hook to block", a, func() bool { _, err := os.Stat(blocked); return err == nil })
	a.kill()
	if aw.current() != "v2" {
		t.Fatalf("current after a kill before the switch = %q", aw.current())
	}
	aw.writeFile(gate, "")
	a = aw.start()
	aw.until("v3 current after the restart", a, func() bool { return aw.current() == "v3" })
	recs = aw.appRecords()
	if last := recs[len(recs)-1]; !strings.Contains(last, "rev=v3") || !strings.HasSuffix(last, "retry=1") {
		t.Errorf("the deploy after the kill: %q, want rev=v3 with retry=1", last)
	}
	for _, r := range aw.releases() {
		if strings.HasSuffix(r, ".partial") {
			t.Errorf("a half-made release was left: %s", r)
		}
	}
	if bad := stopWatch(); len(bad) > 0 {
		t.Errorf("a reader saw current missing or partial %d times: %v", len(bad), bad[:min(5, len(bad))])
	}
	a.stop()
}

// The agent SIGKILLed in the unpack (the release half-made under releases/*.partial), in
// the switch (the new link made, not yet renamed over current) and just after it (current
// switched, the event not yet recorded). The e2e binary is built with -tags crashpoints:
// STACKHAND_CRASH_AT makes it kill itself at that exact point. Each time, on restart
// current names a complete release, what the killed run left is removed, the deploy runs
// again with STACKHAND_RETRY=1; a reader polling current/VERSION never sees it missing or
// partial. After the kill past the switch the retry's check fails: the rollback goes to
// the release of the revision before, not to the copy the killed run made.
func TestAppKilledInUnpackAndSwitch(t *testing.T) {
	aw := newAppWorld(t, "", "")
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		aw.build(v)
	}
	aw.writeLocal("metadata.json", `{"web_release": "v1"}`)
	a := aw.start()
	aw.until("v1 current", a, func() bool { return aw.current() == "v1" })
	stopWatch := watchCurrent(t, aw, func(v string) bool { return v == "v1" || v == "v2" || v == "v3" || v == "v4" })
	for _, c := range []struct {
		phase, rev, before, left string
	}{
		{"unpack", "v2", "v1", "releases/*-v2.partial"},
		{"switch", "v3", "v2", "current.tmp-*"},
		{"switched", "v4", "v4", ""},
	} {
		if code := a.stop(); code != 0 {
			t.Fatalf("stop before the %s kill: exit %d\n%s", c.phase, code, a.output())
		}
		cmd := exec.Command(binPath, "run", "--config", aw.cfg)
		cmd.Env = append(os.Environ(), "STACKHAND_CRASH_AT="+c.phase)
		a = aw.startCmd(cmd)
		aw.writeLocal("metadata.json", fmt.Sprintf(`{"web_release": %q}`, c.rev))
		if code := a.exited(); code != -1 {
			t.Fatalf("the agent was to kill itself at %s; it exited %d\n%s", c.phase, code, a.output())
		}
		if got := aw.current(); got != c.before {
			t.Fatalf("current after a kill at %s = %q, want %q", c.phase, got, c.before)
		}
		if c.left != "" {
			if got, _ := filepath.Glob(filepath.Join(aw.deployTo, c.left)); len(got) != 1 {
				t.Fatalf("killed at %s, %s: %v (was it killed where it says?)", c.phase, c.left, got)
			}
		}
		if c.phase == "switched" {
			aw.healthy.Store(false) // the retry's check fails
		}
		a = aw.start()
		if c.phase == "switched" {
			aw.until("v4 rolled back", a, func() bool { s := aw.appStatus(); return s != nil && s["failed_revision"] == "v4" })
			if got := aw.current(); got != "v3" {
				t.Errorf("the retry of v4 failed its check and rolled back to %q, want v3", got)
			}
		} else {
			aw.until(c.rev+" current after the restart", a, func() bool { return aw.current() == c.rev })
		}
		recs := aw.appRecords()
		if last := recs[len(recs)-1]; !strings.Contains(last, "rev="+c.rev) || !strings.HasSuffix(last, "retry=1") {
			t.Errorf("the deploy after the kill at %s: %q, want rev=%s with retry=1", c.phase, last, c.rev)
		}
		for _, pat := range []string{"releases/*.partial", "current.tmp-*", ".stackhand/fetch-*"} {
			if got, _ := filepath.Glob(filepath.Join(aw.deployTo, pat)); len(got) > 0 {
				t.Errorf("after the kill at %s and the retry, left: %v", c.phase, got)
			}
		}
	}
	if bad := stopWatch(); len(bad) > 0 {
		t.Errorf("a reader saw current missing or partial %d times: %v", len(bad), bad[:min(5, len(bad))])
	}
	a.stop()
}

// Mode aws against the stand-in: the revision is an SSM parameter holding an S3 version
// id, and the source names that version: the release is the version asked for, not the
// newest object, and a new parameter value deploys the other version.
func TestAWSAppFromS3VersionAndSSMRevision(t *testing.T) {
	deployTo := filepath.Join(t.TempDir(), "srv", "web")
	w := newAWSWorld(t, fmt.Sprintf(`apps:
  - name: web
    revision: {ssm: /web/release}
    source: s3://releases/web/app.tar.gz?versionId={revision}
    deploy_to: %s
`, deployTo), imdsmock.Config{})
	w.hook("deploy", "10-app", fmt.Sprintf(`echo "$STACKHAND_APP $STACKHAND_REVISION" >> %q`, filepath.Join(w.dir, "app-record")))
	v1 := w.aws.PutObject("releases", "web/app.tar.gz", releaseArchive("v1"))
	v2 := w.aws.PutObject("releases", "web/app.tar.gz", releaseArchive("v2")) // the newest
	w.aws.PutParameter("/web/release", v1)
	cmd := exec.Command(binPath, "run", "--config", w.cfg)
	cmd.Env = append(w.env(), "AWS_ENDPOINT_URL_S3="+w.aws.URL, "AWS_ENDPOINT_URL_SSM="+w.aws.URL)
	a := w.startCmd(cmd)
	current := func() string {
		b, _ := os.ReadFile(filepath.Join(deployTo, "current", "VERSION"))
		return strings.TrimSpace(string(b))
	}
	w.until("version v1 current", a, func() bool { return current() == "v1" })
	if rec, _ := os.ReadFile(filepath.Join(w.dir, "app-record")); !strings.Contains(string(rec), "web "+v1) {
		t.Errorf("deploy hook saw %q, want the version id %s", rec, v1)
	}
	w.aws.PutParameter("/web/release", v2)
	w.until("version v2 current", a, func() bool { return current() == "v2" })
	if n := w.aws.Calls("s3", "GetObject"); n < 2 {
		t.Errorf("%d GetObject calls", n)
	}
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}
