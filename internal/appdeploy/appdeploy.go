// Package appdeploy runs the app releases of a deploy or undeploy event (config apps:):
// for each app, package release makes the release, the event's hooks.d/deploy runs once
// with the app's variables, `current` is switched, the checks gate it and a failure after
// the switch switches back. The engine calls it through engine.Apps; the agent builds it.
package appdeploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/engine"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/release"
)

// HookRunner runs hooks (a *hooks.Runner).
type HookRunner interface {
	Run(ctx context.Context, s hooks.Spec) hooks.Result
}

// Release hook phases, run from <release>/.stackhand/hooks/<phase>/ when release_hooks is set.
const (
	BeforeSwitch = "before_switch"
	AfterSwitch  = "after_switch"
	Validate     = "validate"
)

// Deployer implements engine.Apps.
type Deployer struct {
	Manager *release.Manager
	Runner  HookRunner
	Log     *zap.Logger
}

func (d *Deployer) log() *zap.Logger {
	if d.Log == nil {
		return zap.NewNop()
	}
	return d.Log
}

// Run does each app of work in turn; one app's failure does not stop the others (their
// releases are independent). The result's Err names every app that failed and why.
func (d *Deployer) Run(ctx context.Context, s hooks.Spec, work []engine.AppWork) (hooks.Result, []engine.AppResult) {
	total := hooks.Result{OK: true}
	var results []engine.AppResult
	var errs []string
	for _, w := range work {
		a := &appRun{d: d, spec: s, w: w, res: &total}
		var ar engine.AppResult
		if w.Undeploy {
			ar = a.undeploy(ctx)
		} else {
			ar = a.deploy(ctx)
		}
		results = append(results, ar)
		if !ar.OK {
			errs = append(errs, "app "+w.App.Name+": "+ar.Err)
			d.log().Error("app release failed", zap.String("app", w.App.Name), zap.String("revision", w.Revision), zap.String("error", ar.Err))
		} else {
			d.log().Info("app release done", zap.String("app", w.App.Name), zap.String("revision", w.Revision),
				zap.String("release", ar.Release), zap.Bool("undeploy", w.Undeploy))
		}
	}
	if len(errs) > 0 {
		total.OK = false
		// The event's error is the apps' (rolled back to X: why), not one hook's exit
		// status: Failed stays empty so that it is what status and notifications show.
		total.Failed = ""
		total.Err = strings.Join(errs, "; ")
	}
	return total, results
}

type appRun struct {
	d    *Deployer
	spec hooks.Spec
	w    engine.AppWork
	res  *hooks.Result
}

// env is the app's variables for hooks.
func (a *appRun) env(dir, prev string) []string {
	return []string{
		"STACKHAND_APP=" + a.w.App.Name,
		"STACKHAND_RELEASE_DIR=" + dir,
		"STACKHAND_PREVIOUS_RELEASE_DIR=" + prev,
		"STACKHAND_REVISION=" + a.w.Revision,
	}
}

// run runs s and merges what it did into the event's result, each hook named
// <app>:<hook>; it returns an error saying which hook failed, or nil.
func (a *appRun) run(ctx context.Context, s hooks.Spec, what string) error {
	r := a.d.Runner.Run(ctx, s)
	for _, h := range r.Hooks {
		h.Name = a.w.App.Name + ":" + h.Name
		a.res.Hooks = append(a.res.Hooks, h)
	}
	for _, n := range r.NotRun {
		a.res.NotRun = append(a.res.NotRun, a.w.App.Name+":"+n)
	}
	a.res.Warnings = append(a.res.Warnings, r.Warnings...)
	if r.Tail != "" {
		a.res.Tail = r.Tail
	}
	if r.OK {
		return nil
	}
	for _, h := range r.Hooks {
		if h.Name != r.Failed {
			continue
		}
		switch {
		case h.Refused != "":
			return fmt.Errorf("%s hook %s refused: %s", what, h.Name, h.Refused)
		case h.TimedOut:
			return fmt.Errorf("%s hook %s timed out", what, h.Name)
		case h.Err != "":
			return fmt.Errorf("%s hook %s: %s", what, h.Name, h.Err)
		}
		return fmt.Errorf("%s hook %s exited with status %d", what, h.Name, h.ExitCode)
	}
	if r.Err != "" {
		return fmt.Errorf("%s hooks: %s", what, r.Err)
	}
	return fmt.Errorf("%s hooks failed", what)
}

// hooksD runs the event's hooks.d/<event> with the app's variables.
func (a *appRun) hooksD(ctx context.Context, dir, prev string) error {
	s := a.spec
	s.Env = append(slices.Clone(a.spec.Env), a.env(dir, prev)...)
	return a.run(ctx, s, filepath.Base(a.spec.Dir))
}

