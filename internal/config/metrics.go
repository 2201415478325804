package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stackhand/stackhand/internal/metrics"
)

// CollectorOptions are the metrics collector's options for this section: the file system
// types to skip and the families turned on.
func (m *Metrics) CollectorOptions() metrics.Options {
	o := metrics.Options{IgnoreFSTypes: m.IgnoreFileSystems}
	if m.CPU != nil {
		o.CPU = &metrics.CPUOptions{
			Measurements: measurements(m.CPU.Measurement),
			PerCore:      slices.Contains(m.CPU.Resources, "*"),
			TotalCPU:     m.CPU.TotalCPU == nil || *m.CPU.TotalCPU,
		}
	}
	if m.DiskIO != nil {
		o.DiskIO = &metrics.DiskIOOptions{Measurements: measurements(m.DiskIO.Measurement), Devices: m.DiskIO.Resources}
	}
	if m.Net != nil {
		o.Net = &metrics.NetOptions{Measurements: measurements(m.Net.Measurement), Interfaces: m.Net.Resources}
	}
	if m.Netstat != nil {
		o.Netstat = &metrics.NetstatOptions{Measurements: measurements(m.Netstat.Measurement)}
	}
	if m.Processes != nil {
		o.Processes = &metrics.ProcessesOptions{Measurements: measurements(m.Processes.Measurement)}
	}
	for _, p := range m.Procstat {
		o.Procstat = append(o.Procstat, metrics.ProcstatOptions{PidFile: p.PidFile, Exe: p.Exe, Pattern: p.Pattern,
			Measurements: measurements(p.Measurement)})
	}
	return o
}

func measurements(ms []Measurement) []metrics.Measurement {
	if len(ms) == 0 {
		return nil
	}
	out := make([]metrics.Measurement, len(ms))
	for i, m := range ms {
		out[i] = metrics.Measurement{Name: m.Name, Rename: m.Rename, Unit: m.Unit}
	}
	return out
}

// validateMetricFamilies reports, at each family's line, what the collector would find
// wrong with it.
func (l *loader) validateMetricFamilies(c *Config) {
	m := &c.Metrics
	if m.CPU != nil && len(m.CPU.Resources) > 0 && !slices.Equal(m.CPU.Resources, []string{"*"}) {
		l.validf(l.line("metrics.cpu.resources"), `metrics.cpu.resources must be ["*"] (every core) or left out (none), not %q`, m.CPU.Resources)
	}
	type list struct {
		path, family string
		ms           []Measurement
	}
	var lists []list
	if m.CPU != nil {
		lists = append(lists, list{"metrics.cpu", "cpu", m.CPU.Measurement})
	}
	if m.DiskIO != nil {
		lists = append(lists, list{"metrics.diskio", "diskio", m.DiskIO.Measurement})
	}
	if m.Net != nil {
		lists = append(lists, list{"metrics.net", "net", m.Net.Measurement})
	}
	if m.Netstat != nil {
		lists = append(lists, list{"metrics.netstat", "netstat", m.Netstat.Measurement})
	}
	if m.Processes != nil {
		lists = append(lists, list{"metrics.processes", "processes", m.Processes.Measurement})
	}
	for i, p := range m.Procstat {
		lists = append(lists, list{fmt.Sprintf("metrics.procstat[%d]", i), "procstat", p.Measurement})
	}
	for _, ls := range lists {
		known := metrics.Measurements(ls.family)
		for j, ms := range ls.ms {
			p := fmt.Sprintf("%s.measurement[%d]", ls.path, j)
			name := strings.TrimPrefix(ms.Name, ls.family+"_")
			switch {
			case ms.Name == "":
				l.validf(l.line(p), "%s has no name; write one of %s", p, strings.Join(known, ", "))
			case !slices.Contains(known, name):
				l.validf(l.line(p), "%s: %s has no measurement %q;%s known: %s", p, ls.family, ms.Name, suggest(name, known), strings.Join(known, ", "))
			}
		}
	}
	// Measurement names are checked above, each at its line; what remains for the
	// collector's own check are procstat's ways to find processes.
	for i, p := range m.Procstat {
		path := fmt.Sprintf("metrics.procstat[%d]", i)
		if n := countSet(p.PidFile, p.Exe, p.Pattern); n > 1 {
			l.validf(l.line(path), "%s sets %d of pid_file, exe and pattern; set one (make one entry for each)", path, n)
			continue
		}
		o := metrics.Options{Procstat: []metrics.ProcstatOptions{{PidFile: p.PidFile, Exe: p.Exe, Pattern: p.Pattern}}}
		for _, err := range o.Check() {
			l.validf(l.line(path), "%s: %v", path, err)
		}
	}
}

func countSet(s ...string) int {
	n := 0
	for _, v := range s {
		if v != "" {
			n++
		}
	}
	return n
}
