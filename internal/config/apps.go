package config

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/stackhand/stackhand/internal/cfnpath"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/release"
)

// AppRulePrefix starts the names of the implicit watch rules of apps; watch rules written
// in stackhand.yaml may not use it.
const AppRulePrefix = "app:"

// Defaults of an app.
const (
	DefaultKeepReleases = release.DefaultKeepReleases
	DefaultCheckWithin  = Duration(release.DefaultWithin)
)

// appNameRE is what an app name may be: it is a command-line argument, part of a watch
// rule's name and of state keys, and given to hooks as STACKHAND_APP.
var appNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ReleaseApp is what package release needs of a.
func (a App) ReleaseApp() release.App {
	return release.App{
		Name: a.Name, DeployTo: a.DeployTo, Owner: a.Owner, KeepReleases: a.KeepReleases,
		Shared: a.Shared, Checks: release.Checks{HTTP: a.Checks.HTTP, Within: a.Checks.Within.D()},
		RollbackOnFailure: a.Rollback(), ReleaseHooks: a.ReleaseHooks,
	}
}

// SourceFor is the app's source with {revision} replaced by rev.
func (a App) SourceFor(rev string) string { return strings.ReplaceAll(a.Source, "{revision}", rev) }

// AppByName returns the app called name, or nil.
func (c *Config) AppByName(name string) *App {
	for i := range c.Apps {
		if c.Apps[i].Name == name {
			return &c.Apps[i]
		}
	}
	return nil
}

func (l *loader) validateApps(c *Config) {
	names := map[string]int{}
	var valid []int // indexes of apps whose deploy_to can be compared
	for i := range c.Apps {
		a := &c.Apps[i]
		p := fmt.Sprintf("apps[%d]", i)
		line := l.line(p)
		a.Origin = origin(l.file, line)

		switch {
		case a.Name == "":
			l.validf(line, "%s has no name: name the app (letters, digits, _ . -), e.g. name: web", p)
		case !appNameRE.MatchString(a.Name):
			l.validf(l.line(p+".name"), "%s.name %q: use 1 to 64 letters, digits, _ . - starting with a letter or digit (it names the app on the command line and in hooks)", p, a.Name)
		default:
			if j, dup := names[a.Name]; dup {
				l.validf(l.line(p+".name"), "%s is named %q like apps[%d] (line %d); give each app its own name", p, a.Name, j, l.line(fmt.Sprintf("apps[%d]", j)))
			} else {
				names[a.Name] = i
			}
		}

		if a.Revision.IsZero() {
			l.validf(line, "%s has no revision: say where the revision to deploy is read, e.g. revision: {metadata: release}, {tag: Release} or {ssm: /web/release}", p)
		} else {
			l.checkRef(c, p+".revision", a.Revision)
		}

		l.checkAppSource(c, p, a)

		if a.SHA256.Literal != "" && !a.SHA256.From.IsZero() {
			l.validf(l.line(p+".sha256"), "%s.sha256 is both a digest and a reference", p)
		}
		if lit := a.SHA256.Literal; lit != "" {
			if b, err := hex.DecodeString(lit); err != nil || len(b) != 32 {
				l.validf(l.line(p+".sha256"), "%s.sha256 %q is not a SHA-256 digest (64 hex digits, as sha256sum prints); or write {metadata: ...}, {tag: ...} or {ssm: ...} to read it", p, lit)
			} else {
				a.SHA256.Literal = strings.ToLower(lit)
			}
		}
		if !a.SHA256.From.IsZero() {
			l.checkRef(c, p+".sha256", a.SHA256.From)
		}
		if (a.SHA256.Literal != "" || !a.SHA256.From.IsZero()) && strings.HasPrefix(a.Source, "git+") {
			// What git gives is a checkout, not a file: the digest would be of `git archive`'s
			// output, which changes with git's version. The ref (a commit id) pins it instead.
			l.validf(l.line(p+".sha256"), "%s.sha256 cannot check a git source: a checkout has no single file to hash; pin the revision to a commit id instead, or remove sha256", p)
		}

		if !c.IsSet(p + ".keep_releases") {
			a.KeepReleases = DefaultKeepReleases
		} else if a.KeepReleases < 1 {
			l.validf(l.line(p+".keep_releases"), "%s.keep_releases is %d; keep at least 1 release (the current and the one before it are always kept), or leave it out for %d", p, a.KeepReleases, DefaultKeepReleases)
		}
		if !c.IsSet(p + ".checks.within") {
			a.Checks.Within = DefaultCheckWithin
		} else if a.Checks.Within <= 0 {
			l.validf(l.line(p+".checks.within"), "%s.checks.within must be more than 0s; leave it out for %s", p, DefaultCheckWithin)
		}
		if h := a.Checks.HTTP; h != "" {
			u, err := url.Parse(h)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				l.validf(l.line(p+".checks.http"), "%s.checks.http %q is not an http:// or https:// URL with a host, e.g. http://127.0.0.1:8080/health", p, h)
			}
		}
		if a.ReleaseHooks && a.Owner == "" {
			l.validf(l.line(p+".release_hooks"), "%s.release_hooks is true but owner is not set: release hooks run as the app's owner, never as root; set owner", p)
		}
		if a.Owner == "root" || a.Owner == "0" {
			l.validf(l.line(p+".owner"), "%s.owner %q: an app owned by root would let what the archive carries run as root; name the app's own user, or leave owner out", p, a.Owner)
		}

		l.checkRollout(p, a.Rollout)
		l.checkSignal(c, p, a.Signal)

		if a.DeployTo == "" {
			l.validf(line, "%s has no deploy_to: name the directory that holds its releases, e.g. deploy_to: /srv/%s", p, a.Name)
			continue
		}
		if err := a.ReleaseApp().Validate(); err != nil {
			ln := l.line(p + ".deploy_to")
			if strings.Contains(err.Error(), "shared entry") {
				ln = l.line(p + ".shared")
			}
			l.validf(ln, "%s: %v", p, err)
			continue
		}
		if a.Name != "" {
			valid = append(valid, i)
		}
	}
	for x, i := range valid {
		for _, j := range valid[:x] {
			if err := release.Overlap([]release.App{c.Apps[j].ReleaseApp(), c.Apps[i].ReleaseApp()}); err != nil {
				l.validf(l.line(fmt.Sprintf("apps[%d].deploy_to", i)), "%v (apps[%d] on line %d)", err, j, l.line(fmt.Sprintf("apps[%d]", j)))
			}
		}
	}
	if len(l.probs) == 0 {
		c.Watch = append(c.Watch, AppRules(c.Apps)...)
		c.Watch = append(c.Watch, SignalRules(c.Watch)...)
	}
}

