package config

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong (or, as a cfn-hup warning, doubtful) in a configuration file.
type Problem struct {
	File string // the file, as given to Load or Parse
	Line int    // 1-based; 0 when the problem is about the file as a whole
	Msg  string // what is wrong and how to fix it
}

// String returns the problem as "file:line: msg", leaving out what is unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(":")
	}
	if p.Line > 0 {
		if p.File == "" {
			b.WriteString("line ")
		}
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteString(":")
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Errors is every problem found in a configuration; Load, Parse and LoadCfnHup return it as
// a *Errors so that the operator can fix everything in one go.
type Errors []Problem

// Error prints one "file:line: problem" per line, in file and line order.
func (e *Errors) Error() string {
	lines := make([]string, len(*e))
	for i, p := range *e {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sortProblems orders problems by file, then line, keeping the order found within a line.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
}

// origin returns "file:line" for a WatchRule's Origin ("line N" without a file).
func origin(file string, line int) string {
	if file == "" {
		return "line " + strconv.Itoa(line)
	}
	return file + ":" + strconv.Itoa(line)
}
