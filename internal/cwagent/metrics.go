package cwagent

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/metrics"
)

// fixed are the measurements stackhand's always-on families publish, by family: they
// take no measurement list, so an agent list naming them maps to metrics.enabled.
var fixed = map[string][]string{
	"mem":  {"used_percent", "available_percent", "used", "total"},
	"swap": {"used_percent"},
	"disk": {"used_percent", "free", "inodes_free"},
}

// cloudWatchUnits are CloudWatch's StandardUnit values, which a measurement's unit must be.
var cloudWatchUnits = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes",
	"Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
	"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
	"Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
	"Count/Second", "None"}

func (t *translator) metrics(path string, v *node) {
	if t.wrongType(path, v, kObject, `{"metrics_collected": {...}}`) {
		return
	}
	m := &t.res.Metrics
	for i, k := range v.keys {
		p := join(path, k)
		val := v.vals[i]
		switch k {
		case "namespace":
			if !t.wrongType(p, val, kString, `"CWAgent"`) {
				m.Namespace = val.text
				t.mapped(p, "metrics.namespace: %s", val.text)
			}
		case "metrics_collection_interval":
			if d, ok := t.secondsOr(p, val); ok {
				t.mapped(p, "metrics.interval: %s", d)
			}
		case "append_dimensions":
			t.appendDimensions(p, val)
		case "aggregation_dimensions":
			t.aggregationDimensions(p, val)
		case "metrics_collected":
			t.metricsCollected(p, val)
		case "force_flush_interval":
			t.unsupported(p, "stackhand publishes every metrics.interval; leave it out")
		case "credentials":
			t.unsupported(p, "stackhand uses the instance profile for every call; give its role cloudwatch:PutMetricData instead")
		case "endpoint_override":
			t.unsupported(p, "stackhand calls the region's standard endpoint (or the VPC endpoint that resolves to it); leave it out")
		case "drop_original_metrics", "metrics_destinations":
			t.unsupported(p, "stackhand publishes to CloudWatch only, each metric once; leave it out")
		default:
			t.unknown(p)
		}
	}
}

func (t *translator) appendDimensions(path string, v *node) {
	if t.wrongType(path, v, kObject, `{"InstanceId": "${aws:InstanceId}"}`) {
		return
	}
	dims := map[string]string{}
	for i, k := range v.keys {
		p := join(path, k)
		val := v.vals[i]
		if t.wrongType(p, val, kString, `"${aws:InstanceId}"`) {
			continue
		}
		if !slices.Contains(config.DimValues, val.text) {
			t.unsupported(p, "%q is not a value stackhand fills in; use one of %s (or ${aws:tag/KEY}); this dimension is left out", val.text, strings.Join(config.DimValues, ", "))
			continue
		}
		dims[k] = val.text
		t.mapped(p, "metrics.append_dimensions.%s: %s", k, val.text)
	}
	t.res.Metrics.AppendDimensions = dims
}

func (t *translator) aggregationDimensions(path string, v *node) {
	if t.wrongType(path, v, kArray, `[["InstanceId"], []]`) {
		return
	}
	sets := [][]string{}
	for i, it := range v.items {
		if set, ok := t.stringList(fmt.Sprintf("%s[%d]", path, i), it); ok {
			sets = append(sets, set)
		}
	}
	t.res.Metrics.AggregationDimensions = sets
	t.mapped(path, "metrics.aggregation_dimensions: %d sets", len(sets))
}

