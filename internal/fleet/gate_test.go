package fleet

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The fleet of the gate's tests: 10 peers over 3 zones (4, 3, 3), in rollout order
// i-a1, i-b1, i-c1, i-a2, i-b2, i-c2, i-a3, i-b3, i-c3, i-a4; with waves [1, 3, 100%]
// wave 1 is i-a1, wave 2 i-b1 and i-c1, wave 3 the other seven.
func tenPeers() []Peer {
	return []Peer{
		peer("i-c3", "us-east-1c"), peer("i-a2", "us-east-1a"), peer("i-b1", "us-east-1b"),
		peer("i-a4", "us-east-1a"), peer("i-c1", "us-east-1c"), peer("i-b3", "us-east-1b"),
		peer("i-a1", "us-east-1a"), peer("i-c2", "us-east-1c"), peer("i-b2", "us-east-1b"),
		peer("i-a3", "us-east-1a"),
	}
}

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func rollout(bake time.Duration, maxFailed int) Rollout {
	return Rollout{Waves: []Step{{Count: 1}, {Count: 3}, {Percent: 100}}, Bake: bake, MaxFailed: maxFailed}
}

// input is self deciding on rule "release" and v2, with published holding applied v2 for
// each id in applied.
func input(self string, r Rollout, now time.Time, applied ...string) Input {
	in := Input{
		Rule:      "release",
		Rollout:   r,
		Desired:   "v2",
		Self:      self,
		Peers:     tenPeers(),
		Published: map[string]State{},
		Now:       now,
	}
	for _, p := range tenPeers() {
		in.Published[p.InstanceID] = State{Applied: map[string]string{"release": "v1"}, Health: "healthy"}
	}
	for _, id := range applied {
		in.Published[id] = State{Applied: map[string]string{"release": "v2"}, Health: "healthy"}
	}
	return in
}

func waiting(d Decision, sub string) bool {
	return slices.ContainsFunc(d.Waiting, func(w string) bool { return strings.Contains(w, sub) })
}

func TestGateWaveMatchesOrder(t *testing.T) {
	order := ids(Order(tenPeers()))
	if want := []string{"i-a1", "i-b1", "i-c1", "i-a2", "i-b2", "i-c2", "i-a3", "i-b3", "i-c3", "i-a4"}; !slices.Equal(order, want) {
		t.Fatalf("Order = %v, want %v", order, want)
	}
	sizes := Sizes(rollout(0, 0).Waves, len(order))
	for pos, id := range order {
		want := 1
		for want-1 < len(sizes) && pos >= sizes[want-1] {
			want++
		}
		var g Gate
		d := g.Decide(input(id, rollout(0, 0), t0))
		if d.Wave != want || d.Waves != 3 || d.Total != 10 {
			t.Errorf("%s (position %d): wave %d of %d, total %d; want wave %d of 3, total 10", id, pos, d.Wave, d.Waves, d.Total, want)
		}
		if d.Go != (want == 1) {
			t.Errorf("%s: Go = %v with nothing applied, want %v (%s)", id, d.Go, want == 1, d.Reason)
		}
	}
}

func TestGateFirstWaveGoesAtOnce(t *testing.T) {
	var g Gate
	d := g.Decide(input("i-a1", rollout(5*time.Minute, 0), t0))
	if !d.Go || d.Wave != 1 || len(d.Waiting) != 0 || !d.RetryAt.IsZero() || d.Reason != "first wave" {
		t.Errorf("wave 1: %+v, want it to go at once", d)
	}
}

