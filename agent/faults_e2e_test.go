package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// Every AWS endpoint the agent uses at boot fails, one at a time — each of its connections
// dropped — from the agent's start until it has met the failure, then recovers: the agent
// converges without a restart: setup runs and the lines written before it started are
// shipped (issue 15 item 14). IMDS failing at boot is
// TestStatusDuringAnIMDSOutageShowsTheDiscoveryError.
func TestAWSBootWithEachEndpointFailingConverges(t *testing.T) {
	for _, svc := range []string{"ec2", "cloudformation", "autoscaling", "monitoring", "logs"} {
		t.Run(svc, func(t *testing.T) {
			t.Parallel()
			path := t.TempDir() + "/app.log"
			var lines []string
			for i := 1; i <= 5; i++ {
				lines = append(lines, seqLine(i))
			}
			if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			w := newAWSWorld(t, watchRelease+logsConfig(path), imdsmock.Config{})
			w.recordHooks(event.Setup)
			w.aws.SetFaults(awsfake.Faults{DropRate: 1, Only: map[string]bool{svc + ":*": true}})
			// Not startAWS: with EC2 down the engine cannot start until discovery works.
			cmd := exec.Command(binPath, "run", "--config", w.cfg)
			cmd.Env = w.env()
			a := w.launch(cmd)
			w.within(90*time.Second, "the agent to meet the "+svc+" failure twice", a, func() bool {
				n := 0
				for _, c := range w.aws.CallLog() {
					if c.Service == svc && c.Fault == "drop" {
						n++
					}
				}
				return n >= 2
			})
			w.aws.SetFaults(awsfake.Faults{})
			recovered := time.Now()
			// Discovery and a stopped source wait at most a minute between tries.
			w.within(90*time.Second, "setup to run", a, func() bool { return slices.Contains(w.events(), "setup") })
			w.within(90*time.Second, "the lines written before the start to be shipped", a, func() bool { return holdsAll(w.aws, appStream, 5) })
			t.Logf("%s: converged %s after the endpoint recovered", svc, time.Since(recovered).Round(100*time.Millisecond))
			if code := a.stop(); code != 0 {
				t.Errorf("exit %d", code)
			}
		})
	}
}

// CloudFormation and CloudWatch accept every call and never answer (issue 15 item 6):
// status shows the metadata source and the heartbeat in trouble meanwhile (an error once
// the call's deadline passes, or STALE), and when the endpoints answer again the watch
// deploys the next release and the heartbeat is sent — although the calls that hung are
// still held by the stand-in: only the agent's deadlines freed it from them.
func TestAWSHungEndpointsRecoverAndShowInStatus(t *testing.T) {
	w := newAWSWorld(t, watchRelease+"aws_timeout: 1s\nheartbeat:\n  interval: 10s\n", imdsmock.Config{})
	w.recordHooks(event.Deploy)
	a := w.startAWS()
	w.waitEvents(a, 1)
	w.aws.SetFaults(awsfake.Faults{Hang: true, Only: map[string]bool{"cloudformation:*": true, "monitoring:*": true}})
	hungAt := time.Now()
	w.within(60*time.Second, "status to show the metadata source and the heartbeat in trouble", a, func() bool {
		s := w.statusJSON()
		src, _ := s["sources"].(map[string]any)
		rep, _ := s["reporters"].(map[string]any)
		md, _ := src["metadata"].(map[string]any)
		hb, _ := rep["heartbeat"].(map[string]any)
		trouble := func(c map[string]any) bool { return c != nil && (c["last_error"] != nil || c["stale"] == true) }
		return trouble(md) && trouble(hb)
	})
	text, _, _ := w.cli("status")
	t.Logf("status %s into the hang:\n%s", time.Since(hungAt).Round(time.Second), text)
	if !strings.Contains(text, "DEGRADED") && !strings.Contains(text, "FAILING") {
		t.Errorf("the verdict does not show the hang:\n%s", text)
	}
	if w.aws.Hung() == 0 {
		t.Fatal("no call met the hang")
	}
	w.aws.SetMetadata(awsStack, "WebServer", `{"release": "v2"}`)
	w.aws.SetFaults(awsfake.Faults{})
	hbCalls := w.aws.Calls("monitoring", "PutMetricData")
	if got := w.waitEvents(a, 2); got[1] != "deploy" {
		t.Fatalf("after the hang: %v", got)
	}
	w.within(60*time.Second, "a heartbeat answered after the hang", a, func() bool {
		return w.aws.Calls("monitoring", "PutMetricData") > hbCalls
	})
	a.stop()
}
