//go:build unix

package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The cfn-init end-to-end tests run the binary as a template's UserData does, in a private
// mount namespace: /etc and /var are overlays whose changes land in the test's directory
// (so useradd and groupadd write copies of passwd, group and shadow), /var/log is the
// test's own directory (cfn-init.log, cfn-init-cmd.log), /opt is the test's (the config's
// files, sources and commands write under /opt/stk; /opt/aws/bin/cfn-init is a link to the
// binary), /run is a tmpfs holding /run/systemd/system so systemd is "running", and PATH
// starts with recording stand-ins of the package managers and systemctl.

// Secrets the metadata carries in AWS::CloudFormation::Authentication: neither may appear
// in any log or output.
const (
	basicPassword = "basic-pw-Zq81xx"
	s3Secret      = "s3-secret-Kx93yy"
	inlinePW      = "inline-pw-Tt55zz"
)

// recTool records each call as one line, the program's name and its arguments separated
// by tabs (DEBIAN_FRONTEND's value appended when set), then answers from $REC_RULES: lines
// "glob|exit code|output" matched against "tool arg arg..." in order (output through
// printf %b). Only shell builtins: it runs with any PATH.
const recTool = `#!/bin/sh
tool=${0##*/}
{
  printf '%s' "$tool"
  for a in "$@"; do printf '\t%s' "$a"; done
  [ -n "$DEBIAN_FRONTEND" ] && printf '\tDEBIAN_FRONTEND=%s' "$DEBIAN_FRONTEND"
  printf '\n'
} >> "$REC_LOG"
line="$tool $*"
[ -f "$REC_RULES" ] || exit 0
while IFS='|' read -r pat code out; do
  case "$line" in
    $pat) [ -n "$out" ] && printf '%b\n' "$out"; exit "$code";;
  esac
done < "$REC_RULES"
exit 0
`

var recTools = []string{"apt-get", "dpkg-query", "yum", "rpm", "pip3", "gem", "systemctl", "service"}

type cfnSandbox struct {
	t       *testing.T
	unshare string
	dir     string
	upper   string // upper/etc, upper/var: the overlays' changes
	log     string // /var/log inside
	opt     string // /opt inside
	bin     string // the recording tools
	calls   string
	rules   string
}

