package cwagent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// node is one JSON value with its object keys kept in document order: findings follow the
// file as written, and encoding/json's maps would shuffle them.
type node struct {
	kind  kind
	keys  []string // object
	vals  []*node  // object, parallel to keys
	items []*node  // array
	text  string   // string, or a number as written
	b     bool     // bool
	// dups are the keys written more than once in this object; keys and vals hold the
	// last of each, which is the one the agent (encoding/json into a map) keeps.
	dups []string
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

// name is how a finding calls a kind of value.
func (k kind) name() string {
	switch k {
	case kBool:
		return "a boolean"
	case kNumber:
		return "a number"
	case kString:
		return "a string"
	case kArray:
		return "a list"
	case kObject:
		return "an object"
	}
	return "null"
}

// get returns the value of key in an object, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kObject {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// parse reads one JSON document; a syntax error says where, as line:column.
func parse(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := parseValue(dec, 0)
	if err != nil {
		return nil, syntaxError(data, dec, err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		off := end + int64(len(data[end:])-len(bytes.TrimLeft(data[end:], " \t\r\n")))
		line, col := lineCol(data, off)
		return nil, fmt.Errorf("%d:%d: more data after the end of the JSON document; the file holds one object: remove what follows its closing }", line, col)
	}
	return n, nil
}

// maxDepth bounds nesting, so that a hostile document cannot exhaust the stack; the
// agent's own configuration nests six levels deep.
const maxDepth = 100

// errTooDeep is reported at the offset where the nesting went past maxDepth.
var errTooDeep = fmt.Errorf("objects and lists nest more than %d deep here; the agent's configuration never does: this is not one", maxDepth)

func parseValue(dec *json.Decoder, depth int) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); ok && (d == '{' || d == '[') && depth >= maxDepth {
		return nil, errTooDeep
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: kObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				if i := slices.Index(n.keys, k); i >= 0 {
					n.keys = slices.Delete(n.keys, i, i+1)
					n.vals = slices.Delete(n.vals, i, i+1)
					if !slices.Contains(n.dups, k) {
						n.dups = append(n.dups, k)
					}
				}
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		case '[':
			n := &node{kind: kArray}
			for dec.More() {
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		}
		return nil, fmt.Errorf("unexpected %q", rune(t))
	case string:
		return &node{kind: kString, text: t}, nil
	case json.Number:
		return &node{kind: kNumber, text: string(t)}, nil
	case bool:
		return &node{kind: kBool, b: t}, nil
	case nil:
		return &node{kind: kNull}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// syntaxError places a decoder error at its line and column.
func syntaxError(data []byte, dec *json.Decoder, err error) error {
	off := dec.InputOffset()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	msg := err.Error() + "; fix the JSON there (a comma before ] or }, or a missing comma or quote, is the usual cause)"
	if errors.Is(err, errTooDeep) {
		off, msg = off-1, err.Error() // at the bracket that went too deep
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		off = int64(len(data))
		msg = "the JSON ends early: a closing } or ] or a value is missing"
		if len(bytes.TrimSpace(data)) == 0 {
			msg = "the file is empty: write a JSON object with agent, metrics or logs"
		}
	}
	line, col := lineCol(data, off)
	return fmt.Errorf("%d:%d: %s", line, col, msg)
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	line, col = 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