func TestGateWaitsForEarlierWave(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Input)
		waitFor string
	}{
		{"not applied", func(in *Input) {}, "i-a1: not applied yet"},
		{"unhealthy", func(in *Input) {
			in.Published["i-a1"] = State{Applied: map[string]string{"release": "v2"}, Health: "unhealthy"}
		}, "i-a1: unhealthy"},
		{"failing", func(in *Input) {
			in.Published["i-a1"] = State{Applied: map[string]string{"release": "v2"}, Health: "failing"}
		}, "i-a1: failing"},
		{"marked unhealthy", func(in *Input) {
			in.Published["i-a1"] = State{Applied: map[string]string{"release": "v2"}, Health: "marked-unhealthy"}
		}, "i-a1: marked-unhealthy"},
		{"unreadable", func(in *Input) {
			delete(in.Published, "i-a1")
			in.Unreadable = map[string]string{"i-a1": "AccessDenied on ec2:DescribeTags"}
		}, "i-a1: tags unreadable: AccessDenied on ec2:DescribeTags"},
		{"unreadable, no reason", func(in *Input) { delete(in.Published, "i-a1") }, "i-a1: tags unreadable"},
		{"applied another value", func(in *Input) { in.Published["i-a1"].Applied["release"] = "v3" }, "i-a1: not applied yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g Gate
			in := input("i-c1", rollout(0, 0), t0)
			tt.edit(&in)
			d := g.Decide(in)
			if d.Go || d.Wave != 2 {
				t.Fatalf("wave-2 instance: Go %v, wave %d; want it to wait in wave 2", d.Go, d.Wave)
			}
			if !slices.Contains(d.Waiting, tt.waitFor) {
				t.Errorf("Waiting = %q, want %q", d.Waiting, tt.waitFor)
			}
			if len(d.Waiting) != 1 {
				t.Errorf("Waiting = %q: only i-a1 is of an earlier wave", d.Waiting)
			}
			if !strings.HasPrefix(d.Reason, "waiting for ") || !strings.Contains(d.Reason, tt.waitFor) {
				t.Errorf("Reason = %q, want it to say it waits for %q", d.Reason, tt.waitFor)
			}
			if !d.RetryAt.IsZero() {
				t.Errorf("RetryAt = %v with no bake running", d.RetryAt)
			}
		})
	}
	// Healthy (or without health checks) and applied: it goes.
	for _, health := range []string{"healthy", ""} {
		var g Gate
		in := input("i-c1", rollout(0, 0), t0, "i-a1")
		st := in.Published["i-a1"]
		st.Health = health
		in.Published["i-a1"] = st
		if d := g.Decide(in); !d.Go || d.Reason != "the earlier waves applied it" {
			t.Errorf("health %q: %+v, want it to go", health, d)
		}
	}
}

func TestGateWave3WaitsForBothWaves(t *testing.T) {
	var g Gate
	d := g.Decide(input("i-a4", rollout(0, 0), t0, "i-a1", "i-b1"))
	if d.Go || d.Wave != 3 || !slices.Equal(d.Waiting, []string{"i-c1: not applied yet"}) {
		t.Errorf("wave 3 with i-c1 not applied: %+v", d)
	}
	if d.Applied != 2 {
		t.Errorf("Applied = %d, want 2", d.Applied)
	}
	if d := g.Decide(input("i-a4", rollout(0, 0), t0, "i-a1", "i-b1", "i-c1")); !d.Go {
		t.Errorf("wave 3 with waves 1 and 2 applied: %+v, want it to go", d)
	}
}

func TestGateBake(t *testing.T) {
	const bake = 2 * time.Minute
	var g Gate
	// The peer not ready yet: no bake runs.
	d := g.Decide(input("i-b1", rollout(bake, 0), t0))
	if d.Go || !d.RetryAt.IsZero() {
		t.Fatalf("before i-a1 applied: %+v", d)
	}
	ready := t0.Add(30 * time.Second) // the first call that sees i-a1 ready
	d = g.Decide(input("i-b1", rollout(bake, 0), ready, "i-a1"))
	if d.Go || !d.RetryAt.Equal(ready.Add(bake)) || !waiting(d, "i-a1: baking (0s of 2m0s)") {
		t.Fatalf("i-a1 just ready: %+v, want baking until %v", d, ready.Add(bake))
	}
	d = g.Decide(input("i-b1", rollout(bake, 0), ready.Add(bake-time.Second), "i-a1"))
	if d.Go || !d.RetryAt.Equal(ready.Add(bake)) || !waiting(d, "i-a1: baking (1m59s of 2m0s)") {
		t.Fatalf("1s before the bake ends: %+v", d)
	}
	d = g.Decide(input("i-b1", rollout(bake, 0), ready.Add(bake), "i-a1"))
	if !d.Go || !d.RetryAt.IsZero() || len(d.Waiting) != 0 {
		t.Fatalf("bake done: %+v, want it to go", d)
	}
	// Once baked, later calls go too.
	if d := g.Decide(input("i-b1", rollout(bake, 0), ready.Add(time.Hour), "i-a1")); !d.Go {
		t.Fatalf("an hour later: %+v", d)
	}
}

