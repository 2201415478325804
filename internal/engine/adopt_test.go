package engine

import (
	"encoding/json"
	"testing"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/state"
)

func TestAdoptCfnHupOnceAndOnlyIntoAFreshState(t *testing.T) {
	rules := []config.WatchRule{
		{Name: "cfn-hup:release-hook", Path: "Resources.LC.Metadata.release", CfnHup: true},
		{Name: "cfn-hup:other", Path: "Resources.LC.Metadata.other", CfnHup: true},
		{Name: "release", Path: "Resources.LC.Metadata.release"},
	}
	record := map[string][]byte{"release-hook|Resources.LC.Metadata.release": []byte(`"v1"`), "release|Resources.LC.Metadata.release": []byte(`"x"`)}

	st := state.New()
	adopted, changed := AdoptCfnHup(st, rules, record)
	if !changed || len(adopted) != 1 || adopted[0] != "cfn-hup:release-hook" || !st.CfnHupAdopted {
		t.Fatalf("adopted %v changed %v flag %v", adopted, changed, st.CfnHupAdopted)
	}
	if got := string(st.Applied["cfn-hup:release-hook|Resources.LC.Metadata.release"]); got != `"v1"` || len(st.Applied) != 1 {
		t.Errorf("applied %v", st.Applied)
	}
	// The value goes away under stackhand; cfn-hup's stale record must not bring it back.
	delete(st.Applied, "cfn-hup:release-hook|Resources.LC.Metadata.release")
	if adopted, changed := AdoptCfnHup(st, rules, record); adopted != nil || changed || len(st.Applied) != 0 {
		t.Errorf("second adoption: %v %v %v", adopted, changed, st.Applied)
	}

	// A state in which stackhand already acted on a cfn-hup rule (an upgrade) keeps its own record.
	st = state.New()
	st.Applied["cfn-hup:other|Resources.LC.Metadata.other"] = json.RawMessage(`"mine"`)
	if adopted, _ := AdoptCfnHup(st, rules, record); adopted != nil || len(st.Applied) != 1 || !st.CfnHupAdopted {
		t.Errorf("adopted into a used state: %v %v", adopted, st.Applied)
	}
	// No cfn-hup rules: nothing to do, nothing marked.
	st = state.New()
	if _, changed := AdoptCfnHup(st, rules[2:], record); changed || st.CfnHupAdopted {
		t.Error("adopted without cfn-hup rules")
	}
}
