package cwagent

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/stackhand/stackhand/internal/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current findings")

// fixtures are the testdata configs, by name without .json.
func fixtures(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob("testdata/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = strings.TrimSuffix(filepath.Base(p), ".json")
	}
	return names
}

// report is what a golden file holds: one finding a line, or the error of a config that
// does not parse.
func report(data []byte, source string) string {
	res, err := Translate(data, source)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	var b strings.Builder
	for _, f := range res.Findings {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestGolden compares each fixture's findings with testdata/NAME.golden: the goldens are
// the record of what maps and what does not.
func TestGolden(t *testing.T) {
	for _, name := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			got := report(data, "testdata/"+name+".json")
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("findings differ from %s (go test -update rewrites it after a review):\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// stackhandYAML writes the translated sections as stackhand.yaml would hold them.
func stackhandYAML(t *testing.T, res *Result) []byte {
	t.Helper()
	doc := struct {
		Mode    string         `yaml:"mode"`
		Local   map[string]any `yaml:"local"`
		Metrics config.Metrics `yaml:"metrics"`
		Logs    config.Logs    `yaml:"logs"`
	}{"local", map[string]any{"dir": t.TempDir()}, res.Metrics, res.Logs}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTranslatedConfigsValidate checks that what a fixture translates to is a config
// stackhand accepts: the wizard's presets with no finding but mapped ones, the others
// with their problems left out.
func TestTranslatedConfigsValidate(t *testing.T) {
	for _, name := range fixtures(t) {
		if name == "malformed" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Translate(data, name)
			if err != nil {
				t.Fatal(err)
			}
			y := stackhandYAML(t, res)
			cfg, err := config.Parse(y, filepath.Join(t.TempDir(), "stackhand.yaml"))
			if err != nil {
				t.Fatalf("stackhand refuses the translation: %v\n%s", err, y)
			}
			// What stackhand read back is what was translated.
			m := cfg.Metrics
			if (m.Enabled != nil && *m.Enabled) != (res.Metrics.Enabled != nil && *res.Metrics.Enabled) ||
				m.Interval != res.Metrics.Interval || m.Namespace != res.Metrics.Namespace ||
				!reflect.DeepEqual(m.CPU, res.Metrics.CPU) || len(m.Procstat) != len(res.Metrics.Procstat) ||
				len(m.AppendDimensions) != len(res.Metrics.AppendDimensions) {
				t.Errorf("metrics read back differ:\n got %+v\nwant %+v", m, res.Metrics)
			}
			if len(cfg.Logs.Files) != len(res.Logs.Files) {
				t.Fatalf("%d logs.files read back, want %d", len(cfg.Logs.Files), len(res.Logs.Files))
			}
			for i, f := range cfg.Logs.Files {
				w := res.Logs.Files[i]
				if f.LogGroupName != w.LogGroupName || f.TimestampFormat != w.TimestampFormat || len(f.Filters) != len(w.Filters) {
					t.Errorf("logs.files[%d] read back %+v, want %+v", i, f, w)
				}
			}
			if len(cfg.Logs.Journald) != len(res.Logs.Journald) {
				t.Fatalf("%d logs.journald read back, want %d", len(cfg.Logs.Journald), len(res.Logs.Journald))
			}
			for i, j := range cfg.Logs.Journald {
				w := res.Logs.Journald[i]
				if j.LogGroupName != w.LogGroupName || !sameList(j.Units, w.Units) || !sameList(j.Matches, w.Matches) ||
					!sameList(j.Filters, w.Filters) || j.RetentionInDays != w.RetentionInDays ||
					(w.Priority != "" && j.Priority != w.Priority) || (w.LogStreamName != "" && j.LogStreamName != w.LogStreamName) {
					t.Errorf("logs.journald[%d] read back %+v, want %+v", i, j, w)
				}
			}
			if len(cfg.Logs.WindowsEvents) != len(res.Logs.WindowsEvents) {
				t.Fatalf("%d logs.windows_events read back, want %d", len(cfg.Logs.WindowsEvents), len(res.Logs.WindowsEvents))
			}
			for i, e := range cfg.Logs.WindowsEvents {
				w := res.Logs.WindowsEvents[i]
				if e.EventName != w.EventName || e.LogGroupName != w.LogGroupName || !sameList(e.EventLevels, w.EventLevels) ||
					!sameList(e.EventIDs, w.EventIDs) || !sameList(e.Filters, w.Filters) || e.RetentionInDays != w.RetentionInDays ||
					(w.EventFormat != "" && e.EventFormat != w.EventFormat) || (w.LogStreamName != "" && e.LogStreamName != w.LogStreamName) {
					t.Errorf("logs.windows_events[%d] read back %+v, want %+v", i, e, w)
				}
			}
		})
	}
}

// sameList reports whether a and b hold the same, an empty list being the same as none.
func sameList[T any](a, b []T) bool {
	return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b)
}

// TestPresets checks what each wizard preset turns on, beyond the goldens' words.
func TestPresets(t *testing.T) {
	for _, name := range []string{"basic", "standard", "advanced"} {
		data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Translate(data, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Findings {
			if f.Kind == Error {
				t.Errorf("%s: %s", name, f)
			}
		}
		m := res.Metrics
		if m.Enabled == nil || !*m.Enabled || m.Interval.D().Seconds() != 60 || m.HighResolution || m.Namespace != "CWAgent" {
			t.Errorf("%s: metrics = %+v", name, m)
		}
		if m.AppendDimensions["InstanceId"] != "${aws:InstanceId}" {
			t.Errorf("%s: append_dimensions = %v", name, m.AppendDimensions)
		}
		switch name {
		case "basic":
			if m.CPU != nil || m.DiskIO != nil || m.Netstat != nil {
				t.Errorf("basic turned on more than mem and disk: %+v", m)
			}
		case "standard", "advanced":
			if m.CPU == nil || len(m.CPU.Measurement) != 4 || m.CPU.TotalCPU == nil || *m.CPU.TotalCPU || len(m.CPU.Resources) != 1 {
				t.Errorf("%s: cpu = %+v", name, m.CPU)
			}
			wantIO := map[string]int{"standard": 1, "advanced": 5}[name]
			if m.DiskIO == nil || len(m.DiskIO.Measurement) != wantIO {
				t.Errorf("%s: diskio = %+v", name, m.DiskIO)
			}
			if (name == "advanced") != (m.Netstat != nil) {
				t.Errorf("%s: netstat = %+v", name, m.Netstat)
			}
		}
	}
}

func TestLogsEveryKey(t *testing.T) {
	data, err := os.ReadFile("testdata/logs_every_key.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Translate(data, "x")
	if err != nil {
		t.Fatal(err)
	}
	fs := res.Logs.Files
	if len(fs) != 4 {
		t.Fatalf("files = %+v", fs)
	}
	want := config.LogFile{FilePath: "/var/log/app/app.log", LogGroupName: "/app/{instance_id}", LogStreamName: "{hostname}-{ip_address}",
		RetentionInDays: 30, TimestampFormat: "%Y-%m-%dT%H:%M:%S", MultiLineStartPattern: "{timestamp_format}", Encoding: "latin-1",
		Filters: []config.LogFilter{{Type: "exclude", Expression: "healthcheck"}, {Type: "include", Expression: "^(WARN|ERROR)"}}}
	if got := fs[0]; got.FilePath != want.FilePath || got.LogGroupName != want.LogGroupName || got.LogStreamName != want.LogStreamName ||
		got.RetentionInDays != want.RetentionInDays || got.TimestampFormat != want.TimestampFormat ||
		got.MultiLineStartPattern != want.MultiLineStartPattern || got.Encoding != want.Encoding || len(got.Filters) != 2 || got.Filters[1] != want.Filters[1] {
		t.Errorf("files[0] = %+v\nwant %+v", got, want)
	}
	// No log_group_name: the agent's default; no log_stream_name: logs.log_stream_name,
	// written after the list.
	if g, s := fs[1].LogGroupName, fs[1].LogStreamName; g != "/var/log/nginx/access" || s != "{instance_id}" {
		t.Errorf("files[1] group, stream = %q, %q", g, s)
	}
	if res.Logs.ForceFlushInterval.D().Seconds() != 15 {
		t.Errorf("force_flush_interval = %v", res.Logs.ForceFlushInterval)
	}
}

// TestJournald checks what testdata/journald.json's entries become, beyond the golden's
// words: the values stackhand ships with, and the entries and values left out.
func TestJournald(t *testing.T) {
	data, err := os.ReadFile("testdata/journald.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Translate(data, "x")
	if err != nil {
		t.Fatal(err)
	}
	js := res.Logs.Journald
	if len(js) != 3 {
		t.Fatalf("journald = %+v, want the 3 entries that can be shipped", js)
	}
	for i, want := range []config.Journal{{
		Units:    []string{"sshd", "nginx.service"},
		Priority: "warning",
		// The empty match is left out, as the agent leaves it out.
		Matches: []map[string]string{{"_SYSTEMD_UNIT": "app.service", "PRIORITY": "3"}, {"SYSLOG_IDENTIFIER": "cron"}},
		// The two include filters are one: the agent ships an entry either matches.
		Filters:         []config.LogFilter{{Type: "exclude", Expression: "healthcheck"}, {Type: "include", Expression: "(?:^ERROR)|(?:panic|fatal)"}},
		LogGroupName:    "/fleet/{instance_id}/journal",
		LogStreamName:   "{hostname}-{ip_address}",
		RetentionInDays: 14,
	}, {
		// No log_stream_name: stackhand's default, {instance_id}, as the agent's;
		// logs.log_stream_name is for files only, in the agent as here. start_at and
		// directory are not the agent's keys, so they are left out.
		Units:        []string{"kubelet"},
		Priority:     "7",
		Filters:      []config.LogFilter{{Type: "include", Expression: "E[0-9]{4}"}},
		LogGroupName: "kubelet",
	}, {
		// The bad priority and retention are left out: info, and the group's own.
		LogGroupName:  "all-units",
		LogStreamName: "{instance_id}/journal",
	}} {
		if !reflect.DeepEqual(js[i], want) {
			t.Errorf("journald[%d] = %+v\nwant %+v", i, js[i], want)
		}
	}

	// The joined include filter keeps what either of the agent's filters kept.
	re := regexp.MustCompile(js[0].Filters[1].Expression)
	for msg, keep := range map[string]bool{"ERROR disk full": true, "worker panic: nil map": true, "fatal: no config": true, "WARN slow": false, "an ERROR later": false} {
		if re.MatchString(msg) != keep {
			t.Errorf("joined include %s on %q: match %v, want %v", re, msg, !keep, keep)
		}
	}

	kinds := map[string]string{}
	for _, f := range res.Findings {
		kinds[f.Path] = f.Kind
	}
	const cl = "logs.logs_collected.journald.collect_list"
	for p, want := range map[string]string{
		cl + "[0].log_group_class":      Unsupported,
		cl + "[1].start_at":             Unsupported,
		cl + "[1].directory":            Unsupported,
		cl + "[1].grep":                 Unsupported,
		cl + "[2].priority":             Error,
		cl + "[2].retention_in_days":    Error,
		cl + "[3]":                      Error, // a unit stackhand cannot take
		cl + "[3].units[1]":             Error,
		cl + "[4]":                      Error, // a match stackhand cannot take
		cl + "[4].matches[0].lowercase": Error,
		cl + "[5].log_group_name":       Error,
		cl + "[6].units":                Error,
		cl + "[7]":                      Error, // no log_group_name
		"logs.logs_collected.journald.journalctl_path": Unsupported,
	} {
		if kinds[p] != want {
			t.Errorf("%s: kind %q, want %q", p, kinds[p], want)
		}
	}
}

func TestMalformed(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"{\n  \"agent\": {\n    \"metrics_collection_interval\": 60,\n  }\n}", "src:4:"},
		{`{"agent": {}`, "src:1:13: the JSON ends early"},
		{"", "src:1:1: the file is empty"},
		{`{} {}`, "src:1:4: more data"},
		{`[1, 2]`, "src: the configuration is a list"},
		{`"x"`, "src: the configuration is a string"},
		{strings.Repeat("[", 1_000_000), "src:1:101: objects and lists nest more than 100 deep"},
	} {
		_, err := Translate([]byte(tc.in), "src")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Translate(%.40q) error = %.200v, want prefix %q", tc.in, err, tc.want)
		}
	}
}

func TestDuplicateKeys(t *testing.T) {
	in := `{"metrics": {"namespace": "A", "metrics_collected": {}, "namespace": "B"}}`
	res, err := Translate([]byte(in), "src")
	if err != nil {
		t.Fatal(err)
	}
	if res.Metrics.Namespace != "B" {
		t.Errorf("namespace = %q, want the last one written, B", res.Metrics.Namespace)
	}
	if f := res.Findings[0]; f.Path != "metrics.namespace" || f.Kind != Error {
		t.Errorf("first finding = %v, want an error at metrics.namespace", f)
	}
}

func TestWrongTypes(t *testing.T) {
	in := `{"metrics": {"metrics_collected": {"cpu": {"measurement": "cpu_usage_idle", "totalcpu": "yes"},
		"procstat": {"exe": "x"}}, "append_dimensions": []},
		"logs": {"force_flush_interval": -5, "logs_collected": {"files": {"collect_list": [{"file_path": 7, "log_group_name": "g"}]}}}}`
	res, err := Translate([]byte(in), "src")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"metrics.metrics_collected.cpu.measurement":                Error,
		"metrics.metrics_collected.cpu.totalcpu":                   Error,
		"metrics.metrics_collected.procstat":                       Error,
		"metrics.append_dimensions":                                Error,
		"logs.force_flush_interval":                                Error,
		"logs.logs_collected.files.collect_list[0].file_path":      Error,
		"logs.logs_collected.files.collect_list[0]":                Error,
		"logs.logs_collected.files.collect_list[0].log_group_name": Unsupported,
	}
	got := map[string]string{}
	for _, f := range res.Findings {
		got[f.Path] = f.Kind
	}
	for p, k := range want {
		if got[p] != k {
			t.Errorf("%s: kind %q, want %q (findings: %v)", p, got[p], k, res.Findings)
		}
	}
	if len(res.Logs.Files) != 0 || res.Metrics.CPU != nil {
		t.Errorf("wrongly typed parts were kept: %+v", res)
	}
}

// FuzzTranslate checks that no input panics and that every finding has a path, a kind
// and a detail.
func FuzzTranslate(f *testing.F) {
	for _, name := range fixtures(f) {
		data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Translate(data, "fuzz")
		if err != nil {
			if res != nil {
				t.Fatalf("result beside error %v", err)
			}
			return
		}
		for _, fd := range res.Findings {
			if fd.Path == "" || fd.Detail == "" || (fd.Kind != Mapped && fd.Kind != Unsupported && fd.Kind != Error) {
				t.Fatalf("bad finding %+v", fd)
			}
		}
	})
}