func (t *translator) metricsCollected(path string, v *node) {
	if t.wrongType(path, v, kObject, `{"mem": {"measurement": ["mem_used_percent"]}}`) {
		return
	}
	on := true
	t.res.Metrics.Enabled = &on
	t.mapped(path, "metrics.enabled: true (stackhand then always publishes mem_used_percent, mem_available_percent, mem_used, mem_total, swap_used_percent, disk_used_percent, disk_free and disk_inodes_free, whether listed or not)")
	m := &t.res.Metrics
	for i, k := range v.keys {
		p := join(path, k)
		val := v.vals[i]
		switch k {
		case "mem", "swap", "disk":
			t.fixedFamily(p, k, val)
		case "cpu":
			if cpu, ok := t.cpu(p, val); ok {
				m.CPU = cpu
			}
		case "diskio", "net":
			if d, ok := t.devices(p, k, val); ok {
				if k == "diskio" {
					m.DiskIO = d
				} else {
					m.Net = d
				}
			}
		case "netstat", "processes":
			if f, ok := t.fields(p, k, val); ok {
				if k == "netstat" {
					m.Netstat = f
				} else {
					m.Processes = f
				}
			}
		case "procstat":
			t.procstat(p, val)
		case "statsd":
			t.unsupported(p, "stackhand runs no StatsD listener; have the app call PutMetricData, or keep the CloudWatch agent for StatsD")
		case "collectd":
			t.unsupported(p, "stackhand runs no collectd listener; keep the CloudWatch agent for collectd's metrics")
		case "ethtool":
			t.unsupported(p, "stackhand does not read ethtool counters; the net family (bytes, packets, errors, drops per interface) is the nearest")
		case "nvidia_gpu":
			t.unsupported(p, "stackhand does not read NVIDIA GPU metrics; keep the CloudWatch agent for them")
		case "Memory", "LogicalDisk", "Processor", "PhysicalDisk", "Network Interface", "TCPv4", "TCPv6", "Paging File", "System":
			t.unsupported(p, "a Windows performance counter object; stackhand reports the Linux names on Windows too (mem_used_percent, disk_used_percent, cpu_usage_active): use those in alarms and dashboards")
		default:
			t.unsupported(p, "not a metrics family stackhand collects (it has mem, swap, disk, cpu, diskio, net, netstat, processes and procstat); it is left out")
		}
	}
}

// familyInterval reports a family's own metrics_collection_interval: stackhand has one for all.
func (t *translator) familyInterval(path string, v *node) {
	d, ok := t.secondsOr(path, v)
	if !ok {
		return
	}
	if d == t.interval {
		t.mapped(path, "metrics.interval: %s (the same as the global interval)", d)
		return
	}
	t.unsupported(path, "stackhand collects every family every metrics.interval (%s); this family's %s is not kept: set metrics_collection_interval in agent to the one interval wanted", t.interval, d)
}

// common handles the keys every family may have besides its own; it reports whether k was one.
func (t *translator) common(path, k string, val *node) bool {
	switch k {
	case "metrics_collection_interval":
		t.familyInterval(path, val)
	case "append_dimensions":
		t.unsupported(path, "stackhand has no per-family dimensions; metrics.append_dimensions applies to every metric")
	case "drop_original_metrics":
		t.unsupported(path, "stackhand publishes each metric once; leave it out")
	default:
		return false
	}
	return true
}

// fixedFamily maps mem, swap or disk, which stackhand always collects.
func (t *translator) fixedFamily(path, family string, v *node) {
	if t.wrongType(path, v, kObject, `{"measurement": ["`+family+`_used_percent"]}`) {
		return
	}
	t.mapped(path, "metrics.enabled: stackhand always collects %s (%s)", family, family+"_"+strings.Join(fixed[family], ", "+family+"_"))
	for i, k := range v.keys {
		p := join(path, k)
		val := v.vals[i]
		if t.common(p, k, val) {
			continue
		}
		switch {
		case k == "measurement":
			t.fixedMeasurements(p, family, val)
		case k == "ignore_file_system_types" && family == "disk":
			if l, ok := t.stringList(p, val); ok {
				t.res.Metrics.IgnoreFileSystems = l
				t.mapped(p, "metrics.ignore_file_system_types: [%s]", strings.Join(l, ", "))
			}
		case k == "resources" && family == "disk":
			if l, ok := t.stringList(p, val); ok {
				if slices.Equal(l, []string{"*"}) {
					t.mapped(p, `nothing to write: stackhand reports every mounted file system, as "*" does`)
				} else {
					t.unsupported(p, "stackhand reports every mounted file system, not chosen mount points; leave out the ones not wanted by type with ignore_file_system_types")
				}
			}
		case k == "drop_device" && family == "disk":
			t.unsupported(p, "stackhand always sets the device dimension, as the agent does by default")
		default:
			t.unknown(p)
		}
	}
}

func (t *translator) fixedMeasurements(path, family string, v *node) {
	if t.wrongType(path, v, kArray, `["`+family+`_used_percent"]`) {
		return
	}
	for i, it := range v.items {
		p := fmt.Sprintf("%s[%d]", path, i)
		m, ok := t.measurement(p, it)
		if !ok {
			continue
		}
		name := strings.TrimPrefix(m.Name, family+"_")
		switch {
		case !slices.Contains(fixed[family], name):
			t.unsupported(p, "stackhand does not collect %s_%s; it collects %s_%s", family, name, family, strings.Join(fixed[family], ", "+family+"_"))
		case m.Rename != "" || m.Unit != "":
			t.unsupported(p, "%s_%s is collected, but under its own name and unit: stackhand's %s takes no rename or unit; alarms must use %s_%s", family, name, family, family, name)
		default:
			t.mapped(p, "collected as %s_%s (metrics.enabled)", family, name)
		}
	}
}

