package service

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/stackhand/stackhand/internal/atomicfile"
	"github.com/stackhand/stackhand/packaging"
)

// Control on Linux drives systemd through systemctl directly. kardianos/service is not
// used here: it picks the init system from what PID 1 looks like and, on a machine
// that is not booted with systemd (a container, an image being built), writes a SysV
// init script instead of the unit the packages ship.

// DefaultConfigPath is the config file the service runs with unless told otherwise.
const DefaultConfigPath = "/etc/stackhand/stackhand.yaml"

// DefaultBinaryPath is where the .deb and .rpm packages install the stackhand binary.
const DefaultBinaryPath = "/usr/bin/stackhand"

// unitDir is where `stackhand service install` writes the unit: the directory for
// units an administrator installs, which takes precedence over the packages' copy.
const unitDir = "/etc/systemd/system"

const unitName = Name + ".service"

func control(action string, o Options) error {
	if o.Systemctl == nil {
		o.Systemctl = runSystemctl
	}
	if o.ConfigPath == "" {
		o.ConfigPath = DefaultConfigPath
	}
	if o.BinaryPath == "" {
		o.BinaryPath = DefaultBinaryPath
	}
	var err error
	if o.ConfigPath, err = filepath.Abs(o.ConfigPath); err != nil {
		return fmt.Errorf("config path: %w", err)
	}
	if o.BinaryPath, err = filepath.Abs(o.BinaryPath); err != nil {
		return fmt.Errorf("binary path: %w", err)
	}
	s := systemd{o: o}
	switch action {
	case "install":
		return s.install()
	case "uninstall":
		return s.uninstall()
	default: // start, stop, status
		return s.control(action)
	}
}

// systemd performs Control's actions with systemctl.
type systemd struct {
	o Options
}

// path returns name (an absolute path on the target system) under o.Root.
func (s systemd) path(name string) string {
	return filepath.Join(s.o.Root, name)
}

func (s systemd) unitPath() string { return s.path(filepath.Join(unitDir, unitName)) }

// running reports whether systemd manages this machine, the way sd_booted(3) does:
// /run/systemd/system exists only when PID 1 is systemd.
func (s systemd) running() bool {
	fi, err := os.Lstat(s.path("/run/systemd/system"))
	return err == nil && fi.IsDir()
}

// pid1 names the program running as PID 1, for messages.
func (s systemd) pid1() string {
	b, err := os.ReadFile(s.path("/proc/1/comm"))
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return "unknown"
	}
	return string(bytes.TrimSpace(b))
}

// notRunning is the sentence that explains why systemd cannot start the agent now.
func (s systemd) notRunning() string {
	return fmt.Sprintf("systemd is not running on this machine (PID 1 is %s)", s.pid1())
}

// systemctl runs systemctl with args and wraps a failure with the command and its output.
func (s systemd) systemctl(args ...string) (string, error) {
	out, err := s.o.Systemctl(args...)
	out = strings.TrimSpace(out)
	if err != nil {
		if out != "" {
			return out, fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, out)
		}
		return out, fmt.Errorf("systemctl %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

// print writes out to o.Out when there is something to say.
func (s systemd) print(out string) {
	if out != "" {
		fmt.Fprintln(s.o.Out, out)
	}
}

func (s systemd) install() error {
	unit, err := renderUnit(packaging.SystemdUnit, s.o.BinaryPath, s.o.ConfigPath)
	if err != nil {
		return err
	}
	path := s.unitPath()
	// Written atomically: systemd sees the old unit or the new one, never half of it.
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("install systemd unit: %w", err)
	}
	if err := atomicfile.Write(path, unit, 0o644); err != nil {
		return fmt.Errorf("install systemd unit: %w", err)
	}
	fmt.Fprintf(s.o.Out, "wrote %s\n", filepath.Join(unitDir, unitName))

	running := s.running()
	if running {
		if _, err := s.systemctl("daemon-reload"); err != nil {
			return err
		}
	}
	// enable only makes the symlinks from the [Install] section: it works without a
	// running systemd, so an image being built comes up with the agent enabled.
	out, err := s.systemctl("enable", Name)
	if err != nil {
		return err
	}
	s.print(out)
	if !running {
		fmt.Fprintf(s.o.Out, "%s; the unit is installed and enabled and will start at next boot\n", s.notRunning())
		return nil
	}
	fmt.Fprintf(s.o.Out, "%s is installed and enabled at boot; start it now with: %s service start\n", Name, s.o.BinaryPath)
	return nil
}

func (s systemd) uninstall() error {
	path := s.unitPath()
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(s.o.Out, "%s does not exist: nothing to uninstall (a unit installed by the .deb or .rpm package goes away with the package)\n",
			filepath.Join(unitDir, unitName))
		return nil
	}
	running := s.running()
	args := []string{"disable", Name}
	if running {
		// --now also stops the agent, which then runs no shutdown hooks: the
		// machine keeps running.
		args = []string{"disable", "--now", Name}
	}
	out, err := s.systemctl(args...)
	if err != nil {
		return err
	}
	s.print(out)
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("uninstall systemd unit: %w", err)
	}
	fmt.Fprintf(s.o.Out, "removed %s\n", filepath.Join(unitDir, unitName))
	if running {
		if _, err := s.systemctl("daemon-reload"); err != nil {
			return err
		}
	}
	return nil
}

// control runs `systemctl start|stop|status stackhand`.
func (s systemd) control(action string) error {
	if !s.running() {
		next := "the unit is installed and enabled and will start at next boot"
		if _, err := os.Lstat(s.unitPath()); err != nil {
			next = fmt.Sprintf("install the unit with `%s service install` and it will start at next boot", s.o.BinaryPath)
		}
		return fmt.Errorf("cannot %s %s: %s; %s; to run the agent now without systemd, run `%s run --config %s`",
			action, Name, s.notRunning(), next, s.o.BinaryPath, s.o.ConfigPath)
	}
	if action == "status" {
		// systemctl status exits non-zero when the unit is not active; show what it
		// printed and let the exit status tell scripts.
		out, err := s.o.Systemctl("status", Name)
		s.print(strings.TrimRight(out, "\n"))
		if err != nil {
			return fmt.Errorf("systemctl status %s: %w", Name, err)
		}
		return nil
	}
	out, err := s.systemctl(action, Name)
	s.print(out)
	if err != nil {
		return fmt.Errorf("%w (see `journalctl -u %s`)", err, Name)
	}
	fmt.Fprintf(s.o.Out, "%s: %s done\n", Name, action)
	return nil
}

// runSystemctl runs the systemctl found in PATH and returns its combined output.
func runSystemctl(args ...string) (string, error) {
	out, err := exec.Command("systemctl", args...).CombinedOutput()
	return string(out), err
}
