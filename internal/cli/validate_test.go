package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// hook writes an executable hook into hooks.d/<event>/ beside cfg, with mode perm.
func hook(t *testing.T, cfg, event, name string, perm os.FileMode) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(cfg), "hooks.d", event)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // beyond the umask
		t.Fatal(err)
	}
	return path
}

func TestValidateValidConfig(t *testing.T) {
	cfg := localConfig(t, "watch:\n  - name: release\n    metadata: release\n")
	hook(t, cfg, "deploy", "10-app", 0o755)
	hook(t, cfg, "health", "check", 0o700)
	r := run(t, "validate", "--config", cfg)
	r.check(t, ExitOK, []string{"validate: " + cfg + " is valid (1 watch rules; hooks in " + filepath.Join(filepath.Dir(cfg), "hooks.d") + ")"}, nil)
	if strings.Contains(r.stdout, "warning") {
		t.Errorf("warnings for a clean hooks.d:\n%s", r.stdout)
	}
}

func TestValidateUnknownKey(t *testing.T) {
	cfg := localConfig(t, "intervl: 30s\n")
	r := run(t, "validate", "--config", cfg)
	r.check(t, ExitFailed, []string{cfg + `:9: unknown key "intervl" in the top level; did you mean "interval"?`, "nothing was started"}, nil)
}

func TestValidateHooks(t *testing.T) {
	cfg := localConfig(t, "")
	writable := hook(t, cfg, "deploy", "20-group-writable", 0o775)
	hook(t, cfg, "deploy", "10-fine", 0o755)
	notExec := hook(t, cfg, "configure", "10-not-executable", 0o644)
	hook(t, cfg, "setup", "10-backup~", 0o755) // skipped quietly, as run-parts does
	typo := filepath.Join(filepath.Dir(cfg), "hooks.d", "deploi")
	if err := os.MkdirAll(typo, 0o755); err != nil {
		t.Fatal(err)
	}

	r := run(t, "validate", "--config", cfg)
	r.check(t, ExitFailed, []string{
		writable + " is writable by group (mode 0775); run: chmod go-w " + writable,
		"warning: " + typo + `: unknown event "deploi"`, "its hooks never run — rename the directory",
		"warning: " + notExec + ": not executable (mode 0644); run: chmod +x " + notExec,
		"validate: 1 problem(s)",
	}, nil)
	for _, quiet := range []string{"10-fine", "10-backup~"} {
		if strings.Contains(r.stdout, quiet) {
			t.Errorf("stdout mentions %s:\n%s", quiet, r.stdout)
		}
	}
}

func TestValidateMissingHooksDir(t *testing.T) {
	cfg := localConfig(t, "")
	r := run(t, "validate", "--config", cfg)
	r.check(t, ExitOK, []string{"warning: " + filepath.Join(filepath.Dir(cfg), "hooks.d") + ": hooks directory cannot be read", "is valid"}, nil)
}

// TestValidateShowsWhatEachCfnHupSectionBecame: per cfn-hup section, its path, triggers,
// runas, action and the watch rule it became, for a migrator to read before the switch.
func TestValidateShowsWhatEachCfnHupSectionBecame(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the golden file holds the Linux default paths")
	}
	missing := filepath.Join(t.TempDir(), "stackhand.yaml")
	r := run(t, "validate", "--config", missing, "--cfn-hup-dir", "../config/testdata/cfn-hup")
	r.check(t, ExitOK, nil, nil)
	golden(t, "validate/cfn-hup.golden", []byte(strings.ReplaceAll(r.stdout, missing, "$CONFIG")))
}

// README (Configuration): a resource that no metadata rule reads is a warning in validate,
// as it is at start.
func TestValidateWarnsResourceNoRuleReads(t *testing.T) {
	cfg := localConfig(t, "watch:\n  - tag: Release\n")
	r := run(t, "validate", "--config", cfg)
	r.check(t, ExitOK, []string{"warning: " + cfg + `:3: resource "WebServer" is set but no watch rule reads its Metadata`}, nil)
}
