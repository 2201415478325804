//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// fleetWorld is several agents on one machine, each with its own local.dir, state and
// hooks, sharing local.fleet_dir (where they publish) and the same peers.json content, so
// that they behave as the instances of one group.
type fleetWorld struct {
	t      *testing.T
	base   string
	fleet  string
	rec    string
	ids    []string
	worlds []*world
	agents []*agent
}

const fleetRolloutConfig = `mode: local
stack: e2e-stack
resource: WebServer
interval: 1s
hooks_dir: hooks.d
state_dir: state
log_dir: log
kill_grace: 200ms
shutdown_grace: 2s
local:
  dir: local
  fleet_dir: %s
watch:
  - name: release
    metadata: release
    rollout: {waves: [1, 3, 100%%], bake: 1s}
`

func newFleetWorld(t *testing.T, n int) *fleetWorld {
	base := t.TempDir()
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	fw := &fleetWorld{t: t, base: base, fleet: filepath.Join(base, "fleet"), rec: filepath.Join(base, "record")}
	if err := os.Mkdir(fw.fleet, 0o755); err != nil {
		t.Fatal(err)
	}
	var peers []string
	for i := range n {
		id := fmt.Sprintf("i-0f1ee70000000%04d", i)
		az := "eu-west-1" + string(rune('a'+i%3))
		fw.ids = append(fw.ids, id)
		peers = append(peers, fmt.Sprintf(`{"instance_id": %q, "az": %q, "private_ip": "10.0.1.%d"}`, id, az, i+1))
	}
	for i, id := range fw.ids {
		dir := filepath.Join(base, fmt.Sprintf("a%02d", i))
		w := &world{t: t, dir: dir, local: filepath.Join(dir, "local"), hooks: filepath.Join(dir, "hooks.d"),
			state: filepath.Join(dir, "state"), cfg: filepath.Join(dir, "stackhand.yaml"), rec: filepath.Join(dir, "record")}
		for _, d := range []string{w.local, w.hooks} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		w.writeFile(w.cfg, fmt.Sprintf(fleetRolloutConfig, fw.fleet))
		az := "eu-west-1" + string(rune('a'+i%3))
		w.writeLocal("instance.json", fmt.Sprintf(`{"instance_id": %q, "region": "eu-west-1", "az": %q, "private_ip": "10.0.1.%d"}`, id, az, i+1))
		w.writeLocal("peers.json", "["+strings.Join(peers, ",")+"]")
		// The deploy hook records its start and end with the value it applies, in
		// nanoseconds, to one shared file (each line one short append), and fails where
		// the test says.
		w.hook("deploy", "10-roll", fmt.Sprintf(`v=$(tr -d ' \n' < "$STACKHAND_EVENT_FILE" | grep -o '"new":"v[0-9]*"' | head -1 | cut -d'"' -f4)
echo "start %s $v $(date +%%s%%N)" >> %q
if [ -e %q/fail-"$v" ]; then echo "refusing $v" >&2; exit 3; fi
echo "end %s $v $(date +%%s%%N)" >> %q`, id, fw.rec, dir, id, fw.rec))
		fw.worlds = append(fw.worlds, w)
	}
	return fw
}

func (fw *fleetWorld) setRelease(v string) {
	for _, w := range fw.worlds {
		w.writeLocal("metadata.json", fmt.Sprintf(`{"release": %q}`, v))
	}
}

func (fw *fleetWorld) start() {
	for _, w := range fw.worlds {
		fw.agents = append(fw.agents, w.start())
	}
}

type rollLine struct {
	what, id, v string
	at          int64
}

func (fw *fleetWorld) lines() []rollLine {
	b, _ := os.ReadFile(fw.rec)
	var out []rollLine
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) != 4 {
			continue
		}
		at, _ := strconv.ParseInt(f[3], 10, 64)
		out = append(out, rollLine{f[0], f[1], f[2], at})
	}
	return out
}

// ended returns, for value v, the instances whose hook ended (applied) and when.
func (fw *fleetWorld) ended(v string) map[string]int64 {
	m := map[string]int64{}
	for _, l := range fw.lines() {
		if l.what == "end" && l.v == v {
			m[l.id] = l.at
		}
	}
	return m
}

func (fw *fleetWorld) started(v string) map[string]int64 {
	m := map[string]int64{}
	for _, l := range fw.lines() {
		if l.what == "start" && l.v == v {
			if _, ok := m[l.id]; !ok {
				m[l.id] = l.at
			}
		}
	}
	return m
}

