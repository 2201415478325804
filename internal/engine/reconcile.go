package engine

import (
	"bytes"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/backoff"
	"github.com/stackhand/stackhand/internal/cfnpath"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
)

// pendingSpec is what enqueue needs to know to queue or merge an event.
type pendingSpec struct {
	kind     event.Kind
	rule     string // a command rule's name, "" for hooks.d
	reason   string
	trigger  event.Trigger
	explicit bool
}

// dedupeKey names the queue slot an event merges into: one per event kind for hooks.d
// events, one per command rule.
func dedupeKey(k event.Kind, rule string) string { return string(k) + "/" + rule }

// ruleKey is where a rule's applied value is kept: its name and what it watches, so that a
// rule whose path is edited starts from an empty history, as cfn-hup's "hook|path" key does.
func ruleKey(r config.WatchRule) string {
	switch {
	case r.Tag != "":
		return r.Name + "|tag:" + r.Tag
	case r.SSM != "":
		return r.Name + "|ssm:" + r.SSM
	case r.Path != "":
		return r.Name + "|" + r.Path
	}
	return r.Name + "|metadata:" + r.Metadata
}

// classify says how the observed value differs from the applied one, or "" if it does not.
func classify(r config.WatchRule, applied []byte, had bool, o source.Observed) event.ChangeKind {
	present := o.Present
	if r.CfnHup && present && cfnpath.CfnHupEmpty(o.Value) {
		present = false // cfn-hup treats every falsy value as empty
	}
	switch {
	case !had && present:
		return event.Add
	case had && !present:
		return event.Remove
	case had && present && !bytes.Equal(applied, o.Value):
		return event.Update
	}
	return ""
}

// change is one rule's difference between applied and observed, as an event would apply it.
type change struct {
	rule  config.WatchRule
	kind  event.ChangeKind
	key   string
	value []byte // nil: absent after the event
}

// changes returns the rules that differ and fire, and applies at once those that differ
// but do not fire (cfn-hup stores the new value and runs nothing). With gated, a rule with
// a rollout is left out until its wave may go; an explicit event (the deploy that follows
// setup, a trigger) applies what is there.
func (e *Engine) changes(gated bool) []change {
	var out []change
	applied := false
	for _, r := range e.cfg.Watch {
		o, seen := e.observed[r.Name]
		if !seen || o.Err != nil {
			continue
		}
		key := ruleKey(r)
		old, had := e.st.Applied[key]
		c := classify(r, old, had, o)
		if c == "" {
			continue
		}
		var val []byte
		if c != event.Remove {
			val = o.Value
		}
		if !r.Fires(c) {
			if val == nil {
				delete(e.st.Applied, key)
			} else {
				e.st.Applied[key] = val
			}
			msg, fields := "watched value changed; the rule does not fire on this change", []zap.Field{zap.String("rule", r.Name), zap.String("change", string(c))}
			if r.CfnHup && e.cfg.Verbose {
				// What cfn-hup -v logs: the value stored without running the action.
				e.log.Info(msg, append(fields, zap.String("path", r.Path))...)
			} else {
				e.log.Debug(msg, fields...)
			}
			applied = true
			continue
		}
		if gated && !e.rolloutGo(r, c, val) {
			continue
		}
		out = append(out, change{rule: r, kind: c, key: key, value: val})
	}
	if applied {
		e.save()
	}
	return out
}

// online reports whether this instance's setup has finished, so that it takes part in
// watch-driven and peer-driven events (OpsWorks: an instance is online after setup).
func (e *Engine) online() bool {
	return e.identity != nil && e.st.Setup.Done && e.st.Setup.InstanceID == e.identity.InstanceID
}

