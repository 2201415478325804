package fleet

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Order is the order a rollout goes through the online peers, the same on every agent
// that sees the same peers: the peers grouped by availability zone, each zone's sorted by
// instance id, the zones sorted by name, then taken in turn — the first of each zone, then
// the second of each, and so on — so that the first waves are spread over the zones.
func Order(peers []Peer) []Peer {
	byAZ := map[string][]Peer{}
	for _, p := range peers {
		byAZ[p.AvailabilityZone] = append(byAZ[p.AvailabilityZone], p)
	}
	azs := make([]string, 0, len(byAZ))
	for az, ps := range byAZ {
		azs = append(azs, az)
		slices.SortFunc(ps, func(a, b Peer) int { return strings.Compare(a.InstanceID, b.InstanceID) })
	}
	slices.Sort(azs)
	out := make([]Peer, 0, len(peers))
	for k := 0; len(out) < len(peers); k++ {
		for _, az := range azs {
			if k < len(byAZ[az]) {
				out = append(out, byAZ[az][k])
			}
		}
	}
	return out
}

// Input is what Gate.Decide needs to know.
type Input struct {
	Rule    string // the rule's name (as configured)
	Rollout Rollout
	// Desired is the Fingerprint of the value this agent sees now.
	Desired string
	// Self is this instance's id; it counts as an online peer even when Peers lacks it.
	Self  string
	Peers []Peer
	// Published is the peers' published state by instance id; a peer missing here could
	// not be read, and Unreadable may say why.
	Published  map[string]State
	Unreadable map[string]string
	// Held is the operator's hold (stackhand fleet hold).
	Held bool
	// Now is this agent's clock: a wave's bake is measured on it alone.
	Now time.Time
}

// PeerFailure is a peer that failed the value, and why.
type PeerFailure struct {
	Instance string
	Reason   string
}

// Decision is the gate's answer.
type Decision struct {
	Go bool
	// Wave is this instance's wave (1-based) of Waves.
	Wave, Waves int
	// Applied counts the online peers that published Desired as applied, of Total.
	Applied, Total int
	// Failed are the peers that published Desired as failed, in rollout order; HeldBy
	// those of earlier waves, when they are more than MaxFailed and hold this wave.
	Failed, HeldBy []PeerFailure
	// Waiting says, per peer of an earlier wave that is not ready, why.
	Waiting []string
	// RetryAt is when the earliest bake still running ends (zero if none): the engine
	// asks again then.
	RetryAt time.Time
	// Reason is one line on why it goes or waits.
	Reason string
	// HeldByOperator says the operator's hold stops it.
	HeldByOperator bool
}

// Progress is the decision as status shows it: "v42: wave 2 of 4, 6 of 10 applied, 1
// failed on i-0abc: <reason>; waiting for i-0def (baking 1m10s of 2m)".
func (d Decision) Progress(desired string) string {
	s := fmt.Sprintf("%s: wave %d of %d, %d of %d applied", desired, d.Wave, d.Waves, d.Applied, d.Total)
	if len(d.Failed) > 0 {
		var f []string
		for _, x := range d.Failed {
			f = append(f, x.Instance+": "+x.Reason)
		}
		s += fmt.Sprintf(", %d failed on %s", len(d.Failed), strings.Join(f, "; "))
	}
	if d.Reason != "" {
		s += "; " + d.Reason
	}
	return s
}

// Gate decides, for one agent, when its wave of a rollout may apply a value. Every agent
// computes the same order from the same peers and so knows its own wave; it goes once
// every peer of the earlier waves has published the value as applied, healthy, for the
// bake time as this agent saw it. It is not safe for concurrent use.
type Gate struct {
	// ready is, by rule, the value it tracks and when this agent first saw each peer
	// ready with it (reset when the peer is not ready at a later call).
	ready map[string]*tracked
}

type tracked struct {
	desired string
	since   map[string]time.Time
}

// unhealthy are the verdicts that keep a peer from counting as ready.
var unhealthy = []string{"unhealthy", "failing", "marked-unhealthy"}

