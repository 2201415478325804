package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// TestAWSIdentityWithoutIMDS: a host named by the identity section (on premises, another
// cloud) runs mode aws without asking the metadata service anything: setup runs, its log
// lines reach CloudWatch Logs under its own id, and its heartbeat carries that id. The
// metadata mock is there, reachable, and must count no request.
func TestAWSIdentityWithoutIMDS(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "app.log")
	appendSeq(t, path, "", 1, 30)
	w := newAWSWorld(t, "identity:\n  instance_id: onprem-web-01\n  region: us-east-1\n"+
		"heartbeat:\n  interval: 10s\n  alarm:\n    action: none\n"+logsConfig(path), imdsmock.Config{})
	w.recordHooks(event.Setup)
	a := w.startAWS()
	const stream = "onprem-web-01/app.log"
	w.within(30*time.Second, "30 lines in "+logsGroup+" "+stream, a, func() bool {
		return w.aws.LogEventCount(logsGroup, stream) == 30
	})
	w.within(30*time.Second, "a heartbeat", a, func() bool { return len(heartbeats(w.aws)) >= 1 })
	if d := dims(heartbeats(w.aws)[0].Dimensions); d["InstanceId"] != "onprem-web-01" {
		t.Errorf("heartbeat dimensions %v, want InstanceId onprem-web-01", d)
	}
	w.within(30*time.Second, "setup", a, func() bool { return len(w.records()) >= 1 })
	if p := w.payload(w.ids()[0]); p.Instance.InstanceID != "onprem-web-01" || p.Instance.Region != "us-east-1" {
		t.Errorf("setup's instance %+v", p.Instance)
	}
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if n := len(w.imds.Requests()); n != 0 {
		t.Errorf("the metadata service was asked %d times, want none: %+v", n, w.imds.Requests())
	}
	for _, c := range w.aws.CallLog() {
		if c.Service == "autoscaling" || c.Service == "ec2" {
			t.Errorf("%s %s called for a host that is no EC2 instance", c.Service, c.Action)
		}
	}
	if _, err := os.Stat(filepath.Join(w.state, "status.json")); err != nil {
		t.Error(err)
	}
}