// SignalRules returns the implicit rules that read the URLs of the rules' wait handles:
// signal:<rule>, silent (they keep the value and never fire).
func SignalRules(rules []WatchRule) []WatchRule {
	var out []WatchRule
	for _, r := range rules {
		if r.Signal == nil || r.Signal.WaitHandle.IsZero() {
			continue
		}
		h := WatchRule{Name: SignalRulePrefix + r.Name, Tag: r.Signal.WaitHandle.Tag, SSM: r.Signal.WaitHandle.SSM,
			App: r.App, Origin: r.Origin, Silent: true}
		if strings.HasPrefix(r.Signal.WaitHandle.Metadata, "Resources.") {
			h.Path = r.Signal.WaitHandle.Metadata
		} else {
			h.Metadata = r.Signal.WaitHandle.Metadata
		}
		out = append(out, h)
	}
	return out
}

// checkRef checks a revision or sha256 reference.
func (l *loader) checkRef(c *Config, p string, v ValueRef) {
	var what []string
	if v.Metadata != "" {
		what = append(what, "metadata")
	}
	if v.Tag != "" {
		what = append(what, "tag")
	}
	if v.SSM != "" {
		what = append(what, "ssm")
	}
	if len(what) > 1 {
		l.validf(l.line(p), "%s sets %s; it is read from one place: keep one", p, strings.Join(what, " and "))
		return
	}
	switch {
	case v.Metadata != "":
		if strings.HasPrefix(v.Metadata, "Resources.") {
			if _, err := cfnpath.Parse(v.Metadata); err != nil {
				l.validf(l.line(p+".metadata"), "%s.metadata: %v", p, err)
			}
		} else if _, err := cfnpath.ParseSub(v.Metadata); err != nil {
			l.validf(l.line(p+".metadata"), "%s.metadata: %v", p, err)
		} else if c.Mode == ModeLocal && c.Resource == "" {
			// mode aws finds the resource from the instance's tags; local has no such tag.
			l.validf(l.line(p+".metadata"), "%s.metadata %q is inside resource's Metadata but resource is not set: set resource, or write the full path Resources.<LogicalId>.Metadata.%s", p, v.Metadata, v.Metadata)
		}
	case v.Tag != "":
		if len(v.Tag) > 128 {
			l.validf(l.line(p+".tag"), "%s.tag is %d characters long; EC2 tag keys have at most 128", p, len(v.Tag))
		}
	case v.SSM != "":
		if err := checkParameterName(v.SSM); err != nil {
			l.validf(l.line(p+".ssm"), "%s.ssm %q: %v", p, v.SSM, err)
		}
	}
}

