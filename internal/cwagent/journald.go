package cwagent

import (
	"fmt"
	"strings"

	"github.com/stackhand/stackhand/internal/config"
)

// The keys of an entry of logs_collected.journald.collect_list are those of the agent's
// schema (amazon-cloudwatch-agent's translator/config/schema.json, logsJournaldDefinition):
// units, priority, matches, filters, log_group_name (required), log_stream_name,
// log_group_class and retention_in_days. It refuses any other key.

// journald maps logs_collected.journald: each collect_list entry becomes a logs.journald
// entry.
func (t *translator) journald(path string, v *node) {
	if t.wrongType(path, v, kObject, `{"collect_list": [{"units": ["sshd"], "log_group_name": "journal"}]}`) {
		return
	}
	// What the agent does with every entry that stackhand does otherwise, said once.
	t.mapped(path, "logs.journald, an entry for each collect_list entry; unlike the agent's, each event is the journal entry's MESSAGE, which filters match "+
		"(the agent sent and matched all its fields as JSON), and a first start ships this boot's entries from its beginning "+
		"(the agent began at the end: write start_at: end in an entry for its way)")
	t.collectItems(path, v, `{"units": ["sshd"], "log_group_name": "journal"}`, func(ip string, it *node) {
		key := fmt.Sprintf("logs.journald[%d]", len(t.res.Logs.Journald))
		if e, ok := t.journalEntry(ip, key, it); ok {
			t.res.Logs.Journald = append(t.res.Logs.Journald, e)
		}
	})
}

// collectItems walks the collect_list of a logs_collected source v at path (an object
// checked already), reporting any other key and any item that is not an object, and
// hands entry each item with its path.
func (t *translator) collectItems(path string, v *node, example string, entry func(path string, item *node)) {
	for i, k := range v.keys {
		p := join(path, k)
		list := v.vals[i]
		if k != "collect_list" {
			t.unknown(p)
			continue
		}
		if t.wrongType(p, list, kArray, "["+example+"]") {
			continue
		}
		for j, it := range list.items {
			ip := fmt.Sprintf("%s[%d]", p, j)
			if !t.wrongType(ip, it, kObject, example) {
				entry(ip, it)
			}
		}
	}
}

// journalEntry maps one journald collect_list entry to key; it reports false (with the
// entry's finding an error) when the entry cannot be shipped. A units or matches value
// that cannot be taken as written leaves the whole entry out, as shipping it without
// that value would select other journal entries than the agent did.
func (t *translator) journalEntry(path, key string, v *node) (config.Journal, bool) {
	at := t.mapped(path, "%s", key)
	var e config.Journal
	ok := true
	for i, k := range v.keys {
		p := join(path, k)
		val := v.vals[i]
		to := join(key, k)
		switch k {
		case "units":
			units, good := t.journalUnits(p, val)
			if !good {
				ok = false
				continue
			}
			e.Units = units
			t.mapped(p, "%s: [%s]", to, strings.Join(units, ", "))
		case "priority":
			if _, good := config.JournalPriority(val.text); val.kind != kString || !good {
				t.errorf(p, "%s is not a journal priority; write one of %s as a string, or \"0\" to \"7\"; it is left out, so the entry ships info and more urgent (the default, stackhand's as the agent's)",
					describe(val), strings.Join(config.JournalPriorities, ", "))
				continue
			}
			e.Priority = val.text
			t.mapped(p, "%s: %s", to, val.text)
		case "matches":
			matches, good := t.journalMatches(p, to, val)
			if !good {
				ok = false
				continue
			}
			e.Matches = matches
		case "filters":
			e.Filters = t.journalFilters(p, to, val)
		case "log_group_name":
			ok = t.entryLogName(p, to, val, &e.LogGroupName) && ok
		case "log_stream_name":
			t.entryLogName(p, to, val, &e.LogStreamName)
		case "retention_in_days":
			e.RetentionInDays = t.retention(p, to, val)
		case "log_group_class":
			t.unsupported(p, logGroupClass)
		case "start_at", "directory":
			// Keys of stackhand's own that early drafts of the agent's journald support
			// documented too; its schema refuses them.
			t.unsupported(p, "not a key the CloudWatch agent accepts in a journald entry (its schema refuses it), so it is left out; stackhand's %s does this: write it in stackhand.yaml if wanted", to)
		default:
			t.unknown(p)
		}
	}
	switch {
	case !ok:
		t.res.Findings[at] = Finding{path, Error, "cannot be shipped until the errors below are fixed; it is left out"}
		t.dropped(at)
		return e, false
	case e.LogGroupName == "":
		t.res.Findings[at] = Finding{path, Error, "has no log_group_name, which the agent requires of a journald entry; write the group to send the entries to; the entry is left out"}
		t.dropped(at)
		return e, false
	}
	return e, true
}

