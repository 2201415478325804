package config

import (
	"fmt"
	"strings"
)

// This file reads INI files the way cfn-hup does: with Python's ConfigParser
// (cfnbootstrap/update_hooks.py parse_config; the Python 3 configparser defaults):
//
//   - [section] headers; section names are case-sensitive; [DEFAULT] gives every section
//     values it does not set itself.
//   - key=value or key: value, split at the first "=" or ":"; keys are trimmed and
//     lowercased, values trimmed.
//   - Lines whose first non-blank character is "#" or ";" are comments. There are no
//     comments at the end of a line: "a=b ; c" is the value "b ; c".
//   - A line indented deeper than its key's line continues the value, joined with "\n";
//     blank lines inside such a value are kept, trailing ones dropped. A comment ends it.
//   - Values are interpolated when read: "%%" is "%", "%(name)s" is the value of key name
//     in the same section or [DEFAULT]; any other "%" is an error, as it is for cfn-hup.
//   - Files read one after the other merge: a section seen again gets the later keys over
//     the earlier ones. A key set twice in one section of one file keeps the last value
//     (Python 3 refuses that; stackhand warns).

// iniValue is a key's value and where it was last written.
type iniValue struct {
	lines []string
	file  string
	line  int
}

// raw returns the value before interpolation.
func (v *iniValue) raw() string {
	return strings.TrimRight(strings.Join(v.lines, "\n"), " \t\r\n")
}

// iniSection is one [section], merged over every file that has it.
type iniSection struct {
	name   string
	file   string // where the section first appears
	line   int
	values map[string]*iniValue
	keys   []string // the keys in the order first written
}

// iniDoc is what one ConfigParser holds after reading one or more files.
type iniDoc struct {
	sections []*iniSection // in order of first appearance, without [DEFAULT]
	byName   map[string]*iniSection
	defaults *iniSection
}

func newINI() *iniDoc {
	return &iniDoc{
		byName:   map[string]*iniSection{},
		defaults: &iniSection{name: "DEFAULT", values: map[string]*iniValue{}},
	}
}

// parse reads one file into d. It returns the errors that make the file unreadable for
// cfn-hup, and warnings for what it reads differently or not at all.
func (d *iniDoc) parse(data []byte, file string) (errs, warns []Problem) {
	text := strings.TrimPrefix(string(data), "\ufeff")
	var (
		cur         *iniSection
		cont        *iniValue // the value an indented line would continue, or nil
		indentLevel int
		inFile      = map[*iniSection]bool{}
		keyLines    = map[*iniSection]map[string]int{}
	)
	for i, raw := range strings.Split(text, "\n") {
		lineno := i + 1
		raw = strings.TrimSuffix(raw, "\r")
		s := strings.TrimSpace(raw)
		if strings.HasPrefix(s, "#") || strings.HasPrefix(s, ";") {
			cont = nil
			continue
		}
		if s == "" {
			if cont != nil {
				cont.lines = append(cont.lines, "")
			}
			continue
		}
		indent := len(raw) - len(strings.TrimLeft(raw, " \t"))
		if cont != nil && indent > indentLevel {
			cont.lines = append(cont.lines, s)
			continue
		}
		cont = nil
		if s[0] == '[' {
			if !strings.HasSuffix(s, "]") {
				errs = append(errs, Problem{file, lineno, fmt.Sprintf("section header %s has no closing ]", s)})
				cur = nil
				continue
			}
			name := strings.TrimSpace(s[1 : len(s)-1])
			if name == "" {
				errs = append(errs, Problem{file, lineno, "empty section name []: name the section, e.g. [main] or [my-hook]"})
				cur = nil
				continue
			}
			switch sec, ok := d.byName[name]; {
			case name == "DEFAULT":
				cur = d.defaults
			case ok:
				if inFile[sec] {
					warns = append(warns, Problem{file, lineno, fmt.Sprintf("section [%s] appears again in this file; its keys are merged over the earlier ones", name)})
				}
				cur = sec
			default:
				cur = &iniSection{name: name, file: file, line: lineno, values: map[string]*iniValue{}}
				d.byName[name] = cur
				d.sections = append(d.sections, cur)
			}
			if cur.file == "" {
				cur.file, cur.line = file, lineno
			}
			inFile[cur] = true
			continue
		}
		if cur == nil {
			errs = append(errs, Problem{file, lineno, fmt.Sprintf("%q is outside any section: put it under a [section] header", s)})
			continue
		}
		sep := strings.IndexAny(s, "=:")
		if sep < 0 {
			errs = append(errs, Problem{file, lineno, fmt.Sprintf("%q is not key=value (or key: value)", s)})
			continue
		}
		key := strings.ToLower(strings.TrimSpace(s[:sep]))
		if key == "" {
			errs = append(errs, Problem{file, lineno, fmt.Sprintf("%q has no key before %q", s, string(s[sep]))})
			continue
		}
		if keyLines[cur] == nil {
			keyLines[cur] = map[string]int{}
		}
		if prev, dup := keyLines[cur][key]; dup {
			warns = append(warns, Problem{file, lineno, fmt.Sprintf("%s is set again in [%s] (first on line %d); the last value is used", key, cur.name, prev)})
		}
		keyLines[cur][key] = lineno
		v := &iniValue{lines: []string{strings.TrimSpace(s[sep+1:])}, file: file, line: lineno}
		if _, ok := cur.values[key]; !ok {
			cur.keys = append(cur.keys, key)
		}
		cur.values[key] = v
		cont, indentLevel = v, indent
	}
	return errs, warns
}

