package cfninit

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// svcState is what the init system says of a service.
type svcState struct {
	Known   bool // the init system has the service
	Running bool
	Enabled bool
	// EnabledKnown is false where the init system cannot say (SysV scripts): then
	// `enabled` is applied every run, as cfn-init does.
	EnabledKnown bool
}

// Service actions.
const (
	actStart   = "start"
	actStop    = "stop"
	actRestart = "restart"
	actReload  = "reload"
)

// svcPlan is what to do to one service.
type svcPlan struct {
	Enable *bool  // set the service enabled (true) or disabled (false); nil: leave it
	Action string // start, stop, restart, reload or "" for nothing
	// Why explains the action for the log: what changed, or the running state.
	Why string
	// Refused says what was asked and not done (stopping stackhand itself).
	Refused string
}

// planService decides what to do, as cfn-init does (service_tools.py SysVInitTool.apply):
// `enabled` is applied when it differs from the service's state; when anything the
// service lists changed in this run the service is restarted, running or not; otherwise
// ensureRunning true starts it when it is not running and false stops it when it is.
//
// self is the entry cfn-hup stands for stackhand: it is never restarted or stopped, as
// that would end the run that applies this config; it is reloaded (it re-reads its
// configuration, /etc/cfn/cfn-hup.conf included, as on SIGHUP), or started when it is not
// running.
func planService(s Service, st svcState, changed []string, self bool) svcPlan {
	var p svcPlan
	if s.Enabled != nil && (!st.EnabledKnown || st.Enabled != *s.Enabled) {
		v := *s.Enabled
		p.Enable = &v
	}
	switch {
	case len(changed) > 0:
		p.Action, p.Why = actRestart, "changed: "+strings.Join(changed, ", ")
		if self {
			if st.Running {
				p.Action = actReload
			} else {
				p.Action = actStart
			}
		}
	case s.EnsureRunning != nil && *s.EnsureRunning && !st.Running:
		p.Action, p.Why = actStart, "ensureRunning and not running"
	case s.EnsureRunning != nil && !*s.EnsureRunning && st.Running:
		p.Action, p.Why = actStop, "ensureRunning is false and it runs"
		if self {
			p.Action = ""
			p.Refused = "ensureRunning false would stop stackhand itself, which stands for cfn-hup here; left running"
		}
	}
	return p
}

// changedFor lists what the service names that changed in this run, sorted, as
// "file /etc/x" lines. cfn-init matches files, sources, commands and, per manager,
// packages (service_tools.py _detect_required_restart).
func changedFor(s Service, ch *Changes) []string {
	var out []string
	for _, f := range s.Files {
		if ch.Files[f] {
			out = append(out, "file "+f)
		}
	}
	for _, d := range s.Sources {
		if ch.Sources[d] {
			out = append(out, "source "+d)
		}
	}
	for _, c := range s.Commands {
		if ch.Commands[c] {
			out = append(out, "command "+c)
		}
	}
	managers := make([]string, 0, len(s.Packages))
	for m := range s.Packages {
		managers = append(managers, m)
	}
	sort.Strings(managers)
	for _, m := range managers {
		for _, n := range s.Packages[m] {
			if ch.Packages[m][n] {
				out = append(out, "package "+m+" "+n)
			}
		}
	}
	return out
}

// serviceManager is an init system: systemd, SysV scripts, Windows' service manager.
type serviceManager interface {
	kind() string // for messages: "systemd", "SysV init", "the Windows service manager"
	state(ctx context.Context, name string) (svcState, error)
	setEnabled(ctx context.Context, name string, on bool) error
	control(ctx context.Context, name, action string) error
}

// cfnHup is the service name templates give aws-cfn-bootstrap's daemon.
const cfnHup = "cfn-hup"

