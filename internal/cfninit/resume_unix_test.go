//go:build unix

package cfninit

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// windowsWaits makes commands follow Windows's waitAfterCompletion rules and records
// the waits instead of sleeping them.
func windowsWaits(t *testing.T) *[]time.Duration {
	var waits []time.Duration
	oldOS, oldSleep := commandOS, sleepCtx
	commandOS = "windows"
	sleepCtx = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	t.Cleanup(func() { commandOS, sleepCtx = oldOS, oldSleep })
	return &waits
}

func TestResumeAfterForever(t *testing.T) {
	waits := windowsWaits(t)
	dir := t.TempDir()
	count := func(name string) int {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return strings.Count(string(b), "x")
	}
	mark := func(name string) string { return "echo x >> " + filepath.Join(dir, name) }
	conf := filepath.Join(dir, "etc/app.conf")
	in := &Init{Configs: map[string]*Config{
		"one": {Name: "one",
			Files: []File{{Path: conf, Content: sp("v1")}},
			Commands: []Command{
				{Name: "01", Shell: mark("01")},
				{Name: "02-reboot", Shell: mark("02"), WaitAfterCompletion: "forever"},
				{Name: "03", Shell: mark("03"), WaitAfterCompletion: "5"},
			}},
		"two": {Name: "two", Commands: []Command{{Name: "t", Shell: mark("t"), WaitAfterCompletion: "0"}}},
	}}
	resume := filepath.Join(dir, "state/resume.json")

	r, _ := testRunner(t)
	r.ResumeFile = resume
	res, err := r.Apply(context.Background(), in, []string{"one", "two"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reboot || len(res.Configs) != 0 {
		t.Fatalf("reboot %v configs %v, want a stop for the reboot", res.Reboot, res.Configs)
	}
	if count("01") != 1 || count("02") != 1 || count("03") != 0 || count("t") != 0 {
		t.Fatalf("ran 01:%d 02:%d 03:%d t:%d", count("01"), count("02"), count("03"), count("t"))
	}
	if !slices.Equal(*waits, []time.Duration{60 * time.Second}) {
		t.Errorf("waits %v, want the default 60 s after 01 only", *waits)
	}
	p, err := ReadProgress(resume)
	if err != nil || p == nil {
		t.Fatalf("progress %v, %v", p, err)
	}
	if p.Current != "one" || !slices.Equal(p.Commands, []string{"01", "02-reboot"}) || len(p.Done) != 0 ||
		p.Changes == nil || !p.Changes.Files[conf] {
		t.Errorf("progress %+v", p)
	}
	if fi, err := os.Stat(resume); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("resume file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	// The reboot. The file section is not applied again on resume: its change from
	// before the reboot is carried over (for services) instead.
	os.Remove(conf)
	*waits = nil
	r2, _ := testRunner(t)
	r2.ResumeFile, r2.Resume = resume, true
	res, err = r2.Apply(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Reboot || !slices.Equal(res.Configs, []string{"one", "two"}) {
		t.Errorf("resumed run: reboot %v configs %v", res.Reboot, res.Configs)
	}
	if count("01") != 1 || count("02") != 1 || count("03") != 1 || count("t") != 1 {
		t.Errorf("after resume ran 01:%d 02:%d 03:%d t:%d, want each once", count("01"), count("02"), count("03"), count("t"))
	}
	if _, err := os.Stat(conf); err == nil {
		t.Error("the files section ran again on resume")
	}
	if !slices.Equal(*waits, []time.Duration{5 * time.Second}) {
		t.Errorf("waits %v", *waits)
	}
	if _, err := os.Stat(resume); !os.IsNotExist(err) {
		t.Errorf("the resume file is left after a finished run: %v", err)
	}

	// --resume with nothing recorded does nothing, as cfn-init's.
	res, err = r2.Apply(context.Background(), in, []string{"one"})
	if err != nil || len(res.Configs) != 0 || count("01") != 1 {
		t.Errorf("empty resume: %v %v, 01 ran %d times", res.Configs, err, count("01"))
	}
}

func TestNoResumeFileWrittenOnLinux(t *testing.T) {
	old := commandOS
	commandOS = "linux"
	defer func() { commandOS = old }()
	dir := t.TempDir()
	resume := filepath.Join(dir, "resume.json")
	in := &Init{Configs: map[string]*Config{"c": {Name: "c", Commands: []Command{
		{Name: "a", Shell: "true", WaitAfterCompletion: "forever"},
		{Name: "b", Shell: "touch " + filepath.Join(dir, "b")},
	}}}}
	r, _ := testRunner(t)
	r.ResumeFile = resume
	res, err := r.Apply(context.Background(), in, []string{"c"})
	if err != nil || res.Reboot {
		t.Fatalf("linux: %v reboot %v (waitAfterCompletion is ignored there)", err, res.Reboot)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); err != nil {
		t.Error("b did not run")
	}
	if _, err := os.Stat(resume); !os.IsNotExist(err) {
		t.Errorf("resume file: %v", err)
	}
}
