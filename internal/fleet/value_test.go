package fleet

import (
	"regexp"
	"strings"
	"testing"
)

var hashedRE = regexp.MustCompile(`^sha256:[0-9a-f]{16}$`)

func TestFingerprint(t *testing.T) {
	long := `"` + strings.Repeat("x", 65) + `"`
	max := `"` + strings.Repeat("x", 64) + `"`
	tests := []struct {
		name  string
		value string
		kept  string // "" means hashed (unless value is empty)
	}{
		{"short string kept", `"v42"`, "v42"},
		{"punctuation kept", `"release-2026.12.04_rc1+build:7"`, "release-2026.12.04_rc1+build:7"},
		{"64 characters kept", max, strings.Repeat("x", 64)},
		{"65 characters hashed", long, ""},
		{"space hashed", `"v 42"`, ""},
		{"tab hashed", `"v\t42"`, ""},
		{"non-ASCII hashed", `"véro"`, ""},
		{"escaped non-ASCII hashed", `"v\u00e9ro"`, ""},
		{"empty string hashed", `""`, ""},
		{"object hashed", `{"value":"v42","version":3}`, ""},
		{"array hashed", `["v42"]`, ""},
		{"number hashed", `42`, ""},
		{"invalid JSON string hashed", `"v42`, ""},
		{"DEL hashed", "\"v\x7f\"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Fingerprint([]byte(tt.value))
			if tt.kept != "" {
				if got != tt.kept {
					t.Fatalf("Fingerprint(%s) = %q, want %q", tt.value, got, tt.kept)
				}
				return
			}
			if !hashedRE.MatchString(got) {
				t.Fatalf("Fingerprint(%s) = %q, want sha256: and 16 hex digits", tt.value, got)
			}
			if again := Fingerprint([]byte(tt.value)); again != got {
				t.Fatalf("Fingerprint(%s) not stable: %q then %q", tt.value, got, again)
			}
		})
	}
}

func TestFingerprintAbsent(t *testing.T) {
	if got := Fingerprint(nil); got != "" {
		t.Errorf("Fingerprint(nil) = %q, want \"\"", got)
	}
	if got := Fingerprint([]byte{}); got != "" {
		t.Errorf("Fingerprint(empty) = %q, want \"\"", got)
	}
}

func TestFingerprintStableAndDistinct(t *testing.T) {
	// A known value: the first 8 bytes of SHA-256 of {"a":1}, so that a change of the
	// hashing (which would restart every rollout in a mixed-version fleet) shows.
	if got, want := Fingerprint([]byte(`{"a":1}`)), "sha256:015abd7f5cc57a2d"; got != want {
		t.Errorf("Fingerprint({\"a\":1}) = %q, want %q", got, want)
	}
	seen := map[string]string{}
	for _, v := range []string{`{"a":1}`, `{"a":2}`, `{"a": 1}`, `"a b"`, `"a  b"`, `[1]`, `1`} {
		fp := Fingerprint([]byte(v))
		if prev, ok := seen[fp]; ok {
			t.Errorf("%s and %s share fingerprint %q", prev, v, fp)
		}
		seen[fp] = v
	}
}
