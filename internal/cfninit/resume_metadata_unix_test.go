//go:build unix

package cfninit

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
)

// The Metadata a run applies is in the resume file from the first record on, and a
// resumed run that stops for a second reboot keeps it: the run after that one reads
// it from there too, as cfn-init's work log keeps 'metadata' until the end.
func TestResumeFileKeepsTheMetadata(t *testing.T) {
	windowsWaits(t)
	dir := t.TempDir()
	resume := filepath.Join(dir, "state/resume.json")
	md := []byte(`{"AWS::CloudFormation::Init":{"config":{"commands":{"a":{"command":"true","waitAfterCompletion":"forever"}}}}}`)
	in := &Init{Configs: map[string]*Config{
		"one": {Name: "one", Commands: []Command{
			{Name: "a", Shell: "true", WaitAfterCompletion: "forever"},
			{Name: "b", Shell: "true", WaitAfterCompletion: "forever"},
		}},
	}}
	r, _ := testRunner(t)
	r.ResumeFile, r.Metadata = resume, md
	if res, err := r.Apply(context.Background(), in, []string{"one"}); err != nil || !res.Reboot {
		t.Fatalf("first run: %+v, %v; want a stop for the reboot", res, err)
	}
	check := func(when string) {
		t.Helper()
		p, err := ReadProgress(resume)
		if err != nil || p == nil {
			t.Fatalf("%s: progress %v, %v", when, p, err)
		}
		if got := mustCompact(t, p.Metadata); string(got) != string(mustCompact(t, md)) {
			t.Errorf("%s: recorded metadata %s, want %s", when, got, md)
		}
	}
	check("after the first reboot")

	r2, _ := testRunner(t)
	r2.ResumeFile, r2.Resume = resume, true // no Metadata: the resumed run has only the file's
	if res, err := r2.Apply(context.Background(), in, nil); err != nil || !res.Reboot {
		t.Fatalf("resumed run: %+v, %v; want a second stop", res, err)
	}
	check("after the second reboot")
}

// Metadata that is not JSON is not recorded (the file stays writable).
func TestResumeFileSkipsInvalidMetadata(t *testing.T) {
	windowsWaits(t)
	resume := filepath.Join(t.TempDir(), "resume.json")
	in := &Init{Configs: map[string]*Config{"one": {Name: "one", Commands: []Command{{Name: "a", Shell: "true", WaitAfterCompletion: "forever"}}}}}
	r, _ := testRunner(t)
	r.ResumeFile, r.Metadata = resume, []byte("{not json")
	if _, err := r.Apply(context.Background(), in, []string{"one"}); err != nil {
		t.Fatal(err)
	}
	p, err := ReadProgress(resume)
	if err != nil || p == nil || p.Metadata != nil || p.Current != "one" {
		t.Fatalf("progress %+v, %v; want the command recorded and no metadata", p, err)
	}
}

func mustCompact(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return out
}

// waitAfterCompletion is Windows's: on Linux a number of seconds is not waited, as
// cfn-init's CommandTool never waits there.
func TestNoWaitAfterCompletionOnLinux(t *testing.T) {
	waits := windowsWaits(t)
	commandOS = "linux" // windowsWaits restores it
	in := &Init{Configs: map[string]*Config{"c": {Name: "c", Commands: []Command{
		{Name: "a", Shell: "true", WaitAfterCompletion: "30"},
		{Name: "b", Shell: "true"},
	}}}}
	r, _ := testRunner(t)
	if _, err := r.Apply(context.Background(), in, []string{"c"}); err != nil {
		t.Fatal(err)
	}
	if len(*waits) != 0 {
		t.Errorf("waited %v on Linux", *waits)
	}
}
