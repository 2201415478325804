package logship

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/stackhand/stackhand/internal/config"
)

// tsParser finds and parses an event's timestamp: a Go layout ("2006-01-02 15:04:05") or
// the CloudWatch agent's strftime form ("%Y-%m-%d %H:%M:%S").
type tsParser struct {
	layout  string
	re      *regexp.Regexp // the timestamp anywhere in a line
	startRe *regexp.Regexp // the timestamp at a line's start
	loc     *time.Location
	hasYear bool
}

func newTSParser(format string, loc *time.Location) (*tsParser, error) {
	layout := format
	if strings.Contains(format, "%") {
		var err error
		if layout, err = config.TimestampLayout(format); err != nil {
			return nil, err
		}
	}
	pat, hasYear, tokens := layoutRegexp(layout)
	if tokens == 0 {
		return nil, fmt.Errorf("timestamp_format %q has no date or time field; write a Go layout such as \"2006-01-02 15:04:05\" or strftime such as \"%%Y-%%m-%%d %%H:%%M:%%S\"", format)
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, fmt.Errorf("timestamp_format %q: %w", format, err)
	}
	if loc == nil {
		loc = time.Local
	}
	return &tsParser{layout: layout, re: re, startRe: regexp.MustCompile("^(?:" + pat + ")"), loc: loc, hasYear: hasYear}, nil
}

// startsWith reports whether line begins with a timestamp.
func (p *tsParser) startsWith(line []byte) bool { return p.startRe.Match(line) }

// find returns the timestamp (ms) found in line, the first one that parses.
func (p *tsParser) find(line []byte, nowMS int64) (int64, bool) {
	loc := p.re.FindIndex(line)
	if loc == nil {
		return 0, false
	}
	t, err := time.ParseInLocation(p.layout, string(line[loc[0]:loc[1]]), p.loc)
	if err != nil {
		return 0, false
	}
	if !p.hasYear {
		// syslog style: no year. Take this year's, or last year's when that would put the
		// event more than a day in the future (a December line read in January).
		now := time.UnixMilli(nowMS).In(p.loc)
		t = t.AddDate(now.Year()-t.Year(), 0, 0)
		if t.After(now.Add(24 * time.Hour)) {
			t = t.AddDate(-1, 0, 0)
		}
	}
	return t.UnixMilli(), true
}

// layoutTokens are Go layout elements and what text they match, longest first where one
// is a prefix of another.
var layoutTokens = []struct{ tok, re string }{
	{"January", `[A-Z][a-z]{2,8}`},
	{"Monday", `[A-Z][a-z]{5,8}`},
	{"Jan", `[A-Z][a-z]{2}`},
	{"Mon", `[A-Z][a-z]{2}`},
	{"MST", `[A-Z]{2,5}|[+-]\d{2,4}`},
	{"2006", `\d{4}`},
	{"-07:00:00", `[+-]\d{2}:\d{2}:\d{2}`},
	{"-070000", `[+-]\d{6}`},
	{"-07:00", `[+-]\d{2}:\d{2}`},
	{"-0700", `[+-]\d{4}`},
	{"-07", `[+-]\d{2}`},
	{"Z07:00:00", `Z|[+-]\d{2}:\d{2}:\d{2}`},
	{"Z070000", `Z|[+-]\d{6}`},
	{"Z07:00", `Z|[+-]\d{2}:\d{2}`},
	{"Z0700", `Z|[+-]\d{4}`},
	{"Z07", `Z|[+-]\d{2}`},
	{"002", `\d{3}`},
	{"__2", `[ \d]{2}\d`},
	{"_2", ` ?\d{1,2}`},
	{"01", `\d{2}`},
	{"02", `\d{2}`},
	{"03", `\d{2}`},
	{"04", `\d{2}`},
	{"05", `\d{2}`},
	{"06", `\d{2}`},
	{"15", `\d{1,2}`},
	{"PM", `[AP]M`},
	{"pm", `[ap]m`},
	{"1", `\d{1,2}`},
	{"2", `\d{1,2}`},
	{"3", `\d{1,2}`},
	{"4", `\d{1,2}`},
	{"5", `\d{1,2}`},
}

// layoutRegexp returns a regular expression matching the text a Go layout describes,
// whether the layout names the year, and how many date or time fields it has.
func layoutRegexp(layout string) (pat string, hasYear bool, fields int) {
	var b strings.Builder
	for i := 0; i < len(layout); {
		if c := layout[i]; (c == '.' || c == ',') && i+1 < len(layout) && (layout[i+1] == '0' || layout[i+1] == '9') {
			j := i + 1
			for j < len(layout) && layout[j] == layout[i+1] {
				j++
			}
			if j == len(layout) || layout[j] < '0' || layout[j] > '9' {
				b.WriteString(`[.,]\d+`)
				i = j
				fields++
				continue
			}
		}
		matched := false
		for _, t := range layoutTokens {
			if strings.HasPrefix(layout[i:], t.tok) {
				b.WriteString("(?:" + t.re + ")")
				i += len(t.tok)
				fields++
				if t.tok == "2006" || t.tok == "06" {
					hasYear = true
				}
				matched = true
				break
			}
		}
		if !matched {
			b.WriteString(regexp.QuoteMeta(layout[i : i+1]))
			i++
		}
	}
	return b.String(), hasYear, fields
}
