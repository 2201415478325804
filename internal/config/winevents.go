package config

import (
	"fmt"
	"slices"
	"strings"
)

// WinEvents is one logs.windows_events entry (the CloudWatch agent's
// windows_events collect_list entry): the events of one Windows event log
// channel that go to one log stream. Read on Windows only.
type WinEvents struct {
	// EventName is the channel: System, Application, Security or any other
	// (Microsoft-Windows-Sysmon/Operational).
	EventName string `yaml:"event_name"`
	// EventLevels are the levels shipped: INFORMATION, WARNING, ERROR,
	// CRITICAL, VERBOSE; none: every level.
	EventLevels []string `yaml:"event_levels"`
	// EventIDs, when given, keep only events with one of these ids (0 to 65535).
	EventIDs []int `yaml:"event_ids"`
	// Filters are include and exclude regular expressions on the formatted
	// event, as a file's on its lines: every one must let the event through.
	Filters []LogFilter `yaml:"filters"`
	// EventFormat is xml (the default, as the CloudWatch agent's: the event
	// with its rendered message, as Event Viewer's XML view shows it) or text
	// (one line: [channel] [level] [event id] [provider] [computer] [message]).
	EventFormat     string `yaml:"event_format"`
	LogGroupName    string `yaml:"log_group_name"`
	LogStreamName   string `yaml:"log_stream_name"` // default {instance_id}
	RetentionInDays int    `yaml:"retention_in_days"`
	Compression     string `yaml:"compression"`
}

// WinEventLevels are the values of a logs.windows_events entry's event_levels.
var WinEventLevels = []string{"INFORMATION", "WARNING", "ERROR", "CRITICAL", "VERBOSE"}

// WinEventFormats are the values of a logs.windows_events entry's event_format.
var WinEventFormats = []string{"text", "xml"}

// validateWinEvents checks the logs.windows_events entry w at p.
func (l *loader) validateWinEvents(c *Config, p string, w *WinEvents) {
	line := l.line(p)
	switch {
	case w.Compression == "":
		w.Compression = c.Logs.Compression
	case !slices.Contains(Compressions, w.Compression):
		l.validf(l.line(p+".compression"), "%s.compression %q is not one stackhand knows; use %s", p, w.Compression, joinChoices(Compressions))
	}
	if strings.TrimSpace(w.EventName) == "" {
		l.validf(line, "%s has no event_name: name the event log channel to read (System, Application, Security)", p)
	}
	if w.LogGroupName == "" {
		l.validf(line, "%s has no log_group_name: name the CloudWatch Logs group to send the events to", p)
	} else {
		l.checkLogName(p+".log_group_name", w.LogGroupName, logGroupChars, "letters, digits and _ - / . #")
	}
	if w.LogStreamName == "" {
		w.LogStreamName = "{instance_id}"
	}
	l.checkLogName(p+".log_stream_name", w.LogStreamName, logStreamChars, "any character but : and *")
	if w.RetentionInDays != 0 && !slices.Contains(retentionDays, w.RetentionInDays) {
		l.validf(l.line(p+".retention_in_days"), "%s.retention_in_days %d is not one CloudWatch Logs accepts; use one of %s, or 0 to leave it unset",
			p, w.RetentionInDays, joinInts(retentionDays))
	}
	for k, lv := range w.EventLevels {
		if !slices.Contains(WinEventLevels, strings.ToUpper(lv)) {
			l.validf(l.line(fmt.Sprintf("%s.event_levels[%d]", p, k)), "%s.event_levels[%d] %q is not an event level; use %s", p, k, lv, joinChoices(WinEventLevels))
		}
	}
	for k, id := range w.EventIDs {
		if id < 0 || id > 65535 {
			l.validf(l.line(fmt.Sprintf("%s.event_ids[%d]", p, k)), "%s.event_ids[%d] %d is not an event id; ids run from 0 to 65535", p, k, id)
		}
	}
	l.validateLogFilters(p, w.Filters)
	switch w.EventFormat {
	case "":
		w.EventFormat = "xml"
	case "text", "xml":
	default:
		l.validf(l.line(p+".event_format"), "%s.event_format %q is not known; use %s", p, w.EventFormat, joinChoices(WinEventFormats))
	}
}
