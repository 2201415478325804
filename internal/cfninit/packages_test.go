package cfninit

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"
)

func pkgConfig(manager string, pkgs ...Package) *Config {
	return &Config{Name: "config", Packages: []PackageSet{{Manager: manager, Packages: pkgs}}}
}

func applyPkgs(t *testing.T, r *Runner, c *Config) (*Changes, *Result, error) {
	t.Helper()
	ch, res := newChanges(), &Result{}
	err := r.applyPackages(context.Background(), c, ch, res)
	return ch, res, err
}

func TestAptInstallsOnlyWhatIsMissing(t *testing.T) {
	rc := newRecorder(t, "dpkg-query", "apt-get")
	rc.rule(t, "dpkg-query * httpd", 0, `install ok installed\t2.4.57-1`)
	rc.rule(t, "dpkg-query * jq", 0, `install ok installed\t1.5+dfsg-2`)
	rc.rule(t, "dpkg-query * gone", 0, `deinstall ok config-files\t1.0-1`)
	rc.rule(t, "dpkg-query *", 1, `dpkg-query: no packages found matching x`)
	r, logs := testRunner(t)
	c := pkgConfig("apt",
		Package{Name: "curl", Versions: []string{"7.88.1-10"}},
		Package{Name: "gone"},
		Package{Name: "httpd"},
		Package{Name: "jq", Versions: []string{"1.6"}},
		Package{Name: "tzdata", Versions: []string{"2024a-1", "2024b-1"}},
	)
	ch, res, err := applyPkgs(t, r, c)
	if err != nil {
		t.Fatal(err)
	}
	f := "${Status}\t${Version}"
	rc.wantCalls(t,
		"dpkg-query -W -f "+f+" curl",
		"dpkg-query -W -f "+f+" gone",
		"dpkg-query -W -f "+f+" httpd",
		"dpkg-query -W -f "+f+" jq",
		"dpkg-query -W -f "+f+" tzdata",
		"apt-get -q -y install curl=7.88.1-10 gone jq=1.6 tzdata=2024a-1 tzdata=2024b-1 env DEBIAN_FRONTEND=noninteractive",
	)
	for _, n := range []string{"curl", "gone", "jq", "tzdata"} {
		if !ch.Packages["apt"][n] {
			t.Errorf("ch.Packages[apt][%s] not recorded", n)
		}
	}
	if ch.Packages["apt"]["httpd"] {
		t.Error("httpd was already installed but is recorded as changed")
	}
	if !slices.Contains(res.Changed, "package apt curl") || len(res.Changed) != 4 {
		t.Errorf("res.Changed = %q", res.Changed)
	}
	if !logged(logs, zapcore.DebugLevel, "apt package httpd already installed at 2.4.57-1") {
		t.Errorf("no debug line for httpd; log:\n%s", allLogs(logs))
	}
}

