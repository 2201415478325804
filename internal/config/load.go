package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/stackhand/stackhand/internal/trust"
)

// Load reads and parses the stackhand.yaml at path. A missing file gives an error for which
// errors.Is(err, fs.ErrNotExist) holds; problems in the file give a *Errors.
//
// Its watch rules' commands run as root, so the file is read only if only root (or the
// agent's user) can change it: the file and every directory above it, as package trust
// checks (on Unix); otherwise the error says so, with the chown or chmod that fixes it.
func Load(path string) (*Config, error) {
	data, err := trust.ReadFile(path, path, os.Geteuid())
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path)
}

// Parse parses a stackhand.yaml read from path, applies the defaults and validates it.
// Relative hooks_dir, state_dir, log_dir, local.dir and logs file_path are resolved against
// path's directory (left alone when path is ""). Every problem found is reported, in a
// *Errors.
func Parse(data []byte, path string) (*Config, error) {
	l := &loader{file: path, set: map[string]int{}, bad: map[int]bool{}}
	cfg := l.parse(data)
	if len(l.probs) > 0 {
		sortProblems(l.probs)
		errs := Errors(l.probs)
		return nil, &errs
	}
	return cfg, nil
}

// loader collects the problems of one file and where each key was written.
type loader struct {
	file  string
	probs []Problem
	set   map[string]int // key path → line of the key
	bad   map[int]bool   // lines with a syntax or type problem, so validation does not pile on
}

func (l *loader) addf(line int, format string, args ...any) {
	l.probs = append(l.probs, Problem{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// typef reports a problem with the shape or type of a value, and marks its line.
func (l *loader) typef(line int, format string, args ...any) {
	l.bad[line] = true
	l.addf(line, format, args...)
}

// validf reports a validation problem, unless the line already has a type problem (the
// decoded value there is a zero value, not what was written).
func (l *loader) validf(line int, format string, args ...any) {
	if l.bad[line] {
		return
	}
	l.addf(line, format, args...)
}

// line returns the line of key path p, or of the nearest enclosing key that was written.
func (l *loader) line(p string) int {
	for p != "" {
		if n, ok := l.set[p]; ok {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// parserProblems are the errors of yaml.v3's parser (parserc.go), as opposed to its
// scanner's: yaml.v3 numbers their lines from 0 (and points at the start of the construct
// that is not closed, which is the line to look at).
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

func (l *loader) parse(data []byte) *Config {
	cfg := Default()
	cfg.Path = l.file

	if l.controlChars(data) {
		return nil
	}
	var root yaml.Node
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		l.yamlError(err, "YAML syntax")
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.addf(extra.Line, "a second YAML document (after ---) starts here; stackhand.yaml holds one document")
	}
	if root.Kind == 0 { // empty file or only comments: all defaults
		return l.finish(cfg)
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode {
		doc = doc.Content[0]
	}
	if doc.Kind == yaml.ScalarNode && doc.Tag == "!!null" {
		return l.finish(cfg)
	}
	l.walk(doc, reflect.TypeFor[Config](), "")
	if err := doc.Decode(cfg); err != nil {
		// The walk has reported these already, in its own words; anything it missed is kept.
		l.yamlError(err, "")
	}
	return l.finish(cfg)
}

// controlChars reports each line holding a control character YAML does not allow (a NUL
// byte, say), at the line it is on: yaml.v3 says only "control characters are not allowed",
// always on line 1. It reports whether there were any.
func (l *loader) controlChars(data []byte) bool {
	found := false
	line, col := 1, 0
	reported := 0
	for _, b := range data {
		col++
		switch {
		case b == '\n':
			line, col = line+1, 0
		case (b < 0x20 && b != '\t' && b != '\r') || b == 0x7f:
			if reported != line {
				reported, found = line, true
				l.typef(line, "byte 0x%02x (a control character) at column %d is not allowed in YAML; remove it (tr -d '\\%03o' writes the file without it)", b, col, b)
			}
		}
	}
	return found
}

// yamlError turns a yaml.v3 error into problems with lines, skipping lines already reported.
func (l *loader) yamlError(err error, what string) {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	for _, m := range msgs {
		line := 0
		if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
			line, _ = strconv.Atoi(sm[1])
			m = sm[2]
			if parserProblems[m] {
				line++ // yaml.v3 reports a parser error's line counting from 0
			}
		} else {
			m = strings.TrimPrefix(m, "yaml: ")
			if what != "" && !strings.HasPrefix(m, "unknown anchor") {
				line = 1 // yaml.v3 leaves the line out when it is the first (0 counting from 0)
			}
		}
		if line > 0 && l.bad[line] {
			continue
		}
		if what != "" {
			m += " (" + what + ")"
		}
		l.typef(line, "%s", m)
	}
}

// finish applies the defaults that depend on what was written, resolves relative paths and
// validates.
func (l *loader) finish(cfg *Config) *Config {
	cfg.set = l.set
	if l.file != "" {
		base := filepath.Dir(l.file)
		for _, p := range []*string{&cfg.HooksDir, &cfg.StateDir, &cfg.LogDir, &cfg.Local.Dir, &cfg.Local.FleetDir} {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(base, *p)
			}
		}
		for i := range cfg.Apps {
			if p := &cfg.Apps[i].DeployTo; *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(base, *p)
			}
		}
		for i := range cfg.Logs.Files {
			if p := &cfg.Logs.Files[i].FilePath; *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(base, *p)
			}
		}
		for i := range cfg.Logs.Journald {
			if p := &cfg.Logs.Journald[i].Directory; *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(base, *p)
			}
		}
	}
	for i := range cfg.Logs.Files {
		defaultLogFile(&cfg.Logs.Files[i])
	}
	for i := range cfg.Logs.Journald {
		defaultJournal(&cfg.Logs.Journald[i])
	}
	l.validate(cfg)
	return cfg
}

// walk checks node n against type t, the Go type it will be decoded into: unknown and
// repeated keys, and values of the wrong shape or type. It records the line of every key in
// l.set and drops keys whose value is null, so that they keep their default.
func (l *loader) walk(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if t == reflect.TypeFor[Duration]() {
		if _, msg := parseDuration(n); msg != "" {
			l.typef(n.Line, "%s: %s", path, msg)
		}
		return
	}
	if t == reflect.TypeFor[Measurement]() && n.Kind == yaml.ScalarNode {
		return // a bare name; a mapping is walked as the struct
	}
	if t == reflect.TypeFor[SHA256Ref]() {
		// A literal digest or a mapping saying where to read it.
		if n.Kind == yaml.ScalarNode {
			return
		}
		if n.Kind != yaml.MappingNode {
			l.typef(n.Line, "%s must be a hex digest or a mapping (metadata, tag or ssm), not %s", where(path), kindName(n))
			return
		}
		t = reflect.TypeFor[ValueRef]()
	}
	switch t.Kind() {
	case reflect.Pointer:
		l.walk(n, t.Elem(), path)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			l.typef(n.Line, "%s must be a mapping of keys (%s), not %s", where(path), strings.Join(knownKeys(t), ", "), kindName(n))
			return
		}
		l.walkMapping(n, path, func(key *yaml.Node, child string) (reflect.Type, bool) {
			f, ok := fieldsOf(t)[key.Value]
			if !ok {
				l.typef(key.Line, "unknown key %q in %s;%s known keys: %s", key.Value, where(path),
					suggest(key.Value, knownKeys(t)), strings.Join(knownKeys(t), ", "))
				return nil, false
			}
			return f, true
		})
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			l.typef(n.Line, "%s must be a mapping of NAME: value, not %s", where(path), kindName(n))
			return
		}
		l.walkMapping(n, path, func(*yaml.Node, string) (reflect.Type, bool) { return t.Elem(), true })
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			l.typef(n.Line, "%s must be a list (lines starting with \"- \", or [a, b]), not %s", where(path), kindName(n))
			return
		}
		for i, item := range n.Content {
			child := fmt.Sprintf("%s[%d]", path, i)
			l.set[child] = item.Line
			l.walk(item, t.Elem(), child)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			l.typef(n.Line, "%s must be a single value (a string), not %s", where(path), kindName(n))
		}
	case reflect.Int:
		var v int
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
			l.typef(n.Line, "%s must be a whole number, not %s", where(path), valueName(n))
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			l.typef(n.Line, "%s must be true or false, not %s", where(path), valueName(n))
		}
	}
}

