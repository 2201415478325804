package cfninit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// applyPackages installs each manager's packages in the order the model gives (cfn-init's:
// rpm, then yum/apt, then rubygems and python). A package already installed at the wanted
// version, or at any version when none is given, is not reinstalled. What is installed is
// recorded in ch.Packages for services' restart lists.
//
// Where AWS's documentation is silent (which flags, how "installed" is decided, several
// versions), this follows aws-cfn-bootstrap's apt_tool.py, rpm_tools.py,
// lang_package_tools.py and msi_tool.py.
func (r *Runner) applyPackages(ctx context.Context, c *Config, ch *Changes, res *Result) error {
	for _, set := range c.Packages {
		if len(set.Packages) == 0 {
			continue
		}
		var installed []string
		var err error
		switch set.Manager {
		case "apt":
			installed, err = r.installApt(ctx, set.Packages)
		case "yum":
			installed, err = r.installYum(ctx, set.Packages)
		case "rpm":
			installed, err = r.installRPM(ctx, set.Packages)
		case "python":
			installed, err = r.installPython(ctx, set.Packages)
		case "rubygems":
			installed, err = r.installGems(ctx, set.Packages)
		case "msi":
			if runtime.GOOS != "windows" {
				r.Log.Warn("packages.msi: MSI packages install only on Windows; skipped")
				continue
			}
			installed, err = r.installMSI(ctx, set.Packages)
		default:
			// cfn-init ignores a manager it does not know, with a warning.
			r.Log.Warn(fmt.Sprintf("packages.%s: unsupported package manager; skipped (supported: apt, yum, rpm, python, rubygems, msi)", set.Manager))
			continue
		}
		for _, name := range installed {
			if ch.Packages[set.Manager] == nil {
				ch.Packages[set.Manager] = map[string]bool{}
			}
			ch.Packages[set.Manager][name] = true
			res.Changed = append(res.Changed, "package "+set.Manager+" "+name)
		}
		if err != nil {
			return fmt.Errorf("packages.%s: %w", set.Manager, err)
		}
	}
	return nil
}

// --- apt ---

// installApt installs what dpkg does not already have, in one apt-get call as cfn-init
// does, with -q -y and DEBIAN_FRONTEND=noninteractive (apt_tool.py). Every version listed
// is asked for as NAME=VERSION.
func (r *Runner) installApt(ctx context.Context, pkgs []Package) ([]string, error) {
	var specs, names []string
	for _, p := range pkgs {
		have, err := r.dpkgVersion(ctx, p.Name)
		if err != nil {
			return nil, err
		}
		wanted := false
		if len(p.Versions) == 0 {
			if have != "" {
				r.Log.Debug(fmt.Sprintf("apt package %s already installed at %s", p.Name, have))
				continue
			}
			specs = append(specs, p.Name)
			wanted = true
		}
		for _, v := range p.Versions {
			if have != "" && debVersionMatches(have, v) {
				r.Log.Debug(fmt.Sprintf("apt package %s already installed at %s", p.Name, have))
				continue
			}
			specs = append(specs, p.Name+"="+v)
			wanted = true
		}
		if wanted {
			names = append(names, p.Name)
		}
	}
	if len(specs) == 0 {
		r.Log.Info("all apt packages already installed")
		return nil, nil
	}
	args := append([]string{}, r.sysCfg().aptOptions...)
	args = append(args, "-q", "-y", "install")
	args = append(args, specs...)
	r.Log.Info("installing with apt: " + strings.Join(specs, " "))
	t, err := r.runTool(ctx, []string{"DEBIAN_FRONTEND=noninteractive"}, "apt-get", args...)
	if err != nil {
		return nil, err
	}
	if t.code != 0 {
		return nil, t.failure("install " + strings.Join(specs, " "))
	}
	r.Log.Info("apt installed " + strings.Join(names, " "))
	return names, nil
}

// dpkgVersion is the version of an installed Debian package, "" when it is not installed
// (unknown to dpkg, removed, or only its configuration files left).
func (r *Runner) dpkgVersion(ctx context.Context, name string) (string, error) {
	t, err := r.runTool(ctx, nil, "dpkg-query", "-W", "-f", "${Status}\t${Version}", name)
	if err != nil {
		return "", err
	}
	if t.code != 0 {
		return "", nil // dpkg-query exits 1 for a package it never saw
	}
	status, version, _ := strings.Cut(trimOut(t), "\t")
	// Status is "want flag state"; only state "installed" counts ("config-files" after
	// a remove does not).
	f := strings.Fields(status)
	if len(f) == 0 || f[len(f)-1] != "installed" {
		return "", nil
	}
	return version, nil
}

