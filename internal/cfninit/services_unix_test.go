//go:build !windows

package cfninit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"
)

// systemdRunner is a Runner that sees a running systemd and recording tools.
func systemdRunner(t *testing.T) (*Runner, *recorder) {
	rc := newRecorder(t, "systemctl", "service", "chkconfig", "update-rc.d")
	r, _ := testRunner(t)
	r.sys.systemd = bp(true)
	return r, rc
}

func applySvcs(r *Runner, ch *Changes, svcs ...Service) (*Result, error) {
	res := &Result{}
	if ch == nil {
		ch = newChanges()
	}
	return res, r.applyServices(context.Background(), &Config{Name: "config", Services: svcs}, ch, res)
}

func TestSystemdEnableStartStopRestart(t *testing.T) {
	r, rc := systemdRunner(t)
	rc.rule(t, "systemctl is-enabled httpd", 1, "disabled")
	rc.rule(t, "systemctl is-active --quiet httpd", 3, "")
	rc.rule(t, "systemctl is-enabled old", 0, "enabled")
	rc.rule(t, "systemctl is-active --quiet old", 0, "")
	rc.rule(t, "systemctl is-enabled app", 0, "enabled")
	rc.rule(t, "systemctl is-active --quiet app", 0, "")
	ch := newChanges()
	ch.Files["/etc/app.conf"] = true
	res, err := applySvcs(r, ch,
		Service{Manager: "sysvinit", Name: "httpd", Enabled: bp(true), EnsureRunning: bp(true)},
		Service{Manager: "sysvinit", Name: "old", Enabled: bp(false), EnsureRunning: bp(false)},
		Service{Manager: "sysvinit", Name: "app", Enabled: bp(true), EnsureRunning: bp(true), Files: []string{"/etc/app.conf"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	rc.wantCalls(t,
		"systemctl is-enabled httpd", "systemctl is-active --quiet httpd",
		"systemctl enable httpd", "systemctl start httpd",
		"systemctl is-enabled old", "systemctl is-active --quiet old",
		"systemctl disable old", "systemctl stop old",
		"systemctl is-enabled app", "systemctl is-active --quiet app",
		"systemctl restart app",
	)
	want := []string{"service httpd enabled", "service httpd started", "service old disabled", "service old stopped", "service app restarted"}
	if !slices.Equal(res.Changed, want) {
		t.Errorf("res.Changed = %q, want %q", res.Changed, want)
	}
}

func TestSystemdNothingToDo(t *testing.T) {
	r, rc := systemdRunner(t)
	rc.rule(t, "systemctl is-enabled *", 0, "enabled")
	rc.rule(t, "systemctl is-active *", 0, "")
	res, err := applySvcs(r, nil, Service{Manager: "sysvinit", Name: "sshd", Enabled: bp(true), EnsureRunning: bp(true), Files: []string{"/etc/ssh/sshd_config"}})
	if err != nil {
		t.Fatal(err)
	}
	rc.wantCalls(t, "systemctl is-enabled sshd", "systemctl is-active --quiet sshd")
	if len(res.Changed) != 0 {
		t.Errorf("res.Changed = %q", res.Changed)
	}
}

func TestUnknownServiceIsAClearError(t *testing.T) {
	for _, out := range []string{
		"Failed to get unit file state for nosuch.service: No such file or directory",
		"not-found",
	} {
		r, rc := systemdRunner(t)
		rc.rule(t, "systemctl is-enabled nosuch", 1, out)
		_, err := applySvcs(r, nil, Service{Manager: "sysvinit", Name: "nosuch", EnsureRunning: bp(true)})
		if err == nil {
			t.Fatalf("no error for an unknown service (systemctl said %q)", out)
		}
		for _, want := range []string{"services.sysvinit.nosuch", `systemd has no service named "nosuch"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	}
}

func TestCfnHupMeansStackhand(t *testing.T) {
	cfnHup := Service{Manager: "sysvinit", Name: "cfn-hup", Enabled: bp(true), EnsureRunning: bp(true),
		Files: []string{"/etc/cfn/cfn-hup.conf", "/etc/cfn/hooks.d/cfn-auto-reloader.conf"}}
	changed := func() *Changes {
		ch := newChanges()
		ch.Files["/etc/cfn/hooks.d/cfn-auto-reloader.conf"] = true
		return ch
	}
	setup := func(t *testing.T, running bool) (*Runner, *recorder) {
		r, rc := systemdRunner(t)
		r.SelfService = "stackhand"
		rc.rule(t, "systemctl is-enabled cfn-hup", 4, "not-found")
		rc.rule(t, "systemctl is-enabled stackhand", 0, "enabled")
		if running {
			rc.rule(t, "systemctl is-active --quiet stackhand", 0, "")
		} else {
			rc.rule(t, "systemctl is-active --quiet stackhand", 3, "")
		}
		return r, rc
	}
	t.Run("reload through systemctl", func(t *testing.T) {
		r, rc := setup(t, true)
		core, logs := testRunner(t)
		r.Log = core.Log
		res, err := applySvcs(r, changed(), cfnHup)
		if err != nil {
			t.Fatal(err)
		}
		rc.wantCalls(t, "systemctl is-enabled cfn-hup", "systemctl is-enabled stackhand", "systemctl is-active --quiet stackhand", "systemctl reload stackhand")
		if !slices.Equal(res.Changed, []string{"service stackhand reloaded"}) {
			t.Errorf("res.Changed = %q", res.Changed)
		}
		if !logged(logs, zapcore.InfoLevel, "reloaded stackhand through systemd") {
			t.Errorf("log:\n%s", allLogs(logs))
		}
	})
	t.Run("in an agent the init system does not know", func(t *testing.T) {
		r, rc := systemdRunner(t)
		r.SelfService = "stackhand"
		rc.rule(t, "systemctl is-enabled cfn-hup", 4, "not-found")
		rc.rule(t, "systemctl is-enabled stackhand", 4, "not-found")
		calls := 0
		r.SelfReload = func() error { calls++; return nil }
		if _, err := applySvcs(r, changed(), cfnHup); err != nil {
			t.Fatalf("an agent run by hand or in a container: %v", err)
		}
		if calls != 1 {
			t.Errorf("SelfReload called %d times, want 1", calls)
		}
		rc.wantCalls(t, "systemctl is-enabled cfn-hup", "systemctl is-enabled stackhand")
	})
	t.Run("reload in process", func(t *testing.T) {
		r, rc := setup(t, true)
		calls := 0
		r.SelfReload = func() error { calls++; return nil }
		if _, err := applySvcs(r, changed(), cfnHup); err != nil {
			t.Fatal(err)
		}
		if calls != 1 {
			t.Errorf("SelfReload called %d times", calls)
		}
		rc.wantCalls(t, "systemctl is-enabled cfn-hup", "systemctl is-enabled stackhand", "systemctl is-active --quiet stackhand")
	})
	t.Run("reload failure named", func(t *testing.T) {
		r, _ := setup(t, true)
		r.SelfReload = func() error { return errors.New("config /etc/cfn/cfn-hup.conf:3: bad interval") }
		_, err := applySvcs(r, changed(), cfnHup)
		if err == nil || !strings.Contains(err.Error(), "reload stackhand: config /etc/cfn/cfn-hup.conf:3") {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("inside the agent it runs, whatever systemd says", func(t *testing.T) {
		r, rc := setup(t, false)
		calls := 0
		r.SelfReload = func() error { calls++; return nil }
		if _, err := applySvcs(r, changed(), cfnHup); err != nil {
			t.Fatal(err)
		}
		if calls != 1 {
			t.Errorf("SelfReload called %d times", calls)
		}
		rc.wantCalls(t, "systemctl is-enabled cfn-hup", "systemctl is-enabled stackhand", "systemctl is-active --quiet stackhand")
	})
	t.Run("started when not running", func(t *testing.T) {
		r, rc := setup(t, false)
		if _, err := applySvcs(r, changed(), cfnHup); err != nil {
			t.Fatal(err)
		}
		rc.wantCalls(t, "systemctl is-enabled cfn-hup", "systemctl is-enabled stackhand", "systemctl is-active --quiet stackhand", "systemctl start stackhand")
	})
	t.Run("nothing changed, running", func(t *testing.T) {
		r, rc := setup(t, true)
		if _, err := applySvcs(r, nil, cfnHup); err != nil {
			t.Fatal(err)
		}
		rc.wantCalls(t, "systemctl is-enabled cfn-hup", "systemctl is-enabled stackhand", "systemctl is-active --quiet stackhand")
	})
	t.Run("a real cfn-hup wins", func(t *testing.T) {
		r, rc := systemdRunner(t)
		r.SelfService = "stackhand"
		rc.rule(t, "systemctl is-enabled cfn-hup", 0, "enabled")
		rc.rule(t, "systemctl is-active --quiet cfn-hup", 0, "")
		if _, err := applySvcs(r, changed(), cfnHup); err != nil {
			t.Fatal(err)
		}
		rc.wantCalls(t, "systemctl is-enabled cfn-hup", "systemctl is-active --quiet cfn-hup", "systemctl restart cfn-hup")
	})
	t.Run("no SelfService: unknown cfn-hup is an error", func(t *testing.T) {
		r, rc := systemdRunner(t)
		rc.rule(t, "systemctl is-enabled cfn-hup", 4, "not-found")
		_, err := applySvcs(r, changed(), cfnHup)
		if err == nil || !strings.Contains(err.Error(), `no service named "cfn-hup"`) {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestSysVInitScripts(t *testing.T) {
	initDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(initDir, "httpd"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, tools ...string) (*Runner, *recorder) {
		rc := newRecorder(t, tools...)
		r, _ := testRunner(t)
		r.sys.systemd = bp(false)
		r.sys.initDir = initDir
		return r, rc
	}
	t.Run("service and update-rc.d", func(t *testing.T) {
		r, rc := run(t, "service", "update-rc.d")
		rc.rule(t, "service httpd status", 3, "httpd is stopped")
		if _, err := applySvcs(r, nil, Service{Manager: "sysvinit", Name: "httpd", Enabled: bp(true), EnsureRunning: bp(true)}); err != nil {
			t.Fatal(err)
		}
		rc.wantCalls(t, "service httpd status", "update-rc.d httpd enable", "service httpd start")
	})
	t.Run("chkconfig first, restart on change", func(t *testing.T) {
		r, rc := run(t, "service", "chkconfig", "update-rc.d")
		ch := newChanges()
		ch.Packages["yum"] = map[string]bool{"httpd": true}
		if _, err := applySvcs(r, ch, Service{Manager: "sysvinit", Name: "httpd", Enabled: bp(false), Packages: map[string][]string{"yum": {"httpd"}}}); err != nil {
			t.Fatal(err)
		}
		rc.wantCalls(t, "service httpd status", "chkconfig httpd off", "service httpd restart")
	})
	t.Run("no script: unknown", func(t *testing.T) {
		r, _ := run(t, "service")
		_, err := applySvcs(r, nil, Service{Manager: "sysvinit", Name: "nginx", EnsureRunning: bp(true)})
		if err == nil || !strings.Contains(err.Error(), `SysV init has no service named "nginx"`) {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("failing start carries the script's words", func(t *testing.T) {
		r, rc := run(t, "service")
		rc.rule(t, "service httpd status", 3, "")
		rc.rule(t, "service httpd start", 1, "Starting httpd: (98)Address already in use")
		_, err := applySvcs(r, nil, Service{Manager: "sysvinit", Name: "httpd", EnsureRunning: bp(true)})
		if err == nil || !strings.Contains(err.Error(), "Address already in use") {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestWindowsServicesSkippedHere(t *testing.T) {
	rc := newRecorder(t, "systemctl")
	r, logs := testRunner(t)
	r.sys.systemd = bp(true)
	if _, err := applySvcs(r, nil, Service{Manager: "windows", Name: "W3SVC", EnsureRunning: bp(true)}); err != nil {
		t.Fatal(err)
	}
	if len(rc.calls(t)) != 0 || !logged(logs, zapcore.WarnLevel, "services.windows.W3SVC") {
		t.Errorf("calls %q; log:\n%s", rc.calls(t), allLogs(logs))
	}
}

// TestSystemdKey: the `systemd` key (AWS CDK's ServiceManager.SYSTEMD) goes to systemctl
// even where no running systemd was detected.
func TestSystemdKey(t *testing.T) {
	rc := newRecorder(t, "systemctl", "service")
	r, _ := testRunner(t)
	r.sys.systemd = bp(false)
	rc.rule(t, "systemctl is-enabled *", 0, "enabled")
	rc.rule(t, "systemctl is-active *", 3, "")
	if _, err := applySvcs(r, nil, Service{Manager: "systemd", Name: "simpleserver", EnsureRunning: bp(true)}); err != nil {
		t.Fatal(err)
	}
	rc.wantCalls(t, "systemctl is-enabled simpleserver", "systemctl is-active --quiet simpleserver", "systemctl start simpleserver")
}

// TestPackageChangeRestartsService: what the packages section installs is what the
// services section sees in the same config's changes.
func TestPackageChangeRestartsService(t *testing.T) {
	rc := newRecorder(t, "rpm", "yum", "systemctl")
	rc.rule(t, "rpm -q --quiet httpd", 1, "")
	rc.rule(t, "rpm -q --quiet mod_ssl", 0, "")
	rc.rule(t, "systemctl is-enabled *", 0, "enabled")
	rc.rule(t, "systemctl is-active *", 0, "")
	r, _ := testRunner(t)
	r.sys.systemd = bp(true)
	c := &Config{
		Packages: []PackageSet{{Manager: "yum", Packages: []Package{{Name: "httpd"}, {Name: "mod_ssl"}}}},
		Services: []Service{
			{Manager: "sysvinit", Name: "httpd", EnsureRunning: bp(true), Packages: map[string][]string{"yum": {"httpd"}}},
			{Manager: "sysvinit", Name: "sshd", EnsureRunning: bp(true), Packages: map[string][]string{"yum": {"mod_ssl"}, "apt": {"httpd"}}},
		},
	}
	ch, res := newChanges(), &Result{}
	ctx := context.Background()
	if err := r.applyPackages(ctx, c, ch, res); err != nil {
		t.Fatal(err)
	}
	if err := r.applyServices(ctx, c, ch, res); err != nil {
		t.Fatal(err)
	}
	rc.wantCalls(t,
		"rpm -q --quiet httpd", "rpm -q --quiet mod_ssl", "yum -y install httpd",
		"systemctl is-enabled httpd", "systemctl is-active --quiet httpd", "systemctl restart httpd",
		"systemctl is-enabled sshd", "systemctl is-active --quiet sshd",
	)
	if want := []string{"package yum httpd", "service httpd restarted"}; !slices.Equal(res.Changed, want) {
		t.Errorf("res.Changed = %q, want %q", res.Changed, want)
	}
}
