//go:build unix

package cfnboot

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/cfninit"
)

// writeProgress writes a resume file as a run stopped after command "a" of "config"
// leaves it, with the Metadata it applied.
func writeProgress(t *testing.T, path string, metadata string) {
	t.Helper()
	p := cfninit.Progress{Configs: []string{"config"}, Current: "config", Commands: []string{"a"},
		Changes: &cfninit.Changes{Commands: map[string]bool{"a": true}}}
	if metadata != "" {
		p.Metadata = json.RawMessage(metadata)
	}
	b, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// --resume after the reboot, as the scheduled task runs it: no stack, no credentials,
// no arguments but -v. It applies the Metadata the resume file kept (CloudFormation is
// not asked), runs what was left, and deletes the task, after a failure too.
func TestRunInitResumesFromTheKeptMetadata(t *testing.T) {
	dir := t.TempDir()
	mark := func(name string) string { return "echo x >> " + filepath.Join(dir, name) }
	md := `{"AWS::CloudFormation::Init": {"configSets": {"only": ["config"]}, "config": {"commands": {
		"a": {"command": "` + mark("a") + `"}, "b": {"command": "` + mark("b") + `"}}}}}`
	env, _, _ := testEnv(t)
	env.ResumeFile = filepath.Join(dir, "state/resume.json")
	env.AWS = func(context.Context, awsenv.Options) (*awsenv.Env, error) {
		t.Error("a resumed run read the Metadata from CloudFormation")
		return nil, os.ErrInvalid
	}
	calls := fakeWindows(t, `C:\Program Files\stackhand\stackhand.exe`, false)
	writeProgress(t, env.ResumeFile, md)

	opts, err := ParseInitArgs([]string{"-v", "--resume"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunInit(testCtx(t), opts, env)
	if err != nil {
		t.Fatalf("RunInit --resume: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
		t.Error("command a ran again after the reboot")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "b")); string(b) != "x\n" || !slices.Equal(res.Configs, []string{"config"}) {
		t.Errorf("command b: %q, configs %v; want b run once and the config done", b, res.Configs)
	}
	if log := readLog(t, env.InitLog); !strings.Contains(log, "Read the Metadata from the resume file "+env.ResumeFile) {
		t.Errorf("cfn-init.log does not say where the Metadata came from:\n%s", log)
	}
	if _, err := os.Stat(env.ResumeFile); !os.IsNotExist(err) {
		t.Errorf("resume file after the resumed run: %v", err)
	}
	if len(*calls) != 1 || !slices.Equal((*calls)[0], resumeTaskDeleteArgs()) {
		t.Errorf("schtasks calls %q, want one /Delete", *calls)
	}

	// Nothing to resume (the task ran at a boot with no run stopped): deleted too.
	if _, err := RunInit(testCtx(t), opts, env); err != nil {
		t.Errorf("nothing to resume: %v", err)
	}
	// A resumed run that fails: the task goes as well, or it would fail at every boot.
	writeProgress(t, env.ResumeFile, strings.Replace(md, mark("b"), "exit 3", 1))
	if _, err := RunInit(testCtx(t), opts, env); err == nil || !strings.Contains(err.Error(), "3") {
		t.Errorf("failing resumed command: err %v", err)
	}
	if len(*calls) != 3 || !slices.Equal((*calls)[2], resumeTaskDeleteArgs()) {
		t.Errorf("schtasks calls %q, want a /Delete after each resumed run", *calls)
	}

	// A resume file without Metadata (and no source given): a clear error.
	writeProgress(t, env.ResumeFile, "")
	if _, err := RunInit(testCtx(t), opts, env); err == nil || !strings.Contains(err.Error(), "keeps no Metadata") {
		t.Errorf("no kept metadata: err %v", err)
	}
}
