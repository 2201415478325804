package cwagent

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/stackhand/stackhand/internal/config"
)

// retentionDays are the values CloudWatch Logs accepts for a log group's retention.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// logGroupChars is what CreateLogGroup accepts in a name, placeholders aside.
var logGroupChars = regexp.MustCompile(`^[A-Za-z0-9_\-/.#]*$`)

func (t *translator) logs(path string, v *node) {
	if t.wrongType(path, v, kObject, `{"logs_collected": {"files": {"collect_list": [...]}}}`) {
		return
	}
	stream := ""
	for i, k := range v.keys {
		p := join(path, k)
		val := v.vals[i]
		switch k {
		case "logs_collected":
			t.logsCollected(p, val)
		case "force_flush_interval":
			if d, ok := t.secondsOr(p, val); ok {
				t.res.Logs.ForceFlushInterval = config.Duration(d)
				t.mapped(p, "logs.force_flush_interval: %s", d)
			}
		case "log_stream_name":
			if !t.wrongType(p, val, kString, `"{instance_id}"`) && t.logName(p, val.text) {
				stream = val.text
				t.mapped(p, "log_stream_name of each logs.files entry that names none: %s", val.text)
			}
		case "metrics_collected":
			t.unsupported(p, "stackhand does not extract embedded metric format (EMF) metrics; have the app call PutMetricData, or keep the CloudWatch agent for EMF")
		case "credentials":
			t.unsupported(p, "stackhand uses the instance profile for every call; give its role the logs:* permissions it needs instead")
		case "endpoint_override":
			t.unsupported(p, "stackhand calls the region's standard CloudWatch Logs endpoint; leave it out")
		case "concurrency":
			t.unsupported(p, "stackhand sends each stream's batches in order on its own; leave it out")
		default:
			t.unknown(p)
		}
	}
	// logs.log_stream_name may stand after logs_collected, so it is applied at the end.
	if stream != "" {
		for i := range t.res.Logs.Files {
			if t.res.Logs.Files[i].LogStreamName == "" {
				t.res.Logs.Files[i].LogStreamName = stream
			}
		}
	}
}

func (t *translator) logsCollected(path string, v *node) {
	if t.wrongType(path, v, kObject, `{"files": {"collect_list": [...]}}`) {
		return
	}
	for i, k := range v.keys {
		p := join(path, k)
		val := v.vals[i]
		switch k {
		case "files":
			if t.wrongType(p, val, kObject, `{"collect_list": [...]}`) {
				continue
			}
			for j, fk := range val.keys {
				fp := join(p, fk)
				if fk != "collect_list" {
					t.unknown(fp)
					continue
				}
				t.collectList(fp, val.vals[j])
			}
		case "journald":
			t.journald(p, val)
		case "windows_events":
			t.windowsEvents(p, val)
		default:
			t.unsupported(p, "stackhand ships files, the systemd journal and Windows event logs only (logs_collected.files, journald and windows_events); this source is left out")
		}
	}
}

func (t *translator) collectList(path string, v *node) {
	if t.wrongType(path, v, kArray, `[{"file_path": "/var/log/messages", "log_group_name": "messages"}]`) {
		return
	}
	for i, it := range v.items {
		p := fmt.Sprintf("%s[%d]", path, i)
		if t.wrongType(p, it, kObject, `{"file_path": "...", "log_group_name": "..."}`) {
			continue
		}
		key := fmt.Sprintf("logs.files[%d]", len(t.res.Logs.Files))
		if f, ok := t.logFile(p, key, it); ok {
			t.res.Logs.Files = append(t.res.Logs.Files, f)
		}
	}
}

