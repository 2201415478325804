package fleet

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Fingerprint is a short, stable identity of a rule's value (its canonical JSON, as the
// state keeps it), the same on every instance that sees the same value: a JSON string of
// at most 64 printable ASCII characters without spaces is itself (so that fleet status
// shows "v42"), anything else "sha256:" and the first 16 hex digits of the SHA-256 of
// the bytes. An absent value is "".
func Fingerprint(value []byte) string {
	if len(value) == 0 {
		return ""
	}
	var s string
	if value[0] == '"' && json.Unmarshal(value, &s) == nil && len(s) > 0 && len(s) <= 64 && plain(s) {
		return s
	}
	h := sha256.Sum256(value)
	return "sha256:" + hex.EncodeToString(h[:8])
}

func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
