package cwagent

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stackhand/stackhand/internal/config"
)

// The keys of an entry of logs_collected.windows_events.collect_list are those of the
// agent's schema (amazon-cloudwatch-agent's translator/config/schema.json,
// logsWindowsEventsDefinition): event_name (required), event_levels, event_ids, filters,
// event_format, log_group_name, log_stream_name, log_group_class and retention_in_days.
// It refuses any other key, and an entry with none of event_levels, event_ids and
// filters.

// windowsEvents maps logs_collected.windows_events: each collect_list entry becomes a
// logs.windows_events entry.
func (t *translator) windowsEvents(path string, v *node) {
	const example = `{"collect_list": [{"event_name": "System", "event_levels": ["ERROR"], "log_group_name": "system"}]}`
	if t.wrongType(path, v, kObject, example) {
		return
	}
	t.mapped(path, "logs.windows_events, an entry for each collect_list entry (read on Windows only: on another OS status reports each entry as not read)")
	t.collectItems(path, v, `{"event_name": "System", "event_levels": ["ERROR"], "log_group_name": "system"}`, func(ip string, it *node) {
		key := fmt.Sprintf("logs.windows_events[%d]", len(t.res.Logs.WindowsEvents))
		if e, ok := t.winEventsEntry(ip, key, it); ok {
			t.res.Logs.WindowsEvents = append(t.res.Logs.WindowsEvents, e)
		}
	})
}

// winEventsEntry maps one windows_events collect_list entry to key; it reports false
// (with the entry's finding an error) when the entry cannot be shipped. A level or id
// that cannot be taken as written leaves the whole entry out: shipping without it would
// send other events than the agent did.
func (t *translator) winEventsEntry(path, key string, v *node) (config.WinEvents, bool) {
	at := t.mapped(path, "%s", key)
	var e config.WinEvents
	ok, selects := true, false
	for i, k := range v.keys {
		p := join(path, k)
		val := v.vals[i]
		to := join(key, k)
		switch k {
		case "event_name":
			switch {
			case t.wrongType(p, val, kString, `"System"`):
				ok = false
			case strings.TrimSpace(val.text) == "" || len(val.text) > 255:
				t.errorf(p, "%s is not an event log channel name (1 to 255 characters); write it as Event Viewer names it (System, Application, Microsoft-Windows-Sysmon/Operational)", describe(val))
				ok = false
			case val.text == "Forwarded Events":
				t.errorf(p, `"Forwarded Events" is the name Event Viewer shows; the channel is ForwardedEvents (the agent refuses this name too)`)
				ok = false
			default:
				e.EventName = val.text
				t.mapped(p, "%s: %s", to, val.text)
			}
		case "event_levels":
			levels, good := t.winEventLevels(p, val)
			if !good {
				ok = false
				continue
			}
			selects = true
			e.EventLevels = levels
			t.mapped(p, "%s: [%s]", to, strings.Join(levels, ", "))
		case "event_ids":
			ids, good := t.winEventIDs(p, val)
			if !good {
				ok = false
				continue
			}
			selects = true
			e.EventIDs = ids
			t.mapped(p, "%s: %s", to, joinInts(ids))
		case "filters":
			// The agent keeps an event every filter lets through, as stackhand does.
			selects = true
			e.Filters = t.filters(p, to, val)
		case "event_format":
			if t.wrongType(p, val, kString, `"xml"`) {
				continue
			}
			if val.text != "xml" && val.text != "text" {
				t.errorf(p, "%q is neither xml nor text; it is left out, so the events ship as xml (the default, stackhand's as the agent's)", val.text)
				continue
			}
			e.EventFormat = val.text
			t.mapped(p, "%s: %s", to, val.text)
		case "log_group_name":
			ok = t.entryLogName(p, to, val, &e.LogGroupName) && ok
		case "log_stream_name":
			t.entryLogName(p, to, val, &e.LogStreamName)
		case "retention_in_days":
			e.RetentionInDays = t.retention(p, to, val)
		case "log_group_class":
			t.unsupported(p, logGroupClass)
		default:
			t.unknown(p)
		}
	}
	switch {
	case !ok:
		t.res.Findings[at] = Finding{path, Error, "cannot be shipped until the errors below are fixed; it is left out"}
		t.dropped(at)
		return e, false
	case e.EventName == "":
		t.res.Findings[at] = Finding{path, Error, "has no event_name, which the agent requires; name the event log channel to read (System, Application, Security); the entry is left out"}
		t.dropped(at)
		return e, false
	case e.LogGroupName == "":
		t.res.Findings[at] = Finding{path, Error, "has no log_group_name; write the group to send the events to; the entry is left out"}
		t.dropped(at)
		return e, false
	case !selects:
		t.res.Findings[at].Detail = key + "; the agent refuses an entry with none of event_levels, event_ids and filters, stackhand ships every event of the channel"
	}
	return e, true
}

// winEventLevels reads an entry's event_levels; any value stackhand cannot take makes it
// false.
func (t *translator) winEventLevels(path string, v *node) ([]string, bool) {
	if t.wrongType(path, v, kArray, `["ERROR", "CRITICAL"]`) {
		return nil, false
	}
	ok := true
	var out []string
	for i, it := range v.items {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case it.kind != kString:
			t.errorf(p, "is %s, expected a string; write one of %s", it.kind.name(), strings.Join(config.WinEventLevels, ", "))
			ok = false
		case !slices.Contains(config.WinEventLevels, it.text):
			// The agent's schema takes the names in capitals only.
			t.errorf(p, "%q is not an event level; write one of %s, in capitals", it.text, strings.Join(config.WinEventLevels, ", "))
			ok = false
		default:
			out = append(out, it.text)
		}
	}
	if ok && len(out) == 0 {
		t.errorf(path, "is empty, which the agent refuses; name the levels, or leave event_levels out")
		ok = false
	}
	return out, ok
}

// winEventIDs reads an entry's event_ids; any id stackhand cannot take makes it false.
func (t *translator) winEventIDs(path string, v *node) ([]int, bool) {
	if t.wrongType(path, v, kArray, `[7036, 7040]`) {
		return nil, false
	}
	ok := true
	var out []int
	for i, it := range v.items {
		p := fmt.Sprintf("%s[%d]", path, i)
		n, err := strconv.Atoi(it.text)
		switch {
		case it.kind != kNumber || err != nil:
			t.errorf(p, "%s is not an event id; write a whole number from 0 to 65535", describe(it))
			ok = false
		case n < 0 || n > 65535:
			t.errorf(p, "%d is not an event id; ids run from 0 to 65535", n)
			ok = false
		default:
			out = append(out, n)
		}
	}
	if ok && len(out) == 0 {
		t.errorf(path, "is empty, which the agent refuses; name the ids, or leave event_ids out")
		ok = false
	}
	return out, ok
}
