package main

import (
	"bytes"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the current output")

// statusGolden compares the text of `stackhand status` down to its sources and reporters
// (their readings depend on timing), with what changes from run to run (times, ages,
// durations, pids, addresses, the test's directory) replaced by placeholders and
// tabwriter's padding folded, with agent/testdata/<name>; -update rewrites it.
func (w *world) statusGolden(name, out string) {
	w.t.Helper()
	if i := regexp.MustCompile(`(?m)^(sources|SOURCES|reporters|REPORTERS)\b`).FindStringIndex(out); i != nil {
		out = out[:i[0]]
	}
	for _, r := range []struct{ re, with string }{
		{regexp.QuoteMeta(w.dir), "<dir>"},
		{`\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`, "<time>"},
		{`\((\d+[smhd]) ago\)`, "(<age> ago)"},
		{`\(in \d+[smhd]\)`, "(in <age>)"},
		// A next try that came due while the status was read (a busy machine) is the
		// same status.
		{`\(due now\)`, "(in <age>)"},
		{`\(pid \d+\)`, "(pid <pid>)"},
		{`\b\d+(\.\d+)?(ns|µs|ms|s|m)(\d+(\.\d+)?(ms|s))?\b`, "<dur>"},
		{`127\.0\.0\.1:\d+`, "<addr>"},
		{`[ \t]{2,}`, "  "},
	} {
		out = regexp.MustCompile(r.re).ReplaceAllString(out, r.with)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			w.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		w.t.Fatalf("%v (run go test -run %s -update)", err, w.t.Name())
	}
	if !bytes.Equal([]byte(out), want) {
		w.t.Errorf("status differs from %s (go test -run %s -update rewrites it; review the diff):\n--- got\n%s\n--- want\n%s",
			path, w.t.Name(), out, want)
	}
}

// retryOf returns the retry scheduled for event k in status --json, nil if none.
func retryOf(w *world, k string) map[string]any {
	rs, _ := w.statusJSON()["retries"].([]any)
	for _, r := range rs {
		if m := r.(map[string]any); m["event"] == k {
			return m
		}
	}
	return nil
}

// A deploy that fails shows when it runs again and how many times it failed, in text and
// JSON; a restart keeps that schedule instead of retrying at once; a hook skipped for not
// being executable shows in the text.
func TestStatusShowsTheRetryScheduleAndHookWarningsAcrossARestart(t *testing.T) {
	w := newWorld(t, watchRelease)
	w.hook("deploy", "10-fail", `echo "error: disk full" >&2; exit 3`)
	w.recordHooks(event.Configure)
	if err := os.WriteFile(filepath.Join(w.hooks, "configure", "20-not-executable"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.writeLocal("metadata.json", `{"release": "v1"}`)
	a := w.start()
	w.waitEvents(a, 1) // the configure after setup, behind the failed deploy
	w.until("the deploy's retry in status", a, func() bool { return retryOf(w, "deploy") != nil })
	before := retryOf(w, "deploy")
	if before["attempts"] != 1.0 {
		t.Errorf("retry %v, want 1 failed attempt", before)
	}
	next, err := time.Parse(time.RFC3339Nano, before["next_attempt"].(string))
	if err != nil || time.Until(next) < 30*time.Second {
		t.Errorf("next attempt %v (%v): want about one interval (60s) ahead", before["next_attempt"], err)
	}
	out, _, _ := w.cli("status")
	w.statusGolden("status-retry.golden", out)

	if code := a.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	deploys := strings.Count(strings.Join(w.ids(), " "), "deploy")
	a = w.start()
	after := retryOf(w, "deploy")
	if after == nil || after["next_attempt"] != before["next_attempt"] || after["attempts"] != before["attempts"] {
		t.Errorf("after a restart the retry is %v, want the same schedule %v", after, before)
	}
	out, _, _ = w.cli("status")
	w.statusGolden("status-retry.golden", out)
	if n := strings.Count(strings.Join(w.ids(), " "), "deploy"); n != deploys {
		t.Errorf("a restart ran the failing deploy again at once (%d deploys recorded, %d before)", n, deploys)
	}
	a.stop()
}

// While IMDS cannot be reached, status says so — the error, how many attempts, when the
// next is — and the agent runs setup as soon as IMDS answers, without a restart.
func TestStatusDuringAnIMDSOutageShowsTheDiscoveryError(t *testing.T) {
	w := newAWSWorld(t, "", imdsmock.Config{})
	w.recordHooks(event.Setup)
	var down atomic.Bool
	down.Store(true)
	target, _ := url.Parse(w.imds.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	outage := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if down.Load() {
			// What an unreachable endpoint looks like to the client: the connection drops.
			if c, _, err := rw.(http.Hijacker).Hijack(); err == nil {
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}
			return
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(outage.Close)
	cmd := exec.Command(binPath, "run", "--config", w.cfg)
	cmd.Env = append(w.env(), "AWS_EC2_METADATA_SERVICE_ENDPOINT="+outage.URL)
	a := w.launch(cmd)
	w.until("the discovery error in status", a, func() bool {
		d, _ := w.statusJSON()["discovery"].(map[string]any)
		return d != nil && d["last_error"] != nil && d["attempts"].(float64) >= 2
	})
	out, _, _ := w.cli("status")
	for _, want := range []string{"verdict    FAILING", "the instance is not known: IMDS unreachable at " + outage.URL,
		"instance   UNKNOWN: discovery failing since", "next try"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	w.statusGolden("status-discovery.golden", regexp.MustCompile(`\d+ attempt\(s\)`).ReplaceAllString(
		strings.ReplaceAll(out, outage.URL, "<imds>"), "<n> attempt(s)"))

	down.Store(false)
	w.waitEvents(a, 1)
	if got := w.events(); got[0] != "setup" {
		t.Fatalf("events %v after IMDS came back, want setup", got)
	}
	w.until("discovery ok in status", a, func() bool {
		d, _ := w.statusJSON()["discovery"].(map[string]any)
		return d != nil && d["last_error"] == nil
	})
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// The logs block of status shows each configured file and one line for the hooks' output
// (a file per hook run), with its count, however many events ran.
func TestStatusShowsHookOutputAsOneLine(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.log")
	if err := os.WriteFile(app, []byte("started\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, logsConfig(app))
	w.hook("undeploy", "10-a", "echo a")
	w.hook("undeploy", "20-b", "echo b")
	a := w.start()
	for range 3 {
		if _, errOut, code := w.cli("trigger", "undeploy"); code != 0 {
			t.Fatalf("trigger: exit %d %s", code, errOut)
		}
	}
	hookFiles := func() int {
		n := 0
		r, _ := w.statusJSON()["reporters"].(map[string]any)
		logs, _ := r["logs"].(map[string]any)
		files, _ := logs["files"].([]any)
		for _, f := range files {
			if strings.HasSuffix(f.(map[string]any)["stream"].(string), "/hooks") {
				n++
			}
		}
		return n
	}
	w.until("six hook logs followed", a, func() bool { return hookFiles() >= 6 })
	out, _, _ := w.cli("status")
	var appLines, hookLines []string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, app+" -> "):
			appLines = append(appLines, line)
		case strings.Contains(line, "/hooks: "):
			hookLines = append(hookLines, line)
		}
	}
	if len(appLines) != 1 || len(hookLines) != 1 || !regexp.MustCompile(`^\s+\d+ files in .*/log/hooks -> `).MatchString(hookLines[0]) {
		t.Errorf("logs block: app lines %q, hook lines %q; want one each, the hooks' with its count:\n%s", appLines, hookLines, out)
	}
	a.stop()
}