// sourceKinds are the source forms package release fetches.
var sourceKinds = []string{"file://", "/", "http://", "https://", "s3://", "git+https://", "git+ssh://", "git+file://"}

func (l *loader) checkAppSource(c *Config, p string, a *App) {
	src := a.Source
	if src == "" {
		l.validf(l.line(p), "%s has no source: say where a revision is fetched, e.g. s3://bucket/web/{revision}.tar.gz, https://host/web-{revision}.tar.gz, git+https://host/web.git#{revision} or file:///srv/builds/{revision}.tar.gz", p)
		return
	}
	ln := l.line(p + ".source")
	if !slices.ContainsFunc(sourceKinds, func(k string) bool { return strings.HasPrefix(src, k) }) {
		l.validf(ln, "%s.source %q: use file:///path, https://…, s3://bucket/key or git+https://host/repo.git#REF", p, redactSource(src))
		return
	}
	if strings.HasPrefix(src, "s3://") && c.Mode == ModeLocal {
		l.validf(ln, "%s.source is on S3, which mode local does not reach; use a file:// or http:// source on the laptop", p)
	}
	if strings.HasPrefix(src, "git+") && !strings.Contains(src, "#") {
		l.validf(ln, "%s.source %q has no #REF: write git+https://host/repo.git#{revision}", p, redactSource(src))
	}
	if u, err := url.Parse(strings.ReplaceAll(src, "{revision}", "r")); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			l.validf(ln, "%s.source holds a password, which would be stored in the config and shown in logs; give the credentials to git or the web server another way", p)
		}
	}
}

// AppRules returns the implicit watch rules of apps: app:<name> on its revision (a deploy on
// add and update, an undeploy on remove, as any watch rule) and, when sha256 is read from
// somewhere, app:<name>:sha256, which only deploys (a digest removed is no reason to undeploy).
func AppRules(apps []App) []WatchRule {
	var out []WatchRule
	for _, a := range apps {
		out = append(out, refRule(a.RuleName(), a.Revision, a, slices.Clone(allChanges)))
		if !a.SHA256.From.IsZero() {
			r := refRule(a.SHA256RuleName(), a.SHA256.From, a, []string{string(event.Add), string(event.Update)})
			r.Event = string(event.Deploy)
			out = append(out, r)
		}
	}
	return out
}

func refRule(name string, v ValueRef, a App, on []string) WatchRule {
	r := WatchRule{Name: name, Tag: v.Tag, SSM: v.SSM, On: on, App: a.Name, Origin: a.Origin, Rollout: a.Rollout}
	if name == a.RuleName() {
		r.Signal = a.Signal // once per revision, not again for its digest
	}
	if strings.HasPrefix(v.Metadata, "Resources.") {
		r.Path = v.Metadata
	} else {
		r.Metadata = v.Metadata
	}
	return r
}

// redactSource is release.Redact keeping {revision} as written, for messages about the
// config file.
func redactSource(src string) string {
	return strings.ReplaceAll(release.Redact(src), "%7Brevision%7D", "{revision}")
}
