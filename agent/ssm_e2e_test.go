package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

const watchParameter = `watch:
  - ssm: /web/release
`

// ssmEntry returns the payload's entry of the ssm rule and its value and version.
func ssmEntry(t *testing.T, p event.Payload) (event.Watched, string, int64) {
	t.Helper()
	for _, m := range p.Metadata {
		if m.Rule == "ssm:/web/release" {
			if m.New == nil {
				return m, "", 0
			}
			v, ver, ok := source.SSMValue(m.New)
			if !ok {
				t.Fatalf("entry %+v: new is not a parameter value", m)
			}
			return m, v, ver
		}
	}
	t.Fatalf("no ssm:/web/release in %+v", p.Metadata)
	return event.Watched{}, "", 0
}

// A Parameter Store parameter drives deploys as a metadata key does: v1 deploys after
// setup, v2 deploys again, the same value put again (a new version) deploys again, a
// denied read changes nothing and shows in status with the IAM action, and the
// parameter's deletion undeploys.
func TestAWSSSMParameterDeploysOnEachVersion(t *testing.T) {
	w := newAWSWorld(t, watchParameter, imdsmock.Config{})
	w.aws.PutParameter("/web/release", "v1")
	w.recordHooks(event.Setup, event.Deploy, event.Undeploy)
	a := w.startAWS()
	if got, want := w.waitEvents(a, 2), []string{"setup", "deploy"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("first start: %v, want %v", got, want)
	}
	m, v, ver := ssmEntry(t, w.payload(w.ids()[1]))
	if m.Source != "ssm" || m.Path != "/web/release" || m.Change != event.Add || v != "v1" || ver != 1 {
		t.Errorf("deploy after setup: %+v (%q version %d)", m, v, ver)
	}

	w.aws.PutParameter("/web/release", "v2")
	w.waitEvents(a, 3)
	m, v, ver = ssmEntry(t, w.payload(w.ids()[2]))
	if w.events()[2] != "deploy" || m.Change != event.Update || v != "v2" || ver != 2 {
		t.Fatalf("after v2: %v %+v", w.events(), m)
	}

	w.aws.PutParameter("/web/release", "v2") // re-pushed on purpose: version 3
	w.waitEvents(a, 4)
	if m, v, ver = ssmEntry(t, w.payload(w.ids()[3])); w.events()[3] != "deploy" || m.Change != event.Update || v != "v2" || ver != 3 {
		t.Fatalf("after the same value again: %v %+v", w.events(), m)
	}

	w.aws.DenyParameter("/web/release", true)
	w.until("the denial in status", a, func() bool {
		src, _ := w.statusJSON()["sources"].(map[string]any)
		b, _ := json.Marshal(src["ssm"])
		return strings.Contains(string(b), "ssm:GetParameter denied")
	})
	w.aws.DenyParameter("/web/release", false)

	w.aws.DeleteParameter("/web/release")
	w.waitEvents(a, 5)
	if m, _, _ = ssmEntry(t, w.payload(w.ids()[4])); w.events()[4] != "undeploy" || m.Change != event.Remove {
		t.Fatalf("after the deletion: %v %+v", w.events(), m)
	}
	if got := w.events(); len(got) != 5 {
		t.Errorf("events %v: the denied reads must not have run anything", got)
	}
	if w.aws.Calls("ssm", "GetParameter") == 0 {
		t.Error("the stand-in counted no GetParameter")
	}
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// Without an ssm: rule the agent never calls Systems Manager.
func TestAWSNoSSMRuleNoSSMCall(t *testing.T) {
	w := newAWSWorld(t, watchRelease, imdsmock.Config{})
	w.recordHooks(event.Setup, event.Deploy)
	a := w.startAWS()
	w.waitEvents(a, 2)
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if n := w.aws.Calls("ssm", ""); n != 0 {
		t.Errorf("%d SSM calls without an ssm: rule", n)
	}
}

// Local mode reads ssm.json: a changed value deploys, a removed name undeploys.
func TestLocalSSMFile(t *testing.T) {
	w := newWorld(t, watchParameter)
	w.recordHooks(event.Setup, event.Deploy, event.Undeploy)
	w.writeLocal("ssm.json", `{"/web/release": "v1"}`)
	a := w.start()
	if got, want := w.waitEvents(a, 2), []string{"setup", "deploy"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("first start: %v, want %v", got, want)
	}
	if m, v, _ := ssmEntry(t, w.payload(w.ids()[1])); m.Change != event.Add || v != "v1" {
		t.Errorf("deploy after setup: %+v", m)
	}
	w.writeLocal("ssm.json", `{"/web/release": "v2"}`)
	w.waitEvents(a, 3)
	if m, v, _ := ssmEntry(t, w.payload(w.ids()[2])); w.events()[2] != "deploy" || m.Change != event.Update || v != "v2" {
		t.Fatalf("after v2: %v %+v", w.events(), m)
	}
	w.writeLocal("ssm.json", `{}`)
	w.waitEvents(a, 4)
	if m, _, _ := ssmEntry(t, w.payload(w.ids()[3])); w.events()[3] != "undeploy" || m.Change != event.Remove {
		t.Fatalf("after the removal: %v %+v", w.events(), m)
	}
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}
