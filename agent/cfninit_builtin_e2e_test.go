package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// TestCfnAutoReloaderRunsTheBuiltInCfnInit: on an instance with no aws-cfn-bootstrap
// (/opt/aws/bin/cfn-init absent), cfn-hup's classic auto-reloader hook still works: when
// the stack's AWS::CloudFormation::Init changes on the stand-in, the agent runs cfn-init
// itself, which reads the new Init block with DescribeStackResource and applies it. The
// event's outcome says the hook ran built in and lists what it changed, and status shows it.
func TestCfnAutoReloaderRunsTheBuiltInCfnInit(t *testing.T) {
	unshare := needNamespace(t)
	w := newAWSWorld(t, "", imdsmock.Config{})
	stackARN := "arn:aws:cloudformation:us-east-1:123456789012:stack/web-stack/6f0e0a40-6c1b-11ee-8c99-0242ac120002"
	w.aws.PutStack(awsStack, stackARN)
	srv := filepath.Join(w.dir, "srv")
	if err := os.MkdirAll(srv, 0o755); err != nil {
		t.Fatal(err)
	}
	appConf := filepath.Join(srv, "app.conf")
	metadata := func(greeting string) string {
		return fmt.Sprintf(`{"release": "v1", "AWS::CloudFormation::Init": {"config": {
			"files": {%q: {"content": "greeting={{g}}\n", "context": {"g": %q}, "mode": "000640"}},
			"commands": {"10-note": {"command": "echo applied %s"}}}}}`, appConf, greeting, greeting)
	}
	w.aws.PutResource(awsStack, awsfake.Resource{LogicalID: "WebServerLaunchConfig", Metadata: metadata("hello")})
	cfn, varlog, calls := w.cfnHupFixture(t)
	// No aws-cfn-bootstrap: the action's program is absent, so only the agent can run it.
	if err := os.Remove(filepath.Join(w.dir, "opt", "aws", "bin", "cfn-init")); err != nil {
		t.Fatal(err)
	}

	cmd := w.nsCommand(unshare, varlog, "--cfn-hup-dir", cfn)
	cmd.Env = w.env()
	a := w.startCmd(cmd)
	relLog := filepath.Join(varlog, "release-hook.log")
	w.until("the first pass (post.add of release)", a, func() bool {
		b, _ := os.ReadFile(relLog)
		return strings.Contains(string(b), "release changed:  -> v1")
	})
	w.aws.SetMetadata(awsStack, "WebServerLaunchConfig", metadata("bonjour"))
	w.until("the built-in cfn-init applied the new Init block", a, func() bool {
		b, _ := os.ReadFile(appConf)
		return string(b) == "greeting=bonjour\n"
	})
	var hook *state.HookOutcome
	w.until("the auto-reloader's outcome recorded", a, func() bool {
		st, err := state.Read(w.state)
		if err != nil {
			return false
		}
		for _, o := range st.Last {
			for i, h := range o.Hooks {
				if h.Name == "cfn-hup:cfn-auto-reloader-hook" {
					hook = &o.Hooks[i]
					return true
				}
			}
		}
		return false
	})
	status, _, _ := w.cli("status")
	a.stop()

	if !hook.Builtin || hook.ExitCode != 0 || !slices.Contains(hook.Changes, "file "+appConf) {
		t.Errorf("auto-reloader outcome %+v; want built in, exit 0, %s among the changes", *hook, appConf)
	}
	if fi, err := os.Stat(appConf); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("%s: %v, %v; want mode 0640", appConf, fi, err)
	}
	if b, _ := os.ReadFile(calls); len(b) != 0 {
		t.Errorf("a cfn-init program ran: %q", b)
	}
	// -v: cfn-init's log lines are the hook's output; the commands' own output goes to
	// cfn-init-cmd.log, as with aws-cfn-bootstrap.
	if b, err := os.ReadFile(hook.LogFile); err != nil || !strings.Contains(string(b), "command 10-note succeeded") {
		t.Errorf("the hook's log %s lacks cfn-init's lines: %q, %v", hook.LogFile, b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(varlog, "cfn-init-cmd.log")); !strings.Contains(string(b), "applied bonjour") {
		t.Errorf("/var/log/cfn-init-cmd.log lacks the command's output:\n%s", b)
	}
	if b, _ := os.ReadFile(filepath.Join(varlog, "cfn-init.log")); !strings.Contains(string(b), "Build complete") {
		t.Errorf("/var/log/cfn-init.log lacks the build's end:\n%s", b)
	}
	if !strings.Contains(status, "cfn-hup:cfn-auto-reloader-hook (built in") || !strings.Contains(status, "~ file "+appConf) {
		t.Errorf("status does not show what the built-in cfn-init changed:\n%s", status)
	}
}

// TestBuiltinCfnInitReloadsTheAgentWhenItsCfnHupFilesChange: the Init block adds a
// cfn-hup hook file and lists it under its services entry for cfn-hup, as a third of real
// templates do. Run by the auto-reloader inside the agent (mode local, no cfn-hup service
// on the machine), cfn-init writes the file and the entry means stackhand: the agent
// reloads once the event is over, as on SIGHUP, and the new hook then fires — no
// restart, no second agent.
func TestBuiltinCfnInitReloadsTheAgentWhenItsCfnHupFilesChange(t *testing.T) {
	unshare := needNamespace(t)
	w := newWorld(t, "")
	cfn, varlog, _ := w.cfnHupFixture(t)
	if err := os.Remove(filepath.Join(w.dir, "opt", "aws", "bin", "cfn-init")); err != nil {
		t.Fatal(err)
	}
	extraConf := filepath.Join(cfn, "hooks.d", "extra.conf")
	init2 := fmt.Sprintf(`{"config": {
		"files": {%q: {"content": "[extra-hook]\ntriggers=post.add\npath=Resources.WebServerLaunchConfig.Metadata.extra\naction=echo extra $CFN_NEW_METADATA >> /var/log/extra.log\nrunas=root\n", "mode": "000400"}},
		"services": {"sysvinit": {"cfn-hup": {"enabled": "true", "ensureRunning": "true", "files": [%q]}}}}}`, extraConf, extraConf)
	w.writeLocal("metadata.json", `{"release": "v1", "extra": "on", "AWS::CloudFormation::Init": {"config": {}}}`)
	a := w.startCmd(w.nsCommand(unshare, varlog, "--cfn-hup-dir", cfn))
	relLog := filepath.Join(varlog, "release-hook.log")
	w.until("the first pass", a, func() bool { b, _ := os.ReadFile(relLog); return len(b) > 0 })

	w.writeLocal("metadata.json", `{"release": "v1", "extra": "on", "AWS::CloudFormation::Init": `+init2+`}`)
	extraLog := filepath.Join(varlog, "extra.log")
	w.until("the hook cfn-init added fires after the reload", a, func() bool {
		b, _ := os.ReadFile(extraLog)
		return strings.Contains(string(b), "extra on")
	})
	a.stop()
	if b, _ := os.ReadFile(filepath.Join(varlog, "cfn-init.log")); !strings.Contains(string(b), "stands for it") {
		t.Errorf("cfn-init.log does not say stackhand stands for cfn-hup:\n%s", b)
	}
	if out := a.output(); !strings.Contains(out, "cfn-init changed the cfn-hup configuration: reloading") {
		t.Errorf("the agent's log does not show the reload:\n%s", out)
	}
}