// reconcile makes sure that every difference between observed and applied has an event
// waiting, running or backing off.
func (e *Engine) reconcile() {
	if e.identity == nil || e.terminating {
		return
	}
	now := e.clk.Now()
	if !e.online() {
		if !e.has(event.Setup) && e.allowed(dedupeKey(event.Setup, ""), "setup", now) {
			e.enqueue(pendingSpec{kind: event.Setup, reason: "first start on instance " + e.identity.InstanceID,
				explicit: true, trigger: event.Trigger{Type: event.TriggerFirstStart}}, true)
			e.save()
		}
		return
	}
	type want struct {
		rules   []string
		reasons []string
		fp      []string
	}
	wants := map[string]*want{}
	var order []string
	for _, c := range e.changes(true) {
		if e.running != nil && e.running.covers(c) {
			continue
		}
		k := c.rule.EventFor(c.kind)
		rule := ""
		if c.rule.Command != "" {
			rule = c.rule.Name
		}
		dk := dedupeKey(k, rule)
		w := wants[dk]
		if w == nil {
			w = &want{}
			wants[dk] = w
			order = append(order, dk)
		}
		w.rules = append(w.rules, c.rule.Name)
		w.reasons = append(w.reasons, describe(c))
		w.fp = append(w.fp, c.key+"="+string(c.value))
	}
	if e.peersRead && e.peersChanged() && !(e.running != nil && e.running.coversPeers(e.peers)) {
		dk := dedupeKey(event.Configure, "")
		w := wants[dk]
		if w == nil {
			w = &want{}
			wants[dk] = w
			order = append(order, dk)
		}
		w.reasons = append(w.reasons, "the set of online peers changed ("+peerDiff(e.st.Peers, e.peers)+")")
		w.fp = append(w.fp, "peers="+peerFingerprint(e.peers))
	}
	if e.publishSoon {
		e.publishSoon = false
		e.publish()
	}
	queued := false
	for _, dk := range order {
		w := wants[dk]
		kind, rule, _ := strings.Cut(dk, "/")
		if !e.allowed(dk, strings.Join(w.fp, "\n"), now) {
			continue
		}
		typ := event.TriggerWatch
		if len(w.rules) == 0 {
			typ = event.TriggerPeers
		}
		if e.enqueue(pendingSpec{kind: event.Kind(kind), rule: rule, reason: strings.Join(w.reasons, "; "),
			trigger: event.Trigger{Type: typ, Rules: w.rules}}, false) {
			queued = true
		}
	}
	if queued {
		e.save()
	}
}

func describe(c change) string {
	what := "metadata " + c.rule.Name
	switch {
	case c.rule.Tag != "":
		what = "tag " + c.rule.Tag
	case c.rule.SSM != "":
		what = "parameter " + c.rule.SSM
	}
	switch c.kind {
	case event.Add:
		return what + " was added"
	case event.Remove:
		return what + " was removed"
	}
	return what + " changed"
}

// has reports whether an event of kind k is queued or running.
func (e *Engine) has(k event.Kind) bool {
	if e.running != nil && e.running.p.Kind == k {
		return true
	}
	for _, p := range e.st.Queue {
		if p.Kind == k {
			return true
		}
	}
	return false
}

// allowed reports whether the slot dk may be queued for the wanted values fp: not while a
// failed attempt at the same values is backing off. It arms a timer for the end of the wait.
func (e *Engine) allowed(dk, fp string, now time.Time) bool {
	b, ok := e.st.Retries[dk]
	if !ok || b.Fingerprint != fp {
		return true
	}
	if !now.Before(b.NotBefore) {
		return true
	}
	e.wakeAt(b.NotBefore)
	return false
}

// wakeAt arms one timer per distinct instant to run the loop again then.
func (e *Engine) wakeAt(t time.Time) {
	if _, ok := e.timers[t]; ok {
		return
	}
	d := t.Sub(e.clk.Now())
	e.timers[t] = e.clk.AfterFunc(d, e.kick)
	for at, tm := range e.timers {
		if at.Before(e.clk.Now().Add(-time.Second)) {
			tm.Stop()
			delete(e.timers, at)
		}
	}
}

