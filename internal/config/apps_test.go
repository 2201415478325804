package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const fullApp = `resource: Web
apps:
  - name: web
    revision: {metadata: Resources.Web.Metadata.release}
    source: s3://my-bucket/web/{revision}.tar.gz
    sha256: {metadata: release_sha256}
    deploy_to: /srv/web
    keep_releases: 3
    shared: [log, tmp/pids, config/database.yml]
    owner: web
    checks: {http: "http://127.0.0.1:8080/health", within: 30s}
    rollback_on_failure: false
    release_hooks: true
  - name: api
    revision: {ssm: /api/release}
    source: file:///srv/builds/api-{revision}.tar.gz
    sha256: ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789
    deploy_to: /srv/api
`

func TestAppsParse(t *testing.T) {
	c, err := Parse([]byte(fullApp), "stackhand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Apps) != 2 {
		t.Fatalf("apps %+v", c.Apps)
	}
	web, api := c.Apps[0], c.Apps[1]
	if web.Name != "web" || web.Revision.Metadata != "Resources.Web.Metadata.release" || web.SHA256.From.Metadata != "release_sha256" ||
		web.KeepReleases != 3 || !slices.Equal(web.Shared, []string{"log", "tmp/pids", "config/database.yml"}) || web.Owner != "web" ||
		web.Checks.HTTP != "http://127.0.0.1:8080/health" || web.Checks.Within.D() != 30*time.Second || web.Rollback() || !web.ReleaseHooks ||
		web.Origin != "stackhand.yaml:3" {
		t.Errorf("web %+v", web)
	}
	// Defaults: keep_releases 5, checks within 60s, rollback_on_failure true; a literal
	// digest is kept in lower case, as sha256sum prints it.
	if api.KeepReleases != 5 || api.Checks.Within.D() != time.Minute || !api.Rollback() || api.ReleaseHooks ||
		api.SHA256.Literal != "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789" || !api.SHA256.From.IsZero() {
		t.Errorf("api %+v", api)
	}
	if got := api.SourceFor("v2"); got != "file:///srv/builds/api-v2.tar.gz" {
		t.Errorf("SourceFor = %q", got)
	}
	ra := web.ReleaseApp()
	if ra.DeployTo != "/srv/web" || ra.KeepReleases != 3 || ra.Checks.Within != 30*time.Second || ra.RollbackOnFailure || ra.Owner != "web" {
		t.Errorf("ReleaseApp %+v", ra)
	}
	if c.AppByName("api") == nil || c.AppByName("nope") != nil {
		t.Error("AppByName")
	}
}