// debVersionMatches says whether the installed version is the one asked for. cfn-init
// compares by prefix ("1.2" is satisfied by "1.2-3ubuntu1", apt_tool.py), which also
// lets "1.2" match "1.20"; here the prefix must end where a Debian revision or a local
// suffix starts.
func debVersionMatches(have, want string) bool {
	if have == want {
		return true
	}
	if !strings.HasPrefix(have, want) {
		return false
	}
	switch have[len(want)] {
	case '-', '+', '~':
		return true
	}
	return false
}

// --- yum / dnf ---

// yumTool is the manager that answers to "yum": dnf where yum is dnf (Amazon Linux 2023,
// RHEL 8 and later link yum to dnf), or where there is no yum but a dnf.
func yumTool() string {
	if p, err := exec.LookPath("yum"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && strings.HasPrefix(filepath.Base(real), "dnf") && haveTool("dnf") {
			return "dnf"
		}
		return "yum"
	}
	if haveTool("dnf") {
		return "dnf"
	}
	return "yum"
}

// installYum installs rpm packages from the repositories. As cfn-init does (rpm_tools.py
// YumTool), several versions listed mean the highest of them; a version lower than the
// one installed is a downgrade; no version means any installed one will do.
func (r *Runner) installYum(ctx context.Context, pkgs []Package) ([]string, error) {
	tool := yumTool()
	var upgrade, downgrade, names []string
	for _, p := range pkgs {
		want := maxVersion(p.Versions)
		spec := p.Name
		if want != "" {
			spec = p.Name + "-" + want
		}
		t, err := r.runTool(ctx, nil, "rpm", "-q", "--quiet", spec)
		if err != nil {
			return nil, err
		}
		if t.code == 0 {
			r.Log.Debug(fmt.Sprintf("%s package %s already installed", tool, spec))
			continue
		}
		names = append(names, p.Name)
		if want == "" {
			upgrade = append(upgrade, spec)
			continue
		}
		have, err := r.rpmInstalledVersion(ctx, p.Name)
		if err != nil {
			return nil, err
		}
		if have != "" && compareVersions(want, have) < 0 {
			r.Log.Info(fmt.Sprintf("%s: downgrading %s from %s to %s", tool, p.Name, have, want))
			downgrade = append(downgrade, spec)
		} else {
			upgrade = append(upgrade, spec)
		}
	}
	if len(names) == 0 {
		r.Log.Info("all " + tool + " packages already installed")
		return nil, nil
	}
	for _, step := range []struct {
		verb  string
		specs []string
	}{{"install", upgrade}, {"downgrade", downgrade}} {
		if len(step.specs) == 0 {
			continue
		}
		r.Log.Info(fmt.Sprintf("%s %s: %s", tool, step.verb, strings.Join(step.specs, " ")))
		t, err := r.runTool(ctx, nil, tool, append([]string{"-y", step.verb}, step.specs...)...)
		if err != nil {
			return nil, err
		}
		if t.code != 0 {
			return nil, t.failure(step.verb + " " + strings.Join(step.specs, " "))
		}
	}
	r.Log.Info(tool + " installed " + strings.Join(names, " "))
	return names, nil
}

// rpmInstalledVersion is VERSION-RELEASE of an installed package, "" when none is.
func (r *Runner) rpmInstalledVersion(ctx context.Context, name string) (string, error) {
	t, err := r.runTool(ctx, nil, "rpm", "-q", "--queryformat", "%{VERSION}-%{RELEASE} ", name)
	if err != nil || t.code != 0 {
		return "", err
	}
	// Several installed versions (a kernel): the highest counts.
	return maxVersion(strings.Fields(trimOut(t))), nil
}

// --- rpm ---

