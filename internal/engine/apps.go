package engine

import (
	"context"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
)

// AppWork is one app's part of a deploy or undeploy event.
type AppWork struct {
	App config.App
	// Revision is the revision to deploy (the app's observed value; a JSON string given
	// unquoted), or the one being undeployed.
	Revision string
	// SHA256 is the digest the fetched revision must have; "" checks nothing.
	SHA256 string
	// Undeploy says the revision was removed: hooks.d/undeploy, then `current` removed.
	Undeploy bool
	// Err, when set, is why this app cannot be deployed (its sha256 reference is empty);
	// the app fails without being fetched.
	Err string
}

// AppResult is what happened to one app of an event.
type AppResult struct {
	App      string
	Revision string
	// OK says the app's part succeeded.
	OK bool
	// Release is the release `current` names afterwards ("" when none), ReleaseRevision
	// the revision in its name.
	Release, ReleaseRevision string
	// RolledBack says the new release failed after the switch and `current` went back
	// to Release.
	RolledBack bool
	// Err says why the app's part failed.
	Err string
}

// Apps runs the app releases of deploy and undeploy events (package appdeploy). Run does
// the apps of work one after the other, with the event's hooks.d/<event> run once per app
// from s (s.Env plus the app's variables), and returns what the hooks did, merged, with
// Err saying why the event failed, and each app's result.
//
// Rollback switches app's `current` back (to a release name or revision, or with to ""
// to the release before the current one) and runs the after_switch release hooks; its
// AppResult's Revision is the revision switched away from, Release the one now current.
type Apps interface {
	Run(ctx context.Context, s hooks.Spec, work []AppWork) (hooks.Result, []AppResult)
	Rollback(ctx context.Context, s hooks.Spec, app config.App, to string) (hooks.Result, AppResult)
}

// appWork returns the apps a deploy or undeploy event works on: for a deploy, the apps
// whose revision (or sha256) changed, or every app when the deploy follows setup ("setup
// includes deploy") or was requested; for an undeploy, the apps whose revision was removed.
// A revision that failed and was rolled back is not deployed again unless by request.
func (e *Engine) appWork(r *run) []AppWork {
	if e.apps == nil || len(e.cfg.Apps) == 0 || r.rule != nil || r.shutdown || r.p.Rollback != nil {
		return nil
	}
	if r.p.Kind != event.Deploy && r.p.Kind != event.Undeploy {
		return nil
	}
	changed := map[string]change{} // by rule name
	for _, c := range r.changes {
		if c.rule.App != "" {
			changed[c.rule.Name] = c
		}
	}
	all := r.p.Kind == event.Deploy && (r.p.Trigger.Type == event.TriggerSetup || r.p.Trigger.Type == event.TriggerRequest)
	var out []AppWork
	for _, a := range e.cfg.Apps {
		c, revChanged := changed[a.RuleName()]
		_, shaChanged := changed[a.SHA256RuleName()]
		if r.p.Kind == event.Undeploy {
			if revChanged && c.kind == event.Remove {
				rev := ""
				if st := e.st.Apps[a.Name]; st != nil {
					rev = st.Revision
				}
				out = append(out, AppWork{App: a, Revision: rev, Undeploy: true})
			}
			continue
		}
		if !all && !revChanged && !shaChanged {
			continue
		}
		o, ok := e.observed[a.RuleName()]
		if !ok || o.Err != nil || !o.Present {
			continue // no revision to deploy (an undeploy handles its removal)
		}
		w := AppWork{App: a, Revision: refValue(a.Revision, o.Value), SHA256: a.SHA256.Literal}
		if st := e.st.Apps[a.Name]; st != nil && st.FailedRevision == w.Revision && r.p.Trigger.Type != event.TriggerRequest {
			e.log.Info("app revision failed and was rolled back; not deploying it again until it changes",
				zap.String("app", a.Name), zap.String("revision", w.Revision))
			continue
		}
		if !a.SHA256.From.IsZero() {
			so, ok := e.observed[a.SHA256RuleName()]
			if !ok || so.Err != nil || !so.Present {
				w.Err = "its sha256 reference (rule " + a.SHA256RuleName() + ") has no value: set it beside the revision, or remove sha256 from the app"
			} else {
				w.SHA256 = refValue(a.SHA256.From, so.Value)
			}
		}
		out = append(out, w)
	}
	return out
}

// appsDone records each app's result; for an app that succeeded or was rolled back, its
// rules' changes are taken as applied even when the event failed: a rolled-back revision
// must not be retried (it would fail the same way) until the revision changes again, and
// an app that succeeded must not be deployed again because another failed.
func (e *Engine) appsDone(r *run, results []AppResult) {
	if len(results) == 0 {
		return
	}
	if e.st.Apps == nil {
		e.st.Apps = map[string]*state.App{}
	}
	now := e.clk.Now().UTC()
	for _, ar := range results {
		st := e.st.Apps[ar.App]
		if st == nil {
			st = &state.App{}
			e.st.Apps[ar.App] = st
		}
		st.At = now
		switch {
		case r.p.Rollback != nil:
			if ar.OK {
				// By hand: the revision switched away from is not deployed again on its own.
				failed := st.Revision // as observed (ar.Revision is the release name's, sanitized)
				if failed == "" {
					failed = ar.Revision
				}
				*st = state.App{Revision: ar.ReleaseRevision, Release: ar.Release, Result: state.AppRolledBack, At: now,
					Desired: st.Desired, FailedRevision: failed, Error: "rolled back by request to " + ar.Release}
			}
			continue
		case ar.OK && r.p.Kind == event.Undeploy:
			*st = state.App{Result: state.AppUndeployed, At: now}
		case ar.OK:
			*st = state.App{Revision: ar.Revision, Desired: ar.Revision, Release: ar.Release, Result: state.AppDeployed, At: now}
		case ar.RolledBack:
			st.Result, st.Error, st.FailedRevision, st.Release, st.Desired = state.AppRolledBack, ar.Err, ar.Revision, ar.Release, ar.Revision
		default:
			st.Result, st.Error, st.Desired = state.AppFailed, ar.Err, ar.Revision
		}
		if !ar.OK && !ar.RolledBack {
			continue
		}
		a := e.cfg.AppByName(ar.App)
		if a == nil {
			continue
		}
		for _, c := range r.changes {
			if c.rule.App != ar.App {
				continue
			}
			if c.value == nil {
				delete(e.st.Applied, c.key)
			} else {
				e.st.Applied[c.key] = c.value
			}
		}
	}
}

// refValue is the text of a value observed for ref: a parameter's value (not its version),
// a JSON string unquoted, anything else as JSON.
func refValue(ref config.ValueRef, raw []byte) string {
	if ref.SSM != "" {
		if v, _, ok := source.SSMValue(raw); ok {
			return v
		}
	}
	return cfnEnvValue(raw)
}
