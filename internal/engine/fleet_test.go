package engine_test

import (
	"sync"
	"testing"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/engine"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/fleet"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
)

// fakeFleet is a gate the test opens and closes, recording what it was asked and what the
// engine published.
type fakeFleet struct {
	mu        sync.Mutex
	open      bool
	inputs    []fleet.Input
	published []fleet.State
}

func (f *fakeFleet) Decide(in fleet.Input) fleet.Decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs = append(f.inputs, in)
	return fleet.Decision{Go: f.open}
}

func (f *fakeFleet) Publish(s fleet.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = append(f.published, s)
}

func (f *fakeFleet) setOpen(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.open = v
}

func (f *fakeFleet) last() (fleet.State, []fleet.Input) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.published) == 0 {
		return fleet.State{}, f.inputs
	}
	return f.published[len(f.published)-1], f.inputs
}

func fp(v string) string { return fleet.Fingerprint([]byte(v)) }

// startRollout starts an engine whose one rule, release, has a rollout [1, 100%], gated by
// a fake fleet.
func startRollout(t *testing.T, await ...string) (*harness, *fakeFleet) {
	t.Helper()
	cfg := testConfig(t, config.WatchRule{Name: "release", Metadata: "release",
		Rollout: &config.Rollout{Steps: []fleet.Step{{Count: 1}, {Percent: 100}}}})
	ff := &fakeFleet{}
	clk := newClock()
	dir := t.TempDir()
	st, store, warn, err := state.Open(dir, clk.Now())
	if err != nil || warn != nil {
		t.Fatal(err, warn)
	}
	return startFull(t, cfg, dir, clk, st, store, await, nil, func(o *engine.Options) { o.Fleet = ff }), ff
}

// A rule with a rollout: setup deploys what is there without asking the gate (an instance
// that joins during a rollout takes the desired value); a later change waits for the gate,
// published as wanted; once the gate opens the deploy runs and the value is published as
// applied; a failed deploy is published as failed with its reason.
func TestRolloutGate(t *testing.T) {
	h, ff := startRollout(t)
	h.boot(peer(1), peer(2))
	if _, in := ff.last(); len(in) != 0 {
		t.Fatalf("setup asked the gate: %+v", in)
	}
	st, _ := ff.last()
	if st.Applied["release"] != fp(`"v1"`) || st.Last.Kind != string(event.Configure) {
		t.Fatalf("published after setup: %+v", st)
	}

	h.update(meta("release", `"v2"`))
	h.sync() // the next event is the barrier: no deploy was queued
	st, in := ff.last()
	if len(in) == 0 {
		t.Fatal("the gate was never asked about v2")
	}
	if got := in[len(in)-1]; got.Rule != "release" || got.Desired != fp(`"v2"`) || got.Self != self.InstanceID || len(got.Peers) != 2 || len(got.Rollout.Waves) != 2 {
		t.Fatalf("asked %+v", got)
	}
	if st.Wanted["release"] != fp(`"v2"`) || st.Applied["release"] != fp(`"v1"`) {
		t.Fatalf("published while waiting: %+v", st)
	}

	ff.setOpen(true)
	h.update(source.Update{Source: "fleet"})
	d := h.next(event.Deploy)
	if w := watched(t, d.payload(t), "release"); compact(w.New) != `"v2"` {
		t.Fatalf("deploy of %s", w.New)
	}
	ok(d)
	h.outcome(d.spec.EventID)
	h.settle()
	st, _ = ff.last()
	if st.Applied["release"] != fp(`"v2"`) || len(st.Wanted) != 0 {
		t.Fatalf("published after v2: %+v", st)
	}

	// The gate said go once for v3: a deploy that fails is published as failed.
	h.update(meta("release", `"v3"`))
	d = h.next(event.Deploy)
	fail(d, "10-app", "boom")
	h.state("the failure recorded", func(s *state.State) bool { return s.RolloutFailed["release"].Fingerprint == fp(`"v3"`) })
	h.settle()
	st, _ = ff.last()
	if f := st.Failed["release"]; f.Fingerprint != fp(`"v3"`) || f.Reason == "" || st.Applied["release"] != fp(`"v2"`) {
		t.Fatalf("published after the failure: %+v", st)
	}
}

// An instance in no Auto Scaling group and no stack has no peers to watch: a rule with a
// rollout deploys at once, the instance being a fleet of one, without asking the gate.
func TestRolloutWithNoPeersIsAFleetOfOne(t *testing.T) {
	// The engine waits for the three first reports, as the agent's does: otherwise setup
	// could start before the metadata is read, and the release's first reading would
	// queue a deploy of v1 of its own, ahead of the v2 this test waits for.
	h, ff := startRollout(t, "identity", "metadata", "peers")
	h.update(identity(self))
	h.update(meta("release", `"v1"`))
	h.update(source.Update{Source: "peers", Detail: source.NoPeers, NoPeers: true})
	ok(h.next(event.Setup))
	ok(h.next(event.Deploy))
	ok(h.next(event.Configure))
	h.update(meta("release", `"v2"`))
	d := h.next(event.Deploy)
	if w := watched(t, d.payload(t), "release"); compact(w.New) != `"v2"` {
		t.Fatalf("deploy of %s", w.New)
	}
	ok(d)
	if _, in := ff.last(); len(in) != 0 {
		t.Errorf("the gate was asked with no peers: %+v", in)
	}
}
