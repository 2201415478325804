package engine

import (
	"go.uber.org/zap"

	"maps"
	"slices"
	"time"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/fleet"
	"github.com/stackhand/stackhand/internal/state"
)

// Fleet is the fleet without a central service, as the engine sees it (the agent builds
// it over a fleet.Store): the gate of the rules with a rollout, and where this instance's
// state is published after each event.
type Fleet interface {
	// Decide says whether this instance may apply in.Desired of in.Rule now. The engine
	// fills the rule, its rollout, the value, this instance and the online peers; the
	// implementation adds what the peers published and the operator's hold.
	Decide(in fleet.Input) fleet.Decision
	// Publish hands over this instance's state; it must not block.
	Publish(s fleet.State)
}

// rolloutGo reports whether the change c of a rule with a rollout may be applied now. Once
// the gate said go for a value, it stays go for that value (a queued event is not taken
// back because a peer turned unhealthy after).
func (e *Engine) rolloutGo(r config.WatchRule, kind event.ChangeKind, val []byte) bool {
	if e.fleet == nil || r.Rollout == nil {
		return true
	}
	for _, p := range e.st.Queue {
		if p.Explicit && p.Trigger.Type == event.TriggerSetup && p.Kind == r.EventFor(kind) {
			// The deploy that follows setup applies what is there, whatever the wave:
			// an instance that joins during a rollout takes the desired value.
			return true
		}
	}
	desired := fleet.Fingerprint(val)
	if e.rolloutOK[r.Name] == desired {
		return true
	}
	if f, ok := e.st.RolloutFailed[r.Name]; ok && f.Fingerprint == desired {
		// This instance itself failed this value: its own retry schedule decides.
		return true
	}
	if !e.peersRead {
		// The peers are not known yet, so neither is the wave; an instance with no
		// peers to watch is a fleet of one.
		return e.noPeers
	}
	d := e.fleet.Decide(fleet.Input{Rule: r.Name, Rollout: r.Rollout.Fleet(), Desired: desired,
		Self: e.identity.InstanceID, Peers: slices.Clone(e.peers), Held: e.rolloutHold, Now: e.clk.Now()})
	if !d.RetryAt.IsZero() {
		e.wakeAt(d.RetryAt)
	}
	if !d.Go && e.rolloutWant[r.Name] != desired {
		// Published, so that fleet status knows what rolls out.
		if e.rolloutWant == nil {
			e.rolloutWant = map[string]string{}
		}
		e.rolloutWant[r.Name] = desired
		e.publishSoon = true
	}
	if d.Go {
		if e.rolloutOK == nil {
			e.rolloutOK = map[string]string{}
		}
		e.rolloutOK[r.Name] = desired
	}
	return d.Go
}

// rolloutDone records, after an event, which values of rules with a rollout this instance
// failed (published so that the later waves hold) and which it applied.
func (e *Engine) rolloutDone(r *run, ok bool, why string, appFailed map[string]bool) {
	for _, c := range r.changes {
		if c.rule.Rollout == nil {
			continue
		}
		failed := !ok && (c.rule.App == "" || appFailed[c.rule.App])
		if failed {
			if e.st.RolloutFailed == nil {
				e.st.RolloutFailed = map[string]state.RolloutFailure{}
			}
			e.st.RolloutFailed[c.rule.Name] = state.RolloutFailure{Fingerprint: fleet.Fingerprint(c.value), Reason: why}
		} else if ok || c.rule.App != "" {
			delete(e.st.RolloutFailed, c.rule.Name)
		}
	}
}

// publish hands the fleet this instance's state: the fingerprint of every rule's applied
// value (not one this instance failed and rolled back), its failures, the last event.
func (e *Engine) publish() {
	if e.fleet == nil {
		return
	}
	s := fleet.State{Applied: map[string]string{}, Failed: map[string]fleet.Failure{}}
	for _, r := range e.cfg.Watch {
		fp := fleet.Fingerprint(e.st.Applied[ruleKey(r)])
		f, failed := e.st.RolloutFailed[r.Name]
		if failed {
			s.Failed[r.Name] = fleet.Failure{Fingerprint: f.Fingerprint, Reason: f.Reason}
		}
		if fp != "" && !(failed && f.Fingerprint == fp) {
			s.Applied[r.Name] = fp
		}
		if r.Rollout != nil {
			if o, ok := e.observed[r.Name]; ok && o.Err == nil {
				var want []byte
				if o.Present {
					want = o.Value
				}
				if w := fleet.Fingerprint(want); w != fp && w != "" {
					if s.Wanted == nil {
						s.Wanted = map[string]string{}
					}
					s.Wanted[r.Name] = w
				}
			}
		}
	}
	var last *state.Outcome
	for _, k := range slices.Sorted(maps.Keys(e.st.Last)) {
		if o := e.st.Last[k]; o != nil && (last == nil || o.End.After(last.End)) {
			last = o
		}
	}
	if last != nil {
		s.Last = fleet.Last{Kind: string(last.Kind), Result: last.Result, At: last.End.UTC().Truncate(time.Second)}
	}
	e.fleet.Publish(s)
}

// Signaler tells CloudFormation what this instance applied (config signal:): the agent
// signals a WaitConditionHandle or SignalResource as cfn-signal does, off the event loop.
type Signaler interface {
	Signal(s SignalRequest) // must not block
}

// SignalRequest is one signal: a rule's new value applied (Success) or not, with why.
type SignalRequest struct {
	Rule     string
	Value    string // the value's text, for the log
	Success  bool
	Reason   string
	Handle   string // the WaitConditionHandle's URL; "" with Resource
	Resource string
}

// signal sends, after an event, one signal per rule with signal: whose new value the
// event applied or failed to apply (a removal signals nothing).
func (e *Engine) signal(r *run, ok bool, why string, appFailed map[string]bool) {
	if e.signaler == nil {
		return
	}
	for _, c := range r.changes {
		sg := c.rule.Signal
		if sg == nil || c.value == nil {
			continue
		}
		success := ok || (c.rule.App != "" && !appFailed[c.rule.App])
		req := SignalRequest{Rule: c.rule.Name, Value: cfnEnvValue(c.value), Success: success, Resource: sg.Resource}
		if !success {
			req.Reason = why
		}
		if !sg.WaitHandle.IsZero() {
			o := e.observed[config.SignalRulePrefix+c.rule.Name]
			if !o.Present {
				e.log.Error("cannot signal: the wait handle's URL is not there", zap.String("rule", c.rule.Name))
				continue
			}
			req.Handle = cfnEnvValue(o.Value)
		}
		e.signaler.Signal(req)
	}
}