// journalUnits reads an entry's units; any unit stackhand cannot take makes it false.
func (t *translator) journalUnits(path string, v *node) ([]string, bool) {
	if t.wrongType(path, v, kArray, `["sshd", "nginx.service"]`) {
		return nil, false
	}
	if len(v.items) == 0 {
		t.errorf(path, "is empty, which the agent refuses; name the units, or leave units out to ship every unit")
		return nil, false
	}
	ok := true
	units := make([]string, 0, len(v.items))
	for i, it := range v.items {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case it.kind != kString:
			t.errorf(p, "is %s, expected a string; write the unit as systemctl shows it (nginx, or nginx.service)", it.kind.name())
			ok = false
		case !config.JournalUnit(it.text):
			t.errorf(p, "%q is not a unit name: write it as systemctl shows it (nginx, or nginx.service)", it.text)
			ok = false
		default:
			units = append(units, it.text)
		}
	}
	return units, ok
}

// journalMatches reads an entry's matches, each an object of FIELD: value that must all
// hold; any match stackhand cannot take makes it false.
func (t *translator) journalMatches(path, to string, v *node) ([]map[string]string, bool) {
	if t.wrongType(path, v, kArray, `[{"_SYSTEMD_UNIT": "sshd.service"}]`) {
		return nil, false
	}
	if len(v.items) == 0 {
		t.errorf(path, "is empty, which the agent refuses; write FIELD: value objects, or leave matches out")
		return nil, false
	}
	ok := true
	var out []map[string]string
	for i, it := range v.items {
		p := fmt.Sprintf("%s[%d]", path, i)
		if t.wrongType(p, it, kObject, `{"_SYSTEMD_UNIT": "sshd.service"}`) {
			ok = false
			continue
		}
		if len(it.keys) == 0 {
			// The agent leaves an empty match out; so does this.
			t.mapped(p, "nothing to write: an empty match is left out, as the agent leaves it out")
			continue
		}
		m := map[string]string{}
		var terms []string
		good := true
		for j, field := range it.keys {
			fp := join(p, field)
			val := it.vals[j]
			switch {
			case val.kind != kString:
				t.errorf(fp, "is %s, expected a string; write the value the field must equal, in quotes", val.kind.name())
				good = false
			case !config.JournalField(field):
				t.errorf(fp, "%q is not a journal field name: fields are upper-case letters, digits and _ (_SYSTEMD_UNIT, SYSLOG_IDENTIFIER, PRIORITY)", field)
				good = false
			case strings.ContainsAny(val.text, "\n\x00"):
				t.errorf(fp, "holds a newline or NUL, which no journal field value the match could equal holds; remove it")
				good = false
			default:
				m[field] = val.text
				terms = append(terms, field+"="+val.text)
			}
		}
		if !good {
			ok = false
			continue
		}
		t.mapped(p, "%s[%d]: %s", to, len(out), strings.Join(terms, " "))
		out = append(out, m)
	}
	return out, ok
}

// journalFilters maps an entry's filters. The agent keeps a journal entry that any of its
// include filters matches, where stackhand's include filters must all match: several
// include filters become one, their expressions joined as alternatives.
func (t *translator) journalFilters(path, to string, v *node) []config.LogFilter {
	fs, at := t.filterList(path, v)
	var incl []string
	for _, f := range fs {
		if f.Type == "include" {
			incl = append(incl, f.Expression)
		}
	}
	var out []config.LogFilter
	joined := -1 // the index in out of the joined include filter
	for i, f := range fs {
		switch {
		case f.Type == "exclude" || len(incl) == 1:
			t.res.Findings[at[i]].Detail = fmt.Sprintf("%s[%d]: %s %s", to, len(out), f.Type, f.Expression)
			out = append(out, f)
		default:
			if joined < 0 {
				joined = len(out)
				out = append(out, config.LogFilter{Type: "include", Expression: "(?:" + strings.Join(incl, ")|(?:") + ")"})
			}
			t.res.Findings[at[i]].Detail = fmt.Sprintf("%s[%d]: include %s, joined with the entry's other include filters (an entry any of them matches is shipped, as the agent ships it)",
				to, joined, out[joined].Expression)
		}
	}
	return out
}

// entryLogName maps an entry's log_group_name or log_stream_name at path to to, into
// *dst; it reports false, with the error a finding, when the name cannot be taken.
func (t *translator) entryLogName(path, to string, v *node, dst *string) bool {
	if t.wrongType(path, v, kString, `"{instance_id}"`) || !t.logName(path, v.text) {
		return false
	}
	*dst = v.text
	t.mapped(path, "%s: %s", to, v.text)
	return true
}
