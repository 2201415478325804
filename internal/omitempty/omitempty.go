// Package omitempty builds zap fields that are left out of a log line when their value is
// the zero value, as encoding/json's omitempty leaves out a struct field: a line carries
// only what is set, so an on-call engineer reading "refused" knows that something was
// refused, and never learns to skip "refused": "" on every line.
package omitempty

import (
	"time"

	"go.uber.org/zap"
)

// String is zap.String(key, v), or no field when v is "".
func String(key, v string) zap.Field {
	if v == "" {
		return zap.Skip()
	}
	return zap.String(key, v)
}

// Bool is zap.Bool(key, v), or no field when v is false.
func Bool(key string, v bool) zap.Field {
	if !v {
		return zap.Skip()
	}
	return zap.Bool(key, v)
}

// Strings is zap.Strings(key, v), or no field when v is empty.
func Strings(key string, v []string) zap.Field {
	if len(v) == 0 {
		return zap.Skip()
	}
	return zap.Strings(key, v)
}

// Duration is zap.Duration(key, v), or no field when v is zero.
func Duration(key string, v time.Duration) zap.Field {
	if v == 0 {
		return zap.Skip()
	}
	return zap.Duration(key, v)
}
