package fleet

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Row is one instance in `stackhand fleet status`.
type Row struct {
	Instance   string             `json:"instance"`
	AZ         string             `json:"az,omitempty"`
	State      string             `json:"state"` // online, or what the group says
	Applied    map[string]string  `json:"applied,omitempty"`
	Failed     map[string]Failure `json:"failed,omitempty"`
	Last       *Last              `json:"last,omitempty"`
	Health     string             `json:"health,omitempty"`
	Unreadable string             `json:"unreadable,omitempty"`
}

// RuleRollout names a rule and its rollout for the summary.
type RuleRollout struct {
	Rule    string
	Rollout Rollout
}

// Summary is the fleet as `stackhand fleet status` shows it.
type Summary struct {
	Rows     []Row    `json:"instances"`
	Rollouts []string `json:"rollouts,omitempty"`
	Held     bool     `json:"held,omitempty"`
}

// Summarize builds the fleet's summary from the online peers and what they published. The
// value a rule rolls out is the one its instances want (Wanted) or, when none waits, the
// one most of them applied; its line says which wave the rollout is in, how many applied
// it and who failed it.
func Summarize(peers []Peer, published map[string]State, unreadable map[string]string, rules []RuleRollout, held bool) Summary {
	s := Summary{Held: held}
	for _, p := range Order(peers) {
		r := Row{Instance: p.InstanceID, AZ: p.AvailabilityZone, State: "online"}
		if st, ok := published[p.InstanceID]; ok {
			r.Applied, r.Health = st.Applied, st.Health
			if len(st.Failed) > 0 {
				r.Failed = st.Failed
			}
			if !st.Last.At.IsZero() {
				l := st.Last
				r.Last = &l
			}
		} else {
			r.Unreadable = unreadable[p.InstanceID]
			if r.Unreadable == "" {
				r.Unreadable = "nothing published"
			}
		}
		s.Rows = append(s.Rows, r)
	}
	for _, rr := range rules {
		if line := rolloutLine(rr, s.Rows, published); line != "" {
			s.Rollouts = append(s.Rollouts, line)
		}
	}
	return s
}

func rolloutLine(rr RuleRollout, rows []Row, published map[string]State) string {
	key := RuleKey(rr.Rule)
	wanted := map[string]int{}
	applied := map[string]int{}
	for _, r := range rows {
		st := published[r.Instance]
		if w := st.Wanted[key]; w != "" {
			wanted[w]++
		}
		if a := st.Applied[key]; a != "" {
			applied[a]++
		}
	}
	desired := most(wanted)
	if desired == "" {
		desired = most(applied)
	}
	if desired == "" {
		return ""
	}
	n := len(rows)
	sizes := Sizes(rr.Rollout.Waves, n)
	got, wave := 0, 0
	var failed []string
	for i, r := range rows {
		st := published[r.Instance]
		if st.Applied[key] == desired {
			got++
		}
		if f, ok := st.Failed[key]; ok && f.Fingerprint == desired {
			failed = append(failed, r.Instance+": "+f.Reason)
		}
		for wave < len(sizes) && i >= sizes[wave] {
			wave++
		}
	}
	// The wave in progress: the first whose members have not all applied it.
	cur := len(sizes)
	for w := range sizes {
		done := true
		start := 0
		if w > 0 {
			start = sizes[w-1]
		}
		for i := start; i < sizes[w] && i < n; i++ {
			if published[rows[i].Instance].Applied[key] != desired {
				done = false
			}
		}
		if !done {
			cur = w + 1
			break
		}
	}
	line := fmt.Sprintf("%s %s: ", rr.Rule, desired)
	if got == n {
		line += fmt.Sprintf("applied by all %d", n)
	} else {
		line += fmt.Sprintf("wave %d of %d, %d of %d applied", cur, len(sizes), got, n)
	}
	if len(failed) > 0 {
		line += fmt.Sprintf(", %d failed on %s", len(failed), strings.Join(failed, "; "))
	}
	return line
}

// most returns the key with the highest count (the smallest on a tie), "" for none.
func most(m map[string]int) string {
	best := ""
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if best == "" || m[k] > m[best] {
			best = k
		}
	}
	return best
}