func TestGateBakeRestartsWhenPeerTurnsUnhealthy(t *testing.T) {
	const bake = 2 * time.Minute
	var g Gate
	r := rollout(bake, 0)
	g.Decide(input("i-b1", r, t0, "i-a1"))
	in := input("i-b1", r, t0.Add(time.Minute), "i-a1")
	in.Published["i-a1"] = State{Applied: map[string]string{"release": "v2"}, Health: "unhealthy"}
	if d := g.Decide(in); d.Go || !slices.Equal(d.Waiting, []string{"i-a1: unhealthy"}) || !d.RetryAt.IsZero() {
		t.Fatalf("peer unhealthy mid-bake: %+v", d)
	}
	back := t0.Add(90 * time.Second)
	if d := g.Decide(input("i-b1", r, back, "i-a1")); d.Go || !d.RetryAt.Equal(back.Add(bake)) {
		t.Fatalf("peer healthy again: %+v, want a new bake until %v", d, back.Add(bake))
	}
	// 2m past the first sighting, but not past the second: still baking.
	if d := g.Decide(input("i-b1", r, t0.Add(bake), "i-a1")); d.Go || !waiting(d, "baking (30s of 2m0s)") {
		t.Fatalf("at the first bake's end: %+v, want the bake restarted", d)
	}
	if d := g.Decide(input("i-b1", r, back.Add(bake), "i-a1")); !d.Go {
		t.Fatalf("at the second bake's end: %+v, want it to go", d)
	}
}

func TestGateBakeRetryAtIsEarliest(t *testing.T) {
	const bake = 2 * time.Minute
	var g Gate
	r := rollout(bake, 0)
	g.Decide(input("i-a2", r, t0, "i-a1", "i-b1"))
	d := g.Decide(input("i-a2", r, t0.Add(time.Minute), "i-a1", "i-b1", "i-c1"))
	if d.Go || !d.RetryAt.Equal(t0.Add(bake)) || len(d.Waiting) != 3 {
		t.Fatalf("three baking: %+v, want RetryAt %v (the earliest end)", d, t0.Add(bake))
	}
	d = g.Decide(input("i-a2", r, t0.Add(bake), "i-a1", "i-b1", "i-c1"))
	if d.Go || !d.RetryAt.Equal(t0.Add(time.Minute+bake)) || !slices.Equal(d.Waiting, []string{"i-c1: baking (1m0s of 2m0s)"}) {
		t.Fatalf("two baked: %+v", d)
	}
}

func failedOn(in Input, id, reason string) {
	in.Published[id] = State{
		Applied: map[string]string{"release": "v1"},
		Failed:  map[string]Failure{"release": {Fingerprint: "v2", Reason: reason}},
		Health:  "healthy",
	}
}

func TestGateHeldByFailure(t *testing.T) {
	// i-b1 (wave 2) failed v2: wave 3 (i-a2) holds with max_failed 0.
	in := input("i-a2", rollout(0, 0), t0, "i-a1", "i-c1")
	failedOn(in, "i-b1", "hook exited 1")
	var g Gate
	d := g.Decide(in)
	want := []PeerFailure{{Instance: "i-b1", Reason: "hook exited 1"}}
	if d.Go || !reflect.DeepEqual(d.HeldBy, want) || !reflect.DeepEqual(d.Failed, want) {
		t.Fatalf("max_failed 0: %+v, want held by i-b1", d)
	}
	if !strings.HasPrefix(d.Reason, "held") || !strings.Contains(d.Reason, "i-b1") || !strings.Contains(d.Reason, "max_failed 0") {
		t.Errorf("Reason = %q", d.Reason)
	}
	if d.HeldByOperator {
		t.Errorf("HeldByOperator set by a failure")
	}
	if waiting(d, "i-b1") {
		t.Errorf("Waiting = %q: the failed peer is counted, not waited for", d.Waiting)
	}

	// max_failed 1: the failure is tolerated, and the failed peer is not waited for.
	in.Rollout = rollout(0, 1)
	d = g.Decide(in)
	if !d.Go || !reflect.DeepEqual(d.HeldBy, want) || waiting(d, "i-b1") {
		t.Fatalf("max_failed 1: %+v, want it to go past i-b1", d)
	}

	// A failure in the same or a later wave does not hold.
	in = input("i-b1", rollout(0, 0), t0, "i-a1")
	failedOn(in, "i-c1", "same wave")
	failedOn(in, "i-a4", "later wave")
	d = g.Decide(in)
	if !d.Go || len(d.HeldBy) != 0 || len(d.Failed) != 2 || d.Failed[0].Instance != "i-c1" || d.Failed[1].Instance != "i-a4" {
		t.Fatalf("failures not earlier: %+v, want it to go, Failed in rollout order", d)
	}

	// A failure of another value does not count.
	in = input("i-a2", rollout(0, 0), t0, "i-a1", "i-c1")
	failedOn(in, "i-b1", "old")
	in.Published["i-b1"].Failed["release"] = Failure{Fingerprint: "v1", Reason: "old"}
	d = g.Decide(in)
	if d.Go || len(d.Failed) != 0 || !waiting(d, "i-b1: not applied yet") {
		t.Fatalf("failure of v1 while rolling v2: %+v, want i-b1 waited for", d)
	}
}

