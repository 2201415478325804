package cfninit

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func mustParse(t *testing.T, doc string) *Init {
	t.Helper()
	in, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return in
}

func show(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// A Linux web server's block with every section, the shape of AWS's own sample
// templates (LAMP, WordPress), plus the cfn-auto-reloader pair of files.
const linuxBlock = `{
  "AWS::CloudFormation::Init": {
    "config": {
      "packages": {
        "python": {"awscli": []},
        "rubygems": {"chef": ["0.10.2"]},
        "yum": {"php": [], "httpd": "2.4.6", "mysql": ["8.0", "", "8.1"]},
        "rpm": {"epel": "http://download.fedoraproject.org/pub/epel/epel-release-latest-7.noarch.rpm"},
        "apt": {"nginx": ""}
      },
      "groups": {"groupTwo": {"gid": "45"}, "groupOne": {}},
      "users": {"myUser": {"groups": ["groupOne", "groupTwo"], "uid": 50, "homeDir": "/tmp"}},
      "sources": {"/etc/puppet": "https://github.com/user1/cfn-demo/tarball/master"},
      "files": {
        "/etc/cfn/cfn-hup.conf": {
          "content": "[main]\nstack=arn:aws:cloudformation:us-east-1:123456789012:stack/s/1\nregion=us-east-1\n",
          "mode": "000400", "owner": "root", "group": "root"
        },
        "/etc/cfn/hooks.d/cfn-auto-reloader.conf": {
          "content": "[cfn-auto-reloader-hook]\ntriggers=post.update\npath=Resources.WebServer.Metadata.AWS::CloudFormation::Init\naction=/opt/aws/bin/cfn-init -v --stack s --resource WebServer --region us-east-1\nrunas=root\n",
          "mode": "000400", "owner": "root", "group": "root"
        },
        "/etc/app.json": {"content": {"b": 1, "a": [1.0, "\u00e9", null, true]}, "mode": "000644"},
        "/var/www/html/index.html": {"source": "https://s3.amazonaws.com/my-bucket/index.html", "mode": "000644", "owner": "apache", "group": "apache"},
        "/tmp/test9.txt": {"content": "Content for {{name}}", "context": {"name": "test9", "port": 80}},
        "/tmp/myfile2.txt": {"content": "/tmp/myfile1.txt", "mode": "120644"},
        "/usr/local/bin/run": {"content": "IyEvYmluL3NoCg==", "encoding": "base64", "mode": 100755}
      },
      "commands": {
        "2_restart": {"command": ["systemctl", "restart", "httpd"], "ignoreErrors": "True"},
        "10_setup": {"command": "echo \"$MAGIC\" > test.txt", "env": {"MAGIC": "I come from the environment!", "N": 5}, "cwd": "~", "test": "test ! -e ~/test.txt", "ignoreErrors": "false"}
      },
      "services": {
        "sysvinit": {
          "httpd": {"enabled": "true", "ensureRunning": true, "files": ["/etc/httpd/conf/httpd.conf"], "packages": {"yum": ["httpd"]}, "sources": ["/etc/puppet"], "commands": ["2_restart"]},
          "cfn-hup": {"enabled": "true", "ensureRunning": "true", "files": ["/etc/cfn/cfn-hup.conf", "/etc/cfn/hooks.d/cfn-auto-reloader.conf"]}
        }
      }
    }
  }
}`

func TestParseLinuxBlock(t *testing.T) {
	in := mustParse(t, linuxBlock)
	if len(in.Warnings) != 0 {
		t.Errorf("warnings: %q", in.Warnings)
	}
	if want := map[string][]SetItem{"default": {{Config: "config"}}}; !reflect.DeepEqual(in.ConfigSets, want) {
		t.Errorf("ConfigSets = %v, want %v", in.ConfigSets, want)
	}
	c := in.Configs["config"]
	want := &Config{
		Name: "config",
		// cfn-init's order: msi, rpm, apt, yum, then python, rubygems by name.
		Packages: []PackageSet{
			{Manager: "rpm", Packages: []Package{{Name: "epel", Versions: []string{"http://download.fedoraproject.org/pub/epel/epel-release-latest-7.noarch.rpm"}}}},
			{Manager: "apt", Packages: []Package{{Name: "nginx"}}},
			{Manager: "yum", Packages: []Package{{Name: "httpd", Versions: []string{"2.4.6"}}, {Name: "mysql", Versions: []string{"8.0", "8.1"}}, {Name: "php"}}},
			{Manager: "python", Packages: []Package{{Name: "awscli"}}},
			{Manager: "rubygems", Packages: []Package{{Name: "chef", Versions: []string{"0.10.2"}}}},
		},
		Groups:  []Group{{Name: "groupOne"}, {Name: "groupTwo", GID: ptr(45)}},
		Users:   []User{{Name: "myUser", UID: ptr(50), Groups: []string{"groupOne", "groupTwo"}, HomeDir: "/tmp"}},
		Sources: []Source{{Target: "/etc/puppet", URL: "https://github.com/user1/cfn-demo/tarball/master"}},
		Files: []File{
			{Path: "/etc/app.json", Content: ptr(`{"b": 1, "a": [1.0, "\u00e9", null, true]}`), ContentIsJSON: true, Encoding: "plain", Mode: "000644"},
			{Path: "/etc/cfn/cfn-hup.conf", Content: ptr("[main]\nstack=arn:aws:cloudformation:us-east-1:123456789012:stack/s/1\nregion=us-east-1\n"), Encoding: "plain", Mode: "000400", Owner: "root", Group: "root"},
			{Path: "/etc/cfn/hooks.d/cfn-auto-reloader.conf", Content: ptr("[cfn-auto-reloader-hook]\ntriggers=post.update\npath=Resources.WebServer.Metadata.AWS::CloudFormation::Init\naction=/opt/aws/bin/cfn-init -v --stack s --resource WebServer --region us-east-1\nrunas=root\n"), Encoding: "plain", Mode: "000400", Owner: "root", Group: "root"},
			{Path: "/tmp/myfile2.txt", Content: ptr("/tmp/myfile1.txt"), Encoding: "plain", Mode: "120644"},
			{Path: "/tmp/test9.txt", Content: ptr("Content for {{name}}"), Encoding: "plain", Context: map[string]any{"name": "test9", "port": json.Number("80")}},
			{Path: "/usr/local/bin/run", Content: ptr("IyEvYmluL3NoCg=="), Encoding: "base64", Mode: "100755"},
			{Path: "/var/www/html/index.html", Source: "https://s3.amazonaws.com/my-bucket/index.html", Encoding: "plain", Mode: "000644", Owner: "apache", Group: "apache"},
		},
		// By name in byte order, as cfn-init's sorted(): "10_setup" before "2_restart".
		Commands: []Command{
			{Name: "10_setup", Shell: `echo "$MAGIC" > test.txt`, Env: map[string]string{"MAGIC": "I come from the environment!", "N": "5"}, Cwd: "~", Test: "test ! -e ~/test.txt"},
			{Name: "2_restart", Args: []string{"systemctl", "restart", "httpd"}, IgnoreErrors: true},
		},
		Services: []Service{
			{Manager: "sysvinit", Name: "cfn-hup", Enabled: ptr(true), EnsureRunning: ptr(true), Files: []string{"/etc/cfn/cfn-hup.conf", "/etc/cfn/hooks.d/cfn-auto-reloader.conf"}},
			{Manager: "sysvinit", Name: "httpd", Enabled: ptr(true), EnsureRunning: ptr(true), Files: []string{"/etc/httpd/conf/httpd.conf"}, Sources: []string{"/etc/puppet"}, Packages: map[string][]string{"yum": {"httpd"}}, Commands: []string{"2_restart"}},
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("config\n got %s\nwant %s", show(c), show(want))
	}
	got, err := in.Resolve(nil)
	if err != nil || !reflect.DeepEqual(got, []string{"config"}) {
		t.Errorf("Resolve(nil) = %v, %v; want [config]", got, err)
	}
	// The template of /tmp/test9.txt renders with its context.
	f := c.Files[4]
	if out, err := Render(*f.Content, f.Context); err != nil || out != "Content for test9" {
		t.Errorf("Render = %q, %v", out, err)
	}
}

// The docs' configSets example (aws-resource-init, Multiple configsets), with a set
// given as one reference instead of a list, and config keys that are numbers.
func TestParseConfigSetsAndResolve(t *testing.T) {
	in := mustParse(t, `{"AWS::CloudFormation::Init": {
		"configSets": {
			"test1": ["1"],
			"test2": [{"ConfigSet": "test1"}, "2"],
			"default": {"ConfigSet": "test2"},
			"ascending": ["1", "2"],
			"descending": [2, "1"],
			"twice": [{"ConfigSet": "test1"}, {"ConfigSet": "test2"}]
		},
		"1": {"commands": {"test": {"command": "echo 1 > test.txt", "cwd": "~"}}},
		"2": {"commands": {"test": {"command": "echo 2 >> test.txt", "cwd": "~"}}}
	}}`)
	for _, c := range []struct {
		sets []string
		want []string
	}{
		{nil, []string{"1", "2"}},
		{[]string{"default"}, []string{"1", "2"}},
		{[]string{"test1"}, []string{"1"}},
		{[]string{"descending"}, []string{"2", "1"}},
		{[]string{"ascending", "descending"}, []string{"1", "2", "2", "1"}},
		{[]string{"test1,descending"}, []string{"1", "2", "1"}},
		{[]string{"twice"}, []string{"1", "1", "2"}},
	} {
		got, err := in.Resolve(c.sets)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Resolve(%q) = %v, %v; want %v", c.sets, got, err, c.want)
		}
	}
	_, err := in.Resolve([]string{"test1", "nope"})
	if err == nil || !strings.Contains(err.Error(), `no configSet "nope"`) || !strings.Contains(err.Error(), "ascending, default, descending, test1, test2, twice") {
		t.Errorf("unknown set: %v", err)
	}
}

// A Windows block as AWS's Windows samples write it: cfn-hup under c:\cfn, commands
// that reboot, the windows service manager.
func TestParseWindowsBlock(t *testing.T) {
	in := mustParse(t, `{"AWS::CloudFormation::Init": {
		"configSets": {"config": ["setup", "rename", "finish"]},
		"setup": {
			"files": {
				"c:\\cfn\\cfn-hup.conf": {"content": "[main]\nstack=s\nregion=eu-west-1\n"},
				"c:\\cfn\\hooks.d\\cfn-auto-reloader.conf": {"content": "[cfn-auto-reloader-hook]\ntriggers=post.update\n"}
			},
			"services": {"windows": {"cfn-hup": {"enabled": "true", "ensureRunning": "true", "files": ["c:\\cfn\\cfn-hup.conf", "c:\\cfn\\hooks.d\\cfn-auto-reloader.conf"]}}}
		},
		"rename": {"commands": {
			"1-execute-powershell-script": {"command": "powershell.exe -Command Rename-Computer (Get-EC2Tag).Value -Restart", "waitAfterCompletion": "forever"},
			"2-wait": {"command": "echo done", "waitAfterCompletion": 0},
			"3-wait": {"command": "echo done", "waitAfterCompletion": "30"}
		}},
		"finish": {"packages": {"msi": {"awscli": "https://s3.amazonaws.com/aws-cli/AWSCLI64.msi"}}}
	}}`)
	got, err := in.Resolve([]string{"config"})
	if err != nil || !reflect.DeepEqual(got, []string{"setup", "rename", "finish"}) {
		t.Fatalf("Resolve = %v, %v", got, err)
	}
	if _, err := in.Resolve(nil); err == nil || !strings.Contains(err.Error(), `no configSet "default"`) || !strings.Contains(err.Error(), "-c") {
		t.Errorf("Resolve(nil) without a default set: %v", err)
	}
	var waits []string
	for _, c := range in.Configs["rename"].Commands {
		waits = append(waits, c.WaitAfterCompletion)
	}
	if want := []string{"forever", "0", "30"}; !reflect.DeepEqual(waits, want) {
		t.Errorf("waitAfterCompletion = %q, want %q", waits, want)
	}
	s := in.Configs["setup"]
	if s.Files[0].Path != `c:\cfn\cfn-hup.conf` || s.Services[0].Manager != "windows" || !*s.Services[0].Enabled {
		t.Errorf("setup = %s", show(s))
	}
	if p := in.Configs["finish"].Packages; len(p) != 1 || p[0].Manager != "msi" || p[0].Packages[0].Versions[0] != "https://s3.amazonaws.com/aws-cli/AWSCLI64.msi" {
		t.Errorf("msi = %s", show(p))
	}
}

func TestParseWholeResourceAndAuth(t *testing.T) {
	in := mustParse(t, `{
	"Type": "AWS::EC2::Instance",
	"Metadata": {
		"AWS::CloudFormation::Init": {"config": {
			"files": {
				"/etc/a": {"source": "https://my-bucket.s3.us-west-2.amazonaws.com/a"},
				"/etc/b": {"source": "https://example.com/private/b", "authentication": "nope"},
				"/etc/c": {"source": "https://other.s3.amazonaws.com/c", "authentication": "Basic"}
			},
			"sources": {"/opt/app": "https://s3-us-west-2.amazonaws.com/my-bucket/app.tar.gz"}
		}},
		"AWS::CloudFormation::Authentication": {
			"S3Role": {"type": "s3", "buckets": ["my-bucket"], "roleName": ["InstanceRole"]},
			"Basic": {"type": "BASIC", "username": "u", "password": "hunter2-secret", "uris": ["example.com/private"]},
			"Broken": {"type": "S3", "secretKey": "AKIA-secret-value"},
			"Odd": {"type": "ftp", "password": "pw-secret"}
		}
	},
	"Properties": {"ImageId": "ami-1"}
	}`)
	if a := in.Auth["S3Role"]; a == nil || a.Type != "S3" || a.RoleName != "InstanceRole" || !reflect.DeepEqual(a.Buckets, []string{"my-bucket"}) {
		t.Errorf("S3Role = %#v", in.Auth["S3Role"])
	}
	if a := in.Auth["Basic"]; a == nil || a.Type != "basic" || a.Password != "hunter2-secret" {
		t.Errorf("Basic not parsed")
	}
	if in.Auth["Broken"] != nil || in.Auth["Odd"] != nil {
		t.Errorf("entries cfn-init skips are kept: %v", in.Auth)
	}
	files := in.Configs["config"].Files
	if files[0].Auth != "S3Role" || files[1].Auth != "Basic" || files[2].Auth != "Basic" {
		t.Errorf("files' auth = %q %q %q, want S3Role (bucket), Basic (uri), Basic (named)", files[0].Auth, files[1].Auth, files[2].Auth)
	}
	if s := in.Configs["config"].Sources[0]; s.Auth != "S3Role" {
		t.Errorf("source auth = %q, want S3Role (path-style URL)", s.Auth)
	}
	all := strings.Join(in.Warnings, "\n")
	for _, w := range []string{
		"AWS::CloudFormation::Authentication.S3Role.roleName: is a list of one",
		"AWS::CloudFormation::Authentication.Broken: an S3 entry needs accessKeyId and secretKey, or roleName",
		"AWS::CloudFormation::Authentication.Odd.type: is neither S3 nor basic",
		`AWS::CloudFormation::Init.config.files./etc/b.authentication: "nope" is not an entry`,
	} {
		if !strings.Contains(all, w) {
			t.Errorf("warnings lack %q:\n%s", w, all)
		}
	}
	for _, secret := range []string{"hunter2", "AKIA-secret", "pw-secret"} {
		if strings.Contains(all, secret) {
			t.Errorf("a warning shows a secret: %s", all)
		}
	}
	a := in.Auth["Basic"]
	if s := fmt.Sprintf("%v %+v %#v %s", a, a, *a, *a); strings.Contains(s, "hunter2") || !strings.Contains(s, "authentication Basic (basic)") {
		t.Errorf("printing an Auth shows its password or not its name: %s", s)
	}
}

func TestAuthFor(t *testing.T) {
	in := &Init{Auth: map[string]*Auth{
		"s3a":   {Name: "s3a", Type: "S3", Buckets: []string{"my-bucket", "dotted.bucket.name"}, AccessKeyID: "k", SecretKey: "s"},
		"basic": {Name: "basic", Type: "basic", URIs: []string{"http://www.example.com/test", "example.org", "https://secure.example.net:8443/"}},
		"other": {Name: "other", Type: "basic", URIs: []string{"example.com/test"}},
	}}
	for _, c := range []struct{ url, name, want string }{
		{"https://anything/x", "other", "other"}, // by name first
		{"https://my-bucket.s3.amazonaws.com/key", "", "s3a"},
		{"https://my-bucket.s3.eu-west-1.amazonaws.com/key", "", "s3a"},
		{"https://my-bucket.s3-eu-west-1.amazonaws.com/key", "", "s3a"},
		{"https://MY-BUCKET.s3.amazonaws.com/key", "", "s3a"},
		{"https://dotted.bucket.name.s3.amazonaws.com/key", "", "s3a"},
		{"https://s3.amazonaws.com/my-bucket/key", "", "s3a"},
		{"http://s3-us-west-2.amazonaws.com/my-bucket/dir/key", "", "s3a"},
		{"https://s3.cn-north-1.amazonaws.com.cn/my-bucket/key", "", "s3a"},
		{"https://s3.amazonaws.com/not-mine/key", "", ""},
		{"https://my-bucket.example.com/key", "", ""},
		{"https://my-bucket.s3.amazonaws.com.evil.org/key", "", ""},
		{"http://www.example.com/test", "", "basic"},
		{"http://www.example.com/test/deeper?x=1", "", "basic"},
		{"http://www.example.com/testing", "", ""},
		{"https://www.example.com/test", "", ""}, // the entry names http
		{"http://www.example.com.evil.org/test", "", ""},
		{"https://example.org/any/path", "", "basic"},
		{"https://secure.example.net:8443/x", "", "basic"},
		{"https://secure.example.net/x", "", ""},
		{"https://example.com/test/file", "", "other"}, // the docs' scheme-less form
		{"https://example.com/tester", "", ""},
		{"https://unknown.example/x", "missing", ""},
		{"not a url", "", ""},
	} {
		got := ""
		if a := in.AuthFor(c.url, c.name); a != nil {
			got = a.Name
		}
		if got != c.want {
			t.Errorf("AuthFor(%q, %q) = %q, want %q", c.url, c.name, got, c.want)
		}
	}
}

// The oddities seen in real templates that cfn-init accepts.
func TestParseLenientScalars(t *testing.T) {
	in := mustParse(t, `{"AWS::CloudFormation::Init": {"config": {
		"groups": {"g1": {"gid": 45}, "g2": {"gid": " 46 "}},
		"users": {"u": {"uid": "501", "groups": "g1"}},
		"files": {
			"/a": {"content": "x", "mode": 100644},
			"/b": {"content": "x", "mode": "644"},
			"/c": {"content": "x", "mode": "0755"},
			"/d": {"content": "x", "mode": "0000600"},
			"/e": {"content": "x", "mode": "040755"},
			"/f": {"content": 42},
			"/g": {"content": "x", "owner": 0, "encoding": "PLAIN"}
		},
		"commands": {
			"a": {"command": "true", "ignoreErrors": "yes"},
			"b": {"command": "true", "ignoreErrors": 1.0},
			"c": {"command": "true", "ignoreErrors": "sometimes"},
			"d": {"command": "true", "ignoreErrors": "FALSE", "waitAfterCompletion": "Forever"}
		},
		"services": {"sysvinit": {"s": {"enabled": "True", "ensureRunning": "false"}}}
	}}}`)
	c := in.Configs["config"]
	if *c.Groups[0].GID != 45 || *c.Groups[1].GID != 46 || *c.Users[0].UID != 501 || !reflect.DeepEqual(c.Users[0].Groups, []string{"g1"}) {
		t.Errorf("groups/users = %s %s", show(c.Groups), show(c.Users))
	}
	var modes []string
	for _, f := range c.Files {
		modes = append(modes, f.Mode)
	}
	if want := []string{"100644", "000644", "000755", "000600", "040755", "", ""}; !reflect.DeepEqual(modes, want) {
		t.Errorf("modes = %q, want %q", modes, want)
	}
	if f := c.Files[5]; !f.ContentIsJSON || *f.Content != "42" {
		t.Errorf("number content = %s", show(f))
	}
	if f := c.Files[6]; f.Owner != "0" || f.Encoding != "plain" {
		t.Errorf("/g = %s", show(f))
	}
	var ign []bool
	for _, cm := range c.Commands {
		ign = append(ign, cm.IgnoreErrors)
	}
	if want := []bool{true, true, false, false}; !reflect.DeepEqual(ign, want) {
		t.Errorf("ignoreErrors = %v, want %v", ign, want)
	}
	if c.Commands[3].WaitAfterCompletion != "forever" {
		t.Errorf("waitAfterCompletion = %q", c.Commands[3].WaitAfterCompletion)
	}
	if s := c.Services[0]; !*s.Enabled || *s.EnsureRunning {
		t.Errorf("service = %s", show(s))
	}
	all := strings.Join(in.Warnings, "\n")
	for _, w := range []string{
		`AWS::CloudFormation::Init.config.commands.c.ignoreErrors: "sometimes" is not true or false; taken as false`,
		"AWS::CloudFormation::Init.config.files./e.mode: 040755 has file type digits 04",
	} {
		if !strings.Contains(all, w) {
			t.Errorf("warnings lack %q:\n%s", w, all)
		}
	}
}

func TestParseWarnsUnknownKeys(t *testing.T) {
	in := mustParse(t, `{"AWS::CloudFormation::Init": {
		"configSets": {"default": [{"ConfigSet": "s", "extra": 1}, "config"], "s": ["ghost"]},
		"config": {
			"bogusSection": {},
			"files": {"/etc/x": {"content": "x", "bogus": true}},
			"commands": {"c": {"command": "true", "timeout": 5}},
			"packages": {"dnf": {"x": []}, "yum": {"y": []}},
			"services": {"systemd": {"x": {}}, "sysvinit": {"y": {"enabled": true, "restart": "always"}}},
			"users": {"u": {"shell": "/bin/sh"}},
			"groups": {"g": {"members": []}}
		}
	}}`)
	want := []string{
		"AWS::CloudFormation::Init.config.bogusSection: unknown key, ignored",
		"AWS::CloudFormation::Init.config.files./etc/x.bogus: unknown key, ignored",
		"AWS::CloudFormation::Init.config.commands.c.timeout: unknown key, ignored",
		`AWS::CloudFormation::Init.config.packages.dnf: cfn-init has no package manager "dnf"`,
		`AWS::CloudFormation::Init.config.services.systemd: cfn-init has no service manager "systemd"`,
		"AWS::CloudFormation::Init.config.services.sysvinit.y.restart: unknown key",
		"AWS::CloudFormation::Init.config.users.u.shell: unknown key",
		"AWS::CloudFormation::Init.config.groups.g.members: unknown key",
		"AWS::CloudFormation::Init.configSets.default[0].extra: unknown key",
		`AWS::CloudFormation::Init.configSets.s[0]: names config "ghost", which AWS::CloudFormation::Init does not define; running configSet s fails (configs: config)`,
	}
	all := strings.Join(in.Warnings, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("warnings lack %q:\n%s", w, all)
		}
	}
	if len(in.Warnings) != len(want) {
		t.Errorf("%d warnings, want %d:\n%s", len(in.Warnings), len(want), all)
	}
	if p := in.Configs["config"].Packages; len(p) != 1 || p[0].Manager != "yum" {
		t.Errorf("packages = %s", show(p))
	}
	// A set naming a config that does not exist fails when it runs, naming both.
	_, err := in.Resolve(nil)
	if err == nil || err.Error() != `configSet s names config "ghost", which AWS::CloudFormation::Init does not define (reached through default -> s); configs: config` {
		t.Errorf("Resolve = %v", err)
	}
}

