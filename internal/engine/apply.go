package engine

import (
	"encoding/json"
	"slices"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
)

// apply takes in one source update.
func (e *Engine) apply(u source.Update) {
	delete(e.awaiting, u.Source)
	if e.status != nil {
		e.status.Source(u.Source, u.Problem(), u.Detail)
	}
	if u.Identity != nil {
		e.setIdentity(*u.Identity)
	}
	for name, o := range u.Metadata {
		e.observed[name] = o
	}
	if u.Tags != nil {
		e.tags = u.Tags
		for _, r := range e.cfg.Watch {
			if r.Tag == "" {
				continue
			}
			v, ok := u.Tags[r.Tag]
			if !ok {
				e.observed[r.Name] = source.Observed{}
				continue
			}
			b, _ := json.Marshal(v)
			e.observed[r.Name] = source.Observed{Present: true, Value: b}
		}
	}
	if u.Params != nil {
		// A parameter not in the map could not be read: its rules stay as they were.
		for _, r := range e.cfg.Watch {
			if o, ok := u.Params[r.SSM]; ok && r.SSM != "" {
				e.observed[r.Name] = o
			}
		}
	}
	if u.PeersRead {
		e.peers = u.Peers
		e.peersRead = true
		e.rolloutHold = u.RolloutHold
	}
	if u.NoPeers {
		e.noPeers = true // in no group and no stack: a fleet of one
	}
	if u.Lifecycle != nil {
		e.lifecycle(*u.Lifecycle)
	}
	if u.Request != nil {
		e.request(*u.Request)
	}
}

// setIdentity takes this instance's identity. State written on another instance (a state
// directory baked into an AMI) is not this instance's: it starts over, with setup.
func (e *Engine) setIdentity(in event.Instance) {
	if prev := e.st.Setup.InstanceID; prev != "" && prev != in.InstanceID {
		e.log.Warn("the state directory belongs to another instance; starting over as a new instance (setup runs)",
			zap.String("state_instance", prev), zap.String("instance", in.InstanceID))
		fresh := state.New()
		fresh.Seq = e.st.Seq
		fresh.History = e.st.History
		fresh.Last = e.st.Last
		fresh.Queue = e.st.Queue
		*e.st = *fresh
	}
	cp := in
	e.identity = &cp
	e.st.Identity = in
	if e.drained && e.st.Lifecycle.ShutdownFor != in.InstanceID {
		// A state directory from a drained instance on a new one (baked into an AMI):
		// this instance is not terminating.
		e.drained, e.terminating, e.shutdownWhy = false, false, ""
	}
	e.save()
	e.publish()
}

func (e *Engine) lifecycle(l source.Lifecycle) {
	now := e.clk.Now().UTC()
	detail := l.Detail
	state := l.State
	if l.Spot {
		state = string(event.CauseSpotInterruption)
	}
	if e.st.Lifecycle.State != state {
		e.st.Lifecycle.State = state
		e.st.Lifecycle.Detail = detail
		e.st.Lifecycle.SeenAt = now
		e.log.Info("lifecycle", zap.String("state", state), zap.String("detail", detail))
		e.save()
	}
	if !l.Rebalance.IsZero() && !l.Rebalance.Equal(e.st.Lifecycle.RebalanceAt) && !e.terminating {
		e.st.Lifecycle.RebalanceAt = l.Rebalance
		if k := event.Kind(e.cfg.Lifecycle.RebalanceEvent); k != "" {
			e.enqueue(pendingSpec{kind: k, explicit: true,
				reason:  "EC2 rebalance recommendation at " + l.Rebalance.UTC().Format("2006-01-02T15:04:05Z") + ": this instance is at elevated risk of interruption",
				trigger: event.Trigger{Type: event.TriggerLifecycle, Detail: "rebalance-recommendation"}}, false)
		} else {
			e.log.Info("EC2 rebalance recommendation; lifecycle.rebalance_event is not set, so nothing runs", zap.Time("notice", l.Rebalance))
		}
		e.save()
	}
	if !l.Terminating() || e.terminating {
		return
	}
	// Sources report in any order: before this start's identity arrives, the instance is
	// the one the state last knew, so a restart on a terminating instance does not run its
	// shutdown again because the lifecycle source spoke first.
	id := e.st.Identity.InstanceID
	if e.identity != nil {
		id = e.identity.InstanceID
	}
	if e.st.Lifecycle.ShutdownDone && e.st.Lifecycle.ShutdownFor == id {
		if !e.terminatedNoted {
			e.terminatedNoted = true
			e.log.Warn("the instance is terminating and its shutdown hooks already ran; waiting for it to end")
		}
		return
	}
	reason := "the instance is terminating (target lifecycle state Terminated)"
	if l.Spot {
		reason = "spot interruption notice"
		if !l.Deadline.IsZero() {
			reason += ": the instance stops at " + l.Deadline.UTC().Format("2006-01-02T15:04:05Z")
		}
	}
	e.beginShutdown(reason, l.Deadline, id)
}

// request queues an operator's `stackhand trigger`. A request already known (queued, running
// or answered, e.g. before a crash) is not queued twice.
func (e *Engine) request(r source.Request) {
	if e.knownRequest(r.ID) {
		e.removeRequest(r.ID)
		return
	}
	if e.terminating {
		why := "the agent is shutting down: " + e.shutdownWhy
		if e.drained {
			why = "dropped, " + drainedWhy
		}
		e.answer([]string{r.ID}, state.Outcome{Kind: r.Event, Result: state.Dropped, Error: why, End: e.clk.Now().UTC()})
		e.removeRequest(r.ID)
		return
	}
	reason := r.Reason
	if reason == "" {
		reason = "requested"
		if r.User != "" {
			reason += " by " + r.User
		}
	}
	e.log.Info("request", zap.String("request", r.ID), zap.String("event", string(r.Event)), zap.String("reason", reason))
	if rb := r.Rollback; rb != nil {
		// Queued as it is, never merged: it switches one app back and runs no deploy hooks.
		e.st.Queue = append(e.st.Queue, state.Pending{ID: e.nextID(event.Deploy), Kind: event.Deploy,
			Reasons: []string{"rollback of app " + rb.App + ": " + reason}, Explicit: true, Queued: e.clk.Now().UTC(),
			Trigger: event.Trigger{Type: event.TriggerRequest, Detail: r.User, Requests: []string{r.ID}}, Rollback: rb})
		e.save()
		e.removeRequest(r.ID)
		return
	}
	e.enqueue(pendingSpec{kind: r.Event, reason: reason, explicit: true,
		trigger: event.Trigger{Type: event.TriggerRequest, Detail: r.User, Requests: []string{r.ID}}}, false)
	e.save()
	e.removeRequest(r.ID)
}

func (e *Engine) knownRequest(id string) bool {
	has := func(t event.Trigger) bool { return slices.Contains(t.Requests, id) }
	if e.st.Running != nil && has(e.st.Running.Trigger) {
		return true
	}
	for _, p := range e.st.Queue {
		if has(p.Trigger) {
			return true
		}
	}
	for _, o := range e.st.History {
		if has(o.Trigger) {
			return true
		}
	}
	return false
}

func (e *Engine) answer(ids []string, o state.Outcome) {
	if e.spool == nil {
		return
	}
	for _, id := range ids {
		if err := e.spool.Answer(id, o); err != nil {
			e.log.Error("cannot write the answer to a request", zap.String("request", id), zap.Error(err))
		}
	}
}