func TestGateNewValueClearsHoldAndBake(t *testing.T) {
	var g Gate
	in := input("i-a2", rollout(2*time.Minute, 0), t0, "i-a1", "i-c1")
	failedOn(in, "i-b1", "broke")
	if d := g.Decide(in); d.Go || len(d.HeldBy) != 1 {
		t.Fatalf("held: %+v", d)
	}
	// v3 comes: everyone applied it by t0+1m; the bake starts from that call.
	in3 := input("i-a2", rollout(2*time.Minute, 0), t0.Add(time.Minute))
	in3.Desired = "v3"
	for _, id := range []string{"i-a1", "i-b1", "i-c1"} {
		in3.Published[id] = State{Applied: map[string]string{"release": "v3"}, Health: "healthy",
			Failed: map[string]Failure{"release": {Fingerprint: "v2", Reason: "broke"}}}
	}
	d := g.Decide(in3)
	if d.Go || len(d.HeldBy) != 0 || len(d.Failed) != 0 || !d.RetryAt.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("v3: %+v, want no hold, baking until t0+3m", d)
	}

	// A bake of v3 does not carry over to v4, nor back.
	var g2 Gate
	a := input("i-b1", rollout(2*time.Minute, 0), t0, "i-a1")
	g2.Decide(a) // bake of v2 from t0
	b := input("i-b1", rollout(2*time.Minute, 0), t0.Add(time.Minute))
	b.Desired = "v3"
	b.Published["i-a1"] = State{Applied: map[string]string{"release": "v3"}}
	g2.Decide(b) // bake of v3 from t0+1m
	a.Now = t0.Add(2 * time.Minute)
	if d := g2.Decide(a); d.Go || !d.RetryAt.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("back to v2 at t0+2m: %+v, want a fresh bake until t0+4m", d)
	}
	// Rules are tracked apart.
	other := input("i-b1", rollout(2*time.Minute, 0), t0.Add(3*time.Minute), "i-a1")
	other.Rule = "other"
	other.Published["i-a1"] = State{Applied: map[string]string{"other": "v2"}}
	if d := g2.Decide(other); d.Go || !d.RetryAt.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("another rule: %+v, want its own bake", d)
	}
}

func TestGateOperatorHold(t *testing.T) {
	for _, self := range []string{"i-a1", "i-a4"} {
		var g Gate
		in := input(self, rollout(0, 0), t0, "i-a1", "i-b1", "i-c1")
		in.Held = true
		d := g.Decide(in)
		if d.Go || !d.HeldByOperator || !strings.Contains(d.Reason, "held by the operator") {
			t.Errorf("%s held: %+v, want it stopped by the operator", self, d)
		}
		in.Held = false
		if d := g.Decide(in); !d.Go || d.HeldByOperator {
			t.Errorf("%s resumed: %+v, want it to go", self, d)
		}
	}
}