// installRPM installs rpm files by path or URL. A file whose NAME-VERSION-RELEASE
// (rpm -qp) is already installed is skipped; the rest go to one
// `rpm -U --quiet --nosignature --replacepkgs`, cfn-init's command (rpm_tools.py RpmTool).
func (r *Runner) installRPM(ctx context.Context, pkgs []Package) ([]string, error) {
	var locs, names []string
	for _, p := range pkgs {
		wanted := false
		for _, loc := range p.Versions {
			if loc == "" {
				r.Log.Warn(fmt.Sprintf("packages.rpm.%s: no location given; skipped", p.Name))
				continue
			}
			t, err := r.runTool(ctx, nil, "rpm", "-qp", "--queryformat", "%{NAME}-%{VERSION}-%{RELEASE}", "--nosignature", loc)
			if err != nil {
				return nil, err
			}
			if t.code != 0 {
				return nil, t.failure(fmt.Sprintf("packages.rpm.%s: read the package at %s", p.Name, redactURL(loc)))
			}
			nvr := trimOut(t)
			q, err := r.runTool(ctx, nil, "rpm", "-q", "--quiet", nvr)
			if err != nil {
				return nil, err
			}
			if q.code == 0 {
				r.Log.Debug(fmt.Sprintf("rpm %s (%s) already installed", nvr, redactURL(loc)))
				continue
			}
			locs = append(locs, loc)
			wanted = true
		}
		if wanted {
			names = append(names, p.Name)
		}
	}
	if len(locs) == 0 {
		r.Log.Info("all rpm packages already installed")
		return nil, nil
	}
	t, err := r.runTool(ctx, nil, "rpm", append([]string{"-U", "--quiet", "--nosignature", "--replacepkgs"}, locs...)...)
	if err != nil {
		return nil, err
	}
	if t.code != 0 {
		return nil, t.failure("install " + strings.Join(names, " "))
	}
	r.Log.Info("rpm installed " + strings.Join(names, " "))
	return names, nil
}

// redactURL drops credentials from a URL for a log line or an error.
func redactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	host, path, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = "xxxxx@" + host[i+1:]
	}
	if j := strings.IndexAny(path, "?#"); j >= 0 {
		path = path[:j]
	}
	return scheme + "://" + host + "/" + path
}

// --- python ---

// pipTool is the pip to use: pip3 where there is one (current distributions have no
// plain pip for Python 3), else pip.
func pipTool() string {
	if haveTool("pip3") {
		return "pip3"
	}
	return "pip"
}

var urlRe = regexp.MustCompile(`(?i)^https?://`)

// installPython installs Python packages with pip, skipping those pip show finds at the
// wanted version (or any version when none is given). A version that is a URL is what pip
// installs, as cfn-init allows (lang_package_tools.py); the package counts as installed
// then when pip knows its name. pip cannot hold two versions of one package: of several,
// the highest is asked for.
func (r *Runner) installPython(ctx context.Context, pkgs []Package) ([]string, error) {
	pip := pipTool()
	var specs, names []string
	for _, p := range pkgs {
		want := maxVersion(p.Versions)
		have, err := r.pipVersion(ctx, pip, p.Name)
		if err != nil {
			return nil, err
		}
		if have != "" && (want == "" || want == have || urlRe.MatchString(want)) {
			r.Log.Debug(fmt.Sprintf("python package %s already installed at %s", p.Name, have))
			continue
		}
		switch {
		case want == "":
			specs = append(specs, p.Name)
		case urlRe.MatchString(want):
			specs = append(specs, want)
		default:
			specs = append(specs, p.Name+"=="+want)
		}
		names = append(names, p.Name)
	}
	if len(specs) == 0 {
		r.Log.Info("all python packages already installed")
		return nil, nil
	}
	t, err := r.runTool(ctx, nil, pip, append([]string{"install"}, specs...)...)
	if err != nil {
		return nil, err
	}
	if t.code != 0 {
		return nil, t.failure("install " + strings.Join(names, " "))
	}
	r.Log.Info(pip + " installed " + strings.Join(names, " "))
	return names, nil
}