// TestWindowsEvents: each windows_events entry that can be shipped becomes a
// logs.windows_events entry with every key the agent's schema has and stackhand reads;
// a level, id or name that cannot be taken leaves its entry out, a missing event_format
// leaves stackhand's default (xml, as the agent's), and each problem is a finding of the
// right kind.
func TestWindowsEvents(t *testing.T) {
	data, err := os.ReadFile("testdata/windows_events.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Translate(data, "x")
	if err != nil {
		t.Fatal(err)
	}
	want := []config.WinEvents{{
		EventName: "System", EventLevels: []string{"INFORMATION", "ERROR", "CRITICAL"}, EventFormat: "text",
		LogGroupName: "/fleet/{instance_id}/system", LogStreamName: "{hostname}", RetentionInDays: 30,
	}, {
		EventName: "Application", EventIDs: []int{1000, 1001, 0},
		Filters:      []config.LogFilter{{Type: "include", Expression: `w3wp\.exe`}, {Type: "exclude", Expression: "healthcheck"}},
		LogGroupName: "application",
	}, {
		// event_format "json" is an error and left out: the default applies.
		EventName: "Microsoft-Windows-Sysmon/Operational", EventLevels: []string{"WARNING"}, LogGroupName: "sysmon",
	}, {
		EventName: "Security", LogGroupName: "security",
	}}
	if !reflect.DeepEqual(res.Logs.WindowsEvents, want) {
		t.Fatalf("windows_events =\n%+v\nwant\n%+v", res.Logs.WindowsEvents, want)
	}
	kinds := map[string]string{}
	for _, f := range res.Findings {
		kinds[f.Path] = f.Kind
	}
	const p = "logs.logs_collected.windows_events"
	for path, kind := range map[string]string{
		p + ".collect_list[0].log_group_class": Unsupported,
		p + ".collect_list[2].event_format":    Error,
		p + ".collect_list[2].custom_sql":      Unsupported,
		p + ".collect_list[4]":                 Error, // "Forwarded Events"
		p + ".collect_list[5].event_levels[0]": Error, // lower case
		p + ".collect_list[6].event_ids[0]":    Error, // 70000
		p + ".collect_list[7]":                 Error, // no event_name
		p + ".collect_list[8]":                 Error, // no log_group_name
		p + ".collect_list[9].event_levels":    Error, // empty
		p + ".collect_list[10]":                Error, // not an object
		p + ".max_persist_state":               Unsupported,
	} {
		if kinds[path] != kind {
			t.Errorf("%s: %q, want %q", path, kinds[path], kind)
		}
	}
	// Read by stackhand, an entry with no event_format ships xml, as the agent's does.
	cfg, err := config.Parse(stackhandYAML(t, res), filepath.Join(t.TempDir(), "stackhand.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if f := cfg.Logs.WindowsEvents[2].EventFormat; f != "xml" {
		t.Errorf("event_format read back %q, want the agent's default, xml", f)
	}
}