// A wave-2 peer that hangs and then leaves the group: the order is computed again over the
// remaining peers, whoever takes its place in wave 2 goes on its own, and wave 3 follows.
func TestGatePeerLeavesMidWave(t *testing.T) {
	var g Gate
	in := input("i-a2", rollout(0, 0), t0, "i-a1", "i-b1")
	if d := g.Decide(in); d.Go || !slices.Equal(d.Waiting, []string{"i-c1: not applied yet"}) {
		t.Fatalf("i-c1 hanging: %+v", d)
	}
	gone := func(in Input) Input {
		in.Peers = slices.DeleteFunc(slices.Clone(in.Peers), func(p Peer) bool { return p.InstanceID == "i-c1" })
		delete(in.Published, "i-c1")
		return in
	}
	// i-c2 takes i-c1's place in wave 2 and goes: wave 1 applied.
	var gc2 Gate
	d := gc2.Decide(gone(input("i-c2", rollout(0, 0), t0, "i-a1", "i-b1")))
	if !d.Go || d.Wave != 2 || d.Total != 9 {
		t.Fatalf("i-c2 once i-c1 left: %+v, want wave 2 of 9 peers to go", d)
	}
	d = g.Decide(gone(in))
	if d.Go || d.Total != 9 || waiting(d, "i-c1") || !slices.Equal(d.Waiting, []string{"i-c2: not applied yet"}) {
		t.Fatalf("i-a2 once i-c1 left: %+v, want it to wait for i-c2 alone", d)
	}
	d = g.Decide(gone(input("i-a2", rollout(0, 0), t0, "i-a1", "i-b1", "i-c2")))
	if !d.Go || d.Wave != 3 {
		t.Fatalf("i-a2 once i-c2 applied: %+v, want wave 3 to go", d)
	}
}

func TestGateSelfMissingFromPeers(t *testing.T) {
	in := input("i-new", rollout(0, 0), t0)
	var g Gate
	d := g.Decide(in)
	// Not online yet: it goes last, in the last wave, never ahead of the others.
	want := len(in.Rollout.Waves)
	if d.Total != 11 || d.Wave != want {
		t.Errorf("self missing from peers: wave %d, total %d; want wave %d, total 11", d.Wave, d.Total, want)
	}
	// Self in Peers: counted once.
	in = input("i-a1", rollout(0, 0), t0)
	in.Published["i-a1"] = State{Applied: map[string]string{"release": "v2"}}
	d = g.Decide(in)
	if d.Total != 10 || d.Applied != 1 {
		t.Errorf("self in peers, applied: total %d, applied %d; want 10, 1", d.Total, d.Applied)
	}
}

func TestGateApplied(t *testing.T) {
	var g Gate
	in := input("i-a4", rollout(0, 0), t0, "i-a1", "i-b1", "i-c1", "i-a2", "i-a4")
	in.Published["i-b2"] = State{Applied: map[string]string{RuleKey("release"): "v2"}}
	if d := g.Decide(in); d.Applied != 6 || d.Total != 10 {
		t.Errorf("Applied %d of %d, want 6 of 10", d.Applied, d.Total)
	}
}

// Published maps are keyed by RuleKey: a rule whose name has a / is looked up by its key.
func TestGateRuleKey(t *testing.T) {
	var g Gate
	in := input("i-b1", rollout(0, 0), t0)
	in.Rule = "web/config"
	in.Published["i-a1"] = Parse(State{Applied: map[string]string{"web/config": "v2"}}.Tags())
	if d := g.Decide(in); !d.Go {
		t.Errorf("rule web/config applied on i-a1: %+v, want it to go", d)
	}
}

// Every agent runs its own Gate: the same inputs must give the same decisions.
func TestGateDeterministic(t *testing.T) {
	var seq []Input
	for i, applied := range [][]string{nil, {"i-a1"}, {"i-a1", "i-b1"}, {"i-a1", "i-b1", "i-c1"}, {"i-a1", "i-b1", "i-c1", "i-a2"}} {
		for _, self := range []string{"i-a1", "i-c1", "i-a2", "i-c3"} {
			in := input(self, rollout(time.Minute, 1), t0.Add(time.Duration(i)*40*time.Second), applied...)
			if i == 2 {
				failedOn(in, "i-c1", "broke")
			}
			seq = append(seq, in)
		}
	}
	var g1, g2 Gate
	for i, in := range seq {
		in2 := in
		in2.Peers = slices.Clone(in.Peers)
		slices.Reverse(in2.Peers)
		d1, d2 := g1.Decide(in), g2.Decide(in2)
		if !reflect.DeepEqual(d1, d2) {
			t.Fatalf("call %d (%s): gates differ:\n%+v\n%+v", i, in.Self, d1, d2)
		}
	}
}