// lookup returns the raw value of key in sec or, failing that, in [DEFAULT].
func (d *iniDoc) lookup(sec *iniSection, key string) (*iniValue, bool) {
	if v, ok := sec.values[key]; ok {
		return v, true
	}
	v, ok := d.defaults.values[key]
	return v, ok
}

// get returns the interpolated value of key in sec (or [DEFAULT]); ok is false when neither
// has the key. An interpolation error is a Problem at the key's line.
func (d *iniDoc) get(sec *iniSection, key string) (val string, at *iniValue, ok bool, prob *Problem) {
	v, ok := d.lookup(sec, key)
	if !ok {
		return "", nil, false, nil
	}
	s, err := d.interpolate(sec, v.raw(), 0)
	if err != nil {
		return "", v, true, &Problem{v.file, v.line, fmt.Sprintf("%s in [%s]: %v", key, sec.name, err)}
	}
	return s, v, true, nil
}

// maxInterpolationDepth matches configparser's MAX_INTERPOLATION_DEPTH.
const maxInterpolationDepth = 10

func (d *iniDoc) interpolate(sec *iniSection, s string, depth int) (string, error) {
	if depth > maxInterpolationDepth {
		return "", fmt.Errorf("%%(name)s references nest more than %d deep (a loop?)", maxInterpolationDepth)
	}
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		rest := s[i+1:]
		switch {
		case strings.HasPrefix(rest, "%"):
			b.WriteByte('%')
			i++
		case strings.HasPrefix(rest, "("):
			end := strings.Index(rest, ")")
			if end < 2 || !strings.HasPrefix(rest[end+1:], "s") {
				return "", fmt.Errorf("bad reference %q: write %%(name)s to use another key's value, or %%%% for a literal %%", "%"+rest)
			}
			name := strings.ToLower(rest[1:end])
			v, ok := d.lookup(sec, name)
			if !ok {
				return "", fmt.Errorf("%%(%s)s refers to a key that neither [%s] nor [DEFAULT] has; write %%%% for a literal %%", name, sec.name)
			}
			sub, err := d.interpolate(sec, v.raw(), depth+1)
			if err != nil {
				return "", err
			}
			b.WriteString(sub)
			i += end + 2
		default:
			return "", fmt.Errorf("a %% must be written %%%% (cfn-hup reads this file with Python's ConfigParser, which expands %%(name)s): %q", s)
		}
	}
	return b.String(), nil
}
