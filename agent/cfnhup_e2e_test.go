package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// dropIn is an instance where stackhand replaces cfn-hup with no stackhand.yaml: in a
// private mount namespace, /etc and /var are overlays whose changes land in the world's
// directory, /etc/cfn holds the real-world cfn-hup configuration and /opt the fake cfn-init.
type dropIn struct {
	*awsWorld
	upper   string // the overlays' upper directories: upper/etc, upper/var
	opt     string
	calls   string // cfn-init's recorded calls
	unshare string
}

func newDropIn(t *testing.T) *dropIn {
	unshare := needNamespace(t)
	w := newAWSWorld(t, "", imdsmock.Config{})
	stackARN := "arn:aws:cloudformation:us-east-1:123456789012:stack/web-stack/6f0e0a40-6c1b-11ee-8c99-0242ac120002"
	w.aws.PutStack(awsStack, stackARN)
	cfn, _, calls := w.cfnHupFixture(t)
	d := &dropIn{awsWorld: w, upper: filepath.Join(w.dir, "upper"), opt: filepath.Join(w.dir, "opt"), calls: calls, unshare: unshare}
	for _, p := range []string{"etc", "etc.work", "var", "var.work"} {
		if err := os.MkdirAll(filepath.Join(d.upper, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyTree(t, cfn, filepath.Join(d.upper, "etc", "cfn"))
	return d
}

// cfnHupRecord writes /var/lib/cfn-hup/data/metadata_db.json as a cfn-hup that ran writes it.
func (d *dropIn) cfnHupRecord(content string) {
	dir := filepath.Join(d.upper, "var", "lib", "cfn-hup", "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		d.t.Fatal(err)
	}
	d.writeFile(filepath.Join(dir, "metadata_db.json"), content)
}

// start runs `stackhand run` with no flag at all, as the package's service does, with no
// /etc/stackhand; fresh removes the agent's state and logs first.
func (d *dropIn) start(fresh bool) *agent {
	clean := "rm -rf /etc/stackhand"
	if fresh {
		clean += " /var/lib/stackhand /var/log/stackhand"
	}
	overlay := func(dir string) string {
		return fmt.Sprintf("mount -t overlay overlay -o lowerdir=/%s,upperdir=%q,workdir=%q /%s", dir,
			filepath.Join(d.upper, dir), filepath.Join(d.upper, dir+".work"), dir)
	}
	script := fmt.Sprintf("set -e; %s; %s; mount --bind %q /opt; %s; exec %q run",
		overlay("etc"), overlay("var"), d.opt, clean, binPath)
	cmd := exec.Command(d.unshare, "-m", "sh", "-c", script)
	cmd.Env = d.env()
	return d.startCmd(cmd)
}

// state reads the agent's state at its default place, /var/lib/stackhand.
func (d *dropIn) state() *state.State {
	st, err := state.Read(filepath.Join(d.upper, "var", "lib", "stackhand"))
	if err != nil {
		return state.New()
	}
	return st
}

// idle reports whether the first start's events are done and nothing runs or waits.
func (d *dropIn) idle() bool {
	st := d.state()
	return st.Setup.Done && st.Last[event.Configure] != nil && st.Running == nil && len(st.Queue) == 0
}

func (d *dropIn) releaseLog() string {
	b, _ := os.ReadFile(filepath.Join(d.upper, "var", "log", "release-hook.log"))
	return string(b)
}

func (d *dropIn) cfnInitCalls() int {
	b, _ := os.ReadFile(d.calls)
	return strings.Count(string(b), "\n")
}

// TestCfnHupDropInOnARunningFleetRunsNoActionTwice is the switch of a running cfn-hup
// fleet: no stackhand.yaml, /etc/cfn as cfn-hup had it, mode aws, and cfn-hup's own
// record of what it already ran. The first pass runs nothing (cfn-hup had acted on every
// value); a change made while the agent was stopped runs each action once.
func TestCfnHupDropInOnARunningFleetRunsNoActionTwice(t *testing.T) {
	d := newDropIn(t)
	init1 := `{"config": {"packages": {"yum": {"nginx": []}}}}`
	d.aws.PutResource(awsStack, awsfake.Resource{LogicalID: "WebServerLaunchConfig", Metadata: `{"release": "v1", "AWS::CloudFormation::Init": ` + init1 + `}`})
	d.cfnHupRecord(`{"release-hook|Resources.WebServerLaunchConfig.Metadata.release": "v1", ` +
		`"cfn-auto-reloader-hook|Resources.WebServerLaunchConfig.Metadata.AWS::CloudFormation::Init": ` + init1 + `}`)

	a := d.start(true)
	d.until("the first start's events", a, d.idle)
	if got := d.releaseLog(); got != "" || d.cfnInitCalls() != 0 {
		t.Fatalf("cfn-hup's actions ran again on the first pass: release-hook.log %q, cfn-init %d call(s)\n%s", got, d.cfnInitCalls(), a.output())
	}
	for _, want := range []string{"does not exist: using the defaults and cfn-hup's configuration in /etc/cfn", "adopted what cfn-hup already ran"} {
		if !strings.Contains(a.output(), want) {
			t.Errorf("the agent's log does not say %q:\n%s", want, a.output())
		}
	}
	if code := a.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}

	d.aws.SetMetadata(awsStack, "WebServerLaunchConfig", `{"release": "v2", "AWS::CloudFormation::Init": {"config": {}}}`)
	a = d.start(false)
	d.until("post.update of release and the auto-reloader", a, func() bool {
		return strings.Contains(d.releaseLog(), "v1 -> v2") && d.cfnInitCalls() == 1 && d.idle()
	})
	a.stop()
	if got, want := d.releaseLog(), "release changed: v1 -> v2\n"; got != want || d.cfnInitCalls() != 1 {
		t.Errorf("release-hook.log %q, want %q; cfn-init %d call(s), want 1", got, want, d.cfnInitCalls())
	}
}

// TestCfnHupDropInOnAFreshInstanceFiresPostAdd is the drop-in where cfn-hup never ran:
// as a fresh cfn-hup, the first pass fires post.add.
func TestCfnHupDropInOnAFreshInstanceFiresPostAdd(t *testing.T) {
	d := newDropIn(t)
	d.aws.PutResource(awsStack, awsfake.Resource{LogicalID: "WebServerLaunchConfig", Metadata: `{"release": "v1", "AWS::CloudFormation::Init": {"config": {}}}`})
	a := d.start(true)
	d.until("post.add of release", a, func() bool { return d.releaseLog() != "" && d.idle() })
	a.stop()
	if got, want := d.releaseLog(), "release changed:  -> v1\n"; got != want || d.cfnInitCalls() != 0 {
		t.Errorf("release-hook.log %q, want %q; cfn-init %d call(s), want 0", got, want, d.cfnInitCalls())
	}
	checkCfnHupOnlyLog(t, a.output())
}

// checkCfnHupOnlyLog checks the log of a drop-in whose cfn-hup.conf says verbose=true:
// verbose shows what cfn-hup -v showed (the auto-reloader's value stored without running
// its action, at info), not the agent's debug lines; and the hooks directory a
// cfn-hup-only setup never had is not warned about.
func checkCfnHupOnlyLog(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, `"level":"debug"`) {
		t.Errorf("verbose=true turned on debug logging:\n%s", out)
	}
	if strings.Contains(out, "hooks directory") {
		t.Errorf("a cfn-hup-only setup is warned about its hooks directory:\n%s", out)
	}
	stored := false
	for _, line := range strings.Split(out, "\n") {
		stored = stored || strings.Contains(line, `"level":"info"`) && strings.Contains(line, "the rule does not fire on this change") &&
			strings.Contains(line, `"rule":"cfn-hup:cfn-auto-reloader-hook"`)
	}
	if !stored {
		t.Errorf("verbose=true: no info line saying the auto-reloader's value was stored without running it:\n%s", out)
	}
}

// stackhand runs the binary with args and returns what it printed and its exit code.
func stackhand(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// TestMissingConfigWithACfnHupDirRunsOnCfnHupAlone: --cfn-hup-dir makes a drop-in at any
// --config path, and without cfn-hup.conf the message says which flag to fix.
func TestMissingConfigWithACfnHupDirRunsOnCfnHupAlone(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	out, errOut, code := stackhand(t, "validate", "--config", missing, "--cfn-hup-dir", "../internal/config/testdata/cfn-hup")
	if code != 0 || !strings.Contains(out, missing+" does not exist: using the defaults and cfn-hup's configuration in ../internal/config/testdata/cfn-hup") {
		t.Errorf("validate with a missing --config and a --cfn-hup-dir: exit %d, want 0\n%s%s", code, out, errOut)
	}
	out, errOut, code = stackhand(t, "validate", "--config", missing, "--cfn-hup-dir", dir)
	if want := filepath.Join(dir, "cfn-hup.conf") + "; pass --cfn-hup-dir the directory that holds cfn-hup.conf"; code != 1 || !strings.Contains(out, want) {
		t.Errorf("validate with neither file: exit %d, want 1 and %q\n%s%s", code, want, out, errOut)
	}
}