func TestDecisionProgress(t *testing.T) {
	d := Decision{
		Wave: 2, Waves: 4, Applied: 6, Total: 10,
		Failed: []PeerFailure{{Instance: "i-0abc", Reason: "hook exited 1"}, {Instance: "i-0abd", Reason: "timeout"}},
		Reason: "waiting for i-0def: baking (1m10s of 2m0s)",
	}
	want := "v42: wave 2 of 4, 6 of 10 applied, 2 failed on i-0abc: hook exited 1; i-0abd: timeout; waiting for i-0def: baking (1m10s of 2m0s)"
	if got := d.Progress("v42"); got != want {
		t.Errorf("Progress =\n%q\nwant\n%q", got, want)
	}
	if got := (Decision{Wave: 1, Waves: 1, Applied: 0, Total: 3}).Progress("v1"); got != "v1: wave 1 of 1, 0 of 3 applied" {
		t.Errorf("Progress = %q", got)
	}
	// From Decide.
	var g Gate
	in := input("i-a2", rollout(0, 0), t0, "i-a1", "i-c1")
	failedOn(in, "i-b1", "hook exited 1")
	got := g.Decide(in).Progress("v2")
	if !strings.HasPrefix(got, "v2: wave 3 of 3, 2 of 10 applied, 1 failed on i-b1: hook exited 1; held: 1 of the earlier waves failed it (i-b1)") {
		t.Errorf("Progress = %q", got)
	}
}

// For a moment the agents of a group see different peer sets: half already see an
// instance that joined (it sorts first in its zone, and is still in its setup, so it has
// published nothing), half do not. Those that see it wait for it; none goes twice; once
// the joiner has published (its setup applies the value) and every agent sees it, the
// rollout completes, every wave in order.
func TestGateDivergentPeerSets(t *testing.T) {
	joiner := peer("i-a0", "us-east-1a")
	full := append(tenPeers(), joiner)
	published := map[string]State{}
	for _, p := range tenPeers() {
		published[p.InstanceID] = State{Applied: map[string]string{"release": "v1"}}
	}
	gates := map[string]*Gate{}
	went := map[string]int{} // round an agent went
	for round := 1; round <= 30 && len(went) < 10; round++ {
		if round == 5 {
			published[joiner.InstanceID] = State{Applied: map[string]string{"release": "v2"}}
		}
		now := t0.Add(time.Duration(round) * time.Minute)
		goes := []string{}
		for i, p := range tenPeers() {
			if _, done := went[p.InstanceID]; done {
				continue
			}
			view := tenPeers()
			if i%2 == 0 || round >= 5 {
				view = full
			}
			g := gates[p.InstanceID]
			if g == nil {
				g = &Gate{}
				gates[p.InstanceID] = g
			}
			d := g.Decide(Input{Rule: "release", Rollout: rollout(0, 0), Desired: "v2", Self: p.InstanceID, Peers: view, Published: published, Now: now})
			if d.Go {
				goes = append(goes, p.InstanceID)
			}
			if d.Go && round < 5 && i%2 == 0 {
				// It sees the joiner, first in the order, which has applied nothing yet.
				t.Errorf("round %d: %s, which sees the joiner, went before the joiner published", round, p.InstanceID)
			}
		}
		// The agents that went apply the value before the next round.
		for _, id := range goes {
			went[id] = round
			published[id] = State{Applied: map[string]string{"release": "v2"}}
		}
	}
	if len(went) != 10 {
		t.Fatalf("only %d of 10 applied: %v", len(went), went)
	}
	// In the order all agents agree on at the end, no instance went before every
	// instance of the earlier waves had.
	order := Order(full)
	sizes := Sizes(rollout(0, 0).Waves, len(order))
	wave := func(id string) int {
		for i, p := range order {
			if p.InstanceID == id {
				for w, s := range sizes {
					if i < s {
						return w + 1
					}
				}
			}
		}
		return 0
	}
	for a, ra := range went {
		for b, rb := range went {
			if wave(b) < wave(a) && rb > ra && ra >= 5 {
				t.Errorf("%s (wave %d) went in round %d, before %s (wave %d) in round %d", a, wave(a), ra, b, wave(b), rb)
			}
		}
	}
}