// measurement reads one measurement entry: a name, or {name, rename, unit}.
func (t *translator) measurement(path string, v *node) (config.Measurement, bool) {
	switch v.kind {
	case kString:
		if v.text == "" {
			t.errorf(path, "is an empty name; write a measurement name or remove the entry")
			return config.Measurement{}, false
		}
		return config.Measurement{Name: v.text}, true
	case kObject:
	default:
		t.errorf(path, `is %s; a measurement is a name ("usage_idle") or {"name": ..., "rename": ..., "unit": ...}`, v.kind.name())
		return config.Measurement{}, false
	}
	var m config.Measurement
	ok := true
	for i, k := range v.keys {
		val := v.vals[i]
		p := join(path, k)
		var dst *string
		switch k {
		case "name":
			dst = &m.Name
		case "rename":
			dst = &m.Rename
		case "unit":
			dst = &m.Unit
		default:
			t.unsupported(p, "a measurement has only name, rename and unit; this key is left out")
			continue
		}
		if t.wrongType(p, val, kString, `"text"`) {
			ok = false
			continue
		}
		*dst = val.text
		if k == "unit" && !slices.Contains(cloudWatchUnits, val.text) {
			t.errorf(p, "%q is not a CloudWatch unit, so the measurement is left out; use one of %s", val.text, strings.Join(cloudWatchUnits, ", "))
			ok = false
		}
	}
	if m.Name == "" && ok {
		t.errorf(path, `has no name; write "name": "<measurement>"`)
		ok = false
	}
	return m, ok
}

// measurementList maps a family's measurement list against the fields stackhand knows;
// the names it does not know are findings and are left out. It reports whether any was
// kept, when the list named some: an emptied list would turn on every field.
func (t *translator) measurementList(path, family, key string, v *node) ([]config.Measurement, bool) {
	if t.wrongType(path, v, kArray, `["`+family+`_..."]`) {
		return nil, false
	}
	known := metrics.Measurements(family)
	var out []config.Measurement
	for i, it := range v.items {
		p := fmt.Sprintf("%s[%d]", path, i)
		m, ok := t.measurement(p, it)
		if !ok {
			continue
		}
		name := strings.TrimPrefix(m.Name, family+"_")
		if family == "procstat" && name == "lookup_pid_count" {
			name = "pid_count"
			m.Name = name
		}
		if !slices.Contains(known, name) {
			t.unsupported(p, "stackhand's %s has no %s; it is left out (known: %s)", family, m.Name, strings.Join(known, ", "))
			continue
		}
		out = append(out, m)
		extra := ""
		if m.Rename != "" {
			extra += ", published as " + m.Rename
		}
		if m.Unit != "" {
			extra += ", in " + m.Unit
		}
		t.mapped(p, "%s.measurement: %s%s", key, m.Name, extra)
	}
	if len(v.items) > 0 && len(out) == 0 {
		return nil, false
	}
	if out == nil {
		out = []config.Measurement{}
	}
	return out, true
}

func (t *translator) cpu(path string, v *node) (*config.MetricsCPU, bool) {
	if t.wrongType(path, v, kObject, `{"measurement": ["cpu_usage_idle"], "totalcpu": true}`) {
		return nil, false
	}
	at := t.mapped(path, "metrics.cpu")
	c := &config.MetricsCPU{}
	ok := true
	for i, k := range v.keys {
		p := join(path, k)
		val := v.vals[i]
		if t.common(p, k, val) {
			continue
		}
		switch k {
		case "measurement":
			c.Measurement, ok = t.measurementList(p, "cpu", "metrics.cpu", val)
		case "resources":
			if l, good := t.stringList(p, val); good {
				if len(l) == 0 || slices.Equal(l, []string{"*"}) {
					c.Resources = l
					t.mapped(p, "metrics.cpu.resources: [%s]", strings.Join(l, ", "))
				} else {
					t.errorf(p, `the agent takes only ["*"] (every core) here; write ["*"] or leave it out`)
				}
			}
		case "totalcpu":
			if !t.wrongType(p, val, kBool, "true or false") {
				b := val.b
				c.TotalCPU = &b
				t.mapped(p, "metrics.cpu.totalcpu: %t", b)
			}
		default:
			t.unknown(p)
		}
	}
	if !ok {
		t.familyOff(at, path, "metrics.cpu")
		return nil, false
	}
	return c, true
}

