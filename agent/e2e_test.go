package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stackhand/stackhand/internal/event"
)

const watchRelease = `watch:
  - name: release
    metadata: release
`

func TestFirstStartRunsSetupDeployConfigureOnce(t *testing.T) {
	w := newWorld(t, watchRelease)
	w.recordHooks(event.Setup, event.Deploy, event.Configure)
	w.writeLocal("metadata.json", `{"release": "v1"}`)
	a := w.start()
	if got, want := w.waitEvents(a, 3), []string{"setup", "deploy", "configure"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("first start ran %v, want %v", got, want)
	}
	ids := w.ids()
	if p := w.payload(ids[1]); len(p.Metadata) != 1 || p.Metadata[0].Change != event.Add || string(p.Metadata[0].New) != `"v1"` {
		t.Errorf("deploy after setup: metadata %+v, want release added as \"v1\"", p.Metadata)
	}
	if p := w.payload(ids[0]); p.Instance.InstanceID != "i-0e2e0000000000001" || p.Stack != "e2e-stack" || p.Region != "eu-west-1" {
		t.Errorf("setup payload identity: %+v stack %q region %q", p.Instance, p.Stack, p.Region)
	}
	if code := a.stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, a.output())
	}

	// A restart runs no setup: a deploy asked for now is the next thing to run.
	a = w.start()
	if _, errOut, code := w.cli("trigger", "deploy", "--reason", "after restart"); code != 0 {
		t.Fatalf("trigger deploy: exit %d: %s\n%s", code, errOut, a.output())
	}
	if got, want := w.events(), []string{"setup", "deploy", "configure", "deploy"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after restart and a triggered deploy: %v, want %v", got, want)
	}
	if p := w.payload(w.ids()[3]); p.Reason != "after restart" || p.Trigger.Type != "request" {
		t.Errorf("triggered deploy: reason %q trigger %+v", p.Reason, p.Trigger)
	}
}

func TestMetadataChangeDeploysAndRemovalUndeploys(t *testing.T) {
	w := newWorld(t, watchRelease)
	w.recordHooks(event.Deploy, event.Undeploy)
	w.writeLocal("metadata.json", `{"release": "v1", "other": 1}`)
	a := w.start()
	w.waitEvents(a, 1)

	w.writeLocal("metadata.json", `{"release": "v2", "other": 1}`)
	if got := w.waitEvents(a, 2); got[1] != "deploy" {
		t.Fatalf("after a change: %v", got)
	}
	p := w.payload(w.ids()[1])
	if len(p.Metadata) != 1 {
		t.Fatalf("metadata %+v", p.Metadata)
	}
	m := p.Metadata[0]
	if m.Change != event.Update || string(m.Old) != `"v1"` || string(m.New) != `"v2"` {
		t.Errorf("deploy payload: %+v, want update v1 -> v2", m)
	}

	// A change elsewhere in the metadata runs nothing; removing the watched key undeploys.
	w.writeLocal("metadata.json", `{"other": 2}`)
	if got := w.waitEvents(a, 3); got[2] != "undeploy" {
		t.Fatalf("after a removal: %v", got)
	}
	m = w.payload(w.ids()[2]).Metadata[0]
	if m.Change != event.Remove || string(m.Old) != `"v2"` || m.New != nil {
		t.Errorf("undeploy payload: %+v, want remove of v2", m)
	}
	if code := a.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if got := w.events(); len(got) != 3 {
		t.Errorf("events %v, want exactly deploy, deploy, undeploy", got)
	}
}