// pipVersion is the installed version of a Python package, "" when pip has none.
func (r *Runner) pipVersion(ctx context.Context, pip, name string) (string, error) {
	t, err := r.runTool(ctx, nil, pip, "show", name)
	if err != nil || t.code != 0 {
		return "", err
	}
	for _, line := range strings.Split(string(t.out), "\n") {
		if v, ok := strings.CutPrefix(line, "Version:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", nil
}

// --- rubygems ---

// installGems installs each version of each gem that `gem list -i` does not find, one
// `gem install -b NAME -v VERSION` per version, as cfn-init does (lang_package_tools.py
// GemTool, whose `--no-ri --no-rdoc` RubyGems 3 replaced with --no-document).
func (r *Runner) installGems(ctx context.Context, pkgs []Package) ([]string, error) {
	var names []string
	for _, p := range pkgs {
		versions := p.Versions
		if len(versions) == 0 {
			versions = []string{""}
		}
		changed := false
		for _, v := range versions {
			// The name is a regular expression to gem list: anchor it so "rake" does not
			// find "rake-compiler".
			q := []string{"list", "-i", "^" + regexp.QuoteMeta(p.Name) + "$"}
			if v != "" {
				q = append(q, "-v", v)
			}
			t, err := r.runTool(ctx, nil, "gem", q...)
			if err != nil {
				return names, err
			}
			label := p.Name
			if v != "" {
				label += " " + v
			}
			if t.code == 0 {
				r.Log.Debug("gem " + label + " already installed")
				continue
			}
			args := []string{"install", "-b", "--no-document", p.Name}
			if v != "" {
				args = append(args, "-v", "= "+v)
			}
			r.Log.Info("installing gem " + label)
			t, err = r.runTool(ctx, nil, "gem", args...)
			if err != nil {
				return names, err
			}
			if t.code != 0 {
				return names, t.failure("install gem " + label)
			}
			changed = true
		}
		if changed {
			names = append(names, p.Name)
		}
	}
	return names, nil
}

// --- msi ---

// msiArgs is the msiexec command line for a package location (a path or URL, which
// msiexec reads itself): quiet, with the properties cfn-init's installer passes
// (msi_tool.py: REBOOT=ReallySuppress ALLUSERS=1).
func msiArgs(loc string) []string {
	return []string{"/i", loc, "/qn", "REBOOT=ReallySuppress", "ALLUSERS=1"}
}

// msiOutcome reads msiexec's exit code: 0 installed, 3010 installed with a reboot
// pending, 1638 another version of the product is already installed (nothing done).
func msiOutcome(code int) (installed, reboot, already bool) {
	switch code {
	case 0:
		return true, false, false
	case 3010:
		return true, true, false
	case 1638:
		return false, false, true
	}
	return false, false, false
}

// installMSI runs msiexec for each package. Windows Installer itself leaves a product
// already installed alone (and says so with 1638 for another version).
func (r *Runner) installMSI(ctx context.Context, pkgs []Package) ([]string, error) {
	var names []string
	for _, p := range pkgs {
		for _, loc := range p.Versions {
			t, err := r.runTool(ctx, nil, "msiexec", msiArgs(loc)...)
			if err != nil {
				return names, err
			}
			installed, reboot, already := msiOutcome(t.code)
			switch {
			case already:
				r.Log.Debug(fmt.Sprintf("msi %s already installed (another version)", p.Name))
			case installed:
				if reboot {
					r.Log.Warn(fmt.Sprintf("msi %s installed; Windows asks for a reboot to finish", p.Name))
				}
				names = append(names, p.Name)
			default:
				return names, t.failure(fmt.Sprintf("install msi %s from %s", p.Name, redactURL(loc)))
			}
		}
	}
	return names, nil
}

// --- versions ---

// maxVersion is the highest of the versions by rpm's ordering, "" for none. A URL (pip)
// is taken as it is.
func maxVersion(vs []string) string {
	best := ""
	for _, v := range vs {
		if best == "" || compareVersions(v, best) > 0 {
			best = v
		}
	}
	return best
}

// compareVersions orders VERSION[-RELEASE] strings as rpm does: each part split into runs
// of digits and of letters (other characters separate), digits compared as numbers and
// newer than letters, letters compared as text, and when all shared runs are equal the one
// with more runs is newer. The version decides before the release. It returns -1, 0, 1.
func compareVersions(a, b string) int {
	av, ar, _ := strings.Cut(a, "-")
	bv, br, _ := strings.Cut(b, "-")
	if c := compareSegments(av, bv); c != 0 {
		return c
	}
	return compareSegments(ar, br)
}

var segRe = regexp.MustCompile(`[A-Za-z]+|[0-9]+`)

func compareSegments(a, b string) int {
	as, bs := segRe.FindAllString(a, -1), segRe.FindAllString(b, -1)
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, y := as[i], bs[i]
		xd, yd := x[0] >= '0' && x[0] <= '9', y[0] >= '0' && y[0] <= '9'
		switch {
		case xd && !yd:
			return 1
		case !xd && yd:
			return -1
		case xd:
			x, y = strings.TrimLeft(x, "0"), strings.TrimLeft(y, "0")
			if len(x) != len(y) {
				return sign(len(x) - len(y))
			}
		}
		if c := strings.Compare(x, y); c != 0 {
			return c
		}
	}
	return sign(len(as) - len(bs))
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// fileExists is for the init system checks.
func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
