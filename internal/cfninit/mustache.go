package cfninit

// A Mustache renderer for files' `context`, behaving as pystache does, since that is
// what cfn-init renders with (file_tool.py, _render_template: pystache's Renderer with
// its defaults). Written here rather than taken from a Go Mustache library: none
// renders values the way pystache does (Python's str() of True, 1.0, None; html.escape
// with quote=True), and the subset is small. Where pystache and the Mustache spec
// differ, pystache wins; where pystache silently outputs something broken (an unclosed
// tag or section), Render returns an error instead, with the byte offset.
//
// What pystache does, as read in its parser.py, renderengine.py and context.py:
//   - {{name}} is HTML-escaped with Python 3's html.escape(s, quote=True): & < > " '
//     become &amp; &lt; &gt; &quot; &#x27;. {{{name}}} and {{&name}} are not escaped.
//   - A value that is not a string is printed with Python's str(): True, False, None,
//     1.0, 1e+16, ['a', 1]. A name that is not found prints nothing.
//   - A dotted name looks its first part up through the context stack, the rest only
//     in the value found.
//   - Sections: a list repeats its body for each element; any other truthy value
//     renders the body once with the value pushed; Python's falsy values (None, False,
//     0, 0.0, "", [], {}) render nothing. An inverted section renders when falsy.
//   - A section, inverted section, comment or delimiter tag alone on its line (only
//     spaces or tabs before it and the line's end right after it) takes the whole line
//     with it.

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// maxRenderedBytes stops a template whose nested sections multiply its output beyond
// any file a template means to write.
const maxRenderedBytes = 64 << 20

type mnodeKind int

const (
	mText mnodeKind = iota
	mVar
	mRaw
	mSection
	mInverted
)

type mnode struct {
	kind     mnodeKind
	text     string // mText: the text; otherwise the tag's name
	children []*mnode
}

// Render renders template with data as pystache, and so cfn-init, renders a file's
// content with its `context`. Partials are refused (cfn-init has no files to include),
// as are unclosed tags and sections; each error gives the byte offset in template.
func Render(template string, data map[string]any) (string, error) {
	nodes, err := parseMustache(template)
	if err != nil {
		return "", err
	}
	r := &renderer{stack: []any{data}}
	if err := r.render(nodes); err != nil {
		return "", err
	}
	return r.out.String(), nil
}

