package service

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kardianos/service"
	"golang.org/x/sys/windows/svc/mgr"
)

// DefaultConfigPath is the config file the service runs with unless told otherwise.
var DefaultConfigPath = filepath.Join(programData(), "stackhand", "stackhand.yaml")

func programData() string {
	if d := os.Getenv("ProgramData"); d != "" {
		return d
	}
	return `C:\ProgramData`
}

// noop is the service.Interface Control needs to build a service it only controls.
type noop struct{}

func (noop) Start(service.Service) error { return nil }
func (noop) Stop(service.Service) error  { return nil }

func control(action string, o Options) error {
	if o.ConfigPath == "" {
		o.ConfigPath = DefaultConfigPath
	}
	var err error
	if o.ConfigPath, err = filepath.Abs(o.ConfigPath); err != nil {
		return fmt.Errorf("config path: %w", err)
	}
	if o.BinaryPath != "" {
		if o.BinaryPath, err = filepath.Abs(o.BinaryPath); err != nil {
			return fmt.Errorf("binary path: %w", err)
		}
	}
	s, err := service.New(noop{}, &service.Config{
		Name:        Name,
		DisplayName: "stackhand agent",
		Description: "Runs lifecycle hooks for this instance and reports heartbeats, logs and metrics to CloudWatch.",
		Executable:  o.BinaryPath, // "" is the running executable
		Arguments:   []string{"run", "--config", o.ConfigPath},
		Option:      service.KeyValue{"StartType": "automatic"},
	})
	if err != nil {
		return fmt.Errorf("service %s: %w", action, err)
	}
	switch action {
	case "install":
		if err := s.Install(); err != nil {
			return fmt.Errorf("install service %s: %w", Name, err)
		}
		if err := setRecovery(); err != nil {
			return fmt.Errorf("install service %s: set recovery actions: %w", Name, err)
		}
		fmt.Fprintf(o.Out, "installed service %s (automatic start, restarted on failure); start it now with: stackhand service start\n", Name)
	case "uninstall":
		if st, err := s.Status(); err == nil && st == service.StatusRunning {
			if err := s.Stop(); err != nil {
				return fmt.Errorf("uninstall service %s: stop: %w", Name, err)
			}
		}
		if err := s.Uninstall(); err != nil {
			return fmt.Errorf("uninstall service %s: %w", Name, err)
		}
		fmt.Fprintf(o.Out, "removed service %s\n", Name)
	case "start", "stop":
		if err := service.Control(s, action); err != nil {
			return fmt.Errorf("%s service %s: %w", action, Name, err)
		}
		fmt.Fprintf(o.Out, "%s: %s done\n", Name, action)
	case "status":
		st, err := s.Status()
		if errors.Is(err, service.ErrNotInstalled) {
			return fmt.Errorf("service %s is not installed; install it with: stackhand service install", Name)
		}
		if err != nil {
			return fmt.Errorf("status of service %s: %w", Name, err)
		}
		switch st {
		case service.StatusRunning:
			fmt.Fprintf(o.Out, "%s: running\n", Name)
		case service.StatusStopped:
			fmt.Fprintf(o.Out, "%s: stopped\n", Name)
			return fmt.Errorf("service %s is stopped", Name)
		default:
			fmt.Fprintf(o.Out, "%s: unknown\n", Name)
			return fmt.Errorf("service %s is in an unknown state", Name)
		}
	}
	return nil
}

// setRecovery sets the service's recovery actions (wantRecovery), and makes them apply
// also when the agent exits with a non-zero status after reporting itself stopped.
func setRecovery() error {
	m, err := mgr.Connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	svc, err := m.OpenService(Name)
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := svc.SetRecoveryActions(toMgrActions(wantRecovery.Steps), uint32(wantRecovery.ResetPeriod/time.Second)); err != nil {
		return err
	}
	return svc.SetRecoveryActionsOnNonCrashFailures(true)
}

// ensureRecovery gives the installed service stackhand's recovery actions unless it
// has them or an administrator set others (see recoveryPlan). The agent calls it when
// it starts under the Service Control Manager, so a service installed by the MSI,
// which cannot carry failure actions, is restarted on failure too.
func ensureRecovery() (changed bool, err error) {
	m, err := mgr.Connect()
	if err != nil {
		return false, err
	}
	defer m.Disconnect()
	svc, err := m.OpenService(Name)
	if err != nil {
		return false, err
	}
	defer svc.Close()
	var have recoveryConfig
	actions, err := svc.RecoveryActions()
	if err != nil {
		return false, fmt.Errorf("read recovery actions: %w", err)
	}
	for _, a := range actions {
		have.Steps = append(have.Steps, recoveryStep{Restart: a.Type == mgr.ServiceRestart, Delay: a.Delay})
	}
	reset, err := svc.ResetPeriod()
	if err != nil {
		return false, fmt.Errorf("read recovery reset period: %w", err)
	}
	have.ResetPeriod = time.Duration(reset) * time.Second
	if have.OnNonCrashFailures, err = svc.RecoveryActionsOnNonCrashFailures(); err != nil {
		return false, fmt.Errorf("read recovery flag: %w", err)
	}
	setSteps, setFlag := recoveryPlan(have)
	if setSteps {
		if err := svc.SetRecoveryActions(toMgrActions(wantRecovery.Steps), uint32(wantRecovery.ResetPeriod/time.Second)); err != nil {
			return false, fmt.Errorf("set recovery actions: %w", err)
		}
	}
	if setFlag {
		if err := svc.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
			return setSteps, fmt.Errorf("set recovery on non-crash failures: %w", err)
		}
	}
	return setSteps || setFlag, nil
}

// toMgrActions turns recovery steps into the service manager's actions.
func toMgrActions(steps []recoveryStep) []mgr.RecoveryAction {
	out := make([]mgr.RecoveryAction, len(steps))
	for i, s := range steps {
		out[i] = mgr.RecoveryAction{Type: mgr.NoAction, Delay: s.Delay}
		if s.Restart {
			out[i].Type = mgr.ServiceRestart
		}
	}
	return out
}