// releaseHooks runs the executables of <dir>/.stackhand/hooks/<phase>/, in name order, as
// the app's owner (never as root: they come with the archive).
func (a *appRun) releaseHooks(ctx context.Context, dir, prev, phase string) error {
	if !a.w.App.ReleaseHooks || a.w.App.Owner == "" {
		return nil
	}
	hd := filepath.Join(dir, ".stackhand", "hooks", phase)
	ents, err := os.ReadDir(hd)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release hooks %s: %w", phase, err)
	}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		s := a.spec
		s.Command = "exec " + shellQuote(filepath.Join(hd, e.Name()))
		s.Name = "release." + phase + "." + e.Name()
		s.RunAs = a.w.App.Owner
		s.Env = append(slices.Clone(a.spec.Env), a.env(dir, prev)...)
		if err := a.run(ctx, s, "release "+phase); err != nil {
			return err
		}
	}
	return nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (a *appRun) deploy(ctx context.Context) engine.AppResult {
	m, app := a.d.Manager, a.w.App.ReleaseApp()
	ar := engine.AppResult{App: app.Name, Revision: a.w.Revision}
	if a.w.Err != "" {
		ar.Err = a.w.Err
		return ar
	}
	prev := ""
	before, err := m.List(app)
	if err != nil {
		ar.Err = err.Error()
		return ar
	}
	for _, r := range before {
		if r.Current {
			prev, ar.Release = r.Dir, r.Name
		}
	}
	rel, err := m.Prepare(ctx, app, release.Deploy{Revision: a.w.Revision, Source: a.w.App.SourceFor(a.w.Revision), SHA256: a.w.SHA256})
	if err != nil {
		ar.Err = err.Error()
		return ar
	}
	if err := a.hooksD(ctx, rel.Dir, prev); err != nil {
		ar.Err = err.Error() + " (current not switched)"
		return ar
	}
	if err := a.releaseHooks(ctx, rel.Dir, prev, BeforeSwitch); err != nil {
		ar.Err = err.Error() + " (current not switched)"
		return ar
	}
	if _, err := m.Switch(app, rel); err != nil {
		ar.Err = err.Error()
		return ar
	}
	ar.Release = rel.Name
	why := a.releaseHooks(ctx, rel.Dir, prev, AfterSwitch)
	if why == nil {
		why = m.Check(ctx, app)
	}
	if why == nil {
		why = a.releaseHooks(ctx, rel.Dir, prev, Validate)
	}
	if why != nil {
		return a.failedAfterSwitch(ctx, ar, rel, why)
	}
	if removed, err := m.Prune(app); err != nil {
		a.d.log().Warn("pruning old releases failed", zap.String("app", app.Name), zap.Error(err))
	} else if len(removed) > 0 {
		a.d.log().Info("old releases pruned", zap.String("app", app.Name), zap.Strings("removed", removed))
	}
	ar.OK = true
	return ar
}

// failedAfterSwitch switches back when the app says so and runs after_switch for the
// release gone back to.
func (a *appRun) failedAfterSwitch(ctx context.Context, ar engine.AppResult, rel *release.Release, why error) engine.AppResult {
	m, app := a.d.Manager, a.w.App.ReleaseApp()
	if !app.RollbackOnFailure {
		ar.Err = why.Error() + " (rollback_on_failure is false: " + rel.Name + " stays current)"
		return ar
	}
	_, to, err := m.Rollback(app, "")
	if err != nil || to == nil {
		ar.Err = fmt.Sprintf("%v; could not roll back: %v", why, err)
		return ar
	}
	ar.RolledBack, ar.Release = true, to.Name
	ar.Err = "rolled back to " + to.Name + ": " + why.Error()
	// The hooks of the release gone back to see its own revision.
	back := &appRun{d: a.d, spec: a.spec, w: engine.AppWork{App: a.w.App, Revision: to.Revision}, res: a.res}
	if err := back.releaseHooks(ctx, to.Dir, rel.Dir, AfterSwitch); err != nil {
		ar.Err += "; after rolling back, " + err.Error()
	}
	return ar
}

func (a *appRun) undeploy(ctx context.Context) engine.AppResult {
	m, app := a.d.Manager, a.w.App.ReleaseApp()
	ar := engine.AppResult{App: app.Name, Revision: a.w.Revision}
	rs, err := m.List(app)
	if err != nil {
		ar.Err = err.Error()
		return ar
	}
	cur := ""
	for _, r := range rs {
		if r.Current {
			cur = r.Dir
		}
	}
	if err := a.hooksD(ctx, cur, ""); err != nil {
		ar.Err = err.Error() + " (current kept)"
		return ar
	}
	if err := m.Undeploy(app); err != nil && !errors.Is(err, release.ErrNothingDeployed) {
		ar.Err = err.Error()
		return ar
	}
	ar.OK = true
	return ar
}

// Rollback switches app back by hand (`stackhand rollback`): to the release or revision
// to, or to the one before the current with to "". The after_switch release hooks run for
// the release gone back to; the deploy hooks do not.
func (d *Deployer) Rollback(ctx context.Context, s hooks.Spec, app config.App, to string) (hooks.Result, engine.AppResult) {
	total := hooks.Result{OK: true}
	ar := engine.AppResult{App: app.Name}
	from, toRel, err := d.Manager.Rollback(app.ReleaseApp(), to)
	if err == nil && toRel == nil {
		err = errors.New("no release to roll back to")
	}
	if err != nil {
		ar.Err = err.Error()
		total.OK, total.Err = false, "app "+app.Name+": rollback: "+ar.Err
		return total, ar
	}
	fromDir := ""
	if from != nil {
		ar.Revision, fromDir = from.Revision, from.Dir
	}
	ar.Release, ar.ReleaseRevision, ar.OK = toRel.Name, toRel.Revision, true
	d.log().Info("app rolled back by request", zap.String("app", app.Name), zap.String("from", ar.Revision), zap.String("to", toRel.Name))
	a := &appRun{d: d, spec: s, w: engine.AppWork{App: app, Revision: toRel.Revision}, res: &total}
	if err := a.releaseHooks(ctx, toRel.Dir, fromDir, AfterSwitch); err != nil {
		ar.OK, ar.Err = false, "rolled back to "+toRel.Name+", but "+err.Error()
		total.OK, total.Err = false, "app "+app.Name+": "+ar.Err
	}
	return total, ar
}