func TestAptAllInstalledRunsNoInstall(t *testing.T) {
	rc := newRecorder(t, "dpkg-query", "apt-get")
	rc.rule(t, "dpkg-query *", 0, `install ok installed\t1.6-1`)
	r, _ := testRunner(t)
	ch, res, err := applyPkgs(t, r, pkgConfig("apt", Package{Name: "jq", Versions: []string{"1.6"}}, Package{Name: "curl"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rc.calls(t) {
		if c[0] == "apt-get" {
			t.Errorf("apt-get called although everything is installed: %q", c)
		}
	}
	if len(ch.Packages) != 0 || len(res.Changed) != 0 {
		t.Errorf("changes recorded: %v %q", ch.Packages, res.Changed)
	}
}

func TestAptUnknownPackageCarriesAptsMessage(t *testing.T) {
	rc := newRecorder(t, "dpkg-query", "apt-get")
	rc.rule(t, "dpkg-query *", 1, "")
	rc.rule(t, "apt-get *", 100, `Reading package lists...\nBuilding dependency tree...\nE: Unable to locate package nosuch-pkg`)
	r, _ := testRunner(t)
	_, res, err := applyPkgs(t, r, pkgConfig("apt", Package{Name: "nosuch-pkg"}))
	if err == nil {
		t.Fatal("no error for a package apt does not have")
	}
	for _, want := range []string{"packages.apt", "exited with code 100", "E: Unable to locate package nosuch-pkg"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if len(res.Changed) != 0 {
		t.Errorf("changes recorded for a failed install: %q", res.Changed)
	}
}

func TestDebVersionMatches(t *testing.T) {
	for _, c := range []struct {
		have, want string
		ok         bool
	}{
		{"1.2-3", "1.2-3", true},
		{"1.2-3ubuntu1", "1.2", true},
		{"1.2+dfsg-1", "1.2", true},
		{"1.20-1", "1.2", false},
		{"1.2-3", "1.3", false},
		{"1:1.2-3", "1.2", false},
	} {
		if got := debVersionMatches(c.have, c.want); got != c.ok {
			t.Errorf("debVersionMatches(%q, %q) = %t", c.have, c.want, got)
		}
	}
}

func TestYumArgvAndDecisions(t *testing.T) {
	rc := newRecorder(t, "rpm", "yum")
	rc.rule(t, "rpm -q --quiet httpd", 0, "")
	rc.rule(t, "rpm -q --queryformat * php", 0, `8.3.0-1.amzn2023`)
	rc.rule(t, "rpm -q --queryformat * git", 0, `2.39.0-1`)
	rc.rule(t, "rpm -q --queryformat *", 1, `package x is not installed`)
	rc.rule(t, "rpm -q --quiet *", 1, "")
	r, logs := testRunner(t)
	c := pkgConfig("yum",
		Package{Name: "git", Versions: []string{"2.40.1"}},
		Package{Name: "httpd"},
		Package{Name: "nginx"},
		Package{Name: "php", Versions: []string{"8.1.2", "8.2.0"}},
	)
	ch, _, err := applyPkgs(t, r, c)
	if err != nil {
		t.Fatal(err)
	}
	rc.wantCalls(t,
		"rpm -q --quiet git-2.40.1",
		"rpm -q --queryformat %{VERSION}-%{RELEASE}  git",
		"rpm -q --quiet httpd",
		"rpm -q --quiet nginx",
		"rpm -q --quiet php-8.2.0",
		"rpm -q --queryformat %{VERSION}-%{RELEASE}  php",
		"yum -y install git-2.40.1 nginx",
		"yum -y downgrade php-8.2.0",
	)
	if ch.Packages["yum"]["httpd"] || !ch.Packages["yum"]["php"] || !ch.Packages["yum"]["git"] {
		t.Errorf("ch.Packages = %v", ch.Packages)
	}
	if !logged(logs, zapcore.DebugLevel, "yum package httpd already installed") {
		t.Errorf("log:\n%s", allLogs(logs))
	}
}

func TestYumIsDnfWhereYumIsDnf(t *testing.T) {
	t.Run("yum links to dnf", func(t *testing.T) {
		rc := newRecorder(t, "rpm", "dnf-3")
		for _, link := range []string{"yum", "dnf"} {
			if err := os.Symlink("dnf-3", filepath.Join(rc.dir, link)); err != nil {
				t.Fatal(err)
			}
		}
		rc.rule(t, "rpm *", 1, "")
		r, _ := testRunner(t)
		if _, _, err := applyPkgs(t, r, pkgConfig("yum", Package{Name: "htop"})); err != nil {
			t.Fatal(err)
		}
		rc.wantCalls(t, "rpm -q --quiet htop", "dnf -y install htop")
	})
	t.Run("no yum, only dnf", func(t *testing.T) {
		rc := newRecorder(t, "rpm", "dnf")
		rc.rule(t, "rpm *", 1, "")
		r, _ := testRunner(t)
		if _, _, err := applyPkgs(t, r, pkgConfig("yum", Package{Name: "htop"})); err != nil {
			t.Fatal(err)
		}
		rc.wantCalls(t, "rpm -q --quiet htop", "dnf -y install htop")
	})
	t.Run("yum missing package carries its message", func(t *testing.T) {
		rc := newRecorder(t, "rpm", "yum")
		rc.rule(t, "rpm *", 1, "")
		rc.rule(t, "yum *", 1, `Last metadata expiration check: 0:01:02 ago.\nNo match for argument: nosuch\nError: Unable to find a match: nosuch`)
		r, _ := testRunner(t)
		_, _, err := applyPkgs(t, r, pkgConfig("yum", Package{Name: "nosuch"}))
		if err == nil || !strings.Contains(err.Error(), "Error: Unable to find a match: nosuch") {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestRPMFilesSkipInstalledOnes(t *testing.T) {
	rc := newRecorder(t, "rpm")
	rc.rule(t, "rpm -qp * /tmp/a.rpm", 0, "agent-1.2-3")
	rc.rule(t, "rpm -qp * https://example.com/b.rpm", 0, "bee-2.0-1")
	rc.rule(t, "rpm -q --quiet agent-1.2-3", 0, "")
	rc.rule(t, "rpm -q --quiet *", 1, "")
	r, _ := testRunner(t)
	ch, _, err := applyPkgs(t, r, pkgConfig("rpm",
		Package{Name: "agent", Versions: []string{"/tmp/a.rpm"}},
		Package{Name: "bee", Versions: []string{"https://example.com/b.rpm"}},
	))
	if err != nil {
		t.Fatal(err)
	}
	rc.wantCalls(t,
		"rpm -qp --queryformat %{NAME}-%{VERSION}-%{RELEASE} --nosignature /tmp/a.rpm",
		"rpm -q --quiet agent-1.2-3",
		"rpm -qp --queryformat %{NAME}-%{VERSION}-%{RELEASE} --nosignature https://example.com/b.rpm",
		"rpm -q --quiet bee-2.0-1",
		"rpm -U --quiet --nosignature --replacepkgs https://example.com/b.rpm",
	)
	if ch.Packages["rpm"]["agent"] || !ch.Packages["rpm"]["bee"] {
		t.Errorf("ch.Packages = %v", ch.Packages)
	}
}

func TestRPMUnreadableLocation(t *testing.T) {
	rc := newRecorder(t, "rpm")
	rc.rule(t, "rpm -qp *", 1, `error: open of https://user:pw@example.com/nope.rpm failed: No such file or directory`)
	r, _ := testRunner(t)
	_, _, err := applyPkgs(t, r, pkgConfig("rpm", Package{Name: "nope", Versions: []string{"https://user:pw@example.com/nope.rpm?sig=1"}}))
	if err == nil || !strings.Contains(err.Error(), "read the package at https://xxxxx@example.com/nope.rpm") {
		t.Fatalf("error = %v", err)
	}
}

func TestPythonThroughPip3(t *testing.T) {
	rc := newRecorder(t, "pip3")
	rc.rule(t, "pip3 show requests", 0, `Name: requests\nVersion: 2.31.0\nSummary: HTTP`)
	rc.rule(t, "pip3 show flask", 0, `Name: flask\nVersion: 2.0.0`)
	rc.rule(t, "pip3 show mylib", 0, `Name: mylib\nVersion: 0.1`)
	rc.rule(t, "pip3 show *", 1, `WARNING: Package(s) not found: boto3`)
	r, logs := testRunner(t)
	ch, _, err := applyPkgs(t, r, pkgConfig("python",
		Package{Name: "boto3"},
		Package{Name: "flask", Versions: []string{"3.0.0"}},
		Package{Name: "mylib", Versions: []string{"https://example.com/mylib.tar.gz"}},
		Package{Name: "newlib", Versions: []string{"https://example.com/newlib.tar.gz"}},
		Package{Name: "requests", Versions: []string{"2.31.0"}},
	))
	if err != nil {
		t.Fatal(err)
	}
	rc.wantCalls(t,
		"pip3 show boto3", "pip3 show flask", "pip3 show mylib", "pip3 show newlib", "pip3 show requests",
		"pip3 install boto3 flask==3.0.0 https://example.com/newlib.tar.gz",
	)
	if !ch.Packages["python"]["flask"] || ch.Packages["python"]["requests"] || ch.Packages["python"]["mylib"] {
		t.Errorf("ch.Packages = %v", ch.Packages)
	}
	if !logged(logs, zapcore.DebugLevel, "python package requests already installed at 2.31.0") {
		t.Errorf("log:\n%s", allLogs(logs))
	}
}

func TestPythonFallsBackToPip(t *testing.T) {
	rc := newRecorder(t, "pip")
	rc.rule(t, "pip show *", 1, "")
	r, _ := testRunner(t)
	if _, _, err := applyPkgs(t, r, pkgConfig("python", Package{Name: "six"})); err != nil {
		t.Fatal(err)
	}
	rc.wantCalls(t, "pip show six", "pip install six")
}

func TestGemsEachVersion(t *testing.T) {
	rc := newRecorder(t, "gem")
	rc.rule(t, "gem list -i ^rake$ -v 13.0.6", 0, "true")
	rc.rule(t, "gem list -i ^bundler$", 0, "true")
	rc.rule(t, "gem list *", 1, "false")
	r, _ := testRunner(t)
	ch, _, err := applyPkgs(t, r, pkgConfig("rubygems",
		Package{Name: "bundler"},
		Package{Name: "json"},
		Package{Name: "rake", Versions: []string{"12.3.3", "13.0.6"}},
		Package{Name: "ruby.ext"},
	))
	if err != nil {
		t.Fatal(err)
	}
	rc.wantCalls(t,
		"gem list -i ^bundler$",
		"gem list -i ^json$",
		"gem install -b --no-document json",
		"gem list -i ^rake$ -v 12.3.3",
		"gem install -b --no-document rake -v = 12.3.3",
		"gem list -i ^rake$ -v 13.0.6",
		`gem list -i ^ruby\.ext$`,
		"gem install -b --no-document ruby.ext",
	)
	if ch.Packages["rubygems"]["bundler"] || !ch.Packages["rubygems"]["rake"] || !ch.Packages["rubygems"]["json"] {
		t.Errorf("ch.Packages = %v", ch.Packages)
	}
}

func TestMSICommandLineAndOutcome(t *testing.T) {
	got := strings.Join(msiArgs(`C:\cfn\app.msi`), " ")
	if want := `/i C:\cfn\app.msi /qn REBOOT=ReallySuppress ALLUSERS=1`; got != want {
		t.Errorf("msiArgs = %q, want %q", got, want)
	}
	for _, c := range []struct {
		code                     int
		installed, reboot, again bool
	}{{0, true, false, false}, {3010, true, true, false}, {1638, false, false, true}, {1603, false, false, false}} {
		i, rb, a := msiOutcome(c.code)
		if i != c.installed || rb != c.reboot || a != c.again {
			t.Errorf("msiOutcome(%d) = %t %t %t", c.code, i, rb, a)
		}
	}
}

func TestMSISkippedOffWindows(t *testing.T) {
	rc := newRecorder(t, "msiexec")
	r, logs := testRunner(t)
	if _, _, err := applyPkgs(t, r, pkgConfig("msi", Package{Name: "app", Versions: []string{"https://example.com/app.msi"}})); err != nil {
		t.Fatal(err)
	}
	if len(rc.calls(t)) != 0 || !logged(logs, zapcore.WarnLevel, "only on Windows") {
		t.Errorf("calls %q; log:\n%s", rc.calls(t), allLogs(logs))
	}
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.10", "1.9", 1},
		{"1.0", "1.0.1", -1},
		{"2.4.57-1", "2.4.57-2", -1},
		{"2.4.57", "2.4.6", 1},
		{"1.0a", "1.0", 1},
		{"1.0", "1.a", 1}, // digits are newer than letters
		{"1.01", "1.1", 0},
		{"8.2.0", "8.1.2", 1},
	} {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if got := maxVersion([]string{"1.9", "1.10", "1.2"}); got != "1.10" {
		t.Errorf("maxVersion = %q", got)
	}
}

func TestUnknownManagerWarns(t *testing.T) {
	newRecorder(t)
	r, logs := testRunner(t)
	if _, _, err := applyPkgs(t, r, pkgConfig("zypper", Package{Name: "x"})); err != nil {
		t.Fatal(err)
	}
	if !logged(logs, zapcore.WarnLevel, "packages.zypper: unsupported package manager") {
		t.Errorf("log:\n%s", allLogs(logs))
	}
}
