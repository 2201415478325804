package cfninit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// newServiceManager is Windows' service manager for the `windows` key.
func (r *Runner) newServiceManager(key string) (serviceManager, bool) {
	if key != "windows" {
		return nil, false
	}
	return winManager{}, true
}

// winManager drives services through the Service Control Manager: enabled means
// automatic start, disabled demand start, as cfn-init sets them (service_tools.py
// WindowsServiceTool).
type winManager struct{}

func (winManager) kind() string { return "the Windows service manager" }

func (winManager) open(name string) (*mgr.Mgr, *mgr.Service, error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, nil, fmt.Errorf("connect to the service manager: %w", err)
	}
	s, err := m.OpenService(name)
	if err != nil {
		m.Disconnect()
		return nil, nil, err
	}
	return m, s, nil
}

func (w winManager) state(ctx context.Context, name string) (svcState, error) {
	m, s, err := w.open(name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return svcState{}, nil
	}
	if err != nil {
		return svcState{}, fmt.Errorf("open service %s: %w", name, err)
	}
	defer m.Disconnect()
	defer s.Close()
	cfg, err := s.Config()
	if err != nil {
		return svcState{}, fmt.Errorf("read service %s's configuration: %w", name, err)
	}
	q, err := s.Query()
	if err != nil {
		return svcState{}, fmt.Errorf("query service %s: %w", name, err)
	}
	return svcState{Known: true, EnabledKnown: true,
		Enabled: cfg.StartType == mgr.StartAutomatic,
		Running: q.State == svc.Running || q.State == svc.StartPending}, nil
}

func (w winManager) setEnabled(ctx context.Context, name string, on bool) error {
	m, s, err := w.open(name)
	if err != nil {
		return fmt.Errorf("open service %s: %w", name, err)
	}
	defer m.Disconnect()
	defer s.Close()
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	cfg.StartType = mgr.StartManual
	if on {
		cfg.StartType = mgr.StartAutomatic
	}
	return s.UpdateConfig(cfg)
}

// stopWait bounds how long a stopping service is waited for.
const stopWait = 2 * time.Minute

func (w winManager) control(ctx context.Context, name, action string) error {
	m, s, err := w.open(name)
	if err != nil {
		return fmt.Errorf("open service %s: %w", name, err)
	}
	defer m.Disconnect()
	defer s.Close()
	switch action {
	case actStart:
		return s.Start()
	case actStop:
		return stopService(ctx, s)
	case actRestart:
		if err := stopService(ctx, s); err != nil {
			return err
		}
		return s.Start()
	case actReload:
		// Windows has no SIGHUP: the nearest control is "parameters changed".
		_, err := s.Control(svc.ParamChange)
		return err
	}
	return fmt.Errorf("unknown action %q", action)
}

func stopService(ctx context.Context, s *mgr.Service) error {
	q, err := s.Query()
	if err != nil {
		return err
	}
	if q.State != svc.Stopped {
		if q, err = s.Control(svc.Stop); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, stopWait)
	defer cancel()
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for q.State != svc.Stopped {
		select {
		case <-ctx.Done():
			return fmt.Errorf("service did not stop within %s", stopWait)
		case <-tick.C:
		}
		if q, err = s.Query(); err != nil {
			return err
		}
	}
	return nil
}