func (fw *fleetWorld) until(what string, cond func() bool) {
	fw.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			out := ""
			for i, a := range fw.agents {
				out += fmt.Sprintf("\n--- agent %d (%s)\n%s", i, fw.ids[i], tail(a.output(), 3000))
			}
			b, _ := os.ReadFile(fw.rec)
			fw.t.Fatalf("timed out waiting for %s\nrecord:\n%s%s", what, b, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// waveOf is each instance's wave for waves [1, 3, 100%] over 10 peers in three AZs, in
// the order every agent computes (AZs interleaved, ids sorted within an AZ).
func waveOf(ids []string, azOf func(int) string) map[string]int {
	byAZ := map[string][]string{}
	for i, id := range ids {
		byAZ[azOf(i)] = append(byAZ[azOf(i)], id)
	}
	var azs []string
	for az := range byAZ {
		azs = append(azs, az)
		sort.Strings(byAZ[az])
	}
	sort.Strings(azs)
	var order []string
	for k := 0; len(order) < len(ids); k++ {
		for _, az := range azs {
			if k < len(byAZ[az]) {
				order = append(order, byAZ[az][k])
			}
		}
	}
	w := map[string]int{}
	for i, id := range order {
		switch {
		case i < 1:
			w[id] = 1
		case i < 3:
			w[id] = 2
		default:
			w[id] = 3
		}
	}
	return w
}

// Ten agents on one machine roll a new release out in waves [1, 3, 100%]: from the hooks'
// own timestamps, no agent of a wave starts before every agent of the waves before it
// applied the release (and one bake second after). A hook that fails on a wave-2 agent
// holds every wave-3 agent on the old release, and `stackhand fleet status` names the
// failing instance with its reason; a new release then rolls out again, in waves.
func TestFleetRolloutInWavesLocal(t *testing.T) {
	const n = 10
	fw := newFleetWorld(t, n)
	waves := waveOf(fw.ids, func(i int) string { return "eu-west-1" + string(rune('a'+i%3)) })
	fw.setRelease("v1")
	fw.start()
	// At setup every agent deploys what is there, whatever its wave.
	fw.until("every agent to apply v1 at setup", func() bool { return len(fw.ended("v1")) == n })

	checkWaves := func(v string, upTo int) {
		t.Helper()
		started, ended := fw.started(v), fw.ended(v)
		for id, s := range started {
			for other, w := range waves {
				if w >= waves[id] {
					continue
				}
				e, ok := ended[other]
				if !ok || e > s {
					t.Errorf("%s: %s (wave %d) started before %s (wave %d) applied it (ended %v)", v, id, waves[id], other, w, ok)
				}
			}
			if waves[id] > upTo {
				t.Errorf("%s: %s of wave %d started, but the rollout was to stop at wave %d", v, id, waves[id], upTo)
			}
		}
	}

	fw.setRelease("v2")
	fw.until("every agent to apply v2", func() bool { return len(fw.ended("v2")) == n })
	checkWaves("v2", 3)

	// v3 fails on one wave-2 agent: the wave-3 agents hold on v2.
	var bad string
	for _, id := range fw.ids {
		if waves[id] == 2 {
			bad = id
			break
		}
	}
	badWorld := fw.worlds[indexOf(fw.ids, bad)]
	badWorld.writeFile(filepath.Join(badWorld.dir, "fail-v3"), "")
	fw.setRelease("v3")
	fw.until("the wave-2 failure on "+bad, func() bool {
		for _, l := range fw.lines() {
			if l.what == "start" && l.id == bad && l.v == "v3" {
				return true
			}
		}
		return false
	})
	var out string
	fw.until("fleet status to name the failing instance", func() bool {
		cmd := exec.Command(binPath, "fleet", "status", "--config", fw.worlds[0].cfg)
		b, _ := cmd.CombinedOutput()
		out = string(b)
		return strings.Contains(out, bad+" failed release v3") && strings.Contains(out, "exited with status 3")
	})
	if !strings.Contains(out, "rollout: release v3: wave 2 of 3") {
		t.Errorf("fleet status has no rollout line for v3:\n%s", out)
	}
	// Every wave-3 agent says in its status that it holds because of the failure; none
	// started v3.
	for i, id := range fw.ids {
		if waves[id] != 3 {
			continue
		}
		w := fw.worlds[i]
		fw.until(id+" to hold on "+bad+"'s failure", func() bool {
			src, _ := w.statusJSON()["sources"].(map[string]any)
			f, _ := src["fleet"].(map[string]any)
			d, _ := f["detail"].(string)
			return strings.Contains(d, "rollout of release: v3") && strings.Contains(d, "failed on "+bad)
		})
	}
	for id, s := range fw.started("v3") {
		if waves[id] == 3 {
			t.Errorf("%s of wave 3 started v3 at %d although %s of wave 2 failed it", id, s, bad)
		}
	}
	checkWaves("v3", 2)

	// A fix rolls out again, in waves, to everyone.
	os.Remove(filepath.Join(badWorld.dir, "fail-v3"))
	fw.setRelease("v4")
	fw.until("every agent to apply v4", func() bool { return len(fw.ended("v4")) == n })
	checkWaves("v4", 3)
	for _, a := range fw.agents {
		a.stop()
	}
}

func indexOf(ids []string, id string) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

// A rule with signal: tells a WaitConditionHandle (here a local HTTP server standing for
// its presigned S3 URL) each value applied, SUCCESS with the instance id as the unique id,
// and FAILURE with the reason when the deploy fails.
func TestSignalWaitHandleLocal(t *testing.T) {
	type doc struct{ Status, Reason, UniqueId, Data string }
	got := make(chan doc, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d doc
		if r.Method != http.MethodPut || json.NewDecoder(r.Body).Decode(&d) != nil {
			http.Error(w, "want a PUT of JSON", http.StatusBadRequest)
			return
		}
		got <- d
	}))
	defer srv.Close()
	w := newWorld(t, `watch:
  - name: release
    metadata: release
    signal: {wait_handle: {metadata: handle}}
`)
	w.hook("deploy", "10-app", `tr -d ' \n' < "$STACKHAND_EVENT_FILE" | grep -q '"new":"bad"' && { echo "migration failed" >&2; exit 4; }; exit 0`)
	w.writeLocal("metadata.json", fmt.Sprintf(`{"release": "v1", "handle": %q}`, srv.URL+"/handle?X-Amz-Signature=secret"))
	a := w.start()
	next := func(what string) doc {
		t.Helper()
		select {
		case d := <-got:
			return d
		case <-time.After(waitLimit):
			t.Fatalf("no signal for %s\n%s", what, a.output())
		}
		return doc{}
	}
	if d := next("v1 at setup"); d.Status != "SUCCESS" || d.UniqueId != "i-0e2e0000000000001" {
		t.Errorf("signal for v1: %+v", d)
	}
	w.writeLocal("metadata.json", fmt.Sprintf(`{"release": "bad", "handle": %q}`, srv.URL+"/handle?X-Amz-Signature=secret"))
	if d := next("the failed deploy"); d.Status != "FAILURE" || !strings.Contains(d.Reason, "exited with status 4") {
		t.Errorf("signal for the failed deploy: %+v", d)
	}
	if strings.Contains(a.output(), "secret") {
		t.Errorf("the handle's signature reached the log:\n%s", a.output())
	}
	a.stop()
}

