package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/cfnpath"
)

func mustPath(t *testing.T, s string) cfnpath.Path {
	t.Helper()
	p, err := cfnpath.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadCfnHupFixture(t *testing.T) {
	dir := filepath.Join("testdata", "cfn-hup")
	h, err := LoadCfnHup(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Warnings) != 0 {
		t.Errorf("warnings: %v", h.Warnings)
	}
	wantMain := CfnMain{
		Stack:    "arn:aws:cloudformation:us-east-1:123456789012:stack/web-stack/6f0e0a40-6c1b-11ee-8c99-0242ac120002",
		Region:   "us-east-1",
		Interval: time.Minute,
		Umask:    0o022,
		Verbose:  true,
		Set:      map[string]bool{"stack": true, "region": true, "interval": true, "verbose": true},
		Origin:   filepath.Join(dir, "cfn-hup.conf") + ":1",
	}
	if !reflect.DeepEqual(h.Main, wantMain) {
		t.Errorf("main = %+v\nwant   %+v", h.Main, wantMain)
	}
	wantHooks := []CfnHook{
		{
			Name:   "cfn-auto-reloader-hook",
			On:     []string{"update"},
			Path:   mustPath(t, "Resources.WebServerLaunchConfig.Metadata.AWS::CloudFormation::Init"),
			Action: "/opt/aws/bin/cfn-init -v --stack web-stack --resource WebServerLaunchConfig --region us-east-1",
			RunAs:  "root",
			Origin: filepath.Join(dir, "hooks.d", "cfn-auto-reloader.conf") + ":1",
		},
		{
			Name:   "release-hook",
			On:     []string{"add", "update", "remove"},
			Path:   mustPath(t, "Resources.WebServerLaunchConfig.Metadata.release"),
			Action: `echo "release changed: $CFN_OLD_METADATA -> $CFN_NEW_METADATA" >> /var/log/release-hook.log`,
			RunAs:  "root",
			Origin: filepath.Join(dir, "hooks.d", "release.conf") + ":1",
		},
	}
	if !reflect.DeepEqual(h.Hooks, wantHooks) {
		t.Errorf("hooks = %+v\nwant    %+v", h.Hooks, wantHooks)
	}

	// Applied to a stackhand.yaml that sets only the region, the region stays and the rest
	// comes from cfn-hup.
	c, err := Parse([]byte("region: eu-west-1\nwatch:\n  - tag: Role\n"), "stackhand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyCfnHup(h)
	c.ApplyCfnHup(h) // idempotent
	if c.Stack != wantMain.Stack || c.Region != "eu-west-1" || c.Interval.D() != time.Minute || !c.Verbose || c.Umask != nil {
		t.Errorf("after ApplyCfnHup: stack %q region %q interval %v verbose %v umask %v", c.Stack, c.Region, c.Interval, c.Verbose, c.Umask)
	}
	wantRules := []WatchRule{
		{Name: "tag:Role", Tag: "Role", On: []string{"add", "update", "remove"}, Origin: "stackhand.yaml:3"},
		{Name: "cfn-hup:cfn-auto-reloader-hook", Path: "Resources.WebServerLaunchConfig.Metadata.AWS::CloudFormation::Init",
			On: []string{"update"}, Command: wantHooks[0].Action, RunAs: "root", CfnHup: true, Origin: wantHooks[0].Origin},
		{Name: "cfn-hup:release-hook", Path: "Resources.WebServerLaunchConfig.Metadata.release",
			On: []string{"add", "update", "remove"}, Command: wantHooks[1].Action, RunAs: "root", CfnHup: true, Origin: wantHooks[1].Origin},
	}
	if !reflect.DeepEqual(c.Watch, wantRules) {
		t.Errorf("rules = %+v\nwant    %+v", c.Watch, wantRules)
	}

	// stackhand.yaml's interval and stack win.
	c, err = Parse([]byte("stack: mine\ninterval: 10s\n"), "stackhand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyCfnHup(h)
	if c.Stack != "mine" || c.Interval.D() != 10*time.Second || c.Region != "us-east-1" {
		t.Errorf("stackhand.yaml did not win: %q %v %q", c.Stack, c.Interval, c.Region)
	}
}

// writeDir writes files (name → content) under a new temporary directory.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const okMain = "[main]\nstack=s\n"

func TestCfnHupMergeAndDialect(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"cfn-hup.conf": "# cfn-hup\n[main]\n  Stack : web \ninterval = 5\numask=027\nrole: app-role\ncredential-file=/etc/cfn/creds\nurl=https://cfn.example\n",
		"hooks.conf": "[DEFAULT]\nrunas=deploy\n\n[app]\ntriggers=post.add\npath=Resources.App.Metadata.release\naction=/bin/old\n" +
			"[multi]\ntriggers = post.update,\n post.remove\n; a comment\npath: Resources.App.PhysicalResourceId\naction=run \\\n  --flag\n\n  --other\n\nrunas=\n",
		"hooks.d/10-app.conf": "[app]\naction=/bin/new %%s %(path)s\ntriggers=post.update, post.add\n",
		"hooks.d/20-pct.conf": "[pct]\ntriggers=post.update\npath=Resources.X\naction=date +%%s # not a comment\n",
		"hooks.d/README":      "[ignored]\n",
	})
	h, err := LoadCfnHup(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := h.Main
	if m.Stack != "web" || m.Interval != 5*time.Minute || m.Umask != 0o027 || m.Role != "app-role" ||
		m.CredentialFile != "/etc/cfn/creds" || m.URL != "https://cfn.example" || m.Region != "us-east-1" || m.Set["region"] {
		t.Errorf("main = %+v", m)
	}
	want := []CfnHook{
		{Name: "app", On: []string{"update", "add"}, Path: mustPath(t, "Resources.App.Metadata.release"),
			Action: "/bin/new %s Resources.App.Metadata.release", RunAs: "deploy", Origin: filepath.Join(dir, "hooks.conf") + ":4"},
		{Name: "multi", On: []string{"update", "remove"}, Path: mustPath(t, "Resources.App.PhysicalResourceId"),
			Action: "run \\\n--flag\n\n--other", Origin: filepath.Join(dir, "hooks.conf") + ":8"},
		{Name: "pct", On: []string{"update"}, Path: mustPath(t, "Resources.X"), Action: "date +%s # not a comment",
			RunAs: "deploy", Origin: filepath.Join(dir, "hooks.d", "20-pct.conf") + ":1"},
	}
	// [pct] is read by a separate file but [DEFAULT] from hooks.conf still applies, as in
	// one ConfigParser reading every file.
	if !reflect.DeepEqual(h.Hooks, want) {
		t.Errorf("hooks = %+v\nwant    %+v", h.Hooks, want)
	}
	if len(h.Warnings) != 1 || !strings.Contains(h.Warnings[0].String(), "README: not read: stackhand reads only the *.conf files") {
		t.Errorf("warnings = %v", h.Warnings)
	}
}

func TestCfnHupProblems(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		errs     []problem // file is the first key of files... given in msg as file:line
		warns    []string  // "file:line: part of the message"
		errFiles []string  // file of each error, relative to the directory
	}{
		{
			name:     "interval 0",
			files:    map[string]string{"cfn-hup.conf": "[main]\nstack=s\ninterval=0\n", "hooks.conf": "[h]\ntriggers=post.add\npath=Resources.X\naction=a\n"},
			errs:     []problem{{3, "interval is 0; it is in minutes and the minimum is 1"}},
			errFiles: []string{"cfn-hup.conf"},
		},
		{
			name: "bad main values",
			files: map[string]string{
				"cfn-hup.conf": "[main]\nstack=\ninterval=5m\numask=999\nverbose=maybe\nsqs_url=x\ncolour=red\n",
				"hooks.conf":   "[h]\ntriggers=post.add\npath=Resources.X\naction=a\n",
			},
			errs:     []problem{{1, "[main] has no stack"}, {3, `interval "5m" is not a whole number of minutes`}, {4, `umask "999" is not an octal mode`}},
			errFiles: []string{"cfn-hup.conf", "cfn-hup.conf", "cfn-hup.conf"},
			warns: []string{"cfn-hup.conf:5: verbose \"maybe\" is read as false", "cfn-hup.conf:6: sqs_url is only used by cfn-hup's on.command hooks",
				`cfn-hup.conf:7: unknown key "colour" in [main], ignored`},
		},
		{
			name:     "no main",
			files:    map[string]string{"cfn-hup.conf": "stack=s\n[other]\n", "hooks.conf": "[h]\ntriggers=post.add\npath=Resources.X\naction=a\n"},
			errs:     []problem{{0, "no [main] section"}, {1, `"stack=s" is outside any section`}},
			errFiles: []string{"cfn-hup.conf", "cfn-hup.conf"},
		},
		{
			name: "missing keys are skipped with a warning",
			files: map[string]string{"cfn-hup.conf": okMain,
				"hooks.d/a.conf": "[no-trigger]\npath=Resources.X\naction=a\n\n[no-path-action]\ntriggers=post.add\nsingleton=true\n"},
			warns: []string{"hooks.d/a.conf:1: hook [no-trigger] has no triggers; skipped", "hooks.d/a.conf:5: hook [no-path-action] has no path or action; skipped",
				"hooks.d/a.conf:7: singleton in hook [no-path-action] only applies to on.command", ": no usable cfn-hup hooks"},
		},
		{
			name: "bad trigger and bad path",
			files: map[string]string{"cfn-hup.conf": okMain,
				"hooks.d/a.conf": "[h1]\ntriggers=post.add,post.updated\npath=Resources.X.Metadata.a\naction=a\n[h2]\ntriggers=post.add\npath=Stack.Outputs.X\naction=a\n[h3]\ntriggers=on.command\npath=cmd\naction=a\n[ok]\ntriggers=post.remove\npath=Resources.Y\naction=b\n"},
			errs: []problem{{2, `hook [h1]: trigger "post.updated" is not known; use post.add, post.update or post.remove`},
				{7, `hook [h2]: path "Stack.Outputs.X" does not start with Resources.`}, {11, `hook [h3]: path "cmd" does not start with Resources.`}},
			errFiles: []string{"hooks.d/a.conf", "hooks.d/a.conf", "hooks.d/a.conf"},
			warns:    []string{"hooks.d/a.conf:10: trigger on.command in hook [h3] is not supported"},
		},
		{
			name: "ini syntax",
			files: map[string]string{"cfn-hup.conf": okMain,
				"hooks.conf": "[h\n[]\n[h]\ntriggers=post.add\ntriggers=post.update\njust words\n=x\npath=Resources.X\naction=echo 5%\n[h]\nrunas=me\n"},
			errs: []problem{{1, "section header [h has no closing ]"}, {2, "empty section name"}, {6, `"just words" is not key=value`},
				{7, `"=x" has no key before "="`}, {9, "action in [h]: a % must be written %%"}},
			errFiles: []string{"hooks.conf", "hooks.conf", "hooks.conf", "hooks.conf", "hooks.conf"},
			warns: []string{"hooks.conf:5: triggers is set again in [h] (first on line 4); the last value is used",
				"hooks.conf:10: section [h] appears again in this file", ": no usable cfn-hup hooks"},
		},
		{
			name:  "no hooks at all",
			files: map[string]string{"cfn-hup.conf": okMain},
			warns: []string{": no usable cfn-hup hooks in hooks.conf or hooks.d/*.conf"},
		},
		{
			name: "bad interpolation references",
			files: map[string]string{"cfn-hup.conf": okMain,
				"hooks.conf": "[h]\ntriggers=post.add\npath=Resources.X\naction=%(nope)s\n[i]\ntriggers=post.add\npath=Resources.X\naction=%(action)s\n[j]\ntriggers=post.add\npath=Resources.X\naction=%(x\n"},
			errs: []problem{{4, "%(nope)s refers to a key that neither [h] nor [DEFAULT] has"}, {8, "nest more than 10 deep"},
				{12, `bad reference "%(x"`}},
			errFiles: []string{"hooks.conf", "hooks.conf", "hooks.conf"},
			warns:    []string{": no usable cfn-hup hooks"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, tt.files)
			h, err := LoadCfnHup(dir)
			if len(tt.errs) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			} else {
				var errs *Errors
				if !errors.As(err, &errs) {
					t.Fatalf("error = %v, want *Errors", err)
				}
				if len(*errs) != len(tt.errs) {
					t.Fatalf("got %d errors, want %d:\n%v", len(*errs), len(tt.errs), err)
				}
				for i, w := range tt.errs {
					p := (*errs)[i]
					if p.File != filepath.Join(dir, filepath.FromSlash(tt.errFiles[i])) || p.Line != w.line || !strings.Contains(p.Msg, w.msg) {
						t.Errorf("error %d = %q, want %s:%d: ...%s", i, p.String(), tt.errFiles[i], w.line, w.msg)
					}
				}
			}
			if h == nil {
				t.Fatal("nil CfnHup")
			}
			if len(h.Warnings) != len(tt.warns) {
				t.Fatalf("got %d warnings, want %d: %v", len(h.Warnings), len(tt.warns), h.Warnings)
			}
			for i, w := range tt.warns {
				got := strings.TrimPrefix(h.Warnings[i].String(), dir)
				got = strings.TrimPrefix(filepath.ToSlash(got), "/")
				wantPrefix, wantMsg, _ := strings.Cut(w, ": ")
				if !strings.HasPrefix(got, wantPrefix+": ") && !(wantPrefix == "" && strings.HasPrefix(got, ": ")) || !strings.Contains(got, wantMsg) {
					t.Errorf("warning %d = %q, want %q", i, got, w)
				}
			}
		})
	}
}