// Each app's revision is watched by an implicit rule, as a watch rule would be: a full
// Resources. path becomes a path rule, a relative one a metadata rule of resource; a
// sha256 reference gets a rule that deploys but never undeploys.
func TestAppsAddWatchRules(t *testing.T) {
	c, err := Parse([]byte(fullApp), "stackhand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range c.Watch {
		got = append(got, r.Name+" path="+r.Path+" metadata="+r.Metadata+" ssm="+r.SSM+" on="+strings.Join(r.On, ",")+" event="+r.Event+" app="+r.App)
	}
	want := []string{
		"app:web path=Resources.Web.Metadata.release metadata= ssm= on=add,update,remove event= app=web",
		"app:web:sha256 path= metadata=release_sha256 ssm= on=add,update event=deploy app=web",
		"app:api path= metadata= ssm=/api/release on=add,update,remove event= app=api",
	}
	if !slices.Equal(got, want) {
		t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c.Watch[0].Origin != "stackhand.yaml:3" {
		t.Errorf("origin %q", c.Watch[0].Origin)
	}
}

func TestAppsErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []problem
	}{
		{"nothing set", "apps:\n  - owner: web\n", []problem{
			{2, "apps[0] has no name"}, {2, "apps[0] has no revision"}, {2, "apps[0] has no source"}, {2, "apps[0] has no deploy_to"}}},
		{"unknown key", "apps:\n  - name: web\n    revison: {tag: R}\n    revision: {tag: R}\n    source: /a/{revision}\n    deploy_to: /srv/w\n", []problem{{3, `unknown key "revison" in apps[0]; did you mean "revision"?`}}},
		{"unknown key in revision", "apps:\n  - name: web\n    revision: {param: x, tag: R}\n    source: /a/{revision}\n    deploy_to: /srv/w\n", []problem{{3, `unknown key "param" in apps[0].revision; known keys: metadata, tag, ssm`}}},
		{"unknown key in sha256", "apps:\n  - name: w\n    revision: {tag: R}\n    source: /a/{revision}.tgz\n    deploy_to: /srv/w\n    sha256: {md5: x}\n",
			[]problem{{6, `unknown key "md5" in apps[0].sha256`}}},
		{"sha256 a list", "apps:\n  - name: w\n    revision: {tag: R}\n    source: /a/{revision}.tgz\n    deploy_to: /srv/w\n    sha256: [a]\n",
			[]problem{{6, "apps[0].sha256 must be a hex digest or a mapping (metadata, tag or ssm), not a list"}}},
		{"bad fields", "mode: local\nlocal: {dir: /l}\napps:\n  - name: 'web app'\n    revision: {tag: R, ssm: /r}\n    source: ftp://x/{revision}\n    sha256: abc\n    deploy_to: srv\n    keep_releases: 0\n    checks: {http: 'ftp://x', within: 0s}\n    release_hooks: true\n",
			[]problem{{4, `apps[0].name "web app": use 1 to 64 letters`}, {5, "apps[0].revision sets tag and ssm; it is read from one place"},
				{6, `apps[0].source "ftp://x/{revision}": use file:///path`}, {7, `apps[0].sha256 "abc" is not a SHA-256 digest`},
				{8, `deploy_to "srv" must be an absolute directory other than /`},
				{9, "apps[0].keep_releases is 0; keep at least 1"}, {10, "apps[0].checks.within must be more than 0s"},
				{10, `apps[0].checks.http "ftp://x" is not an http:// or https:// URL`}, {11, "apps[0].release_hooks is true but owner is not set"}}},
		{"git source with sha256", "apps:\n  - name: w\n    revision: {tag: R}\n    source: git+https://h/r.git#{revision}\n    sha256: {tag: S}\n    deploy_to: /srv/w\n",
			[]problem{{5, "apps[0].sha256 cannot check a git source"}}},
		{"git source without ref", "apps:\n  - name: w\n    revision: {tag: R}\n    source: git+https://h/r.git\n    deploy_to: /srv/w\n",
			[]problem{{4, "has no #REF"}}},
		{"s3 in mode local", "mode: local\nlocal: {dir: /l}\napps:\n  - name: w\n    revision: {tag: R}\n    source: s3://b/{revision}\n    deploy_to: /srv/w\n",
			[]problem{{6, "apps[0].source is on S3, which mode local does not reach"}}},
		{"password in source", "apps:\n  - name: w\n    revision: {tag: R}\n    source: https://u:hunter2@h/{revision}.tgz\n    deploy_to: /srv/w\n",
			[]problem{{4, "apps[0].source holds a password"}}},
		{"relative metadata without resource in mode local", "mode: local\nlocal: {dir: /l}\napps:\n  - name: w\n    revision: {metadata: release}\n    source: /b/{revision}\n    deploy_to: /srv/w\n",
			[]problem{{5, `apps[0].revision.metadata "release" is inside resource's Metadata but resource is not set`}}},
		{"bad references", "apps:\n  - name: w\n    revision: {metadata: Resources.W.Meta}\n    source: /b/{revision}\n    deploy_to: /srv/w\n    sha256: {ssm: 'x y'}\n",
			[]problem{{3, `apps[0].revision.metadata: path "Resources.W.Meta"`}, {6, `apps[0].sha256.ssm "x y": has spaces`}}},
		{"root owner", "apps:\n  - name: w\n    revision: {tag: R}\n    source: /b/{revision}\n    deploy_to: /srv/w\n    owner: root\n",
			[]problem{{6, `apps[0].owner "root": an app owned by root`}}},
		{"bad shared", "apps:\n  - name: w\n    revision: {tag: R}\n    source: /b/{revision}\n    deploy_to: /srv/w\n    shared: [../etc]\n",
			[]problem{{6, `shared entry "../etc"`}}},
		{"same name and same deploy_to", "apps:\n  - name: w\n    revision: {tag: R}\n    source: /b/{revision}\n    deploy_to: /srv/w\n  - name: w\n    revision: {tag: S}\n    source: /c/{revision}\n    deploy_to: /srv/w/\n  - name: x\n    revision: {tag: T}\n    source: /d/{revision}\n    deploy_to: /srv/w/inner\n",
			[]problem{{6, `apps[1] is named "w" like apps[0] (line 2)`},
				{9, `apps "w" and "w": deploy_to /srv/w and /srv/w/ overlap: give each app its own directory (apps[0] on line 2)`},
				{13, `apps "w" and "x": deploy_to /srv/w and /srv/w/inner overlap: give each app its own directory (apps[0] on line 2)`},
				{13, `apps "w" and "x": deploy_to /srv/w/ and /srv/w/inner overlap: give each app its own directory (apps[1] on line 6)`}}},
		{"overlapping deploy_to", "apps:\n  - name: a\n    revision: {tag: R}\n    source: /b/{revision}\n    deploy_to: /srv/w\n  - name: b\n    revision: {tag: S}\n    source: /c/{revision}\n    deploy_to: /srv/w\n",
			[]problem{{9, `apps "a" and "b": deploy_to /srv/w and /srv/w overlap`}}},
		{"app: names are kept", "watch:\n  - tag: x\n    name: app:web\n", []problem{{3, `names starting with "app:" are kept`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), "stackhand.yaml")
			checkProblems(t, err, "stackhand.yaml", tt.want)
		})
	}
}

func TestAppsRelativeDeployTo(t *testing.T) {
	c, err := Parse([]byte("apps:\n  - name: w\n    revision: {tag: R}\n    source: /b/{revision}\n    deploy_to: srv/w\n"), "/etc/stackhand/stackhand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Apps[0].DeployTo != "/etc/stackhand/srv/w" {
		t.Errorf("deploy_to %q", c.Apps[0].DeployTo)
	}
}