// fleetReads counts the DescribeTags calls that read the fleet's published state (their
// key filter is stackhand:*), apart from the tags source's own.
func fleetReads(srv *awsfake.Server) int {
	n := 0
	for _, c := range srv.CallLog() {
		if c.Service == "ec2" && c.Action == "DescribeTags" && strings.Contains(c.Params.Encode(), "stackhand%3A%2A") {
			n++
		}
	}
	return n
}

// Mode aws against the stand-in, one agent and a peer whose published tags the test
// writes: the agent publishes its state as its own tags, and only when it changed; it
// reads the peers' tags only while a rollout waits; as the second wave it deploys once
// the first published the release; `fleet hold` (a tag on the group, read with the group)
// stops the next rollout until `fleet resume`; `fleet status` shows the group in two calls;
// each release applied is signalled with SignalResource, and a rule with a wait handle
// PUTs to its URL, the instance id the unique id of both; `fleet status --stack` is one
// call; a refused tag write shows in status, naming ec2:CreateTags and the policy.
func TestAWSFleetTagsRolloutHoldAndStatus(t *testing.T) {
	const peerID = "i-0000000000000000a" // first in the order: same AZ, a smaller id
	// The config rule also signals a WaitConditionHandle, whose URL the metadata holds.
	var handleMu sync.Mutex
	var handled []string
	handle := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d struct{ Status, UniqueId string }
		json.NewDecoder(r.Body).Decode(&d)
		handleMu.Lock()
		handled = append(handled, r.Method+" "+d.Status+" "+d.UniqueId)
		handleMu.Unlock()
	}))
	defer handle.Close()
	w := newAWSWorld(t, `watch:
  - name: release
    metadata: release
    rollout: {waves: [1, 100%]}
    signal: {resource: WebGroup}
  - name: config
    metadata: config
    signal: {wait_handle: {metadata: handle}}
`, imdsmock.Config{})
	w.aws.SetMetadata(awsStack, "WebServer", fmt.Sprintf(`{"release": "v1", "config": "c1", "handle": %q}`, handle.URL+"/wch"))
	w.aws.PutResource(awsStack, awsfake.Resource{LogicalID: "WebGroup", Type: "AWS::AutoScaling::AutoScalingGroup"})
	w.aws.PutInstance(awsfake.Instance{ID: peerID, AZ: "us-east-1a", PrivateIP: "10.0.1.9",
		Tags: map[string]string{"aws:cloudformation:stack-name": awsStack, "stackhand:applied:release": "v1"}})
	w.aws.SetGroupInstances(awsGroup, awsfake.InService(peerID, awsInstance)...)
	w.recordHooks(event.Setup, event.Deploy, event.Configure)
	a := w.startAWS()
	tag := func(k string) string {
		in, _ := w.aws.GetInstance(awsInstance)
		return in.Tags[k]
	}
	w.until("v1 published", a, func() bool {
		return tag("stackhand:applied:release") == "v1" && strings.HasPrefix(tag("stackhand:last"), "configure succeeded ")
	})
	if s := w.aws.Signals(); len(s) != 1 || s[0].Status != "SUCCESS" || s[0].UniqueID != awsInstance || s[0].LogicalID != "WebGroup" {
		t.Errorf("signals after setup: %+v", s)
	}
	w.until("the wait handle signalled", a, func() bool { handleMu.Lock(); defer handleMu.Unlock(); return len(handled) > 0 })
	handleMu.Lock()
	if handled[0] != "PUT SUCCESS "+awsInstance {
		t.Errorf("wait handle: %v", handled)
	}
	handleMu.Unlock()
	// Nothing changes for two more passes: nothing is written, the peers are not read.
	creates, reads := w.aws.Calls("ec2", "CreateTags"), fleetReads(w.aws)
	passes := w.aws.Calls("autoscaling", "DescribeAutoScalingGroups")
	w.until("two more passes", a, func() bool { return w.aws.Calls("autoscaling", "DescribeAutoScalingGroups") >= passes+2 })
	if n := w.aws.Calls("ec2", "CreateTags"); n != creates {
		t.Errorf("%d CreateTags calls without a change", n-creates)
	}
	if n := fleetReads(w.aws); n != reads {
		t.Errorf("%d reads of the peers' tags with no rollout in progress", n-reads)
	}

	// v2: this instance (wave 2) waits for the peer, saying what it wants.
	deploys := func() int { return strings.Count(strings.Join(w.events(), " "), "deploy") }
	before := deploys()
	w.aws.SetMetadata(awsStack, "WebServer", fmt.Sprintf(`{"release": "v2", "config": "c1", "handle": %q}`, handle.URL+"/wch"))
	w.until("v2 wanted", a, func() bool { return tag("stackhand:want:release") == "v2" })
	w.until("the peers read", a, func() bool { return fleetReads(w.aws) > reads })
	// While it waits: one read of the peers' tags per pass, not more.
	r0, p0 := fleetReads(w.aws), w.aws.Calls("autoscaling", "DescribeAutoScalingGroups")
	w.until("three passes while waiting", a, func() bool { return w.aws.Calls("autoscaling", "DescribeAutoScalingGroups") >= p0+3 })
	if n, p := fleetReads(w.aws)-r0, w.aws.Calls("autoscaling", "DescribeAutoScalingGroups")-p0; n > p+1 {
		t.Errorf("%d reads of the peers' tags in %d passes while waiting: at most one a pass", n, p)
	}
	if deploys() != before {
		t.Fatalf("deployed v2 before the first wave applied it: %v", w.events())
	}
	w.aws.SetTag(peerID, "stackhand:applied:release", "v2")
	w.until("v2 deployed and published", a, func() bool { return tag("stackhand:applied:release") == "v2" && tag("stackhand:want:release") == "" })
	if deploys() != before+1 {
		t.Errorf("deploys: %v", w.events())
	}

	// fleet status: the group's two instances from two calls.
	cli := func(args ...string) string {
		cmd := exec.Command(binPath, append(args, "--config", w.cfg)...)
		cmd.Env = w.env()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	asg, tags := w.aws.Calls("autoscaling", "DescribeAutoScalingGroups"), fleetReads(w.aws)
	out := cli("fleet", "status", "--group", awsGroup)
	if !strings.Contains(out, peerID) || !strings.Contains(out, awsInstance) || !strings.Contains(out, "release v2: applied by all 2") {
		t.Errorf("fleet status:\n%s", out)
	}
	// Other calls may be the agent's own passes meanwhile: at most one each more.
	if n := w.aws.Calls("autoscaling", "DescribeAutoScalingGroups") - asg; n < 1 || n > 2 {
		t.Errorf("fleet status made %d DescribeAutoScalingGroups calls", n)
	}
	if n := fleetReads(w.aws) - tags; n != 1 {
		t.Errorf("fleet status made %d DescribeTags calls", n)
	}

	// Held: v3 is not deployed although the first wave has it; resumed, it is.
	cli("fleet", "hold", "--group", awsGroup)
	if g, _ := w.aws.GetGroup(awsGroup); g.Tags["stackhand:rollout-hold"] != "true" {
		t.Fatalf("group tags after hold: %v", g.Tags)
	}
	// The agent learns of the hold at its next read of the group: two reads after it
	// (the first one's answer handed on before the second starts), so that the change
	// below is not seen first, as a loaded machine showed it could be.
	groupReads := w.aws.Calls("autoscaling", "DescribeAutoScalingGroups")
	w.until("the agent to read the held group", a, func() bool {
		return w.aws.Calls("autoscaling", "DescribeAutoScalingGroups") >= groupReads+2
	})
	w.aws.SetTag(peerID, "stackhand:applied:release", "v3")
	w.aws.SetMetadata(awsStack, "WebServer", fmt.Sprintf(`{"release": "v3", "config": "c1", "handle": %q}`, handle.URL+"/wch"))
	w.until("v3 wanted", a, func() bool { return tag("stackhand:want:release") == "v3" })
	w.until("the hold in status", a, func() bool {
		src, _ := w.statusJSON()["sources"].(map[string]any)
		f, _ := src["fleet"].(map[string]any)
		d, _ := f["detail"].(string)
		return strings.Contains(d, "held by the operator")
	})
	if deploys() != before+1 {
		t.Fatalf("deployed v3 while held: %v", w.events())
	}
	cli("fleet", "resume", "--group", awsGroup)
	w.until("v3 deployed after resume", a, func() bool { return tag("stackhand:applied:release") == "v3" })
	if s := w.aws.Signals(); len(s) != 3 {
		t.Errorf("signals: %+v, want one per release applied", s)
	}

	// fleet status of a stack: one DescribeInstances, which carries the tags.
	di := w.aws.Calls("ec2", "DescribeInstances")
	out = cli("fleet", "status", "--stack", awsStack)
	if !strings.Contains(out, peerID) || !strings.Contains(out, awsInstance) {
		t.Errorf("fleet status --stack:\n%s", out)
	}
	if n := w.aws.Calls("ec2", "DescribeInstances") - di; n != 1 {
		t.Errorf("fleet status --stack made %d DescribeInstances calls, want 1", n)
	}

	// Its role may no longer tag it: the next write fails, and status says so, naming
	// ec2:CreateTags (a problem: a rule has a rollout, so its later peers wait for it).
	w.aws.DenyCreateTags(awsInstance, true)
	w.aws.SetTag(peerID, "stackhand:applied:release", "v4")
	w.aws.SetMetadata(awsStack, "WebServer", fmt.Sprintf(`{"release": "v4", "config": "c1", "handle": %q}`, handle.URL+"/wch"))
	w.until("the refused write in status", a, func() bool {
		src, _ := w.statusJSON()["sources"].(map[string]any)
		f, _ := src["fleet"].(map[string]any)
		e, _ := f["last_error"].(string)
		return strings.Contains(e, "ec2:CreateTags denied") && strings.Contains(e, "ec2:SourceInstanceARN")
	})
	a.stop()
}