func TestLoadCfnHupMissing(t *testing.T) {
	_, err := LoadCfnHup(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want fs.ErrNotExist", err)
	}
}

func TestINIContinuation(t *testing.T) {
	doc := newINI()
	errs, warns := doc.parse([]byte("[s]\r\nkey = first\r\n\tsecond\r\n\r\n    third\r\n# comment ends it\r\nother=1\r\n  indented=2\r\n"), "f")
	if len(errs)+len(warns) != 0 {
		t.Fatalf("problems: %v %v", errs, warns)
	}
	sec := doc.byName["s"]
	if got := sec.values["key"].raw(); got != "first\nsecond\n\nthird" {
		t.Errorf("key = %q", got)
	}
	if got := sec.values["other"].raw(); got != "1\nindented=2" {
		t.Errorf("other = %q", got)
	}
}

func FuzzCfnHupINI(f *testing.F) {
	for _, p := range []string{"cfn-hup.conf", "hooks.d/cfn-auto-reloader.conf", "hooks.d/release.conf"} {
		data, err := os.ReadFile(filepath.Join("testdata", "cfn-hup", p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("[DEFAULT]\na=%(b)s\nb=%(a)s\n[h]\ntriggers=post.add\npath=Resources.X\naction=%(a)s %%\n  more\n"))
	f.Add([]byte("x\n[\n]\n[a]\n=\n:\n a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc := newINI()
		doc.parse(data, "fuzz.conf")
		h := &CfnHup{}
		h.readMain(doc, "fuzz.conf")
		h.readHooks(doc)
		for _, hook := range h.Hooks {
			if len(hook.On) == 0 || hook.Action == "" || hook.Path.LogicalID == "" {
				t.Fatalf("unusable hook accepted: %+v", hook)
			}
		}
	})
}