func parseMustache(t string) ([]*mnode, error) {
	otag, ctag := "{{", "}}"
	type open struct {
		name  string
		kind  mnodeKind
		at    int
		nodes []*mnode // the enclosing list, to restore on close
	}
	var stack []open
	var cur []*mnode
	addText := func(s string) {
		if s != "" {
			cur = append(cur, &mnode{kind: mText, text: s})
		}
	}
	pos := 0
	for {
		i := strings.Index(t[pos:], otag)
		if i < 0 {
			addText(t[pos:])
			break
		}
		tagAt := pos + i
		// The spaces and tabs just before the tag: dropped with a standalone tag.
		wsAt := tagAt
		for wsAt > pos && (t[wsAt-1] == ' ' || t[wsAt-1] == '\t') {
			wsAt--
		}
		inner := tagAt + len(otag)
		var body string // between the delimiters
		end := -1       // just after the closing delimiter
		if rest := strings.TrimLeft(t[inner:], " \t\r\n\v\f"); strings.HasPrefix(rest, "{") {
			// {{{name}}}: a '}' then the closing delimiter, spaces allowed between.
			from := inner
			for {
				j := strings.Index(t[from:], ctag)
				if j < 0 {
					break
				}
				c := from + j
				if s := strings.TrimRight(t[inner:c], " \t\r\n\v\f"); len(strings.TrimSpace(s)) > 1 && strings.HasSuffix(s, "}") {
					body, end = s, c+len(ctag)
					break
				}
				from = c + 1
			}
			if end < 0 {
				return nil, fmt.Errorf("mustache: the tag %s{ at offset %d is not closed (want }%s)", otag, tagAt, ctag)
			}
		} else {
			j := strings.Index(t[inner:], ctag)
			if j < 0 {
				return nil, fmt.Errorf("mustache: the tag %s at offset %d is not closed (want %s)", otag, tagAt, ctag)
			}
			body, end = t[inner:inner+j], inner+j+len(ctag)
		}
		body = strings.TrimSpace(body)
		if body == "" {
			return nil, fmt.Errorf("mustache: empty tag %s%s at offset %d", otag, ctag, tagAt)
		}
		sigil := body[0]
		name := body
		switch sigil {
		case '{':
			// A '{' reached past other whitespace than the ASCII kinds trimmed above
			// (TrimSpace also takes U+0085 and U+00A0) may have no '}' of its own.
			if len(body) < 2 || body[len(body)-1] != '}' {
				return nil, fmt.Errorf("mustache: the tag %s{ at offset %d is not closed (want }%s)", otag, tagAt, ctag)
			}
			name = strings.TrimSpace(body[1 : len(body)-1])
		case '=':
			if len(body) < 2 || body[len(body)-1] != '=' {
				return nil, fmt.Errorf("mustache: the delimiter tag at offset %d does not end with =%s", tagAt, ctag)
			}
			name = strings.TrimSpace(body[1 : len(body)-1])
		case '!', '&', '#', '^', '/', '>':
			name = strings.TrimSpace(body[1:])
		default:
			sigil = 0
		}
		if name == "" && sigil != '!' {
			return nil, fmt.Errorf("mustache: the tag at offset %d has no name", tagAt)
		}

		interpolates := sigil == 0 || sigil == '&' || sigil == '{'
		beginsLine := wsAt == 0 || t[wsAt-1] == '\n' || t[wsAt-1] == '\r'
		endsLine := end == len(t) || t[end] == '\n' || t[end] == '\r'
		if !interpolates && beginsLine && endsLine {
			addText(t[pos:wsAt])
			if end < len(t) && t[end] == '\r' {
				end++
			}
			if end < len(t) && t[end] == '\n' {
				end++
			}
		} else {
			addText(t[pos:tagAt])
		}
		pos = end

		switch sigil {
		case 0:
			cur = append(cur, &mnode{kind: mVar, text: name})
		case '&', '{':
			cur = append(cur, &mnode{kind: mRaw, text: name})
		case '!':
		case '=':
			f := strings.Fields(name)
			if len(f) != 2 || strings.Contains(name, "=") {
				return nil, fmt.Errorf("mustache: the delimiter tag at offset %d wants two delimiters without '=', like {{=<%% %%>=}}", tagAt)
			}
			otag, ctag = f[0], f[1]
		case '>':
			return nil, fmt.Errorf("mustache: the partial {{>%s}} at offset %d is not supported: cfn-init has no template files to include; put the text in the template", name, tagAt)
		case '#', '^':
			k := mSection
			if sigil == '^' {
				k = mInverted
			}
			stack = append(stack, open{name: name, kind: k, at: tagAt, nodes: cur})
			cur = nil
		case '/':
			if len(stack) == 0 {
				return nil, fmt.Errorf("mustache: the closing tag {{/%s}} at offset %d closes no section", name, tagAt)
			}
			top := stack[len(stack)-1]
			if top.name != name {
				return nil, fmt.Errorf("mustache: the closing tag {{/%s}} at offset %d does not match the section {{#%s}} opened at offset %d", name, tagAt, top.name, top.at)
			}
			stack = stack[:len(stack)-1]
			sec := &mnode{kind: top.kind, text: name, children: cur}
			cur = append(top.nodes, sec)
		}
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		return nil, fmt.Errorf("mustache: the section {{#%s}} opened at offset %d is not closed (want {{/%s}})", top.name, top.at, top.name)
	}
	return cur, nil
}

