package fleet

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// KeyMore marks a state cut to MaxTags: "<n> rules not published".
const KeyMore = Prefix + "more"

// RuleKey is how a rule's name appears in its tag keys: the characters EC2 allows in keys
// that instance metadata also shows (letters, digits and + - = . , _ : @; no space, no
// /) kept, any other replaced by _ with + and 4 hex digits of the name's hash added (so
// that web/config and web_config stay apart), and a name too long for MaxKeyLen cut, with
// + and 8 hex digits of its hash so that two long names stay apart. (+, not ~: instance
// metadata allows + in tag keys and not ~.) State's maps are keyed by
// it: look a rule up with RuleKey(name).
func RuleKey(rule string) string {
	var b strings.Builder
	changed := false
	for _, r := range rule {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("+-=.,_:@", r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
			changed = true
		}
	}
	k := b.String()
	room := MaxKeyLen - max(len(KeyApplied), len(KeyFailed), len(KeyWanted)) // the longest per-rule prefix
	h := sha256.Sum256([]byte(rule))
	switch {
	case len(k) > room:
		k = k[:room-9] + "+" + hex.EncodeToString(h[:4])
	case changed:
		// web/config and web_config stay apart.
		k += "+" + hex.EncodeToString(h[:2])
	}
	return k
}

// cleanValue makes s a tag value: control characters (newlines) become spaces, and it is
// cut at MaxValueLen characters, on a character boundary, with … at the end.
func cleanValue(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) <= MaxValueLen {
		return s
	}
	r := []rune(s)
	return string(r[:MaxValueLen-1]) + "…"
}

// Tags encodes s as instance tags, at most MaxTags of them: KeyLast and KeyHealth, then
// the failures, then the applied values, then the wanted ones, each in rule order; what
// does not fit is left out and counted in KeyMore. A failure goes before any applied
// value: a later wave must see it to hold.
func (s State) Tags() map[string]string {
	out := map[string]string{}
	if !s.Last.At.IsZero() || s.Last.Kind != "" {
		out[KeyLast] = cleanValue(strings.TrimSpace(s.Last.Kind + " " + s.Last.Result + " " + s.Last.At.UTC().Format(time.RFC3339)))
	}
	if s.Health != "" {
		out[KeyHealth] = cleanValue(s.Health)
	}
	type kv struct{ k, v string }
	var rest []kv
	for _, r := range slices.Sorted(maps.Keys(s.Failed)) {
		f := s.Failed[r]
		rest = append(rest, kv{KeyFailed + RuleKey(r), cleanValue(strings.TrimSpace(f.Fingerprint + " " + f.Reason))})
	}
	for _, r := range slices.Sorted(maps.Keys(s.Applied)) {
		rest = append(rest, kv{KeyApplied + RuleKey(r), cleanValue(s.Applied[r])})
	}
	for _, r := range slices.Sorted(maps.Keys(s.Wanted)) {
		rest = append(rest, kv{KeyWanted + RuleKey(r), cleanValue(s.Wanted[r])})
	}
	room := MaxTags - len(out)
	if len(rest) > room {
		room-- // for KeyMore
		out[KeyMore] = fmt.Sprintf("%d values not published (more than %d tags)", len(rest)-room, MaxTags)
	}
	for i, x := range rest {
		if i >= room {
			break
		}
		out[x.k] = x.v
	}
	return out
}

// Parse reads the state an instance published from its tags (tags without Prefix are
// ignored, and so is anything malformed). Its maps are keyed by RuleKey.
func Parse(tags map[string]string) State {
	var s State
	for k, v := range tags {
		switch {
		case k == KeyLast:
			f := strings.Fields(v)
			if len(f) == 3 {
				if t, err := time.Parse(time.RFC3339, f[2]); err == nil {
					s.Last = Last{Kind: f[0], Result: f[1], At: t}
				}
			}
		case k == KeyHealth:
			s.Health = v
		case strings.HasPrefix(k, KeyApplied) && len(k) > len(KeyApplied):
			if s.Applied == nil {
				s.Applied = map[string]string{}
			}
			s.Applied[k[len(KeyApplied):]] = v
		case strings.HasPrefix(k, KeyWanted) && len(k) > len(KeyWanted):
			if s.Wanted == nil {
				s.Wanted = map[string]string{}
			}
			s.Wanted[k[len(KeyWanted):]] = v
		case strings.HasPrefix(k, KeyFailed) && len(k) > len(KeyFailed):
			fp, reason, _ := strings.Cut(v, " ")
			if fp == "" {
				continue
			}
			if s.Failed == nil {
				s.Failed = map[string]Failure{}
			}
			s.Failed[k[len(KeyFailed):]] = Failure{Fingerprint: fp, Reason: reason}
		}
	}
	return s
}
