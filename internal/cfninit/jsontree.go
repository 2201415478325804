package cfninit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// node is a decoded JSON value that keeps its object keys in document order: a file's
// JSON `content` is written back in the order the template gave (as cfn-init, a Python 3
// program whose dicts keep insertion order, writes it), and warnings come out in a
// stable order.
type node struct {
	kind kind
	str  string // a string's text, or a number's literal
	b    bool
	keys []string         // an object's keys, in document order, once each
	vals map[string]*node // an object's values
	arr  []*node
}

type kind int

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kArray
	kObject
)

func (k kind) String() string {
	return [...]string{"null", "a boolean", "a number", "a string", "a list", "an object"}[k]
}

// maxDepth bounds nesting so that a hostile document cannot exhaust the stack.
const maxDepth = 200

// decodeTree parses one JSON document. A syntax error names its line and column.
func decodeTree(b []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	n, err := readNode(dec, 0)
	if err == nil {
		end := dec.InputOffset()
		rest := bytes.TrimLeft(b[end:], " \t\r\n")
		if len(rest) == 0 {
			return n, nil
		}
		line, col := lineCol(b, int64(len(b)-len(rest)))
		return nil, fmt.Errorf("not valid JSON: line %d, column %d: more data after the JSON value", line, col)
	}
	{
		off := dec.InputOffset()
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off = se.Offset
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			off = int64(len(b))
			err = errors.New("unexpected end of the document (a bracket or quote is not closed)")
		}
		line, col := lineCol(b, off)
		return nil, fmt.Errorf("not valid JSON: line %d, column %d: %v", line, col, err)
	}
}

// lineCol turns a byte offset into a 1-based line and column (in bytes).
func lineCol(b []byte, off int64) (int, int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	if off < 0 {
		off = 0
	}
	before := b[:off]
	line := 1 + bytes.Count(before, []byte("\n"))
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

func readNode(dec *json.Decoder, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &node{kind: kNull}, nil
	case bool:
		return &node{kind: kBool, b: t}, nil
	case json.Number:
		return &node{kind: kNumber, str: string(t)}, nil
	case string:
		return &node{kind: kString, str: t}, nil
	case json.Delim:
		switch t {
		case '[':
			n := &node{kind: kArray}
			for dec.More() {
				c, err := readNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, c)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		case '{':
			n := &node{kind: kObject, vals: map[string]*node{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := readNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				// A repeated key: the last value wins at the first key's place, as
				// Python's json.loads keeps it (the one CloudFormation never sends).
				if _, dup := n.vals[k]; !dup {
					n.keys = append(n.keys, k)
				}
				n.vals[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		}
	}
	return nil, fmt.Errorf("unexpected %v", tok)
}

// toAny converts to the plain Go values Render takes: map[string]any, []any, string,
// json.Number, bool and nil.
func (n *node) toAny() any {
	switch n.kind {
	case kBool:
		return n.b
	case kNumber:
		return json.Number(n.str)
	case kString:
		return n.str
	case kArray:
		a := make([]any, len(n.arr))
		for i, c := range n.arr {
			a[i] = c.toAny()
		}
		return a
	case kObject:
		m := make(map[string]any, len(n.keys))
		for _, k := range n.keys {
			m[k] = n.vals[k].toAny()
		}
		return m
	}
	return nil
}

// pythonJSON writes n as Python's json.dump does with its defaults, which is how
// cfn-init writes a `content` that is not a string (file_tool.py, _write_inline_content):
// ", " and ": " separators, non-ASCII escaped as \uXXXX, keys in document order. So a
// file written by cfn-init and rewritten by stackhand compares equal and no service
// restarts for a change that is not one.
func (n *node) pythonJSON(w *strings.Builder) {
	switch n.kind {
	case kNull:
		w.WriteString("null")
	case kBool:
		w.WriteString(strconv.FormatBool(n.b))
	case kNumber:
		w.WriteString(pyNumber(n.str))
	case kString:
		pyJSONString(w, n.str)
	case kArray:
		w.WriteByte('[')
		for i, c := range n.arr {
			if i > 0 {
				w.WriteString(", ")
			}
			c.pythonJSON(w)
		}
		w.WriteByte(']')
	case kObject:
		w.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				w.WriteString(", ")
			}
			pyJSONString(w, k)
			w.WriteString(": ")
			n.vals[k].pythonJSON(w)
		}
		w.WriteByte('}')
	}
}

// pyJSONString is json.dumps of a str with ensure_ascii=True.
func pyJSONString(w *strings.Builder, s string) {
	w.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			w.WriteString(`\"`)
		case '\\':
			w.WriteString(`\\`)
		case '\n':
			w.WriteString(`\n`)
		case '\r':
			w.WriteString(`\r`)
		case '\t':
			w.WriteString(`\t`)
		case '\b':
			w.WriteString(`\b`)
		case '\f':
			w.WriteString(`\f`)
		default:
			// Python escapes everything outside ' '..'~' (DEL included).
			switch {
			case r >= 0x10000:
				r -= 0x10000
				fmt.Fprintf(w, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			case r < 0x20 || r >= 0x7f:
				fmt.Fprintf(w, `\u%04x`, r)
			default:
				w.WriteRune(r)
			}
		}
	}
	w.WriteByte('"')
}

// pyNumber is how Python prints a number json.loads read: an integer as written (JSON
// has no leading zeros; "-0" is 0), a float as repr() prints it.
func pyNumber(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		if lit == "-0" {
			return "0"
		}
		return lit
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		// Out of range: Python's float() gives inf.
		if strings.HasPrefix(lit, "-") {
			return "-inf"
		}
		return "inf"
	}
	return pyFloat(f)
}

// pyFloat is Python 3's repr(float): the shortest digits that round-trip, fixed
// notation for exponents from -4 to 15 (always with a fractional part), else
// d.ddde+XX with at least two exponent digits.
func pyFloat(f float64) string {
	e := strconv.FormatFloat(f, 'e', -1, 64) // "-1.2345e+06"
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	if exp >= -4 && exp < 16 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	sign := "+"
	if exp < 0 {
		sign, exp = "-", -exp
	}
	return fmt.Sprintf("%se%s%02d", mant, sign, exp)
}