func TestParseNoConfigKey(t *testing.T) {
	in := mustParse(t, `{"AWS::CloudFormation::Init": {"other": {}}}`)
	got, err := in.Resolve(nil)
	if err != nil || !reflect.DeepEqual(got, []string{"config"}) || in.Configs["config"] == nil {
		t.Fatalf("Resolve = %v, %v", got, err)
	}
	if len(in.Warnings) != 1 || !strings.Contains(in.Warnings[0], "has neither configSets nor a config key, so cfn-init runs nothing (configs here: other)") {
		t.Errorf("warnings = %q", in.Warnings)
	}
}

func TestParseErrors(t *testing.T) {
	init := func(config string) string {
		return `{"AWS::CloudFormation::Init": {"config": ` + config + `}}`
	}
	for _, c := range []struct{ doc, want string }{
		{"{\n  \"a\": 1,\n  \"b\" 2\n}", "metadata is not valid JSON: line 3, column 7"},
		{`{"a": [1, 2`, "metadata is not valid JSON: line 1, column 12: unexpected end of the document"},
		{`{"a": 1} x`, "not valid JSON: line 1, column 10"},
		{`[1]`, "metadata is a list, not a JSON object"},
		{`{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}}`, "it looks like a whole template; give one resource"},
		{`{"Type": "AWS::EC2::Instance", "Properties": {}}`, "metadata has no AWS::CloudFormation::Init key (its keys: Type, Properties)"},
		{`{"AWS::CloudFormation::Init": []}`, "AWS::CloudFormation::Init is a list; it must be an object"},
		{`{"AWS::CloudFormation::Init": {}}`, "AWS::CloudFormation::Init is empty"},
		{init(`"x"`), "AWS::CloudFormation::Init.config: is a string; a config must be an object"},
		{init(`{"files": "x"}`), "AWS::CloudFormation::Init.config.files: is a string; it must be an object"},
		{init(`{"files": {"/a": {"content": "x", "mode": "0x1ff"}}}`), `AWS::CloudFormation::Init.config.files./a.mode: "0x1ff" is not an octal mode of up to six digits`},
		{init(`{"files": {"/a": {"content": "x", "mode": "1000644"}}}`), `files./a.mode: "1000644" is not an octal mode`},
		{init(`{"files": {"/a": {"content": "x", "mode": 100.5}}}`), `files./a.mode: "100.5" is not an octal mode`},
		{init(`{"files": {"/a": {"content": "x", "mode": true}}}`), `files./a.mode: is a boolean`},
		{init(`{"files": {"/a": {"content": "x", "source": "https://h/x"}}}`), "AWS::CloudFormation::Init.config.files./a: has both content and source; keep one"},
		{init(`{"files": {"/a": {"mode": "000644"}}}`), "files./a: has neither content nor source"},
		{init(`{"files": {"/a": {"content": "x", "encoding": "gzip"}}}`), `files./a.encoding: "gzip" is not an encoding cfn-init knows; use plain or base64`},
		{init(`{"files": {"/a": {"content": "not base64!", "encoding": "base64"}}}`), "files./a.content: is not valid base64"},
		{init(`{"files": {"/a": {"source": "s3://bucket/key"}}}`), `files./a.source: "s3://bucket/key" is not an http:// or https:// URL`},
		{init(`{"files": {"/a": {"source": "https://user:topsecret@h/x"}}}`), ``},
		{init(`{"files": {"/a": {"source": "ftp://user:topsecret@h/x"}}}`), `"ftp://xxxxx@h/x" is not an http:// or https:// URL`},
		{init(`{"files": {"/a": {"source": "http://user:topsecret@h:port/x"}}}`), `"http://xxxxx@h:port/x" is not an http:// or https:// URL`},
		{"\xef\xbb\xbf" + init(`{}`), ""},
		{init(`{"files": {"/a": {"content": "x", "context": "name=x"}}}`), "files./a.context: is a string; the context of a Mustache template must be an object"},
		{init(`{"files": {"/a": {"content": {"k": 1}, "mode": "120777"}}}`), "files./a: mode 120777 makes a symlink, so content must be the link's target path"},
		{init(`{"files": {"relative/a": {"content": "x"}}}`), `files.relative/a: the path "relative/a" is not absolute`},
		{init(`{"sources": {"/opt/app": "/tmp/app.tar.gz"}}`), `sources./opt/app: "/tmp/app.tar.gz" is not an http:// or https:// URL; a source is an archive's URL`},
		{init(`{"sources": {"app": "https://h/app.tgz"}}`), `sources.app: the target "app" is not an absolute directory path`},
		{init(`{"commands": {"a": {"cwd": "/"}}}`), "commands.a: has no command"},
		{init(`{"commands": {"a": {"command": ["sleep", 5]}}}`), `commands.a.command[1]: is a number; every element of a command list is a string`},
		{init(`{"commands": {"a": {"command": []}}}`), "commands.a.command: is an empty list"},
		{init(`{"commands": {"a": {"command": "x", "runas": "app"}}}`), "commands.a.runas: is an undocumented cfn-init key that stackhand does not support"},
		{init(`{"commands": {"a": {"command": "x", "waitAfterCompletion": "soon"}}}`), `commands.a.waitAfterCompletion: must be "forever" or whole seconds`},
		{init(`{"commands": {"a": {"command": "x", "env": {"A": {}}}}}`), "commands.a.env.A: is an object; it must be a string"},
		{init(`{"groups": {"g": {"gid": "-1"}}}`), `groups.g.gid: "-1" is not a whole number`},
		{init(`{"users": {"u": {"uid": [1]}}}`), `users.u.uid: is a list; it must be a whole number`},
		{init(`{"packages": {"rpm": {"epel": []}}}`), "packages.rpm.epel: gives no location: for rpm the value is the package's path or URL"},
		{init(`{"packages": {"yum": {"x": {"v": 1}}}}`), "packages.yum.x: is an object; give [] for any version"},
		{`{"AWS::CloudFormation::Init": {"configSets": ["a"], "config": {}}}`, "AWS::CloudFormation::Init.configSets: is a list; it must be an object"},
		{`{"AWS::CloudFormation::Init": {"configSets": {"a": [{"ConfigSet": "b"}], "b": ["config", {"ConfigSet": "c"}], "c": [{"ConfigSet": "a"}]}, "config": {}}}`,
			"AWS::CloudFormation::Init.configSets: configSets refer to each other in a cycle: a -> b -> c -> a"},
		{`{"AWS::CloudFormation::Init": {"configSets": {"a": [{"ConfigSet": "a"}]}, "config": {}}}`, "cycle: a -> a"},
		{`{"AWS::CloudFormation::Init": {"configSets": {"a": [{"ConfigSet": "zz"}]}, "config": {}}}`, `configSets.a[0]: refers to configSet "zz", which is not defined (configSets: a)`},
		{`{"AWS::CloudFormation::Init": {"configSets": {"a": [{"Config": "x"}]}, "config": {}}}`, `configSets.a[0]: an object in a configSet must be a reference {"ConfigSet": "name"}`},
		{`{"AWS::CloudFormation::Init": {"config": {}}, "AWS::CloudFormation::Authentication": {"a": {"type": "basic", "password": {"Ref": "Pw"}}}}`, "AWS::CloudFormation::Authentication.a.password: is an object; it must be a string"},
	} {
		_, err := Parse([]byte(c.doc))
		if c.want == "" {
			if err != nil {
				t.Errorf("Parse(%s): %v", c.doc, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%s)\n  = %v\nwant an error with %q", c.doc, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "topsecret") {
			t.Errorf("the error shows a URL's password: %v", err)
		}
	}
}

// Resolve guards an Init built by hand too: cycles and runaway expansion end.
func TestResolveGuards(t *testing.T) {
	in := &Init{
		ConfigSets: map[string][]SetItem{"a": {{ConfigSet: "b"}}, "b": {{ConfigSet: "a"}}},
		Configs:    map[string]*Config{},
	}
	if _, err := in.Resolve([]string{"a"}); err == nil || !strings.Contains(err.Error(), "a -> b -> a") {
		t.Errorf("cycle: %v", err)
	}
	in = &Init{ConfigSets: map[string][]SetItem{}, Configs: map[string]*Config{"c": {}}}
	for i := range 40 {
		in.ConfigSets[string(rune('A'+i))] = []SetItem{{ConfigSet: string(rune('A' + i + 1))}, {ConfigSet: string(rune('A' + i + 1))}}
	}
	in.ConfigSets[string(rune('A'+40))] = []SetItem{{Config: "c"}}
	if _, err := in.Resolve([]string{"A"}); err == nil || !strings.Contains(err.Error(), "repeat too much") {
		t.Errorf("blow-up: %v", err)
	}
}

func TestPythonJSONNumbers(t *testing.T) {
	for lit, want := range map[string]string{
		"1": "1", "-0": "0", "1.0": "1.0", "1e16": "1e+16", "1E5": "100000.0", "1.5e-5": "1.5e-05",
		"0.0001": "0.0001", "123456789012345678901234567890": "123456789012345678901234567890",
		"1e400": "inf", "-1e400": "-inf", "2.50": "2.5", "-0.0": "-0.0", "1e15": "1000000000000000.0",
	} {
		if got := pyNumber(lit); got != want {
			t.Errorf("pyNumber(%s) = %s, want %s", lit, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{linuxBlock,
		`{"AWS::CloudFormation::Init": {"configSets": {"a": [{"ConfigSet": "b"}, "config"], "b": ["config"]}, "config": {}}}`,
		`{"AWS::CloudFormation::Init": {"configSets": {"a": [{"ConfigSet": "a"}]}}}`,
		`{"Metadata": {"AWS::CloudFormation::Init": {"config": {"files": {"/a": {"content": {"k": [1.5]}, "mode": 100644}}}}}}`,
		`{"AWS::CloudFormation::Init": {"config": {}}, "AWS::CloudFormation::Authentication": {"a": {"type": "S3", "roleName": ["r"], "buckets": "b"}}}`,
	} {
		f.Add([]byte(s), "a,b")
	}
	f.Fuzz(func(t *testing.T, doc []byte, sets string) {
		in, err := Parse(doc)
		if err != nil {
			return
		}
		// Resolve ends (a cycle or a blow-up is an error) and names only real configs.
		configs, err := in.Resolve([]string{sets})
		if err == nil {
			for _, c := range configs {
				if in.Configs[c] == nil {
					t.Fatalf("Resolve gave %q, which is not a config", c)
				}
			}
		}
		if _, err := in.Resolve(nil); err != nil && !strings.Contains(err.Error(), "configSet") {
			t.Fatalf("Resolve(nil): %v", err)
		}
	})
}