// applyServices brings each service listed to the state asked. A `sysvinit` (or
// `systemd`) entry is handled where the machine is not Windows and a `windows` one on
// Windows; the other is skipped with a warning, as each aws-cfn-bootstrap tool works on
// its own platform only.
func (r *Runner) applyServices(ctx context.Context, c *Config, ch *Changes, res *Result) error {
	for _, s := range c.Services {
		if err := r.applyService(ctx, s, ch, res); err != nil {
			return fmt.Errorf("services.%s.%s: %w", s.Manager, s.Name, err)
		}
	}
	return nil
}

func (r *Runner) applyService(ctx context.Context, s Service, ch *Changes, res *Result) error {
	m, ok := r.newServiceManager(s.Manager)
	if !ok {
		r.Log.Warn(fmt.Sprintf("services.%s.%s: %s services are not managed on this system; skipped", s.Manager, s.Name, s.Manager))
		return nil
	}
	name, self := s.Name, false
	st, err := m.state(ctx, name)
	if err != nil {
		return err
	}
	if !st.Known && s.Name == cfnHup && r.SelfService != "" {
		// No aws-cfn-bootstrap here: stackhand reads cfn-hup's configuration and
		// runs its hooks, so the entry means stackhand's own service.
		name, self = r.SelfService, true
		r.Log.Info(fmt.Sprintf("services.%s.%s: no cfn-hup service here; %s stands for it", s.Manager, s.Name, name))
		if st, err = m.state(ctx, name); err != nil {
			return err
		}
	}
	if self && r.SelfReload != nil && !st.Known {
		// Inside an agent the init system does not know (started by hand, in a
		// container, an image without the unit): it runs, and there is no unit to
		// enable; a reload still reaches it.
		r.Log.Info(fmt.Sprintf("services.%s.%s: %s is not a service %s knows; it runs (this run is inside it), nothing to enable",
			s.Manager, s.Name, name, m.kind()))
		st = svcState{Known: true, Running: true, EnabledKnown: true, Enabled: true}
	}
	if self && r.SelfReload != nil && !st.Running {
		// This run is inside the agent, so the agent runs, whatever the init system
		// says (started by hand, or in a container): starting its unit would make a
		// second agent.
		st.Running = true
	}
	if !st.Known {
		return fmt.Errorf("%s has no service named %q: install it (or the package that provides it) earlier in the config, or remove the entry", m.kind(), name)
	}
	p := planService(s, st, changedFor(s, ch), self)
	if p.Enable != nil {
		if err := m.setEnabled(ctx, name, *p.Enable); err != nil {
			return err
		}
		word := "disabled"
		if *p.Enable {
			word = "enabled"
		}
		r.Log.Info(fmt.Sprintf("%s service %s", word, name))
		if st.EnabledKnown {
			res.Changed = append(res.Changed, "service "+name+" "+word)
		}
	}
	if p.Refused != "" {
		r.Log.Warn(fmt.Sprintf("services.%s.%s: %s", s.Manager, s.Name, p.Refused))
	}
	switch p.Action {
	case "":
		r.Log.Debug(fmt.Sprintf("service %s: nothing to do (running=%t)", name, st.Running))
		return nil
	case actReload:
		if r.SelfReload != nil {
			if err := r.SelfReload(); err != nil {
				return fmt.Errorf("reload %s: %w", name, err)
			}
			r.Log.Info(fmt.Sprintf("reloaded %s in process (it stands for cfn-hup; %s)", name, p.Why))
		} else {
			if err := m.control(ctx, name, actReload); err != nil {
				return err
			}
			r.Log.Info(fmt.Sprintf("reloaded %s through %s (it stands for cfn-hup; %s)", name, m.kind(), p.Why))
		}
	default:
		if err := m.control(ctx, name, p.Action); err != nil {
			return err
		}
		r.Log.Info(fmt.Sprintf("%s %s (%s)", pastTense(p.Action), name, p.Why))
	}
	res.Changed = append(res.Changed, "service "+name+" "+pastTense(p.Action))
	return nil
}

func pastTense(action string) string {
	if action == actStop {
		return "stopped"
	}
	return action + "ed"
}
