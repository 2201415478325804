package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// The AWS end-to-end tests run the real binary in mode: aws against the AWS stand-in
// (internal/testenv/awsfake) and AWS's EC2 metadata mock, through the SDK's standard endpoint
// settings — nothing in the agent knows it is not talking to AWS.

const (
	awsInstance = "i-0a0000000000000a1"
	awsPeer     = "i-0b0000000000000b2"
	awsStack    = "web-stack"
	awsGroup    = "web-asg"
)

// awsWorld is a world whose agent talks to a stand-in and a metadata mock.
type awsWorld struct {
	*world
	aws  *awsfake.Server
	imds *imdsmock.Mock
}

// newAWSWorld sets up one instance of a stack, in an Auto Scaling group with a
// termination lifecycle hook, its resource WebServer carrying metadata.
func newAWSWorld(t *testing.T, extra string, mock imdsmock.Config) *awsWorld {
	t.Helper()
	cfg := strings.Replace(baseConfig, "mode: local", "mode: aws", 1)
	cfg = strings.Replace(cfg, "interval: 60s", "interval: 2s", 1)
	cfg = strings.Replace(cfg, "stack: e2e-stack\n", "", 1)
	cfg = strings.Replace(cfg, "resource: WebServer\n", "", 1)
	w := newWorld(t, "")
	w.writeFile(w.cfg, cfg+"lifecycle:\n  poll_interval: 1s\n"+extra)
	srv := awsfake.Start(t)
	srv.PutStack(awsStack, "")
	srv.PutResource(awsStack, awsfake.Resource{LogicalID: "WebServer", Type: "AWS::EC2::LaunchTemplate", Metadata: `{"release": "v1"}`})
	tags := map[string]string{"aws:cloudformation:stack-name": awsStack, "aws:cloudformation:logical-id": "WebServer",
		"aws:autoscaling:groupName": awsGroup, "Role": "web"}
	srv.PutInstance(awsfake.Instance{ID: awsInstance, Type: "t3.small", AZ: "us-east-1a", PrivateIP: "10.0.1.10", Tags: tags})
	srv.PutGroup(awsfake.Group{Name: awsGroup, Instances: awsfake.InService(awsInstance),
		Hooks: []awsfake.LifecycleHook{{Name: "drain", HeartbeatTimeout: 300}}})
	mock.InstanceID = awsInstance
	mock.AvailabilityZone, mock.Region, mock.LocalIPv4, mock.InstanceType = "us-east-1a", "us-east-1", "10.0.1.10", "t3.small"
	return &awsWorld{world: w, aws: srv, imds: imdsmock.Start(t, mock)}
}

// env is the environment that points the agent at the stand-ins, with static keys. The
// stand-ins speak plain HTTP: a CA bundle this machine may name (AWS_CA_BUNDLE) is left
// out, as an EC2 instance has none, so memory figures do not count its parsed copy.
func (w *awsWorld) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_CA_BUNDLE=") {
			env = append(env, kv)
		}
	}
	return append(env,
		"AWS_ENDPOINT_URL="+w.aws.URL,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT="+w.imds.URL,
		"AWS_ACCESS_KEY_ID=AKIDSTACKHANDTEST",
		"AWS_SECRET_ACCESS_KEY=stackhand-test-secret",
		"AWS_CONFIG_FILE="+filepath.Join(w.dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(w.dir, "no-aws-credentials"),
	)
}

func (w *awsWorld) startAWS(extra ...string) *agent {
	w.t.Helper()
	cmd := exec.Command(binPath, append([]string{"run", "--config", w.cfg}, extra...)...)
	cmd.Env = w.env()
	return w.startCmd(cmd)
}