// logFile maps one collect_list entry to key; it reports false (with the entry's finding
// an error) when the entry cannot be shipped.
func (t *translator) logFile(path, key string, v *node) (config.LogFile, bool) {
	at := t.mapped(path, "%s", key)
	var f config.LogFile
	ok := true
	str := func(p string, val *node, example string) (string, bool) {
		if t.wrongType(p, val, kString, example) {
			return "", false
		}
		return val.text, true
	}
	for i, k := range v.keys {
		p := join(path, k)
		val := v.vals[i]
		to := join(key, k)
		switch k {
		case "file_path":
			s, good := str(p, val, `"/var/log/app/*.log"`)
			if !good {
				ok = false
				continue
			}
			if _, err := filepath.Match(s, ""); err != nil {
				t.errorf(p, "%q is not a valid glob pattern (%v); fix the pattern", s, err)
				ok = false
				continue
			}
			f.FilePath = s
			if strings.Contains(s, "**") {
				// The agent's glob library reads ** as any depth of directories;
				// stackhand's filepath.Glob reads it as *, one level.
				t.unsupported(p, "%s: %s as written, but stackhand's ** matches within one directory level, not the whole tree below: write one entry for each directory level wanted", to, s)
				continue
			}
			t.mapped(p, "%s: %s", to, s)
		case "log_group_name", "log_stream_name":
			s, good := str(p, val, `"{instance_id}"`)
			if !good || !t.logName(p, s) {
				if k == "log_group_name" {
					ok = false
				}
				continue
			}
			if k == "log_group_name" {
				f.LogGroupName = s
			} else {
				f.LogStreamName = s
			}
			t.mapped(p, "%s: %s", to, s)
		case "retention_in_days":
			f.RetentionInDays = t.retention(p, to, val)
		case "timestamp_format":
			s, good := str(p, val, `"%Y-%m-%d %H:%M:%S"`)
			if !good {
				continue
			}
			if _, err := config.TimestampLayout(s); err != nil {
				t.errorf(p, "%v; the entry is shipped with arrival times until it is fixed", err)
				continue
			}
			f.TimestampFormat = s
			t.mapped(p, "%s: %s", to, s)
		case "multi_line_start_pattern":
			s, good := str(p, val, `"^\\d{4}-"`)
			if !good {
				continue
			}
			if s != "{timestamp_format}" {
				if _, err := regexp.Compile(s); err != nil {
					t.errorf(p, "does not compile as a regular expression (%v); fix it, or each line is an event of its own", err)
					continue
				}
			}
			f.MultiLineStartPattern = s
			t.mapped(p, "%s: %s", to, s)
		case "encoding":
			s, good := str(p, val, `"utf-8"`)
			if !good {
				continue
			}
			enc, err := config.Encoding(s)
			if err != nil {
				t.unsupported(p, "%v; convert the file to UTF-8 (iconv) or keep the CloudWatch agent for it; the entry is read as utf-8", err)
				continue
			}
			f.Encoding = enc
			t.mapped(p, "%s: %s", to, enc)
		case "filters":
			f.Filters = t.filters(p, to, val)
		case "timezone":
			s, good := str(p, val, `"Local"`)
			if !good {
				continue
			}
			switch s {
			case "Local":
				t.mapped(p, "nothing to write: stackhand reads a timestamp without a zone as local time, as Local does")
			case "UTC":
				t.unsupported(p, "stackhand reads a timestamp without a zone as the host's local time; put the zone in timestamp_format (%%z) or run the host in UTC")
			default:
				t.errorf(p, "%q is neither Local nor UTC, the agent's two values", s)
			}
		case "auto_removal":
			t.unsupported(p, "stackhand never deletes the files it ships; let logrotate (or the app) remove old files")
		case "log_group_class":
			t.unsupported(p, logGroupClass)
		case "trim_timestamp":
			t.unsupported(p, "stackhand ships each line whole; leave it out")
		case "backpressure_mode":
			t.unsupported(p, "stackhand holds back reading while CloudWatch Logs is slow and never drops lines; leave it out")
		case "publish_multi_logs", "blacklist":
			t.unsupported(p, "stackhand ships one stream per entry and every file its glob matches; leave it out")
		default:
			t.unknown(p)
		}
	}
	switch {
	case !ok:
		t.res.Findings[at] = Finding{path, Error, "cannot be shipped until the errors below are fixed; it is left out"}
		t.dropped(at)
		return f, false
	case f.FilePath == "":
		t.res.Findings[at] = Finding{path, Error, `has no file_path; write the file (or a glob such as "/var/log/app/*.log") to ship; the entry is left out`}
		t.dropped(at)
		return f, false
	case f.LogGroupName == "":
		// The agent's documented default: the file path up to its final dot.
		g := f.FilePath
		if i := strings.LastIndexByte(g, '.'); i >= 0 {
			g = g[:i]
		}
		if g == "" || !logGroupChars.MatchString(g) {
			t.res.Findings[at] = Finding{path, Error, fmt.Sprintf("has no log_group_name, and the agent's default (the file path up to its final dot, %q) is not a name CloudWatch Logs accepts; write log_group_name; the entry is left out", g)}
			t.dropped(at)
			return f, false
		}
		f.LogGroupName = g
		t.res.Findings[at].Detail = fmt.Sprintf("%s, with log_group_name %s (the agent's default: the file path up to its final dot)", key, g)
	}
	return f, true
}

