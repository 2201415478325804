//go:build !windows

package cfninit

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// newServiceManager is the init system for a services key: `sysvinit` means systemd
// where it runs (cfn-init 2.0 on systemd distributions goes through systemctl too), the
// init scripts where it does not.
func (r *Runner) newServiceManager(key string) (serviceManager, bool) {
	if key != "sysvinit" {
		return nil, false
	}
	sys := r.sysCfg()
	running := fileExists("/run/systemd/system") // sd_booted(3)'s test
	if sys.systemd != nil {
		running = *sys.systemd
	}
	if running {
		return systemdManager{r}, true
	}
	dir := sys.initDir
	if dir == "" {
		dir = "/etc/init.d"
	}
	return sysvManager{r: r, initDir: dir}, true
}

// systemdManager drives units through systemctl.
type systemdManager struct{ r *Runner }

func (systemdManager) kind() string { return "systemd" }

func (m systemdManager) state(ctx context.Context, name string) (svcState, error) {
	t, err := m.r.runTool(ctx, nil, "systemctl", "is-enabled", name)
	if err != nil {
		return svcState{}, err
	}
	out := trimOut(t)
	// An unknown unit: "not-found" (systemd 250 and later) or "Failed to get unit file
	// state for x.service: No such file or directory" (older), exit code non-zero.
	if t.code != 0 && (strings.Contains(out, "not-found") || strings.Contains(out, "No such file")) {
		return svcState{}, nil
	}
	st := svcState{Known: true, EnabledKnown: true, Enabled: t.code == 0}
	a, err := m.r.runTool(ctx, nil, "systemctl", "is-active", "--quiet", name)
	if err != nil {
		return svcState{}, err
	}
	st.Running = a.code == 0
	return st, nil
}

func (m systemdManager) setEnabled(ctx context.Context, name string, on bool) error {
	verb := "disable"
	if on {
		verb = "enable"
	}
	return m.do(ctx, verb, name)
}

func (m systemdManager) control(ctx context.Context, name, action string) error {
	return m.do(ctx, action, name)
}

func (m systemdManager) do(ctx context.Context, verb, name string) error {
	t, err := m.r.runTool(ctx, nil, "systemctl", verb, name)
	if err != nil {
		return err
	}
	if t.code != 0 {
		return t.failure(verb + " " + name)
	}
	return nil
}

// sysvManager drives init scripts: `service NAME ACTION` (or the script itself where
// there is no service command), and chkconfig or update-rc.d for enabled, as cfn-init
// does (service_tools.py).
type sysvManager struct {
	r       *Runner
	initDir string
}

func (sysvManager) kind() string { return "SysV init" }

func (m sysvManager) script(name string) string { return filepath.Join(m.initDir, name) }

func (m sysvManager) state(ctx context.Context, name string) (svcState, error) {
	if strings.ContainsRune(name, '/') || !fileExists(m.script(name)) {
		return svcState{}, nil
	}
	t, err := m.run(ctx, name, "status")
	if err != nil {
		return svcState{}, err
	}
	return svcState{Known: true, Running: t.code == 0}, nil
}

func (m sysvManager) run(ctx context.Context, name, action string) (toolResult, error) {
	if m.r.haveSbinTool("service") {
		return m.r.runTool(ctx, nil, "service", name, action)
	}
	return m.r.runTool(ctx, nil, m.script(name), action)
}

func (m sysvManager) setEnabled(ctx context.Context, name string, on bool) error {
	var t toolResult
	var err error
	switch {
	case m.r.haveSbinTool("chkconfig"):
		word := "off"
		if on {
			word = "on"
		}
		t, err = m.r.runTool(ctx, nil, "chkconfig", name, word)
	case m.r.haveSbinTool("update-rc.d"):
		word := "disable"
		if on {
			word = "enable"
		}
		t, err = m.r.runTool(ctx, nil, "update-rc.d", name, word)
	default:
		return fmt.Errorf("cannot enable or disable %s: neither chkconfig nor update-rc.d is installed", name)
	}
	if err != nil {
		return err
	}
	if t.code != 0 {
		return t.failure("set enabled=" + fmt.Sprint(on))
	}
	return nil
}

func (m sysvManager) control(ctx context.Context, name, action string) error {
	t, err := m.run(ctx, name, action)
	if err != nil {
		return err
	}
	if t.code != 0 {
		return t.failure(action + " " + name)
	}
	return nil
}

// haveSbinTool says whether a system tool is on PATH or in the system directories.
func (r *Runner) haveSbinTool(name string) bool {
	_, err := r.lookTool(name)
	return err == nil
}