func TestPeerChangesConfigureAndCoalesce(t *testing.T) {
	w := newWorld(t, "")
	hold := filepath.Join(w.dir, "hold")
	w.hook("configure", "10-record", w.recordLine()+fmt.Sprintf(`
while [ -e %q ]; do sleep 0.05; done`, hold))
	w.hook("deploy", "10-record", w.recordLine())
	peer := func(ids ...string) string {
		var parts []string
		for i, id := range ids {
			parts = append(parts, fmt.Sprintf(`{"instance_id": %q, "private_ip": "10.0.0.%d"}`, id, i+1))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	w.writeLocal("peers.json", peer("i-a"))
	a := w.start()
	w.waitEvents(a, 2) // deploy after setup, configure after setup

	// One peer joins while the configure hook is held: it runs and waits.
	w.writeFile(hold, "")
	w.writeLocal("peers.json", peer("i-a", "i-b"))
	w.waitEvents(a, 3)
	if p := w.payload(w.ids()[2]); len(p.Peers) != 2 || p.Peers[1].InstanceID != "i-b" {
		t.Fatalf("configure payload peers %+v, want i-a and i-b", p.Peers)
	}
	// Two more changes while it runs: they merge into one waiting configure.
	w.writeLocal("peers.json", peer("i-a", "i-b", "i-c"))
	w.until("a configure waiting", a, func() bool { return len(queue(w, "configure")) == 1 })
	w.writeLocal("peers.json", peer("i-a", "i-b", "i-c", "i-d"))
	w.until("the second change merged into it", a, func() bool {
		q := queue(w, "configure")
		return len(q) == 1 && len(q[0]["reasons"].([]any)) == 2
	})
	os.Remove(hold)
	w.waitEvents(a, 4)
	if _, errOut, code := w.cli("trigger", "deploy"); code != 0 {
		t.Fatalf("trigger: %d %s", code, errOut)
	}
	if got, want := w.events(), []string{"deploy", "configure", "configure", "configure", "deploy"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v (two quick changes, one configure)", got, want)
	}
	if p := w.payload(w.ids()[3]); len(p.Peers) != 4 {
		t.Errorf("coalesced configure saw %d peers, want the last set of 4", len(p.Peers))
	}
}

// queue returns the queued events of kind k from status --json.
func queue(w *world, k string) []map[string]any {
	var out []map[string]any
	q, _ := w.statusJSON()["queue"].([]any)
	for _, e := range q {
		m := e.(map[string]any)
		if m["event"] == k {
			out = append(out, m)
		}
	}
	return out
}

func TestTerminatedRunsShutdownAndExitsZero(t *testing.T) {
	w := newWorld(t, "heartbeat:\n  enabled: true\n  interval: 10s\n")
	alarm := filepath.Join(w.local, "alarm.json")
	w.recordHooks(event.Shutdown, event.Configure)
	a := w.start()
	w.waitEvents(a, 1)
	w.until("the heartbeat alarm", a, func() bool { _, err := os.Stat(alarm); return err == nil })
	w.writeLocal("lifecycle", "Terminated\n")
	if code := a.exited(); code != 0 {
		t.Fatalf("exit %d after shutdown\n%s", code, a.output())
	}
	if _, err := os.Stat(alarm); err == nil {
		t.Error("the heartbeat alarm outlived the termination")
	}
	if got := w.events(); !reflect.DeepEqual(got, []string{"configure", "shutdown"}) {
		t.Fatalf("events %v", got)
	}
	p := w.payload(w.ids()[1])
	if p.Trigger.Type != "lifecycle" || !strings.Contains(p.Reason, "Terminated") {
		t.Errorf("shutdown payload trigger %+v reason %q", p.Trigger, p.Reason)
	}
	// Restarted on a terminating instance (systemd restarts it), it does not run shutdown twice.
	a = w.start()
	w.until("the agent to notice the shutdown already ran", a, func() bool {
		return strings.Contains(a.output(), "shutdown hooks already ran")
	})
	w.until("the agent to skip the heartbeat", a, func() bool { return strings.Contains(a.output(), "no heartbeat") })
	a.stop()
	if got := w.events(); len(got) != 2 {
		t.Fatalf("after restart: %v, want no second shutdown", got)
	}
	if _, err := os.Stat(alarm); err == nil {
		t.Error("a restart on the terminated instance made the heartbeat alarm again")
	}
}

func TestHookTimeoutKillsItsProcessTree(t *testing.T) {
	w := newWorld(t, "timeouts:\n  deploy: 1s\n")
	pidFile := filepath.Join(w.dir, "child.pid")
	w.hook("deploy", "10-hang", fmt.Sprintf(`sleep 300 &
echo $! > %q
sleep 300`, pidFile))
	a := w.start()
	w.until("setup's deploy to fail", a, func() bool { return lastResult(w, "deploy") == "failed" })
	child := readPID(t, pidFile)
	w.until(fmt.Sprintf("the hook's child %d to be gone", child), a, func() bool { return !alive(child) })
	out, _, _ := w.cli("status")
	if !strings.Contains(out, "timed out") {
		t.Errorf("status does not say the hook timed out:\n%s", out)
	}
	a.stop()
}

func lastResult(w *world, k string) string {
	last, _ := w.statusJSON()["last"].(map[string]any)
	o, _ := last[k].(map[string]any)
	r, _ := o["result"].(string)
	return r
}

func TestFailingHookStopsLaterHooksAndShowsInStatus(t *testing.T) {
	w := newWorld(t, "")
	w.hook("deploy", "10-fail", `echo "checking out release"
echo "error: disk full" >&2
exit 3`)
	w.hook("deploy", "20-after", w.recordLine())
	a := w.start()
	w.until("deploy to fail", a, func() bool { return lastResult(w, "deploy") == "failed" })
	_, errOut, code := w.cli("trigger", "deploy")
	if code != 1 || !strings.Contains(errOut, "exited with status 3") || !strings.Contains(errOut, "error: disk full") {
		t.Errorf("trigger of a failing deploy: exit %d, stderr:\n%s", code, errOut)
	}
	out, _, _ := w.cli("status")
	for _, want := range []string{"FAILED", "10-fail", "exited with status 3", "checking out release", "error: disk full"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if got := w.records(); len(got) != 0 {
		t.Errorf("a hook after the failing one ran: %v", got)
	}
	a.stop()
}

func TestTriggerReturnsTheEventsResult(t *testing.T) {
	w := newWorld(t, "")
	w.hook("undeploy", "10-ok", `echo fine`)
	w.hook("configure", "10-maybe", `[ ! -e `+filepath.Join(w.dir, "fail")+` ]`)
	a := w.start()
	if out, errOut, code := w.cli("trigger", "undeploy"); code != 0 || !strings.Contains(out, "succeeded") {
		t.Errorf("trigger undeploy: exit %d %q %q", code, out, errOut)
	}
	w.writeFile(filepath.Join(w.dir, "fail"), "")
	if _, errOut, code := w.cli("trigger", "configure"); code != 1 || !strings.Contains(errOut, "exited with status 1") {
		t.Errorf("trigger configure with a failing hook: exit %d %q", code, errOut)
	}
	if _, errOut, code := w.cli("trigger", "deploi"); code != 2 || !strings.Contains(errOut, "setup, configure, deploy, undeploy, shutdown") {
		t.Errorf("trigger of an unknown event: exit %d %q", code, errOut)
	}
	a.stop()
}

func TestSIGKILLDuringDeployRunsItAgainWithRetry(t *testing.T) {
	w := newWorld(t, watchRelease)
	marker := filepath.Join(w.dir, "first-attempt")
	sleeper := filepath.Join(w.dir, "sleeper.pid")
	w.hook("deploy", "10-record", w.recordLine()+fmt.Sprintf(`
if [ ! -e %[1]q ]; then
  touch %[1]q
  sleep 300 &
  echo $! > %[2]q
  wait
fi`, marker, sleeper))
	w.writeLocal("metadata.json", `{"release": "v1"}`)
	a := w.start()
	w.waitEvents(a, 1)
	w.until("the sleeper's pid", a, func() bool { _, err := os.Stat(sleeper); return err == nil })
	a.kill()
	t.Cleanup(func() {
		if p, err := os.FindProcess(readPID(t, sleeper)); err == nil {
			p.Kill()
		}
	})

	a = w.start()
	w.waitEvents(a, 2)
	recs := w.records()
	if !strings.HasSuffix(recs[0], "retry=0") || !strings.HasPrefix(recs[1], "deploy ") || !strings.HasSuffix(recs[1], "retry=1") {
		t.Fatalf("records %v: want the deploy again with STACKHAND_RETRY=1", recs)
	}
	p := w.payload(w.ids()[1])
	if !p.Retry || p.Metadata[0].Change != event.Add {
		t.Errorf("retried deploy payload: retry %v metadata %+v", p.Retry, p.Metadata)
	}
	a.stop()
	st := w.statusJSON()
	last := st["last"].(map[string]any)["deploy"].(map[string]any)
	if last["result"] != "succeeded" {
		t.Errorf("last deploy %v", last)
	}
}

// needNamespace returns unshare(1), or skips the test where a private mount namespace
// cannot be had (not root, no util-linux) — except in CI, where it fails.
func needNamespace(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test needs root for a private mount namespace")
		}
		t.Skip("needs root for a private mount namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("unshare (util-linux) is needed for this test in CI")
		}
		t.Skip("unshare not installed")
	}
	return unshare
}

// cfnHupFixture copies the real-world cfn-hup configuration, unchanged, into the world,
// with a /var/log and an /opt (holding a fake /opt/aws/bin/cfn-init that records its
// arguments) to bind over the real ones. The fixture's actions write to
// /var/log/release-hook.log and run /opt/aws/bin/cfn-init.
func (w *world) cfnHupFixture(t *testing.T) (cfn, varlog, calls string) {
	t.Helper()
	cfn = filepath.Join(w.dir, "cfn")
	copyTree(t, "../internal/config/testdata/cfn-hup", cfn)
	varlog = filepath.Join(w.dir, "varlog")
	os.MkdirAll(varlog, 0o755)
	os.MkdirAll(filepath.Join(w.dir, "opt", "aws", "bin"), 0o755)
	calls = filepath.Join(w.dir, "cfn-init.calls")
	os.WriteFile(filepath.Join(w.dir, "opt", "aws", "bin", "cfn-init"), []byte(fmt.Sprintf("#!/bin/sh\necho \"$@\" >> %q\n", calls)), 0o755)
	return cfn, varlog, calls
}

// nsCommand runs the agent in a private mount namespace where /var/log and /opt are the
// world's own (see cfnHupFixture).
func (w *world) nsCommand(unshare, varlog string, extra ...string) *exec.Cmd {
	script := fmt.Sprintf("mount --bind %q /var/log && mount --bind %q /opt && exec %q run --config %q",
		varlog, filepath.Join(w.dir, "opt"), binPath, w.cfg)
	for _, e := range extra {
		script += fmt.Sprintf(" %q", e)
	}
	return exec.Command(unshare, "-m", "sh", "-c", script)
}

func TestCfnHupConfigurationUnchangedFiresItsActions(t *testing.T) {
	unshare := needNamespace(t)
	w := newWorld(t, "")
	cfn, varlog, calls := w.cfnHupFixture(t)
	init1 := `{"config": {"packages": {"yum": {"nginx": []}}}}`
	w.writeLocal("metadata.json", `{"release": "v1", "AWS::CloudFormation::Init": `+init1+`}`)

	a := w.startCmd(w.nsCommand(unshare, varlog, "--cfn-hup-dir", cfn))
	relLog := filepath.Join(varlog, "release-hook.log")
	readLog := func() string { b, _ := os.ReadFile(relLog); return string(b) }
	// cfn-hup with no history: post.add fires for release; the auto-reloader watches updates only.
	w.until("post.add of release", a, func() bool { return strings.Contains(readLog(), "release changed:  -> v1") })

	w.writeLocal("metadata.json", `{"release": "v2", "AWS::CloudFormation::Init": `+init1+`}`)
	w.until("post.update of release", a, func() bool { return strings.Contains(readLog(), "release changed: v1 -> v2") })

	w.writeLocal("metadata.json", `{"release": "v2", "AWS::CloudFormation::Init": {"config": {"packages": {}}}}`)
	w.until("the auto-reloader's cfn-init", a, func() bool { b, _ := os.ReadFile(calls); return len(b) > 0 })
	b, _ := os.ReadFile(calls)
	if got, want := strings.TrimSpace(string(b)), "-v --stack web-stack --resource WebServerLaunchConfig --region us-east-1"; got != want {
		t.Errorf("cfn-init called with %q, want %q", got, want)
	}
	w.writeLocal("metadata.json", `{"AWS::CloudFormation::Init": {"config": {"packages": {}}}}`)
	w.until("post.remove of release", a, func() bool { return strings.Contains(readLog(), "release changed: v2 -> \n") })
	if n := strings.Count(readLog(), "\n"); n != 3 {
		t.Errorf("release-hook ran %d times, want 3 (add, update, remove):\n%s", n, readLog())
	}
	if n := strings.Count(string(b), "\n"); n != 1 {
		t.Errorf("cfn-init ran %d times, want 1", n)
	}
	// Each action's output is in a log named after its hooks.d section.
	for name, want := range map[string]int{"cfn-hup_release-hook.log": 3, "cfn-hup_cfn-auto-reloader-hook.log": 1, "command.log": 0} {
		if logs, _ := filepath.Glob(filepath.Join(w.dir, "log", "hooks", "*", name)); len(logs) != want {
			t.Errorf("hooks/*/%s: %d files %v, want %d", name, len(logs), logs, want)
		}
	}
	a.stop()
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLargePayloadIsDeliveredWhole(t *testing.T) {
	w := newWorld(t, watchRelease)
	sizes := filepath.Join(w.dir, "sizes")
	w.hook("deploy", "10-size", fmt.Sprintf(`echo "$(wc -c < "$STACKHAND_EVENT_FILE") $(wc -c)" > %q`, sizes))
	big := strings.Repeat("x", 2<<20)
	w.writeLocal("metadata.json", `{"release": "`+big+`"}`)
	a := w.start()
	w.until("the deploy hook", a, func() bool { b, _ := os.ReadFile(sizes); return len(b) > 0 })
	b, _ := os.ReadFile(sizes)
	f := strings.Fields(string(b))
	if len(f) != 2 || f[0] != f[1] || len(f[0]) < 7 {
		t.Fatalf("payload file and stdin sizes %q: want equal and over 2 MiB", b)
	}
	a.stop()
}

func TestCorruptStateIsSetAsideAndSetupRunsAgain(t *testing.T) {
	w := newWorld(t, "")
	w.recordHooks(event.Setup)
	os.MkdirAll(w.state, 0o700)
	os.WriteFile(filepath.Join(w.state, "state.json"), []byte("{\"version\": 1, \"seq\": tru"), 0o600)
	a := w.start()
	w.waitEvents(a, 1)
	if !strings.Contains(a.output(), "STATE FILE CORRUPT") {
		t.Errorf("no loud message about the corrupt state:\n%s", a.output())
	}
	matches, _ := filepath.Glob(filepath.Join(w.state, "state.json.corrupt-*"))
	if len(matches) != 1 {
		t.Errorf("corrupt state not kept aside: %v", matches)
	}
	a.stop()
}

func TestSecondAgentOnTheSameStateRefusesAndNamesThePID(t *testing.T) {
	w := newWorld(t, "")
	w.recordHooks(event.Setup)
	a := w.start()
	w.waitEvents(a, 1)
	b := w.start()
	if code := b.exited(); code != 1 {
		t.Fatalf("second agent exit %d", code)
	}
	if want := fmt.Sprintf("pid %d", a.cmd.Process.Pid); !strings.Contains(b.output(), want) {
		t.Errorf("second agent does not name %q:\n%s", want, b.output())
	}
	a.stop()
}

func TestValidateReportsBadConfigWithLine(t *testing.T) {
	w := newWorld(t, "intervl: 5m\n")
	out, _, code := w.cli("validate")
	line := fmt.Sprintf("stackhand.yaml:%d:", strings.Count(baseConfig, "\n")+1)
	if code != 1 || !strings.Contains(out, line) || !strings.Contains(out, `did you mean "interval"`) {
		t.Errorf("validate: exit %d, want 1 and %q\n%s", code, line, out)
	}
}

func TestUnwritableStateDirIsLoudButHooksStillRun(t *testing.T) {
	w := newWorld(t, "")
	// state_dir below a regular file can never be created, whoever the agent runs as.
	blocker := filepath.Join(w.dir, "not-a-dir")
	os.WriteFile(blocker, nil, 0o644)
	cfg, _ := os.ReadFile(w.cfg)
	w.writeFile(w.cfg, strings.Replace(string(cfg), "state_dir: state", "state_dir: not-a-dir/state", 1))
	w.recordHooks(event.Setup, event.Deploy, event.Configure)
	a := w.start()
	if got, want := w.waitEvents(a, 3), []string{"setup", "deploy", "configure"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	out := a.output()
	for _, want := range []string{"cannot lock the state directory", "cannot write the state file"} {
		if !strings.Contains(out, want) {
			t.Errorf("agent output lacks %q:\n%s", want, out)
		}
	}
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// One Ctrl-C is one "stopping" line, naming the signal (it was logged twice).
func TestOneInterruptLogsOneStoppingLine(t *testing.T) {
	w := newWorld(t, "")
	a := w.start()
	a.cmd.Process.Signal(os.Interrupt)
	if code := a.exited(); code != 0 {
		t.Fatalf("exit %d after an interrupt\n%s", code, a.output())
	}
	var stopping []string
	for _, line := range strings.Split(a.output(), "\n") {
		if strings.Contains(line, `"msg":"stopping"`) {
			stopping = append(stopping, line)
		}
	}
	if len(stopping) != 1 || !strings.Contains(stopping[0], `"signal":"interrupt"`) {
		t.Errorf("stopping lines %q, want one naming the signal", stopping)
	}
}

// After a terminating shutdown the agent exits 0 and systemd (Restart=always) starts it
// again: on the drained instance it must stay up idle — no deploy for a metadata change,
// no configure for a peer, requests answered "dropped, the instance is terminating", no
// second shutdown when the operating system then goes down — and say so in status.
func TestRestartAfterTerminatingShutdownRunsNothing(t *testing.T) {
	w := newWorld(t, watchRelease)
	w.recordHooks(event.Shutdown, event.Configure, event.Deploy)
	w.writeLocal("metadata.json", `{"release": "v1"}`)
	a := w.start()
	w.waitEvents(a, 2) // deploy and configure after setup
	w.writeLocal("lifecycle", "Terminated\n")
	if code := a.exited(); code != 0 {
		t.Fatalf("exit %d after shutdown\n%s", code, a.output())
	}
	if got := w.events(); !reflect.DeepEqual(got, []string{"deploy", "configure", "shutdown"}) {
		t.Fatalf("events %v", got)
	}
	// While it was down: a release to deploy and a peer that joined.
	w.writeLocal("metadata.json", `{"release": "v2"}`)
	w.writeLocal("peers.json", `[{"instance_id": "i-peer2", "private_ip": "10.0.0.2"}]`)
	a = w.start()
	w.until("the sources' first readings", a, func() bool {
		src, _ := w.statusJSON()["sources"].(map[string]any)
		return src["metadata"] != nil && src["peers"] != nil && src["lifecycle"] != nil
	})
	out, errOut, code := w.cli("trigger", "deploy")
	if code == 0 || !strings.Contains(out+errOut, "dropped") || !strings.Contains(out+errOut, "terminating") {
		t.Errorf("trigger on the drained instance: exit %d %q %q, want dropped, the instance is terminating", code, out, errOut)
	}
	text, _, _ := w.cli("status")
	if !strings.Contains(text, "idle") {
		t.Errorf("status does not say the agent is idle after the terminating shutdown:\n%s", text)
	}
	// The operating system going down now (SIGTERM with the system shutting down is not
	// reproducible here) or the service stopping: either way, no second shutdown.
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d on stop", code)
	}
	if got := w.events(); !reflect.DeepEqual(got, []string{"deploy", "configure", "shutdown"}) {
		t.Fatalf("after the restart on the drained instance: %v, want nothing more", got)
	}
}

// A source that stops is restarted by its supervisor, without restarting the agent: the
// request spool refused at start (writable by others) works once its mode is fixed, and
// status showed the stop meanwhile (issue 15 item 14).
func TestStoppedSourceIsRestartedWithoutAnAgentRestart(t *testing.T) {
	w := newWorld(t, "")
	w.hook("undeploy", "10-ok", `echo fine`)
	spool := filepath.Join(w.state, "requests")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(spool, 0o777); err != nil {
		t.Fatal(err)
	}
	a := w.start()
	var problem string
	w.until("status to show the requests source stopped", a, func() bool {
		src, _ := w.statusJSON()["sources"].(map[string]any)
		c, _ := src["requests"].(map[string]any)
		problem, _ = c["last_error"].(string)
		return problem != ""
	})
	if !strings.Contains(problem, "chmod 0700") || !strings.Contains(problem, "restarting it in") {
		t.Errorf("requests source problem %q: want the fix and the restart", problem)
	}
	if err := os.Chmod(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	// The supervisor's backoff is at most a minute; the trigger waits for its event.
	out, errOut, code := w.cli("trigger", "undeploy", "--timeout", "90s")
	if code != 0 || !strings.Contains(out, "succeeded") {
		t.Fatalf("trigger after the spool was fixed: exit %d %q %q\n%s", code, out, errOut, a.output())
	}
	a.stop()
}

// instance.json deleted and written again while the agent runs (an editor, a careless
// script) is the same instance: setup does not run again and what was applied stays.
func TestLocalInstanceFileDeletedAndWrittenAgainIsTheSameInstance(t *testing.T) {
	w := newWorld(t, watchRelease)
	w.recordHooks(event.Setup, event.Deploy)
	w.writeLocal("metadata.json", `{"release": "v1"}`)
	a := w.start()
	w.waitEvents(a, 2) // setup, deploy
	instance, err := os.ReadFile(filepath.Join(w.local, "instance.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(w.local, "instance.json")); err != nil {
		t.Fatal(err)
	}
	identityError := func() string {
		src, _ := w.statusJSON()["sources"].(map[string]any)
		id, _ := src["identity"].(map[string]any)
		e, _ := id["last_error"].(string)
		return e
	}
	w.until("status to say instance.json is gone", a, func() bool { return strings.Contains(identityError(), "is gone: keeping instance i-0e2e0000000000001") })
	w.writeLocal("instance.json", string(instance))
	w.until("the identity source to recover", a, func() bool { return identityError() == "" })
	// A barrier: the request runs after everything the two changes could have queued.
	if _, errOut, code := w.cli("trigger", "undeploy"); code != 0 {
		t.Fatalf("trigger: exit %d %s", code, errOut)
	}
	if got := w.events(); !reflect.DeepEqual(got, []string{"setup", "deploy"}) {
		t.Errorf("events %v: instance.json deleted and written again ran more", got)
	}
	if st := w.statusJSON(); st["identity"].(map[string]any)["instance_id"] != "i-0e2e0000000000001" {
		t.Errorf("identity %v", st["identity"])
	}
	a.stop()
}

// A local agent started again after its instance's terminating shutdown stays idle and
// says how to start a fresh instance (local mode has no instance that ends).
func TestLocalAgentAfterItsTerminationSaysHowToStartAFreshOne(t *testing.T) {
	w := newWorld(t, "")
	a := w.start()
	w.writeLocal("lifecycle", "Terminated\n")
	if code := a.exited(); code != 0 {
		t.Fatalf("exit %d after the shutdown", code)
	}
	a = w.start()
	w.until("the hint in the log", a, func() bool { return strings.Contains(a.output(), "to start a fresh instance") })
	out, _, _ := w.cli("status")
	if !strings.Contains(out, "to start a fresh instance, stop the agent and remove its state directory "+w.state) {
		t.Errorf("status lacks the fresh-start hint:\n%s", out)
	}
	a.stop()
}