// failed starts or lengthens the backoff of slot dk after the failed attempt o at fp;
// automatic says the engine retries by itself once the wait is over. The schedule is in
// the state, so a restart keeps it.
func (e *Engine) failed(dk, fp string, o state.Outcome, automatic bool) time.Time {
	b := e.st.Retries[dk]
	if b == nil || b.Fingerprint != fp {
		b = &state.Retry{Fingerprint: fp}
	}
	b.Kind, b.Rule, b.Automatic = o.Kind, o.Rule, automatic
	b.LastEventID, b.LastError = o.ID, o.Error
	b.Attempts++
	first := e.cfg.Interval.D()
	if first <= 0 {
		first = time.Minute
	}
	wait := backoff.Policy{Base: first, Factor: 2, Max: maxBackoff}.Delay(b.Attempts - 1)
	b.NotBefore = e.clk.Now().Add(wait).UTC()
	if e.st.Retries == nil {
		e.st.Retries = map[string]*state.Retry{}
	}
	e.st.Retries[dk] = b
	e.wakeAt(b.NotBefore)
	return b.NotBefore
}

// enqueue queues an event, or merges it into the one already waiting in the same slot; with
// front, the event is (or is moved) first in the queue. It reports whether the queue changed.
func (e *Engine) enqueue(s pendingSpec, front bool) bool {
	dk := dedupeKey(s.kind, s.rule)
	for i := range e.st.Queue {
		p := &e.st.Queue[i]
		if dedupeKey(p.Kind, p.Rule) != dk || p.Rollback != nil {
			continue // a rollback is a request of its own, never merged into
		}
		changed := false
		if s.reason != "" && !slices.Contains(p.Reasons, s.reason) {
			p.Reasons = append(p.Reasons, s.reason)
			changed = true
		}
		for _, r := range s.trigger.Rules {
			if !slices.Contains(p.Trigger.Rules, r) {
				p.Trigger.Rules = append(p.Trigger.Rules, r)
				changed = true
			}
		}
		for _, r := range s.trigger.Requests {
			if !slices.Contains(p.Trigger.Requests, r) {
				p.Trigger.Requests = append(p.Trigger.Requests, r)
				changed = true
			}
		}
		if s.explicit && !p.Explicit {
			p.Explicit = true
			changed = true
		}
		if changed {
			e.log.Info("merged into the waiting event", zap.String("event", string(p.Kind)), zap.String("event_id", p.ID), zap.String("reason", s.reason))
		}
		if front && i > 0 {
			// An event queued at the front keeps its place there when it merges into one
			// that waited further back (a deploy requested while setup ran still follows setup).
			merged := *p
			copy(e.st.Queue[1:i+1], e.st.Queue[:i])
			e.st.Queue[0] = merged
			changed = true
		}
		return changed
	}
	p := state.Pending{
		ID: e.nextID(s.kind), Kind: s.kind, Rule: s.rule, Reasons: []string{s.reason},
		Trigger: s.trigger, Explicit: s.explicit, Queued: e.clk.Now().UTC(),
	}
	if front {
		e.st.Queue = append([]state.Pending{p}, e.st.Queue...)
	} else {
		e.st.Queue = append(e.st.Queue, p)
	}
	e.log.Info("queued", zap.String("event", string(p.Kind)), zap.String("event_id", p.ID), zap.String("reason", s.reason))
	return true
}

// peersChanged reports whether the observed peer set differs from the applied one.
func (e *Engine) peersChanged() bool {
	if !e.st.PeersApplied {
		return len(e.peers) > 0
	}
	return peerFingerprint(e.st.Peers) != peerFingerprint(e.peers)
}

// peerFingerprint identifies a peer set by what hooks use of it.
func peerFingerprint(ps []event.Instance) string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.InstanceID + "@" + p.PrivateIP + "/" + p.PublicIP
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

func peerDiff(old, cur []event.Instance) string {
	was := map[string]bool{}
	for _, p := range old {
		was[p.InstanceID] = true
	}
	is := map[string]bool{}
	var joined, left []string
	for _, p := range cur {
		is[p.InstanceID] = true
		if !was[p.InstanceID] {
			joined = append(joined, p.InstanceID)
		}
	}
	for _, p := range old {
		if !is[p.InstanceID] {
			left = append(left, p.InstanceID)
		}
	}
	var parts []string
	if len(joined) > 0 {
		parts = append(parts, "joined: "+strings.Join(joined, " "))
	}
	if len(left) > 0 {
		parts = append(parts, "left: "+strings.Join(left, " "))
	}
	if len(parts) == 0 {
		return "addresses changed"
	}
	return strings.Join(parts, "; ")
}