func newCfnSandbox(t *testing.T) *cfnSandbox {
	t.Helper()
	unshare := needNamespace(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &cfnSandbox{t: t, unshare: unshare, dir: dir, upper: filepath.Join(dir, "upper"), log: filepath.Join(dir, "log"),
		opt: filepath.Join(dir, "opt"), bin: filepath.Join(dir, "rec"), calls: filepath.Join(dir, "calls"), rules: filepath.Join(dir, "rules")}
	for _, d := range []string{"upper/etc", "upper/etc.work", "upper/var", "upper/var.work", "log", "opt/aws/bin", "rec", "upper/etc/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// stackhand's unit is installed: a cfn-hup service entry means stackhand.
	writeFile(t, filepath.Join(s.upper, "etc/systemd/system/stackhand.service"), "[Service]\n", 0o644)
	if err := os.Symlink(binPath, filepath.Join(s.opt, "aws/bin/cfn-init")); err != nil {
		t.Fatal(err)
	}
	for _, tool := range recTools {
		writeFile(t, filepath.Join(s.bin, tool), recTool, 0o755)
	}
	// The real account files must come out of every test byte for byte.
	real := map[string][]byte{}
	for _, f := range []string{"/etc/passwd", "/etc/group", "/etc/shadow"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		real[f] = b
	}
	t.Cleanup(func() {
		for f, want := range real {
			if got, _ := os.ReadFile(f); !bytes.Equal(got, want) {
				t.Errorf("the real %s changed", f)
			}
		}
	})
	return s
}

func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// setRules replaces the stand-ins' answers, and clears their record.
func (s *cfnSandbox) setRules(rules ...string) {
	writeFile(s.t, s.rules, strings.Join(rules, "\n")+"\n", 0o644)
	os.Remove(s.calls)
}

// recorded returns the stand-ins' calls, one "tool\targ..." line each.
func (s *cfnSandbox) recorded() []string {
	b, _ := os.ReadFile(s.calls)
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// command is argv run inside the sandbox's namespace.
func (s *cfnSandbox) command(argv ...string) *exec.Cmd {
	overlay := func(d string) string {
		return fmt.Sprintf("mount -t overlay overlay -o lowerdir=/%s,upperdir=%q,workdir=%q /%s", d,
			filepath.Join(s.upper, d), filepath.Join(s.upper, d+".work"), d)
	}
	script := fmt.Sprintf(`set -e; %s; %s; mount --bind %q /var/log; mount --bind %q /opt; mount -t tmpfs -o mode=0755 tmpfs /run; mkdir -p /run/systemd/system; exec "$@"`,
		overlay("etc"), overlay("var"), s.log, s.opt)
	cmd := exec.Command(s.unshare, append([]string{"-m", "sh", "-c", script, "sh"}, argv...)...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DEBIAN_FRONTEND=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "PATH="+s.bin+":"+os.Getenv("PATH"), "REC_LOG="+s.calls, "REC_RULES="+s.rules)
	return cmd
}

// run runs argv in the sandbox and returns what it printed and its exit code.
func (s *cfnSandbox) run(argv ...string) (stdout, stderr string, code int) {
	s.t.Helper()
	cmd := s.command(argv...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// metadata writes the Metadata file (outside the namespace, read through /tmp).
func (s *cfnSandbox) metadata(name, doc string) string {
	p := filepath.Join(s.dir, name)
	writeFile(s.t, p, doc, 0o644)
	return p
}

func (s *cfnSandbox) readLog(name string) string {
	b, _ := os.ReadFile(filepath.Join(s.log, name))
	return string(b)
}

// at is a path inside the namespace's /opt/stk, seen from outside.
func (s *cfnSandbox) at(p string) string { return filepath.Join(s.opt, "stk", p) }

// etc returns the sandbox's copy of an /etc file (the overlay's upper copy once changed).
func (s *cfnSandbox) etc(name string) string {
	b, err := os.ReadFile(filepath.Join(s.upper, "etc", name))
	if err != nil {
		s.t.Fatalf("the sandbox's /etc/%s: %v", name, err)
	}
	return string(b)
}

// --- what the test HTTP server serves ---

type archiveEntry struct {
	name, body string
	dir        bool
}

func tarGz(t testing.TB, entries []archiveEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}
		if e.dir {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if !e.dir {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func zipOf(t testing.TB, entries []archiveEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.body))
	}
	zw.Close()
	return buf.Bytes()
}

// cfnServer serves sources and file templates; /private/ needs basic auth.
func cfnServer(t *testing.T) *httptest.Server {
	t.Helper()
	files := map[string][]byte{
		"/app.tar.gz":        tarGz(t, []archiveEntry{{name: "bin/", dir: true}, {name: "bin/run.sh", body: "echo run\n"}, {name: "README", body: "app v1\n"}}),
		"/private/site.zip":  zipOf(t, []archiveEntry{{name: "index.html", body: "<h1>site</h1>\n"}, {name: "css/site.css", body: "body{}\n"}}),
		"/private/conf.tmpl": []byte("hello {{name}}\n"),
		"/evil.tar.gz":       tarGz(t, []archiveEntry{{name: "ok.txt", body: "ok\n"}, {name: "../escaped.txt", body: "escaped\n"}}),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/private/") || r.URL.Path == "/forbidden.tar.gz" {
			if u, p, ok := r.BasicAuth(); !ok || u != "deploy" || p != basicPassword {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
		}
		if r.URL.Path == "/forbidden.tar.gz" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// authBlock is AWS::CloudFormation::Authentication with a basic entry for the server's
// /private/ and an S3 entry never used here (its secret must still never be printed).
func authBlock(srv string) string {
	return fmt.Sprintf(`"AWS::CloudFormation::Authentication": {
  "web": {"type": "basic", "username": "deploy", "password": %q, "uris": [%q]},
  "s3": {"type": "S3", "accessKeyId": "AKIASTACKHANDE2E", "secretKey": %q, "buckets": ["stk-bucket"]}
}`, basicPassword, srv+"/private/", s3Secret)
}

// fullInit is an Init block with every section, in three configs reached through a
// configSet reference.
func fullInit(srv string) string {
	return `{` + authBlock(srv) + `, "AWS::CloudFormation::Init": {
  "configSets": {"base": ["accounts"], "web": [{"ConfigSet": "base"}, "web"], "extra": ["extra"]},
  "accounts": {
    "groups": {"stkgrp": {"gid": "47111"}, "stkops": {}},
    "users": {"stkuser": {"uid": "47112", "groups": ["stkgrp", "stkops"], "homeDir": "/opt/stk/home"}}
  },
  "web": {
    "packages": {
      "rpm": {"stk-rpm": "` + srv + `/pkgs/stk-rpm.rpm"},
      "yum": {"stk-yum": ["1.2"]},
      "apt": {"stk-apt": []},
      "rubygems": {"stk-gem": ["3.1"]},
      "python": {"stk-py": "2.0"}
    },
    "sources": {
      "/opt/stk/app": "` + srv + `/app.tar.gz",
      "/opt/stk/site": "` + srv + `/private/site.zip"
    },
    "files": {
      "/opt/stk/etc/app.conf": {"content": "port={{port}}\n", "context": {"port": "8080"}, "mode": "000640", "owner": "stkuser", "group": "stkgrp"},
      "/opt/stk/etc/data.json": {"content": {"a": 1, "b": [true, "x"]}},
      "/opt/stk/etc/blob": {"content": "aGVsbG8gYmFzZTY0", "encoding": "base64"},
      "/opt/stk/etc/link": {"content": "/opt/stk/etc/app.conf", "mode": "120777"},
      "/opt/stk/etc/secret": {"content": "top secret\n", "mode": "000400", "owner": "root", "group": "root"},
      "/opt/stk/etc/greeting": {"source": "` + srv + `/private/conf.tmpl", "authentication": "web", "context": {"name": "world"}},
      "/opt/stk/cfn/cfn-hup.conf": {"content": "[main]\nstack=web-stack\n"}
    },
    "services": {"sysvinit": {
      "nginx": {"enabled": "true", "ensureRunning": "true", "files": ["/opt/stk/etc/app.conf"]},
      "web2": {"ensureRunning": true},
      "cfn-hup": {"enabled": true, "ensureRunning": true, "files": ["/opt/stk/cfn/cfn-hup.conf"]}
    }}
  },
  "extra": {
    "commands": {
      "01-first": {"command": "echo one >> /opt/stk/order; echo cmd-output-marker-42"},
      "02-env": {"command": ["sh", "-c", "echo \"$GREETING\" > /opt/stk/env.txt; pwd > /opt/stk/cwd.txt"], "env": {"GREETING": "hello env"}, "cwd": "/opt/stk/app"},
      "03-skipped": {"command": "touch /opt/stk/should-not-exist", "test": "false"},
      "04-tested": {"command": "echo four >> /opt/stk/order", "test": "test -f /opt/stk/order"},
      "05-ignored": {"command": "exit 7", "ignoreErrors": "true"},
      "10-last": {"command": "echo ten >> /opt/stk/order"}
    },
    "unknownKey": {"x": 1}
  }
}}`
}

// The stand-ins' answers on a machine that has none of the packages and runs no service.
var freshRules = []string{
	"rpm -qp *|0|stk-rpm-1.0-1",
	"rpm -q *|1|",
	"dpkg-query *|1|dpkg-query: no packages found matching stk-apt",
	"pip3 show *|1|WARNING: Package(s) not found: stk-py",
	"gem list *|1|false",
	"systemctl is-enabled cfn-hup|1|not-found",
	"systemctl is-enabled stackhand|0|enabled",
	"systemctl is-active --quiet stackhand|0|",
	"systemctl is-enabled web2|0|enabled",
	"systemctl is-enabled *|1|disabled",
	"systemctl is-active *|3|",
}

// ... and once everything is there.
var installedRules = []string{
	"rpm -qp *|0|stk-rpm-1.0-1",
	"rpm -q *|0|",
	"dpkg-query *|0|install ok installed\\t1.0-1",
	"pip3 show *|0|Name: stk-py\\nVersion: 2.0",
	"gem list *|0|true",
	"systemctl is-enabled cfn-hup|1|not-found",
	"systemctl is-enabled *|0|enabled",
	"systemctl is-active *|0|",
}

func checkNoSecrets(t *testing.T, s *cfnSandbox, outputs ...string) {
	t.Helper()
	all := append([]string{s.readLog("cfn-init.log"), s.readLog("cfn-init-cmd.log")}, outputs...)
	for _, secret := range []string{basicPassword, s3Secret, inlinePW} {
		for i, text := range all {
			if strings.Contains(text, secret) {
				t.Errorf("secret %q appears in output %d (0: cfn-init.log, 1: cfn-init-cmd.log, then stdout/stderr):\n%s", secret, i, text)
			}
		}
	}
}

func fileMode(t *testing.T, path string) (os.FileMode, int, int) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	return st.Mode(), int(sys.Uid), int(sys.Gid)
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCfnInitEverySectionThroughTheBinary(t *testing.T) {
	s := newCfnSandbox(t)
	srv := cfnServer(t)
	md := s.metadata("metadata.json", fullInit(srv.URL))
	s.setRules(freshRules...)

	out, errOut, code := s.run(binPath, "cfn-init", "-v", "--metadata", md, "-c", "web,extra")
	if code != 0 {
		t.Fatalf("cfn-init exit %d\nstdout:\n%s\nstderr:\n%s\nlog:\n%s", code, out, errOut, s.readLog("cfn-init.log"))
	}
	log := s.readLog("cfn-init.log")
	for _, want := range []string{"Starting build", "Build complete", "Running configSets: web, extra (configs: accounts, web, extra)",
		"extra.unknownKey", "created group stkgrp", "created user stkuser"} {
		if !strings.Contains(log, want) {
			t.Errorf("cfn-init.log lacks %q:\n%s", want, log)
		}
	}
	if cmdLog := s.readLog("cfn-init-cmd.log"); !strings.Contains(cmdLog, "cmd-output-marker-42") {
		t.Errorf("cfn-init-cmd.log lacks the command's output:\n%s", cmdLog)
	}
	checkNoSecrets(t, s, out, errOut)

	// Packages: one install per manager with the exact argv, after their queries.
	calls := s.recorded()
	for _, want := range []string{
		"rpm\t-qp\t--queryformat\t%{NAME}-%{VERSION}-%{RELEASE}\t--nosignature\t" + srv.URL + "/pkgs/stk-rpm.rpm",
		"rpm\t-U\t--quiet\t--nosignature\t--replacepkgs\t" + srv.URL + "/pkgs/stk-rpm.rpm",
		"rpm\t-q\t--quiet\tstk-yum-1.2",
		"yum\t-y\tinstall\tstk-yum-1.2",
		"dpkg-query\t-W\t-f\t${Status}\t${Version}\tstk-apt",
		"apt-get\t-q\t-y\tinstall\tstk-apt\tDEBIAN_FRONTEND=noninteractive",
		"gem\tlist\t-i\t^stk-gem$\t-v\t3.1",
		"gem\tinstall\t-b\t--no-document\tstk-gem\t-v\t= 3.1",
		"pip3\tshow\tstk-py",
		"pip3\tinstall\tstk-py==2.0",
		// nginx: enabled, and restarted because app.conf changed; web2 started;
		// cfn-hup, unknown to systemd, is stackhand's unit, reloaded.
		"systemctl\tenable\tnginx",
		"systemctl\trestart\tnginx",
		"systemctl\tstart\tweb2",
		"systemctl\treload\tstackhand",
	} {
		if !contains(calls, want) {
			t.Errorf("no call %q; calls:\n%s", want, strings.Join(calls, "\n"))
		}
	}
	// The managers in cfn-init's order: rpm, then apt and yum, then python and rubygems
	// (the model's order); services after every package.
	at := func(prefix string) int { return indexPrefix(calls, prefix) }
	if !(at("rpm\t-U") < at("apt-get") && at("rpm\t-U") < at("yum\t-y") &&
		max(at("apt-get"), at("yum\t-y")) < min(at("pip3\tinstall"), at("gem\tinstall")) &&
		max(at("pip3\tinstall"), at("gem\tinstall")) < at("systemctl")) {
		t.Errorf("the managers are not in cfn-init's order:\n%s", strings.Join(calls, "\n"))
	}
	for _, c := range calls {
		if strings.HasPrefix(c, "systemctl\tstart\tstackhand") || strings.HasPrefix(c, "systemctl\trestart\tstackhand") || strings.Contains(c, "\tcfn-hup") && !strings.HasPrefix(c, "systemctl\tis-enabled") {
			t.Errorf("stackhand's own service handled as %q", c)
		}
	}

	// Groups and users, in the sandbox's /etc.
	group, passwd := s.etc("group"), s.etc("passwd")
	if !strings.Contains(group, "\nstkgrp:x:47111:stkuser\n") || !strings.Contains(group, "stkops:x:") {
		t.Errorf("the sandbox's /etc/group:\n%s", group)
	}
	if !hasLinePrefix(passwd, "stkuser:x:47112:") || !strings.Contains(passwd, ":/opt/stk/home:/sbin/nologin\n") {
		t.Errorf("the sandbox's /etc/passwd:\n%s", passwd)
	}
	if !strings.Contains(s.etc("shadow"), "stkuser:") {
		t.Error("the sandbox's /etc/shadow has no stkuser")
	}

	// Sources.
	for p, want := range map[string]string{"app/README": "app v1\n", "app/bin/run.sh": "echo run\n", "site/index.html": "<h1>site</h1>\n", "site/css/site.css": "body{}\n"} {
		if got := readString(t, s.at(p)); got != want {
			t.Errorf("%s: %q, want %q", p, got, want)
		}
	}
	// Files.
	if got := readString(t, s.at("etc/app.conf")); got != "port=8080\n" {
		t.Errorf("app.conf %q", got)
	}
	if m, uid, gid := fileMode(t, s.at("etc/app.conf")); m.Perm() != 0o640 || uid != 47112 || gid != 47111 {
		t.Errorf("app.conf mode %v owner %d:%d, want 0640 47112:47111", m, uid, gid)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(readString(t, s.at("etc/data.json"))), &doc); err != nil || fmt.Sprint(doc) != "map[a:1 b:[true x]]" {
		t.Errorf("data.json: %v %v", doc, err)
	}
	if got := readString(t, s.at("etc/blob")); got != "hello base64" {
		t.Errorf("blob %q", got)
	}
	if target, err := os.Readlink(s.at("etc/link")); err != nil || target != "/opt/stk/etc/app.conf" {
		t.Errorf("link: %q %v", target, err)
	}
	if m, uid, gid := fileMode(t, s.at("etc/secret")); m.Perm() != 0o400 || uid != 0 || gid != 0 {
		t.Errorf("secret mode %v owner %d:%d, want 0400 root:root", m, uid, gid)
	}
	if got := readString(t, s.at("etc/greeting")); got != "hello world\n" {
		t.Errorf("greeting (a source with basic auth and context) %q", got)
	}
	// Commands: in name order, test honoured, env and cwd given, an ignored failure.
	if got := readString(t, s.at("order")); got != "one\nfour\nten\n" {
		t.Errorf("commands ran as %q, want one four ten", got)
	}
	if got := readString(t, s.at("env.txt")) + readString(t, s.at("cwd.txt")); got != "hello env\n/opt/stk/app\n" {
		t.Errorf("env and cwd: %q", got)
	}
	if _, err := os.Stat(s.at("should-not-exist")); err == nil {
		t.Error("a command whose test failed ran")
	}
	if !strings.Contains(log, "command 05-ignored failed with exit code 7; ignoreErrors is set") {
		t.Errorf("the ignored failure is not logged:\n%s", log)
	}

	// The re-run, as templates call it (/opt/aws/bin/cfn-init: argv[0] dispatch), on a
	// machine that now has everything: nothing installed, created or written again.
	passwdBefore, logBefore := passwd, len(log)
	s.setRules(installedRules...)
	out, errOut, code = s.run("/opt/aws/bin/cfn-init", "--metadata", md, "-c", "web,extra")
	if code != 0 {
		t.Fatalf("the re-run: exit %d\n%s%s\n%s", code, out, errOut, s.readLog("cfn-init.log"))
	}
	again := s.readLog("cfn-init.log")[logBefore:]
	for _, unwanted := range []string{"created", "updated user", "wrote file", "installed stk", "restarted", "started"} {
		if strings.Contains(again, unwanted) {
			t.Errorf("the re-run's log says %q:\n%s", unwanted, again)
		}
	}
	if !strings.Contains(again, "Build complete") {
		t.Errorf("the re-run's log:\n%s", again)
	}
	for _, c := range s.recorded() {
		if !(strings.HasPrefix(c, "rpm\t-q") || strings.HasPrefix(c, "dpkg-query") || strings.HasPrefix(c, "pip3\tshow") ||
			strings.HasPrefix(c, "gem\tlist") || strings.HasPrefix(c, "systemctl\tis-")) {
			t.Errorf("the re-run called %q; it should only have asked", c)
		}
	}
	if s.etc("passwd") != passwdBefore {
		t.Error("the re-run changed the sandbox's /etc/passwd")
	}
	checkNoSecrets(t, s, out, errOut)
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func indexPrefix(lines []string, prefix string) int {
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return i
		}
	}
	return -1
}

func hasLinePrefix(text, prefix string) bool {
	return strings.HasPrefix(text, prefix) || strings.Contains(text, "\n"+prefix)
}

// TestCfnInitBadInputThroughTheBinary runs the list of bad inputs: each is
// refused (or warned about) with a message that says what and where, and loses nothing.
func TestCfnInitBadInputThroughTheBinary(t *testing.T) {
	s := newCfnSandbox(t)
	srv := cfnServer(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	init := func(config string) string {
		return `{"AWS::CloudFormation::Init": {"config": ` + config + `}}`
	}
	cases := []struct {
		name, doc string
		args      []string
		code      int
		want      []string // in stderr
		check     func(t *testing.T)
	}{
		{name: "not JSON", doc: `{"AWS::CloudFormation::Init": {`, code: 1, want: []string{"bad-0.json: metadata is not valid JSON: line 1"}},
		{name: "no Init key", doc: `{"release": "v1"}`, code: 1, want: []string{"metadata has no AWS::CloudFormation::Init key (its keys: release)"}},
		{name: "configSet cycle", doc: `{"AWS::CloudFormation::Init": {"configSets": {"a": [{"ConfigSet": "b"}], "b": [{"ConfigSet": "a"}]}}}`,
			args: []string{"-c", "a"}, code: 1, want: []string{"cycle: a -> b -> a"}},
		{name: "unknown set", doc: `{"AWS::CloudFormation::Init": {"configSets": {"a": [], "b": []}}}`,
			args: []string{"-c", "nope"}, code: 1, want: []string{`no configSet "nope"`, "(configSets: a, b)"}},
		{name: "unknown key warns and the run goes on", doc: init(`{"files": {"/opt/stk/warned": {"content": "x"}}, "filez": {}}`), code: 0,
			check: func(t *testing.T) {
				if !strings.Contains(s.readLog("cfn-init.log"), "config.filez") {
					t.Errorf("no warning naming config.filez:\n%s", s.readLog("cfn-init.log"))
				}
				if _, err := os.Stat(s.at("warned")); err != nil {
					t.Errorf("the run did not go on: %v", err)
				}
			}},
		{name: "mode not six octal digits", doc: init(`{"files": {"/opt/stk/m": {"content": "x", "mode": "000948"}}}`), code: 1,
			want: []string{"/opt/stk/m", "000948", "octal"}},
		{name: "content and source", doc: init(`{"files": {"/opt/stk/cs": {"content": "x", "source": "` + srv.URL + `/app.tar.gz"}}}`), code: 1,
			want: []string{"/opt/stk/cs", "content", "source"}},
		{name: "source 404", doc: init(`{"sources": {"/opt/stk/s404": "` + srv.URL + `/missing.tar.gz"}}`), code: 1,
			want: []string{"source /opt/stk/s404", srv.URL + "/missing.tar.gz: 404 Not Found"}},
		{name: "source 403, credentials in the URL", doc: init(`{"sources": {"/opt/stk/s403": "http://deploy:` + inlinePW + `@` + host + `/forbidden.tar.gz"}}`), code: 1,
			want: []string{"source /opt/stk/s403", host + "/forbidden.tar.gz: 403 Forbidden"}},
		{name: "archive with ../", doc: init(`{"sources": {"/opt/stk/evil": "` + srv.URL + `/evil.tar.gz"}}`), code: 1,
			want: []string{"unpack into /opt/stk/evil (nothing written)", `"../escaped.txt": refused`},
			check: func(t *testing.T) {
				if _, err := os.Lstat(s.at("escaped.txt")); err == nil {
					t.Error("an archive entry was written outside its target")
				}
			}},
		{name: "user with another uid", doc: init(`{"users": {"root": {"uid": "4242"}}}`), code: 1,
			want: []string{"users.root", "uid 0", "4242"},
			check: func(t *testing.T) {
				if _, err := os.Stat(filepath.Join(s.upper, "etc/passwd")); err == nil && !hasLinePrefix(s.etc("passwd"), "root:x:0:0:") {
					t.Error("root's uid changed in the sandbox")
				}
			}},
		{name: "service unknown to systemd", doc: init(`{"services": {"sysvinit": {"ghost": {"ensureRunning": true}}}}`), code: 1,
			want: []string{"services.sysvinit.ghost", "systemd", "ghost"}},
		{name: "failing command", doc: init(`{"commands": {"a-fails": {"command": "echo tail-one; echo tail-two >&2; exit 3"}, "b-after": {"command": "touch /opt/stk/after"}}}`), code: 1,
			want: []string{"command a-fails: failed with exit code 3", "tail-one\ntail-two"},
			check: func(t *testing.T) {
				if _, err := os.Stat(s.at("after")); err == nil {
					t.Error("the command after the failing one ran")
				}
			}},
	}
	s.setRules("systemctl is-enabled ghost|1|not-found")
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			md := s.metadata(fmt.Sprintf("bad-%d.json", i), c.doc)
			logged := len(s.readLog("cfn-init.log"))
			out, errOut, code := s.run(append([]string{binPath, "cfn-init", "--metadata", md}, c.args...)...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if c.code != 0 && c.name != "unknown set" && !strings.Contains(s.readLog("cfn-init.log")[logged:], "Error occurred during build: ") {
				t.Errorf("cfn-init.log does not record the failure:\n%s", s.readLog("cfn-init.log"))
			}
			if c.check != nil {
				c.check(t)
			}
			checkNoSecrets(t, s, out, errOut)
		})
	}
}

// TestCfnInitKilledHalfWayConverges kills the binary while a command sleeps (after the
// groups, users, sources and files of its config are done), runs it again, and compares
// the result with a clean run's in another sandbox: the same tree, owners and modes, and
// the same accounts.
func TestCfnInitKilledHalfWayConverges(t *testing.T) {
	srv := cfnServer(t)
	doc := `{"AWS::CloudFormation::Init": {"config": {
  "groups": {"killgrp": {"gid": "47211"}},
  "users": {"killuser": {"uid": "47212", "groups": ["killgrp"]}},
  "sources": {"/opt/stk/app": "` + srv.URL + `/app.tar.gz"},
  "files": {
    "/opt/stk/etc/a.conf": {"content": "a\n", "mode": "000640", "owner": "killuser", "group": "killgrp"},
    "/opt/stk/etc/l": {"content": "/opt/stk/etc/a.conf", "mode": "120777"}
  },
  "commands": {
    "01-sleep": {"command": "if [ -f /opt/ctrl/sleep ]; then rm /opt/ctrl/sleep; echo $$ > /opt/ctrl/pid.tmp; mv /opt/ctrl/pid.tmp /opt/ctrl/pid; exec sleep 60; fi"},
    "02-after": {"command": "echo after >> /opt/stk/after"}
  }
}}}`
	clean, killed := newCfnSandbox(t), newCfnSandbox(t)
	for _, s := range []*cfnSandbox{clean, killed} {
		if err := os.MkdirAll(filepath.Join(s.opt, "ctrl"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, errOut, code := clean.run(binPath, "cfn-init", "--metadata", clean.metadata("m.json", doc)); code != 0 {
		t.Fatalf("the clean run: exit %d\n%s%s", code, out, errOut)
	}

	writeFile(t, filepath.Join(killed.opt, "ctrl/sleep"), "", 0o644)
	md := killed.metadata("m.json", doc)
	cmd := killed.command(binPath, "cfn-init", "--metadata", md)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(killed.opt, "ctrl/pid")
	deadline := time.Now().Add(waitLimit)
	for {
		if _, err := os.Stat(pidFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the command never started sleeping\n%s\n%s", out.String(), killed.readLog("cfn-init.log"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	// The command ran in its own process group, which outlives a SIGKILLed parent.
	if sleeper := readPID(t, pidFile); sleeper > 0 {
		syscall.Kill(sleeper, syscall.SIGKILL)
	}
	if _, err := os.Stat(killed.at("after")); err == nil {
		t.Fatal("the command after the sleeping one ran before the kill")
	}
	if _, err := os.Stat(killed.at("etc/a.conf")); err != nil {
		t.Fatalf("the kill was not half-way: the files were not written yet (%v)", err)
	}
	if o, errOut, code := killed.run(binPath, "cfn-init", "--metadata", md); code != 0 {
		t.Fatalf("the re-run: exit %d\n%s%s\n%s", code, o, errOut, killed.readLog("cfn-init.log"))
	}

	if got, want := treeState(t, killed.at("")), treeState(t, clean.at("")); got != want {
		t.Errorf("after a kill and a re-run:\n%s\nafter a clean run:\n%s", got, want)
	}
	for _, f := range []string{"passwd", "group"} {
		if got, want := accountLines(killed.etc(f)), accountLines(clean.etc(f)); got != want || got == "" {
			t.Errorf("/etc/%s after a kill and a re-run: %q; after a clean run: %q", f, got, want)
		}
	}
}

// treeState lists every entry under root: path, type and mode, owner, and content or link
// target.
func treeState(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		st := info.Sys().(*syscall.Stat_t)
		line := fmt.Sprintf("%s %v %d:%d", rel, info.Mode(), st.Uid, st.Gid)
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case info.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			line += fmt.Sprintf(" %q", b)
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// accountLines are the kill test's account lines of an /etc file.
func accountLines(text string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "killuser:") || strings.HasPrefix(l, "killgrp:") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