type renderer struct {
	stack []any
	out   strings.Builder
}

func (r *renderer) render(nodes []*mnode) error {
	for _, n := range nodes {
		if r.out.Len() > maxRenderedBytes {
			return fmt.Errorf("mustache: the output passes %d MiB; a section repeats too much", maxRenderedBytes>>20)
		}
		switch n.kind {
		case mText:
			r.out.WriteString(n.text)
		case mVar:
			v, _ := r.lookup(n.text)
			r.out.WriteString(htmlEscape(pyStr(v)))
		case mRaw:
			v, _ := r.lookup(n.text)
			r.out.WriteString(pyStr(v))
		case mSection:
			v, _ := r.lookup(n.text)
			if !pyTruthy(v) {
				continue
			}
			items := []any{v}
			if l, ok := asList(v); ok {
				items = l
			}
			for _, it := range items {
				r.stack = append(r.stack, it)
				err := r.render(n.children)
				r.stack = r.stack[:len(r.stack)-1]
				if err != nil {
					return err
				}
			}
		case mInverted:
			v, _ := r.lookup(n.text)
			if !pyTruthy(v) {
				if err := r.render(n.children); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// lookup resolves a (dotted) name; a name not found is "" as pystache's default
// (MissingTags.ignore) makes it.
func (r *renderer) lookup(name string) (any, bool) {
	if name == "." {
		return r.stack[len(r.stack)-1], true
	}
	parts := strings.Split(name, ".")
	var v any
	found := false
	for i := len(r.stack) - 1; i >= 0; i-- {
		if x, ok := member(r.stack[i], parts[0]); ok {
			v, found = x, true
			break
		}
	}
	if !found {
		return "", false
	}
	for _, p := range parts[1:] {
		x, ok := member(v, p)
		if !ok {
			return "", false
		}
		v = x
	}
	return v, true
}

// member is a key of a map; pystache finds nothing in lists and scalars.
func member(v any, key string) (any, bool) {
	switch m := v.(type) {
	case map[string]any:
		x, ok := m[key]
		return x, ok
	case map[string]string:
		x, ok := m[key]
		return x, ok
	}
	return nil, false
}

func asList(v any) ([]any, bool) {
	switch l := v.(type) {
	case []any:
		return l, true
	case []string:
		a := make([]any, len(l))
		for i, s := range l {
			a[i] = s
		}
		return a, true
	}
	return nil, false
}

// pyTruthy is Python's bool() of the JSON value.
func pyTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return err != nil || f != 0 // out of range is inf: truthy
	case float64:
		return x != 0
	case float32:
		return x != 0
	case []any:
		return len(x) > 0
	case []string:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	case map[string]string:
		return len(x) > 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() != 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint() != 0
	}
	return true
}

// pyStr is Python 3's str() of the JSON value json.loads would have made.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return pyRepr(m)
	}
	return pyRepr(v)
}

// pyRepr is Python 3's repr(): what str() of a list or dict shows for its members.
// A dict's keys come out sorted (Go maps keep no order; Python would show the
// template's order).
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return pyReprString(x)
	case json.Number:
		return pyNumber(string(x))
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return map[bool]string{true: "inf", false: "-inf"}[x > 0]
		}
		return pyFloat(x)
	case float32:
		return pyFloat(float64(x))
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyReprString(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyReprString(k) + ": " + pyRepr(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case map[string]string:
		return pyStr(x)
	}
	return fmt.Sprint(v)
}

// pyReprString quotes as Python's repr(str): single quotes unless the text holds a
// single quote and no double one.
func pyReprString(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteByte(q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x7f || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// htmlEscape is Python 3's html.escape(s, quote=True), pystache's default escape
// (pystache/defaults.py, TAG_ESCAPE).
func htmlEscape(s string) string {
	if !strings.ContainsAny(s, `&<>"'`) {
		return s
	}
	return htmlReplacer.Replace(s)
}

var htmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;")
