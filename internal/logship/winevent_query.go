package logship

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Windows event levels as the event log stores them (System/Level) and as
// the CloudWatch agent's windows_events.event_levels names them. Level 0
// ("LogAlways") is what many providers write for informational events, so
// INFORMATION selects both 0 and 4.
var winEventLevels = map[string][]int{
	"CRITICAL":    {1},
	"ERROR":       {2},
	"WARNING":     {3},
	"INFORMATION": {0, 4},
	"VERBOSE":     {5},
}

// WinEventLevelNumbers maps level names (case-insensitive) to the numbers
// the event log stores, sorted and without duplicates. An unknown name is
// an error that lists the names it accepts.
func WinEventLevelNumbers(names []string) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for _, n := range names {
		nums, ok := winEventLevels[strings.ToUpper(strings.TrimSpace(n))]
		if !ok {
			return nil, fmt.Errorf("unknown event level %q: use INFORMATION, WARNING, ERROR, CRITICAL or VERBOSE", n)
		}
		for _, v := range nums {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	sort.Ints(out)
	return out, nil
}

// WinEventLevelName is the name of a stored level number ("INFORMATION" for
// 0 and 4), or the number itself for a level outside 0..5.
func WinEventLevelName(level int) string {
	switch level {
	case 0, 4:
		return "INFORMATION"
	case 1:
		return "CRITICAL"
	case 2:
		return "ERROR"
	case 3:
		return "WARNING"
	case 5:
		return "VERBOSE"
	}
	return strconv.Itoa(level)
}

// WinEventQuery builds the XPath query for EvtQuery/EvtSubscribe that
// selects events with a record id after afterRecordID (0: from the oldest),
// one of levels (empty: every level) and one of ids (empty: every id).
func WinEventQuery(levels, ids []int, afterRecordID uint64) string {
	var conds []string
	if afterRecordID > 0 {
		conds = append(conds, "EventRecordID>"+strconv.FormatUint(afterRecordID, 10))
	}
	oneOf := func(field string, vals []int) {
		if len(vals) == 0 {
			return
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = field + "=" + strconv.Itoa(v)
		}
		conds = append(conds, "("+strings.Join(parts, " or ")+")")
	}
	oneOf("Level", levels)
	oneOf("EventID", ids)
	if len(conds) == 0 {
		return "*"
	}
	return "*[System[" + strings.Join(conds, " and ") + "]]"
}