// Decide answers for in.
func (g *Gate) Decide(in Input) Decision {
	if g.ready == nil {
		g.ready = map[string]*tracked{}
	}
	tr := g.ready[in.Rule]
	if tr == nil || tr.desired != in.Desired {
		tr = &tracked{desired: in.Desired, since: map[string]time.Time{}}
		g.ready[in.Rule] = tr
	}
	order := Order(in.Peers)
	if !slices.ContainsFunc(order, func(p Peer) bool { return p.InstanceID == in.Self }) {
		// Not online yet as the group sees it (Pending, Standby): it counts, last, and
		// never jumps ahead of the instances that are.
		order = append(order, Peer{InstanceID: in.Self})
	}
	sizes := Sizes(in.Rollout.Waves, len(order))
	pos := slices.IndexFunc(order, func(p Peer) bool { return p.InstanceID == in.Self })
	d := Decision{Waves: len(sizes), Total: len(order)}
	for w, size := range sizes {
		if pos < size {
			d.Wave = w + 1
			break
		}
	}
	key := RuleKey(in.Rule)
	before := 0 // the peers of the earlier waves
	if d.Wave > 1 {
		before = sizes[d.Wave-2]
	}
	var waitRetry time.Time
	for i, p := range order {
		st, read := in.Published[p.InstanceID]
		if p.InstanceID == in.Self {
			continue
		}
		applied := read && st.Applied[key] == in.Desired
		if applied {
			d.Applied++
		}
		if f, ok := st.Failed[key]; read && ok && f.Fingerprint == in.Desired {
			pf := PeerFailure{Instance: p.InstanceID, Reason: f.Reason}
			d.Failed = append(d.Failed, pf)
			if i < before {
				// Counted against max_failed, not waited for: up to max_failed
				// failures, the wave goes on without them.
				d.HeldBy = append(d.HeldBy, pf)
			}
			continue
		}
		if i >= before {
			continue
		}
		why := ""
		switch {
		case !read:
			why = "tags unreadable"
			if u := in.Unreadable[p.InstanceID]; u != "" {
				why += ": " + u
			}
		case !applied:
			why = "not applied yet"
		case slices.Contains(unhealthy, st.Health):
			why = st.Health
		}
		if why != "" {
			delete(tr.since, p.InstanceID)
			d.Waiting = append(d.Waiting, p.InstanceID+": "+why)
			continue
		}
		since, ok := tr.since[p.InstanceID]
		if !ok {
			since = in.Now
			tr.since[p.InstanceID] = since
		}
		if end := since.Add(in.Rollout.Bake); in.Now.Before(end) {
			d.Waiting = append(d.Waiting, fmt.Sprintf("%s: baking (%s of %s)", p.InstanceID, in.Now.Sub(since).Round(time.Second), in.Rollout.Bake))
			if waitRetry.IsZero() || end.Before(waitRetry) {
				waitRetry = end
			}
		}
	}
	if self, ok := in.Published[in.Self]; ok && self.Applied[key] == in.Desired {
		d.Applied++
	}
	switch {
	case in.Held:
		d.HeldByOperator = true
		d.Reason = "held by the operator (stackhand fleet hold); stackhand fleet resume to go on"
	case len(d.HeldBy) > in.Rollout.MaxFailed:
		var who []string
		for _, f := range d.HeldBy {
			who = append(who, f.Instance)
		}
		d.Reason = fmt.Sprintf("held: %d of the earlier waves failed it (%s), more than max_failed %d; the hold ends when the value changes", len(d.HeldBy), strings.Join(who, ", "), in.Rollout.MaxFailed)
	case len(d.Waiting) > 0:
		d.Reason = "waiting for " + strings.Join(d.Waiting, ", ")
		d.RetryAt = waitRetry
	default:
		d.Go = true
		if d.Wave == 1 {
			d.Reason = "first wave"
		} else {
			d.Reason = "the earlier waves applied it"
		}
	}
	return d
}
