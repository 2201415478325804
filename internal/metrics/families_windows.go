package metrics

import "fmt"

func (c *Collector) initFamiliesOS() {}

// collectFamilies reports the families beyond the default set that stackhand does not
// collect on Windows yet.
func (c *Collector) collectFamilies(dst []Sample) []Sample {
	for _, f := range [...]struct {
		name string
		on   bool
	}{
		{"cpu (per core)", c.cpu != nil}, {"diskio", c.diskio != nil}, {"net", c.net != nil},
		{"netstat", c.netstat != nil}, {"processes", c.processes != nil}, {"procstat", len(c.procs) > 0},
	} {
		if f.on {
			c.fail(fmt.Errorf("%s: not collected on Windows yet", f.name))
		}
	}
	return dst
}
