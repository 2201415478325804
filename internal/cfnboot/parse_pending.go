package cfnboot

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/stackhand/stackhand/internal/cfninit"
)

// TODO(cfn-parse): cfninit.Parse and (*cfninit.Init).Resolve are built on branch
// cfn-parse; until it is merged, these stand-ins read only the configs' names and the
// configSets that list config names, enough to run the placeholder sections.

func parseInit(md []byte) (*cfninit.Init, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(md, &top); err != nil {
		return nil, fmt.Errorf("the Metadata is not a JSON object: %w", err)
	}
	raw, ok := top[cfninit.InitKey]
	if !ok {
		return nil, fmt.Errorf("the Metadata has no %s key", cfninit.InitKey)
	}
	var block map[string]json.RawMessage
	if err := json.Unmarshal(raw, &block); err != nil {
		return nil, fmt.Errorf("%s is not a JSON object: %w", cfninit.InitKey, err)
	}
	in := &cfninit.Init{ConfigSets: map[string][]cfninit.SetItem{}, Configs: map[string]*cfninit.Config{}}
	for k, v := range block {
		if k == "configSets" {
			var sets map[string][]string
			if err := json.Unmarshal(v, &sets); err != nil {
				return nil, fmt.Errorf("%s.configSets: %w", cfninit.InitKey, err)
			}
			for name, list := range sets {
				in.ConfigSets[name] = []cfninit.SetItem{}
				for _, c := range list {
					in.ConfigSets[name] = append(in.ConfigSets[name], cfninit.SetItem{Config: c})
				}
			}
			continue
		}
		in.Configs[k] = &cfninit.Config{Name: k}
	}
	if _, ok := block["configSets"]; !ok {
		in.ConfigSets["default"] = []cfninit.SetItem{{Config: "config"}}
	}
	return in, nil
}

func resolve(in *cfninit.Init, sets []string) ([]string, error) {
	if len(sets) == 0 {
		sets = []string{"default"}
	}
	var out []string
	for _, s := range sets {
		items, ok := in.ConfigSets[s]
		if !ok {
			var known []string
			for k := range in.ConfigSets {
				known = append(known, k)
			}
			sort.Strings(known)
			return nil, fmt.Errorf("configSet %q does not exist (known: %s)", s, strings.Join(known, ", "))
		}
		for _, it := range items {
			out = append(out, it.Config)
		}
	}
	return out, nil
}