// walkMapping walks the pairs of a mapping node. field returns the type of a key's value,
// or false when the key is not allowed (and has been reported).
func (l *loader) walkMapping(n *yaml.Node, path string, field func(key *yaml.Node, child string) (reflect.Type, bool)) {
	seen := map[string]int{}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if key.Kind != yaml.ScalarNode {
			l.typef(key.Line, "%s has a key that is %s; keys are plain names", where(path), kindName(key))
			continue
		}
		if key.Tag == "!!merge" {
			l.typef(key.Line, "%s uses a YAML merge key (<<), which stackhand.yaml does not support; write the keys out", where(path))
			continue
		}
		if prev, dup := seen[key.Value]; dup {
			l.typef(key.Line, "key %q in %s is already set on line %d; keep one of them", key.Value, where(path), prev)
			continue
		}
		seen[key.Value] = key.Line
		child := key.Value
		if path != "" {
			child = path + "." + key.Value
		}
		t, ok := field(key, child)
		if !ok {
			continue
		}
		if v := val; v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			continue // written but empty: the default applies
		}
		l.set[child] = key.Line
		l.walk(val, t, child)
		kept = append(kept, key, val)
	}
	n.Content = kept
}

// where names a key path for a message.
func where(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

// kindName says what shape a node is, for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	return valueName(n)
}

// valueName quotes a scalar node for a message.
func valueName(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindName(n)
	}
	return strconv.Quote(n.Value)
}

// fieldsOf maps the yaml keys of struct type t to their field types.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for _, f := range fieldList(t) {
		m[f.key] = f.typ
	}
	return m
}

// knownKeys lists the yaml keys of struct type t in declaration order.
func knownKeys(t reflect.Type) []string {
	var keys []string
	for _, f := range fieldList(t) {
		keys = append(keys, f.key)
	}
	return keys
}

type yamlField struct {
	key string
	typ reflect.Type
}

var fieldCache sync.Map // reflect.Type → []yamlField

func fieldList(t reflect.Type) []yamlField {
	if v, ok := fieldCache.Load(t); ok {
		return v.([]yamlField)
	}
	var fs []yamlField
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || key == "-" || key == "" {
			continue
		}
		fs = append(fs, yamlField{key, f.Type})
	}
	fieldCache.Store(t, fs)
	return fs
}

// suggest returns ` did you mean "x"?` for the known key closest to an unknown one, or "".
func suggest(key string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" did you mean %q?", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