// logGroupClass is what becomes of an entry's log_group_class.
const logGroupClass = "stackhand creates log groups in the STANDARD class; create the group beforehand (in the template) with the class wanted"

// retention maps an entry's retention_in_days to to, and returns the days to write (0:
// none).
func (t *translator) retention(path, to string, v *node) int {
	n, err := strconv.Atoi(v.text)
	switch {
	case v.kind != kNumber || err != nil:
		t.errorf(path, "%s is not a whole number of days; write one of %s", describe(v), joinInts(retentionDays))
	case n == -1 || n == 0:
		t.mapped(path, "nothing to write: %d leaves the log group's retention alone, as stackhand does by default", n)
	case !slices.Contains(retentionDays, n):
		t.errorf(path, "%d is not a retention CloudWatch Logs accepts; use one of %s", n, joinInts(retentionDays))
	default:
		t.mapped(path, "%s: %d", to, n)
		return n
	}
	return 0
}

// filters maps a logs.files entry's filters to to, each as written.
func (t *translator) filters(path, to string, v *node) []config.LogFilter {
	fs, at := t.filterList(path, v)
	for i, flt := range fs {
		t.res.Findings[at[i]].Detail = fmt.Sprintf("%s[%d]: %s %s", to, i, flt.Type, flt.Expression)
	}
	return fs
}

// filterList reads a filters list and reports what is wrong in it. It returns the good
// filters and, for each, the index of its mapped finding, whose Detail the caller writes
// once it knows where the filter went.
func (t *translator) filterList(path string, v *node) ([]config.LogFilter, []int) {
	if t.wrongType(path, v, kArray, `[{"type": "exclude", "expression": "DEBUG"}]`) {
		return nil, nil
	}
	var out []config.LogFilter
	var at []int
	for i, it := range v.items {
		p := fmt.Sprintf("%s[%d]", path, i)
		if t.wrongType(p, it, kObject, `{"type": "include", "expression": "ERROR"}`) {
			continue
		}
		var flt config.LogFilter
		good := true
		for j, k := range it.keys {
			kp := join(p, k)
			val := it.vals[j]
			switch k {
			case "type":
				if t.wrongType(kp, val, kString, `"include"`) {
					good = false
				} else if val.text != "include" && val.text != "exclude" {
					t.errorf(kp, "%q is neither include nor exclude; write one of them", val.text)
					good = false
				} else {
					flt.Type = val.text
				}
			case "expression":
				if t.wrongType(kp, val, kString, `"ERROR"`) {
					good = false
				} else if _, err := regexp.Compile(val.text); err != nil {
					t.errorf(kp, "does not compile as a regular expression (%v); fix it", err)
					good = false
				} else {
					flt.Expression = val.text
				}
			default:
				t.unknown(kp)
			}
		}
		if !good || flt.Type == "" || flt.Expression == "" {
			t.errorf(p, "needs both type (include or exclude) and expression; the filter is left out, so more lines are shipped than the agent shipped")
			continue
		}
		out = append(out, flt)
		at = append(at, t.mapped(p, "%s", "(written by the caller)"))
	}
	return out, at
}

// logName checks a log group or stream name's placeholders: the agent's pass through
// unchanged (stackhand expands the same ones); anything else in braces is an error.
func (t *translator) logName(path, name string) bool {
	rest := name
	for _, p := range placeholders {
		rest = strings.ReplaceAll(rest, p, "")
	}
	if i := strings.IndexByte(rest, '{'); i >= 0 {
		if j := strings.IndexByte(rest[i:], '}'); j >= 0 {
			t.errorf(path, "%q holds %s, not a placeholder the agent expands; use %s, or leave the braces out", name, rest[i:i+j+1], strings.Join(placeholders, " "))
			return false
		}
	}
	if name == "" {
		t.errorf(path, "is empty; name it, or leave the key out")
		return false
	}
	return true
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