func (t *translator) devices(path, family string, v *node) (*config.MetricsDevices, bool) {
	if t.wrongType(path, v, kObject, `{"resources": ["*"]}`) {
		return nil, false
	}
	key := "metrics." + family
	at := t.mapped(path, "%s", key)
	d := &config.MetricsDevices{}
	ok := true
	for i, k := range v.keys {
		p := join(path, k)
		val := v.vals[i]
		if t.common(p, k, val) {
			continue
		}
		switch k {
		case "measurement":
			d.Measurement, ok = t.measurementList(p, family, key, val)
		case "resources":
			if l, good := t.stringList(p, val); good {
				d.Resources = l
				t.mapped(p, "%s.resources: [%s]", key, strings.Join(l, ", "))
			}
		default:
			t.unknown(p)
		}
	}
	if !ok {
		t.familyOff(at, path, key)
		return nil, false
	}
	return d, true
}

func (t *translator) fields(path, family string, v *node) (*config.MetricsFields, bool) {
	if t.wrongType(path, v, kObject, `{"measurement": [...]}`) {
		return nil, false
	}
	key := "metrics." + family
	at := t.mapped(path, "%s", key)
	f := &config.MetricsFields{}
	ok := true
	for i, k := range v.keys {
		p := join(path, k)
		val := v.vals[i]
		if t.common(p, k, val) {
			continue
		}
		if k == "measurement" {
			f.Measurement, ok = t.measurementList(p, family, key, val)
			continue
		}
		t.unknown(p)
	}
	if !ok {
		t.familyOff(at, path, key)
		return nil, false
	}
	return f, true
}

func (t *translator) procstat(path string, v *node) {
	if t.wrongType(path, v, kArray, `[{"exe": "nginx", "measurement": ["cpu_usage"]}]`) {
		return
	}
	for i, it := range v.items {
		p := fmt.Sprintf("%s[%d]", path, i)
		if t.wrongType(p, it, kObject, `{"exe": "nginx"}`) {
			continue
		}
		key := fmt.Sprintf("metrics.procstat[%d]", len(t.res.Metrics.Procstat))
		at := t.mapped(p, "%s", key)
		var ps config.MetricsProcstat
		ok, finders := true, 0
		for j, k := range it.keys {
			kp := join(p, k)
			val := it.vals[j]
			if t.common(kp, k, val) {
				continue
			}
			switch k {
			case "pid_file", "exe", "pattern":
				if t.wrongType(kp, val, kString, `"text"`) {
					continue
				}
				finders++
				switch k {
				case "pid_file":
					ps.PidFile = val.text
				case "exe":
					ps.Exe = val.text
				default:
					ps.Pattern = val.text
				}
				t.mapped(kp, "%s.%s: %s", key, k, val.text)
			case "measurement":
				ps.Measurement, ok = t.measurementList(kp, "procstat", key, val)
			case "pid_finder":
				t.unsupported(kp, "stackhand finds processes by reading /proc itself; leave it out")
			default:
				t.unknown(kp)
			}
		}
		switch {
		case finders != 1:
			t.res.Findings[at] = Finding{p, Error, fmt.Sprintf("sets %d of pid_file, exe and pattern; set exactly one (make one entry for each); the entry is left out", finders)}
			t.dropped(at)
		case !ok:
			t.res.Findings[at] = Finding{p, Unsupported, "its measurement list keeps nothing stackhand collects (see below); the entry is left out"}
			t.dropped(at)
		default:
			t.res.Metrics.Procstat = append(t.res.Metrics.Procstat, ps)
		}
	}
}

// familyOff turns the finding at (the family at path, first written as mapped) into why
// key stays off: none of its measurements is one stackhand collects. The findings of the
// keys inside it are dropped with it.
func (t *translator) familyOff(at int, path, key string) {
	t.res.Findings[at] = Finding{path, Unsupported, "its measurement list keeps nothing stackhand collects (see below), so " + key + " stays off"}
	t.dropped(at)
}