func TestAWSMetadataChangeDeploysAndRemovalUndeploys(t *testing.T) {
	w := newAWSWorld(t, watchRelease, imdsmock.Config{})
	w.recordHooks(event.Setup, event.Deploy, event.Undeploy, event.Configure)
	a := w.startAWS()
	if got, want := w.waitEvents(a, 3), []string{"setup", "deploy", "configure"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("first start: %v, want %v", got, want)
	}
	p := w.payload(w.ids()[1])
	if p.Instance.InstanceID != awsInstance || p.Instance.PrivateIP != "10.0.1.10" || p.Instance.AutoScalingGroup != awsGroup || p.Stack != awsStack {
		t.Errorf("identity in the payload: %+v stack %q", p.Instance, p.Stack)
	}
	if m := p.Metadata[0]; m.Change != event.Add || string(m.New) != `"v1"` {
		t.Errorf("deploy after setup: %+v", m)
	}
	if peers := w.payload(w.ids()[2]).Peers; len(peers) != 1 || peers[0].InstanceID != awsInstance {
		t.Errorf("configure peers %+v", peers)
	}

	changed := time.Now()
	w.aws.SetMetadata(awsStack, "WebServer", `{"release": "v2"}`)
	w.waitEvents(a, 4)
	t.Logf("metadata change seen and deployed after %s (interval 2s)", time.Since(changed).Round(10*time.Millisecond))
	m := w.payload(w.ids()[3]).Metadata[0]
	if w.events()[3] != "deploy" || m.Change != event.Update || string(m.Old) != `"v1"` || string(m.New) != `"v2"` {
		t.Fatalf("after the change: %v %+v", w.events(), m)
	}
	w.aws.SetMetadata(awsStack, "WebServer", `{"other": true}`)
	w.waitEvents(a, 5)
	m = w.payload(w.ids()[4]).Metadata[0]
	if w.events()[4] != "undeploy" || m.Change != event.Remove || string(m.Old) != `"v2"` {
		t.Fatalf("after the removal: %v %+v", w.events(), m)
	}
	if calls := w.aws.Calls("cloudformation", "DescribeStackResource"); calls == 0 {
		t.Error("the stand-in counted no DescribeStackResource")
	}
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

func TestAWSTagChangeDeploysAndAPeerJoiningConfigures(t *testing.T) {
	w := newAWSWorld(t, "watch:\n  - tag: Role\n", imdsmock.Config{})
	w.recordHooks(event.Deploy, event.Configure)
	a := w.startAWS()
	w.waitEvents(a, 2) // deploy and configure after setup

	w.aws.SetTag(awsInstance, "Role", "api")
	w.waitEvents(a, 3)
	m := w.payload(w.ids()[2]).Metadata[0]
	if w.events()[2] != "deploy" || m.Source != "tag" || string(m.Old) != `"web"` || string(m.New) != `"api"` {
		t.Fatalf("tag change: %v %+v", w.events(), m)
	}

	w.aws.PutInstance(awsfake.Instance{ID: awsPeer, Type: "t3.small", AZ: "us-east-1b", PrivateIP: "10.0.2.20"})
	w.aws.SetGroupInstances(awsGroup, awsfake.InService(awsInstance, awsPeer)...)
	w.waitEvents(a, 4)
	p := w.payload(w.ids()[3])
	if w.events()[3] != "configure" || len(p.Peers) != 2 || p.Peers[1].InstanceID != awsPeer || p.Peers[1].PrivateIP != "10.0.2.20" {
		t.Fatalf("peer joined: %v peers %+v", w.events(), p.Peers)
	}
	if !strings.Contains(p.Reason, "joined: "+awsPeer) {
		t.Errorf("configure reason %q", p.Reason)
	}
	a.stop()
}

func TestAWSTerminationRunsShutdownAndCompletesTheLifecycleAction(t *testing.T) {
	w := newAWSWorld(t, "", imdsmock.Config{ASGTerminationAfter: 8 * time.Second})
	w.recordHooks(event.Configure)
	w.hook("shutdown", "10-drain", w.recordLine()+"\nsleep 1")
	a := w.startAWS()
	w.waitEvents(a, 1)
	if code := a.exited(); code != 0 {
		t.Fatalf("exit %d after the shutdown\n%s", code, a.output())
	}
	if got := w.events(); !reflect.DeepEqual(got, []string{"configure", "shutdown"}) {
		t.Fatalf("events %v", got)
	}
	hb, done := w.aws.Heartbeats(), w.aws.Completions()
	if len(hb) == 0 {
		t.Error("no RecordLifecycleActionHeartbeat while the shutdown hooks ran")
	}
	if len(done) != 1 || done[0].Result != "CONTINUE" || done[0].Hook != "drain" || done[0].InstanceID != awsInstance {
		t.Errorf("completions %+v, want one CONTINUE of hook drain", done)
	}
	if len(hb) > 0 && len(done) == 1 && hb[len(hb)-1].Time.After(done[0].Time) {
		t.Error("a heartbeat came after the lifecycle action was completed")
	}
}

func TestAWSSpotNoticeRunsShutdown(t *testing.T) {
	w := newAWSWorld(t, "", imdsmock.Config{SpotInterruptionAfter: 8 * time.Second})
	w.recordHooks(event.Configure, event.Shutdown)
	a := w.startAWS()
	w.waitEvents(a, 1)
	if code := a.exited(); code != 0 {
		t.Fatalf("exit %d\n%s", code, a.output())
	}
	if got := w.events(); !reflect.DeepEqual(got, []string{"configure", "shutdown"}) {
		t.Fatalf("events %v", got)
	}
	p := w.payload(w.ids()[1])
	if p.Deadline.IsZero() || !strings.Contains(p.Reason, "spot") {
		t.Errorf("spot shutdown payload: reason %q deadline %v", p.Reason, p.Deadline)
	}
	if n := len(w.aws.Completions()); n != 0 {
		t.Errorf("a spot interruption completed %d lifecycle actions", n)
	}
}

func TestAWSThrottlingMissesNoChange(t *testing.T) {
	w := newAWSWorld(t, watchRelease, imdsmock.Config{})
	w.recordHooks(event.Deploy)
	a := w.startAWS()
	w.waitEvents(a, 1)
	w.aws.SetFaults(awsfake.Faults{Seed: 42, ThrottleRate: 0.5})
	for i := 2; i <= 4; i++ {
		w.aws.SetMetadata(awsStack, "WebServer", fmt.Sprintf(`{"release": "v%d"}`, i))
		w.waitEvents(a, i)
		if m := w.payload(w.ids()[i-1]).Metadata[0]; string(m.New) != fmt.Sprintf(`"v%d"`, i) {
			t.Fatalf("deploy %d saw %s", i, m.New)
		}
	}
	throttled, retries := 0, 0
	for _, c := range w.aws.CallLog() {
		if c.ErrorCode == "Throttling" || c.ErrorCode == "RequestLimitExceeded" {
			throttled++
		}
		if c.Attempt > 1 {
			retries++
		}
	}
	t.Logf("calls %v; throttled %d, retried attempts %d", w.aws.CallCounts(), throttled, retries)
	if throttled == 0 || retries == 0 {
		t.Errorf("throttled %d, retries %d: the faults did not reach the agent", throttled, retries)
	}
	a.stop()
}

func TestAWSCfnHupConfigurationUnchangedFiresItsActions(t *testing.T) {
	unshare := needNamespace(t)
	w := newAWSWorld(t, "", imdsmock.Config{})
	stackARN := "arn:aws:cloudformation:us-east-1:123456789012:stack/web-stack/6f0e0a40-6c1b-11ee-8c99-0242ac120002"
	w.aws.PutStack(awsStack, stackARN)
	init1 := `{"config": {"packages": {"yum": {"nginx": []}}}}`
	w.aws.PutResource(awsStack, awsfake.Resource{LogicalID: "WebServerLaunchConfig", Metadata: `{"release": "v1", "AWS::CloudFormation::Init": ` + init1 + `}`})
	cfn, varlog, calls := w.cfnHupFixture(t)

	cmd := w.nsCommand(unshare, varlog, "--cfn-hup-dir", cfn)
	cmd.Env = w.env()
	a := w.startCmd(cmd)
	relLog := filepath.Join(varlog, "release-hook.log")
	readLog := func() string { b, _ := os.ReadFile(relLog); return string(b) }
	w.until("post.add of release", a, func() bool { return strings.Contains(readLog(), "release changed:  -> v1") })
	w.aws.SetMetadata(awsStack, "WebServerLaunchConfig", `{"release": "v2", "AWS::CloudFormation::Init": `+init1+`}`)
	w.until("post.update of release", a, func() bool { return strings.Contains(readLog(), "release changed: v1 -> v2") })
	w.aws.SetMetadata(awsStack, "WebServerLaunchConfig", `{"release": "v2", "AWS::CloudFormation::Init": {"config": {}}}`)
	w.until("the auto-reloader's cfn-init", a, func() bool { b, _ := os.ReadFile(calls); return len(b) > 0 })
	a.stop()
	b, _ := os.ReadFile(calls)
	if n := strings.Count(string(b), "\n"); n != 1 || readLog() != "release changed:  -> v1\nrelease changed: v1 -> v2\n" {
		t.Errorf("cfn-init ran %d times; release-hook.log:\n%s", n, readLog())
	}
	for _, c := range w.aws.CallLog() {
		if c.Action == "DescribeStackResource" && c.Params.Get("StackName") != stackARN {
			t.Fatalf("DescribeStackResource for stack %q, want cfn-hup.conf's %q", c.Params.Get("StackName"), stackARN)
		}
	}
}

// TestAWSTerminationFlushesBeforeCompletingTheLifecycleAction: nothing is lost at
// termination. A shutdown hook writes numbered lines to a shipped file and to its output
// until the moment it exits; every one of them, and the running interval's metrics
// (whose 60 s interval has not come round yet), is stored at the stand-in before
// CompleteLifecycleAction is answered, and nothing arrives after it.
func TestAWSTerminationFlushesBeforeCompletingTheLifecycleAction(t *testing.T) {
	app := filepath.Join(t.TempDir(), "app.log")
	w := newAWSWorld(t, logsConfig(app)+"metrics:\n  enabled: true\n  interval: 60s\n", imdsmock.Config{ASGTerminationAfter: 6 * time.Second})
	w.recordHooks(event.Configure)
	w.hook("shutdown", "10-last-words", fmt.Sprintf(`for i in $(seq 1 150); do echo "last words $i"; echo "app line $i" >> %q; done
sleep 0.3
for i in $(seq 151 300); do echo "last words $i"; echo "app line $i" >> %q; done`, app, app))
	a := w.startAWS()
	w.waitEvents(a, 1)
	if code := a.exited(); code != 0 {
		t.Fatalf("exit %d after the shutdown\n%s", code, a.output())
	}
	done := w.aws.Completions()
	if len(done) != 1 {
		t.Fatalf("completions %+v, want one", done)
	}
	stream := awsInstance + "/app.log"
	if n := w.aws.LogEventCount(logsGroup, stream); n != 300 {
		t.Errorf("%d app lines stored, want the hook's 300", n)
	}
	var hookLines int
	for _, e := range w.aws.LogEvents(logsGroup, awsInstance+"/hooks") {
		if strings.Contains(e.Message, "last words ") {
			hookLines++
		}
	}
	if hookLines != 300 {
		t.Errorf("%d lines of the hook's output stored, want 300", hookLines)
	}
	// The agent's own log goes on after the completion (it says so, and stops); every
	// other line was stored before it.
	total := 0
	for _, s := range w.aws.LogStreams(logsGroup) {
		if s != awsInstance+"/agent" {
			total += w.aws.LogEventCount(logsGroup, s)
		}
	}
	if done[0].LogEvents < total {
		t.Errorf("the stand-in held %d log events when the lifecycle action was completed, fewer than the %d of the app and the hooks: some arrived after it", done[0].LogEvents, total)
	}
	if done[0].MetricData == 0 {
		t.Error("no metric data before the lifecycle action was completed: the running interval was not flushed")
	}
	if !strings.Contains(a.output(), "final flush: every log line and the last metrics were accepted") {
		t.Errorf("no final flush line in the agent's log:\n%s", a.output())
	}
}

// TestAWSTerminationFlushGivesUpAtItsBound: CloudWatch Logs throttles every call; the
// final flush retries until lifecycle.flush_timeout, then the lifecycle action is
// completed anyway, and the log's last lines and status count what was left.
func TestAWSTerminationFlushGivesUpAtItsBound(t *testing.T) {
	app := filepath.Join(t.TempDir(), "app.log")
	w := newAWSWorld(t, logsConfig(app), imdsmock.Config{ASGTerminationAfter: 6 * time.Second})
	cfg, err := os.ReadFile(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.writeFile(w.cfg, strings.Replace(string(cfg), "lifecycle:\n", "lifecycle:\n  flush_timeout: 3s\n", 1))
	w.aws.SetFaults(awsfake.Faults{ThrottleRate: 1, Only: map[string]bool{"logs:*": true}})
	w.recordHooks(event.Configure)
	w.hook("shutdown", "10-last-words", fmt.Sprintf(`for i in $(seq 1 50); do echo "app line $i" >> %q; done`, app))
	a := w.startAWS()
	w.waitEvents(a, 1)
	if code := a.exited(); code != 0 {
		t.Fatalf("exit %d after the shutdown\n%s", code, a.output())
	}
	if done := w.aws.Completions(); len(done) != 1 || done[0].Result != "CONTINUE" {
		t.Fatalf("completions %+v, want one CONTINUE despite the throttling", done)
	}
	if !strings.Contains(a.output(), "final flush: not everything was accepted in time") || !strings.Contains(a.output(), `"log_bytes_left"`) {
		t.Errorf("no final flush line counting what was left:\n%s", a.output())
	}
	st, err := os.ReadFile(filepath.Join(w.state, "status.json"))
	if err != nil || !strings.Contains(string(st), "final-flush") || !strings.Contains(string(st), "bytes of logs") {
		t.Errorf("status.json has no final-flush reporter counting what was left (%v):\n%s", err, st)
	}
}
