package cfninit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
)

const aptTestPkg = "stackhand-cfninit-test"

// TestAptForReal builds a one-file package with dpkg-deb, serves it from a flat file
// repository the test writes, points apt at it through -o options only (the machine's
// sources, lists and caches untouched), installs it through the packages section, finds
// it installed on the second run, and purges it at the end.
func TestAptForReal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: installs a package with apt-get")
	}
	for _, tool := range []string{"dpkg-deb", "apt-get", "dpkg-query", "dpkg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (a Debian system)", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	purge := func() {
		// A leftover from an interrupted run, or this run's install.
		if out, err := exec.Command("dpkg", "--purge", aptTestPkg).CombinedOutput(); err != nil {
			t.Logf("dpkg --purge %s: %v\n%s", aptTestPkg, err, out)
		}
	}
	purge()
	t.Cleanup(purge)

	base := t.TempDir()
	// The package: a control file and one file.
	root := filepath.Join(base, "pkg")
	share := filepath.Join(root, "usr/share", aptTestPkg)
	for _, d := range []string{filepath.Join(root, "DEBIAN"), share} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	control := "Package: " + aptTestPkg + "\nVersion: 1.0-1\nArchitecture: all\nMaintainer: stackhand tests <tests@invalid>\nDescription: stackhand cfn-init test package\n"
	if err := os.WriteFile(filepath.Join(root, "DEBIAN/control"), []byte(control), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(share, "hello.txt"), []byte("hello from apt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(base, "repo")
	if err := os.Mkdir(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	debName := aptTestPkg + "_1.0-1_all.deb"
	deb := filepath.Join(repo, debName)
	run("dpkg-deb", "--root-owner-group", "--build", root, deb)
	// The flat repository's index, written here rather than with dpkg-scanpackages
	// (dpkg-dev), which a machine may lack.
	b, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	index := strings.TrimSuffix(control, "\n") + fmt.Sprintf("\nFilename: ./%s\nSize: %d\nSHA256: %s\n\n", debName, len(b), hex.EncodeToString(sum[:]))
	if err := os.WriteFile(filepath.Join(repo, "Packages"), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	// apt's own state for this test: the list, the lists it downloads, its caches.
	sources := filepath.Join(base, "sources.list")
	if err := os.WriteFile(sources, []byte("deb [trusted=yes] file:"+repo+" ./\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	parts, lists, cache := filepath.Join(base, "sources.list.d"), filepath.Join(base, "lists"), filepath.Join(base, "cache")
	for _, d := range []string{parts, filepath.Join(lists, "partial"), filepath.Join(cache, "archives/partial")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := []string{
		"-o", "Dir::Etc::SourceList=" + sources,
		"-o", "Dir::Etc::SourceParts=" + parts,
		"-o", "Dir::State::Lists=" + lists,
		"-o", "Dir::Cache=" + cache,
		"-o", "APT::Get::List-Cleanup=0",
		"-o", "APT::Sandbox::User=root", // the _apt user cannot read the test's directory
		"-o", "DPkg::Lock::Timeout=120",
	}
	run("apt-get", append(opts, "-q", "update")...)

	r, logs := testRunner(t)
	r.sys = &system{aptOptions: opts}
	apply := func(versions ...string) (*Changes, *Result, error) {
		return applyPkgs(t, r, pkgConfig("apt", Package{Name: aptTestPkg, Versions: versions}))
	}

	ch, res, err := apply()
	if err != nil {
		t.Fatalf("install: %v\nlog:\n%s", err, allLogs(logs))
	}
	if !ch.Packages["apt"][aptTestPkg] || !slices.Equal(res.Changed, []string{"package apt " + aptTestPkg}) {
		t.Errorf("install recorded %v %q", ch.Packages, res.Changed)
	}
	if got, err := os.ReadFile(filepath.Join("/usr/share", aptTestPkg, "hello.txt")); err != nil || string(got) != "hello from apt\n" {
		t.Errorf("the package's file: %q %v", got, err)
	}

	for _, versions := range [][]string{nil, {"1.0-1"}, {"1.0"}} {
		ch, res, err = apply(versions...)
		if err != nil || len(res.Changed) != 0 || len(ch.Packages) != 0 {
			t.Errorf("versions %q: already installed, yet changed %q (err %v)", versions, res.Changed, err)
		}
	}
	if !logged(logs, zapcore.DebugLevel, "apt package "+aptTestPkg+" already installed at 1.0-1") {
		t.Errorf("no debug line saying it was installed; log:\n%s", allLogs(logs))
	}

	_, _, err = applyPkgs(t, r, pkgConfig("apt", Package{Name: aptTestPkg + "-nosuch"}))
	if err == nil || !strings.Contains(err.Error(), "Unable to locate package "+aptTestPkg+"-nosuch") {
		t.Errorf("a package apt does not have: %v", err)
	}
}
