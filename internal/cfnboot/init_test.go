package cfnboot

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stackhand/stackhand/internal/testenv/awsfake"
	"github.com/stackhand/stackhand/internal/trust"
)

// emptyInit has one configSet with no config: it runs to the end whatever the sections
// do, so these tests are about reading, resolving and logging.
const emptyInit = `{"AWS::CloudFormation::Init": {"configSets": {"default": [], "other": []}, "config": {}}}`

var cfnLine = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[(INFO|WARNING|ERROR|DEBUG)\] `)

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunInitFromStack(t *testing.T) {
	srv := awsfake.Start(t)
	srv.PutResource("app", awsfake.Resource{LogicalID: "Web", Metadata: emptyInit})
	env, _, _ := testEnv(t)
	opts, err := ParseInitArgs(append([]string{"-s", "app", "-r", "Web", "-c", "other"}, awsArgs(srv.URL)...))
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunInit(testCtx(t), opts, env)
	if err != nil {
		t.Fatalf("RunInit: %v", err)
	}
	if res == nil || len(res.Configs) != 0 {
		t.Errorf("result %+v, want no config run", res)
	}
	if n := srv.Calls("cloudformation", "DescribeStackResource"); n != 1 {
		t.Errorf("%d DescribeStackResource calls, want 1", n)
	}
	for _, c := range srv.CallLog() {
		if c.Params.Get("StackName") != "app" || c.Params.Get("LogicalResourceId") != "Web" {
			t.Errorf("call %s %v", c.Action, c.Params)
		}
	}
	log := readLog(t, env.InitLog)
	for _, want := range []string{"Read the Metadata from resource Web of stack app", "Running configSets: other", "Build complete"} {
		if !strings.Contains(log, want) {
			t.Errorf("cfn-init.log lacks %q:\n%s", want, log)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if !cfnLine.MatchString(line) {
			t.Errorf("line %q is not in cfn-init's format", line)
		}
	}
	if strings.Contains(log, "secretTEST") {
		t.Errorf("the secret key reached cfn-init.log")
	}
}

// A config that exists reaches the runner: what it does is the sections' business.
func TestRunInitReachesTheRunner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "init.json")
	os.WriteFile(path, []byte(`{"AWS::CloudFormation::Init": {"config": {}}}`), 0o600)
	env, _, _ := testEnv(t)
	opts, _ := ParseInitArgs([]string{"--metadata", path})
	RunInit(testCtx(t), opts, env)
	log := readLog(t, env.InitLog)
	if !strings.Contains(log, "Running configSets: default (configs: config)") || !strings.Contains(log, "running config config") {
		t.Errorf("cfn-init.log:\n%s", log)
	}
}

func TestRunInitFromFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "init.json")
	if err := os.WriteFile(path, []byte(emptyInit), 0o600); err != nil {
		t.Fatal(err)
	}
	env, _, _ := testEnv(t)
	opts, err := ParseInitArgs([]string{"--metadata", path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RunInit(testCtx(t), opts, env); err != nil {
		t.Fatalf("RunInit: %v", err)
	}
	if log := readLog(t, env.InitLog); !strings.Contains(log, "Read the Metadata from "+path) {
		t.Errorf("cfn-init.log:\n%s", log)
	}

	// From stdin, as cfn-init's "-".
	env.Stdin = strings.NewReader(emptyInit)
	opts, _ = ParseInitArgs([]string{"-"})
	if _, err := RunInit(testCtx(t), opts, env); err != nil {
		t.Fatalf("RunInit from stdin: %v", err)
	}

	errs := []struct{ meta, sets, want string }{
		{emptyInit, "nope", `no configSet "nope" in AWS::CloudFormation::Init (configSets: default, other)`},
		{`{"a": 1}`, "", "AWS::CloudFormation::Init"},
		{`not json`, "", "JSON"},
	}
	for _, tc := range errs {
		os.WriteFile(path, []byte(tc.meta), 0o600)
		args := []string{"--metadata", path}
		if tc.sets != "" {
			args = append(args, "-c", tc.sets)
		}
		opts, _ := ParseInitArgs(args)
		_, err := RunInit(testCtx(t), opts, env)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s -c %q: err %v, want it to name %s and say %q", tc.meta, tc.sets, err, path, tc.want)
		}
		if log := readLog(t, env.InitLog); !strings.Contains(log, "BUILD FAILED") || !strings.Contains(log, tc.want) {
			t.Errorf("cfn-init.log does not record the failure %q", tc.want)
		}
	}
	opts, _ = ParseInitArgs([]string{"--metadata", filepath.Join(dir, "missing.json")})
	if _, err := RunInit(testCtx(t), opts, env); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: err %v", err)
	}
}

func TestInitLogFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "init.json")
	os.WriteFile(path, []byte(emptyInit), 0o600)
	env, _, errOut := testEnv(t)
	// An older log, left readable by all (aws-cfn-bootstrap's mode), is appended to and
	// closed to others.
	os.WriteFile(env.InitLog, []byte("old line\n"), 0o644)
	os.Chmod(env.InitLog, 0o644)
	opts, _ := ParseInitArgs([]string{"--metadata", path, "-v"})
	if _, err := RunInit(testCtx(t), opts, env); err != nil {
		t.Fatal(err)
	}
	log := readLog(t, env.InitLog)
	if !strings.HasPrefix(log, "old line\n") || !strings.Contains(log, "Build complete") {
		t.Errorf("cfn-init.log was not appended to:\n%s", log)
	}
	for _, p := range []string{env.InitLog, env.CmdLog} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600 (it may hold command output)", p, fi.Mode().Perm())
		}
	}
	// -v copies the log to stderr.
	if !strings.Contains(errOut.String(), "[INFO] Read the Metadata from") {
		t.Errorf("stderr with -v:\n%s", errOut)
	}
}

func TestInitLogUntrusted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "open")
	os.Mkdir(dir, 0o777)
	os.Chmod(dir, 0o777) // anyone may replace the log there
	env, _, _ := testEnv(t)
	env.InitLog = filepath.Join(dir, "cfn-init.log")
	opts, _ := ParseInitArgs([]string{"--metadata", "/nonexistent"})
	_, err := RunInit(testCtx(t), opts, env)
	if !errors.Is(err, trust.ErrUntrusted) {
		t.Fatalf("err %v, want the log directory refused", err)
	}
	if _, err := os.Lstat(env.InitLog); err == nil {
		t.Errorf("the log was created in the untrusted directory")
	}

	// A symlink planted where the log goes is not followed.
	env, _, _ = testEnv(t)
	target := filepath.Join(t.TempDir(), "elsewhere")
	os.Symlink(target, env.InitLog)
	if _, err := RunInit(testCtx(t), opts, env); err == nil {
		t.Errorf("a symlinked log was opened")
	}
	if _, err := os.Lstat(target); err == nil {
		t.Errorf("the symlink's target was written")
	}
}

// A log that cannot be opened (no such directory) falls back to stderr, as cfn-init does.
func TestInitLogFallsBackToStderr(t *testing.T) {
	path := filepath.Join(t.TempDir(), "init.json")
	os.WriteFile(path, []byte(emptyInit), 0o600)
	env, _, errOut := testEnv(t)
	env.InitLog = filepath.Join(t.TempDir(), "no", "such", "cfn-init.log")
	opts, _ := ParseInitArgs([]string{"--metadata", path})
	if _, err := RunInit(testCtx(t), opts, env); err != nil {
		t.Fatal(err)
	}
	if s := errOut.String(); !strings.Contains(s, "Using stderr instead") || !strings.Contains(s, "[INFO] Read the Metadata") {
		t.Errorf("stderr:\n%s", s)
	}
}

// The whole path: the Init block read from the stand-in is applied — a file written, a
// command run with its output in cfn-init-cmd.log.
func TestRunInitAppliesFromStack(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "app.conf")
	meta := `{"AWS::CloudFormation::Init": {"config": {
	  "files": {"` + target + `": {"content": "release v1\n", "mode": "000600"}},
	  "commands": {"10-hello": {"command": ["echo", "hello from a command"]}}}}}`
	srv := awsfake.Start(t)
	srv.PutResource("app", awsfake.Resource{LogicalID: "Web", Metadata: meta})
	env, _, _ := testEnv(t)
	opts, _ := ParseInitArgs(append([]string{"-s", "app", "-r", "Web"}, awsArgs(srv.URL)...))
	res, err := RunInit(testCtx(t), opts, env)
	if err != nil {
		t.Fatalf("RunInit: %v\ncfn-init.log:\n%s", err, readLog(t, env.InitLog))
	}
	if len(res.Configs) != 1 || res.Configs[0] != "config" {
		t.Errorf("configs %v, want [config]", res.Configs)
	}
	b, err := os.ReadFile(target)
	if err != nil || string(b) != "release v1\n" {
		t.Errorf("%s: %q, %v", target, b, err)
	}
	cmdLog := readLog(t, env.CmdLog)
	if !regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} P\d+ \[INFO\] .*hello from a command`).MatchString(cmdLog) {
		t.Errorf("cfn-init-cmd.log lacks the command's output in cfn-init's format:\n%s", cmdLog)
	}

	// The metadata changes on the stack: a second run writes the new content.
	srv.SetMetadata("app", "Web", strings.Replace(meta, "release v1", "release v2", 1))
	if _, err := RunInit(testCtx(t), opts, env); err != nil {
		t.Fatalf("second RunInit: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "release v2\n" {
		t.Errorf("after the metadata changed: %q, want release v2", b)
	}
}

// --http-proxy carries files' downloads too, as cfn-init's proxies do.
func TestRunInitFetchesThroughTheProxy(t *testing.T) {
	var asked []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.String())
		w.Write([]byte("from the proxy\n"))
	}))
	defer proxy.Close()
	dir := t.TempDir()
	target := filepath.Join(dir, "app.conf")
	meta := filepath.Join(dir, "init.json")
	os.WriteFile(meta, []byte(`{"AWS::CloudFormation::Init": {"config": {"files": {"`+target+`": {"source": "http://downloads.example.invalid/app.conf"}}}}}`), 0o600)
	env, _, _ := testEnv(t)
	opts, err := ParseInitArgs([]string{"--metadata", meta, "--http-proxy", strings.TrimPrefix(proxy.URL, "http://")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RunInit(testCtx(t), opts, env); err != nil {
		t.Fatalf("RunInit: %v", err)
	}
	if len(asked) != 1 || asked[0] != "http://downloads.example.invalid/app.conf" {
		t.Errorf("the proxy was asked %q, want the file's URL once", asked)
	}
	if b, _ := os.ReadFile(target); string(b) != "from the proxy\n" {
		t.Errorf("%s: %q", target, b)
	}
}
