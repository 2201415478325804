package cfninit

import (
	"strings"
	"testing"
)

func bp(b bool) *bool { return &b }

func TestPlanService(t *testing.T) {
	running := svcState{Known: true, EnabledKnown: true, Enabled: true, Running: true}
	stopped := svcState{Known: true, EnabledKnown: true}
	sysvStopped := svcState{Known: true}
	changed := []string{"file /etc/app.conf"}
	for _, c := range []struct {
		name    string
		s       Service
		st      svcState
		changed []string
		self    bool
		enable  string // "", "on", "off"
		action  string
		refused bool
	}{
		{"nothing asked", Service{}, running, nil, false, "", "", false},
		{"enable a disabled one", Service{Enabled: bp(true)}, stopped, nil, false, "on", "", false},
		{"enabled already", Service{Enabled: bp(true)}, running, nil, false, "", "", false},
		{"disable", Service{Enabled: bp(false)}, running, nil, false, "off", "", false},
		{"sysv cannot tell: always set", Service{Enabled: bp(true)}, sysvStopped, nil, false, "on", "", false},
		{"start when not running", Service{EnsureRunning: bp(true)}, stopped, nil, false, "", actStart, false},
		{"running already", Service{EnsureRunning: bp(true)}, running, nil, false, "", "", false},
		{"stop when running", Service{EnsureRunning: bp(false)}, running, nil, false, "", actStop, false},
		{"stopped already", Service{EnsureRunning: bp(false)}, stopped, nil, false, "", "", false},
		{"restart on change while running", Service{EnsureRunning: bp(true)}, running, changed, false, "", actRestart, false},
		{"restart on change while stopped", Service{EnsureRunning: bp(true)}, stopped, changed, false, "", actRestart, false},
		{"restart on change, no ensureRunning", Service{}, running, changed, false, "", actRestart, false},
		{"self: reload, not restart", Service{EnsureRunning: bp(true)}, running, changed, true, "", actReload, false},
		{"self: start when not running", Service{EnsureRunning: bp(true)}, stopped, changed, true, "", actStart, false},
		{"self: never stopped", Service{EnsureRunning: bp(false)}, running, nil, true, "", "", true},
		{"self: enable", Service{Enabled: bp(true)}, stopped, nil, true, "on", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := planService(c.s, c.st, c.changed, c.self)
			enable := ""
			if p.Enable != nil {
				enable = map[bool]string{true: "on", false: "off"}[*p.Enable]
			}
			if enable != c.enable || p.Action != c.action || (p.Refused != "") != c.refused {
				t.Errorf("plan = enable %q action %q refused %q; want enable %q action %q refused %t", enable, p.Action, p.Refused, c.enable, c.action, c.refused)
			}
		})
	}
}

func TestChangedFor(t *testing.T) {
	ch := newChanges()
	ch.Files["/etc/app.conf"] = true
	ch.Sources["/srv/app"] = true
	ch.Commands["01_migrate"] = true
	ch.Packages["yum"] = map[string]bool{"httpd": true}
	s := Service{
		Files:    []string{"/etc/other.conf", "/etc/app.conf"},
		Sources:  []string{"/srv/app"},
		Commands: []string{"01_migrate", "02_other"},
		Packages: map[string][]string{"yum": {"httpd", "php"}, "apt": {"httpd"}},
	}
	got := strings.Join(changedFor(s, ch), ", ")
	if want := "file /etc/app.conf, source /srv/app, command 01_migrate, package yum httpd"; got != want {
		t.Errorf("changedFor = %q, want %q", got, want)
	}
	if got := changedFor(Service{Files: []string{"/etc/x"}, Packages: map[string][]string{"apt": {"httpd"}}}, ch); len(got) != 0 {
		t.Errorf("nothing listed changed, got %q", got)
	}
}
