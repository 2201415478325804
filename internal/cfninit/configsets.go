package cfninit

import (
	"fmt"
	"sort"
	"strings"
)

// maxResolved bounds what sets referring to sets can multiply into (a = [b, b], b =
// [c, c], ...): far more configs and references than any template runs, and so a bound
// on Resolve's work.
const maxResolved = 10000

// parseConfigSets reads configSets: set name -> a list of config keys and
// {"ConfigSet": "name"} references. As in cfn-init (construction.py,
// _processConfigList), a set may also be one config key or one reference instead of a
// list, and lists nested in a list are flattened. A reference to a set that is not
// defined, and a cycle of references, are errors as they are for cfn-init, which
// refuses the whole Init for them; a config key that does not exist is a warning here
// and an error when a set naming it is run (cfn-init refuses the whole Init for that
// too, even when the set is not the one asked for: stackhand runs the sets that work).
func (p *parser) parseConfigSets(n *node, path string) error {
	if n.kind != kObject {
		return errf(path, "is %s; it must be an object of set name -> list of config keys and {\"ConfigSet\": \"name\"} references", n.kind)
	}
	for _, name := range n.keys {
		var items []SetItem
		if err := p.setItems(n.vals[name], path+"."+name, &items, 0); err != nil {
			return err
		}
		p.in.ConfigSets[name] = items
	}
	for _, name := range n.keys {
		sp := path + "." + name
		for i, it := range p.in.ConfigSets[name] {
			switch {
			case it.ConfigSet != "":
				if _, ok := p.in.ConfigSets[it.ConfigSet]; !ok {
					return errf(fmt.Sprintf("%s[%d]", sp, i), "refers to configSet %q, which is not defined (configSets: %s)", it.ConfigSet, strings.Join(n.keys, ", "))
				}
			case p.in.Configs[it.Config] == nil:
				p.warnf(fmt.Sprintf("%s[%d]", sp, i), "names config %q, which %s does not define; running configSet %s fails (configs: %s)", it.Config, InitKey, name, strings.Join(configNames(p.in), ", "))
			}
		}
	}
	done := map[string]bool{}
	for _, name := range n.keys {
		if err := p.in.checkCycle(name, nil, done); err != nil {
			return errf(path, "%v", err)
		}
	}
	return nil
}

func (p *parser) setItems(n *node, path string, out *[]SetItem, depth int) error {
	switch n.kind {
	case kString, kNumber:
		// A number: a config key like "1" written without quotes.
		*out = append(*out, SetItem{Config: n.str})
	case kObject:
		ref, ok := n.vals["ConfigSet"]
		if !ok || ref.kind != kString || ref.str == "" {
			return errf(path, "an object in a configSet must be a reference {\"ConfigSet\": \"name\"}")
		}
		for _, k := range n.keys {
			if k != "ConfigSet" {
				p.unknown(path, k)
			}
		}
		*out = append(*out, SetItem{ConfigSet: ref.str})
	case kArray:
		if depth > 0 {
			p.warnf(path, "is a list inside a list; flattened, as cfn-init does")
		}
		for i, e := range n.arr {
			if err := p.setItems(e, fmt.Sprintf("%s[%d]", path, i), out, depth+1); err != nil {
				return err
			}
		}
	default:
		return errf(path, "is %s; a configSet lists config keys (strings) and {\"ConfigSet\": \"name\"} references", n.kind)
	}
	return nil
}

// checkCycle follows the references from set name depth first; chain is the way
// there, done the sets already known to lead to no cycle (so that sets referring to
// the same sets many times are walked once).
func (in *Init) checkCycle(name string, chain []string, done map[string]bool) error {
	if done[name] {
		return nil
	}
	for i, c := range chain {
		if c == name {
			return fmt.Errorf("configSets refer to each other in a cycle: %s -> %s; remove one of the references", strings.Join(chain[i:], " -> "), name)
		}
	}
	chain = append(chain, name)
	for _, it := range in.ConfigSets[name] {
		if it.ConfigSet != "" {
			if err := in.checkCycle(it.ConfigSet, chain, done); err != nil {
				return err
			}
		}
	}
	done[name] = true
	return nil
}

// Resolve returns the config keys to run, in order, for the configSets asked (none
// means "default"), references expanded in place: what cfn-init -c a,b runs. A name
// may hold several sets separated by commas, as -c takes them. A config listed twice
// runs twice, as in cfn-init.
func (in *Init) Resolve(sets []string) ([]string, error) {
	var names []string
	for _, s := range sets {
		for _, n := range strings.Split(s, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		names = []string{"default"}
	}
	var out []string
	work := 0
	for _, name := range names {
		if _, ok := in.ConfigSets[name]; !ok {
			hint := ""
			if name == "default" {
				hint = "; name the set to run with -c (cfn-init runs \"default\" when none is named)"
			}
			return nil, fmt.Errorf("no configSet %q in %s (configSets: %s)%s", name, InitKey, strings.Join(setNames(in), ", "), hint)
		}
		if err := in.expand(name, nil, &out, &work); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (in *Init) expand(name string, chain []string, out *[]string, work *int) error {
	if *work++; *work > maxResolved {
		return fmt.Errorf("configSet %s expands to more than %d configs and references; its references repeat too much", name, maxResolved)
	}
	for i, c := range chain {
		if c == name {
			return fmt.Errorf("configSets refer to each other in a cycle: %s -> %s; remove one of the references", strings.Join(chain[i:], " -> "), name)
		}
	}
	chain = append(chain, name)
	for _, it := range in.ConfigSets[name] {
		if it.ConfigSet != "" {
			if _, ok := in.ConfigSets[it.ConfigSet]; !ok {
				return fmt.Errorf("configSet %s refers to configSet %q, which is not defined (configSets: %s)", name, it.ConfigSet, strings.Join(setNames(in), ", "))
			}
			if err := in.expand(it.ConfigSet, chain, out, work); err != nil {
				return err
			}
			continue
		}
		if in.Configs[it.Config] == nil {
			via := ""
			if len(chain) > 1 {
				via = " (reached through " + strings.Join(chain, " -> ") + ")"
			}
			return fmt.Errorf("configSet %s names config %q, which %s does not define%s; configs: %s", name, it.Config, InitKey, via, strings.Join(configNames(in), ", "))
		}
		if *work++; *work > maxResolved {
			return fmt.Errorf("configSet %s expands to more than %d configs and references; its references repeat too much", chain[0], maxResolved)
		}
		*out = append(*out, it.Config)
	}
	return nil
}

func setNames(in *Init) []string {
	n := make([]string, 0, len(in.ConfigSets))
	for k := range in.ConfigSets {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

func configNames(in *Init) []string {
	n := make([]string, 0, len(in.Configs))
	for k := range in.Configs {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
