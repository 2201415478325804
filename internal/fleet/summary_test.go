package fleet

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	r := RuleRollout{Rule: "release", Rollout: Rollout{Waves: []Step{{Count: 1}, {Percent: 50}, {Percent: 100}}}}
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	published := map[string]State{}
	// Order: i-a1 | i-b1 i-c1 i-a2 i-b2 | i-c2 i-a3 i-b3 i-c3 i-a4 (sizes 1, 5, 10).
	for _, id := range []string{"i-a1", "i-b1", "i-c1", "i-a2"} {
		published[id] = State{Applied: map[string]string{"release": "v3"}, Health: "healthy", Last: Last{Kind: "deploy", Result: "ok", At: at}}
	}
	published["i-b2"] = State{
		Applied: map[string]string{"release": "v2"},
		Failed:  map[string]Failure{"release": {Fingerprint: "v3", Reason: "hook exited 1"}},
		Health:  "failing",
		Wanted:  map[string]string{"release": "v3"},
	}
	for _, id := range []string{"i-c2", "i-a3", "i-b3"} {
		published[id] = State{Applied: map[string]string{"release": "v2"}, Wanted: map[string]string{"release": "v3"}}
	}
	unreadable := map[string]string{"i-c3": "AccessDenied"}
	s := Summarize(tenPeers(), published, unreadable, []RuleRollout{r, {Rule: "nothing", Rollout: r.Rollout}}, true)

	var rowIDs []string
	for _, row := range s.Rows {
		rowIDs = append(rowIDs, row.Instance)
		if row.State != "online" {
			t.Errorf("%s: state %q", row.Instance, row.State)
		}
	}
	if want := ids(Order(tenPeers())); !slices.Equal(rowIDs, want) {
		t.Errorf("rows %v, want the rollout order %v", rowIDs, want)
	}
	byID := map[string]Row{}
	for _, row := range s.Rows {
		byID[row.Instance] = row
	}
	if row := byID["i-c3"]; row.Unreadable != "AccessDenied" || row.Applied != nil {
		t.Errorf("i-c3: %+v, want unreadable: AccessDenied", row)
	}
	if row := byID["i-a4"]; row.Unreadable != "nothing published" {
		t.Errorf("i-a4: %+v, want unreadable: nothing published", row)
	}
	if row := byID["i-a1"]; row.Unreadable != "" || row.AZ != "us-east-1a" || row.Health != "healthy" || row.Last == nil || !row.Last.At.Equal(at) || row.Failed != nil {
		t.Errorf("i-a1: %+v", row)
	}
	if row := byID["i-b2"]; !reflect.DeepEqual(row.Failed, published["i-b2"].Failed) || row.Last != nil {
		t.Errorf("i-b2: %+v", row)
	}
	want := []string{"release v3: wave 2 of 3, 4 of 10 applied, 1 failed on i-b2: hook exited 1"}
	if !slices.Equal(s.Rollouts, want) {
		t.Errorf("Rollouts = %q, want %q", s.Rollouts, want)
	}
	if !s.Held {
		t.Errorf("Held not passed on")
	}
}

func TestSummarizeRolloutLine(t *testing.T) {
	waves := Rollout{Waves: []Step{{Count: 1}, {Count: 3}, {Percent: 100}}}
	order := ids(Order(tenPeers()))
	state := func(applied, wanted string) State {
		s := State{Applied: map[string]string{}, Wanted: map[string]string{}}
		if applied != "" {
			s.Applied[RuleKey("web/config")] = applied
		}
		if wanted != "" {
			s.Wanted[RuleKey("web/config")] = wanted
		}
		return s
	}
	tests := []struct {
		name      string
		published func() map[string]State
		want      []string
	}{
		{"nothing published", func() map[string]State { return nil }, nil},
		{"done: applied by all", func() map[string]State {
			m := map[string]State{}
			for _, id := range order {
				m[id] = state("v3", "")
			}
			return m
		}, []string{"web/config v3: applied by all 10"}},
		{"wave 1 in progress", func() map[string]State {
			m := map[string]State{}
			for _, id := range order {
				m[id] = state("v2", "v3")
			}
			return m
		}, []string{"web/config v3: wave 1 of 3, 0 of 10 applied"}},
		{"wave 3 in progress", func() map[string]State {
			m := map[string]State{}
			for i, id := range order {
				if i < 4 {
					m[id] = state("v3", "")
				} else {
					m[id] = state("v2", "v3")
				}
			}
			return m
		}, []string{"web/config v3: wave 3 of 3, 4 of 10 applied"}},
		{"what most want, the smallest on a tie", func() map[string]State {
			m := map[string]State{}
			for i, id := range order {
				m[id] = state("v2", []string{"v4", "v3"}[i%2])
			}
			return m
		}, []string{"web/config v3: wave 1 of 3, 0 of 10 applied"}},
		{"none waits: what most applied", func() map[string]State {
			m := map[string]State{}
			for i, id := range order {
				m[id] = state([]string{"v1", "v2", "v2"}[i%3], "")
			}
			return m
		}, []string{"web/config v2: wave 1 of 3, 6 of 10 applied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Summarize(tenPeers(), tt.published(), nil, []RuleRollout{{Rule: "web/config", Rollout: waves}}, false)
			if !slices.Equal(s.Rollouts, tt.want) {
				t.Errorf("Rollouts = %q, want %q", s.Rollouts, tt.want)
			}
			if len(s.Rows) != 10 {
				t.Errorf("%d rows, want 10", len(s.Rows))
			}
		})
	}
}

func TestSummarizeEmpty(t *testing.T) {
	s := Summarize(nil, nil, nil, []RuleRollout{{Rule: "r", Rollout: Rollout{Waves: []Step{{Percent: 100}}}}}, false)
	if len(s.Rows) != 0 || len(s.Rollouts) != 0 || s.Held {
		t.Errorf("Summarize of no peers = %+v", s)
	}
}
