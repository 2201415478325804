package cfnpath

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Lookup finds the value at sub inside metadata, a resource's Metadata as JSON, and returns it
// as canonical JSON: compact, object keys sorted, numbers exactly as written, no HTML
// escaping. Two values are the same JSON value exactly when their canonical bytes are equal.
//
// A value is absent (present == false, no error) when a key on the way is missing, when the
// value is JSON null, and when it is the empty string "". Empty or "null" metadata is absent
// too. cfn-hup goes further: it tests the value's Python truthiness, so 0, false, [] and {}
// also count as empty for post.add/post.remove (cfnbootstrap/update_hooks.py
// HookProcessor._process_hook, "not old_data and new_data"). stackhand keeps those as real
// values, so that a count going from 1 to 0 is an update and not a removal, and treats only
// null and "" as nothing there. A caller that needs cfn-hup's exact rule applies
// CfnHupEmpty to the value.
//
// An error means the metadata is not valid JSON, or the path goes through a value that is
// not an object.
func Lookup(metadata []byte, sub []string) (value []byte, present bool, err error) {
	if len(bytes.TrimSpace(metadata)) == 0 {
		return nil, false, nil
	}
	v, err := decode(metadata)
	if err != nil {
		return nil, false, fmt.Errorf("metadata is not valid JSON: %w", err)
	}
	for i, key := range sub {
		if v == nil {
			return nil, false, nil
		}
		obj, ok := v.(map[string]any)
		if !ok {
			where := "Metadata"
			if i > 0 {
				where += "." + JoinSub(sub[:i])
			}
			return nil, false, fmt.Errorf("%s is %s, not an object; path %s cannot go through it",
				where, typeName(v), JoinSub(sub))
		}
		v, ok = obj[key]
		if !ok {
			return nil, false, nil
		}
	}
	if v == nil || v == "" {
		return nil, false, nil
	}
	out, err := canonical(v)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// Canonical returns data, one JSON value, in the canonical form Lookup returns.
func Canonical(data []byte) ([]byte, error) {
	v, err := decode(data)
	if err != nil {
		return nil, err
	}
	return canonical(v)
}

// CfnHupEmpty reports whether cfn-hup would treat value (canonical JSON, or nil for absent)
// as empty: absent, null, false, a zero number, "", [] or {} (Python's falsy values).
func CfnHupEmpty(value []byte) bool {
	v := bytes.TrimSpace(value)
	if len(v) == 0 {
		return true
	}
	switch string(v) {
	case "null", "false", `""`, "[]", "{}":
		return true
	}
	if c := v[0]; c != '-' && (c < '0' || c > '9') {
		return false
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err == nil {
		f, err := n.Float64()
		return err == nil && f == 0
	}
	return false
}

// decode reads exactly one JSON value, keeping numbers as written. Its errors name the byte
// offset of the problem.
func decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("at byte offset %d: %s", se.Offset, se.Error())
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("at byte offset %d: unexpected end of input", len(data))
		}
		return nil, fmt.Errorf("at byte offset %d: %w", dec.InputOffset(), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("at byte offset %d: more data after the JSON value", dec.InputOffset())
	}
	return v, nil
}

// canonical encodes v compactly; encoding/json sorts map keys and writes json.Number as is.
func canonical(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode metadata value: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// typeName names the JSON type of a decoded value with its article, for messages.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case nil:
		return "null"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", v), "*")
}
