package engine

import (
	"strings"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/state"
)

// AdoptCfnHup takes the values of cfn-hup's record (config.ReadCfnHupDB: by
// "<section>|<path>") as the applied values of the rules made from cfn-hup's hooks, so that
// the first pass after cfn-hup stops runs only what cfn-hup itself would run next: post.add
// does not fire again for a value cfn-hup already acted on, and a value that changed since
// cfn-hup's last pass fires post.update or post.remove.
//
// It adopts once per state (st.CfnHupAdopted), and only into a state that has no applied
// value of a cfn-hup rule yet: once stackhand has acted, its own record wins. It returns the
// names of the rules adopted and whether st changed (and should be saved).
func AdoptCfnHup(st *state.State, rules []config.WatchRule, record map[string][]byte) (adopted []string, changed bool) {
	var cfnHup []config.WatchRule
	for _, r := range rules {
		if r.CfnHup {
			cfnHup = append(cfnHup, r)
		}
	}
	if st.CfnHupAdopted || len(cfnHup) == 0 {
		return nil, false
	}
	for _, r := range cfnHup {
		if _, ok := st.Applied[ruleKey(r)]; ok {
			st.CfnHupAdopted = true
			return nil, true
		}
	}
	for _, r := range cfnHup {
		section := strings.TrimPrefix(r.Name, config.CfnHupPrefix)
		if v, ok := record[section+"|"+r.Path]; ok {
			st.Applied[ruleKey(r)] = v
			adopted = append(adopted, r.Name)
		}
	}
	st.CfnHupAdopted = true
	return adopted, true
}
