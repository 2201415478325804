package fleet

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func TestTagsParseRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 4, 19, 30, 5, 0, time.FixedZone("CET", 3600))
	s := State{
		Applied: map[string]string{"release": "v3", "web/config": "sha256:0123456789abcdef"},
		Failed:  map[string]Failure{"db schema": {Fingerprint: "v7", Reason: "hook exited 2: migration failed"}},
		Wanted:  map[string]string{"release": "v4"},
		Last:    Last{Kind: "deploy", Result: "rolled_back", At: at},
		Health:  "failing",
	}
	tags := s.Tags()
	for k, v := range tags {
		if !strings.HasPrefix(k, Prefix) {
			t.Errorf("tag %q lacks the prefix %q", k, Prefix)
		}
		if len(k) > MaxKeyLen || utf8.RuneCountInString(v) > MaxValueLen {
			t.Errorf("tag %q=%q over EC2's limits", k, v)
		}
	}
	if got, want := tags[KeyLast], "deploy rolled_back 2026-12-04T18:30:05Z"; got != want {
		t.Errorf("%s = %q, want %q (UTC)", KeyLast, got, want)
	}
	if got, want := tags[KeyFailed+RuleKey("db schema")], "v7 hook exited 2: migration failed"; got != want {
		t.Errorf("%s = %q, want %q", KeyFailed+RuleKey("db schema"), got, want)
	}
	got := Parse(tags)
	want := State{
		Applied: map[string]string{RuleKey("release"): "v3", RuleKey("web/config"): "sha256:0123456789abcdef"},
		Failed:  map[string]Failure{RuleKey("db schema"): {Fingerprint: "v7", Reason: "hook exited 2: migration failed"}},
		Wanted:  map[string]string{RuleKey("release"): "v4"},
		Last:    Last{Kind: "deploy", Result: "rolled_back", At: at.UTC()},
		Health:  "failing",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(Tags()) =\n%+v\nwant\n%+v", got, want)
	}
	if !got.Last.At.Equal(at) {
		t.Errorf("Last.At = %v, want %v", got.Last.At, at)
	}
	if _, ok := tags[KeyMore]; ok {
		t.Errorf("%s set on a state within budget", KeyMore)
	}
}

func TestTagsEmptyState(t *testing.T) {
	if tags := (State{}).Tags(); len(tags) != 0 {
		t.Errorf("State{}.Tags() = %v, want none", tags)
	}
	if got := Parse(nil); !reflect.DeepEqual(got, State{}) {
		t.Errorf("Parse(nil) = %+v, want the zero State", got)
	}
}

func TestRuleKey(t *testing.T) {
	long := strings.Repeat("r", 300)
	tests := []struct {
		name, want string
	}{
		{"release", "release"},
		{"web.config-v2_x+y=z,a:b@c", "web.config-v2_x+y=z,a:b@c"},
		{"web/config", "web_config+"},
		{"db schema", "db_schema+"},
		{"café", "caf_+"},
		{"日本", "__+"},
		{"a\tb\nc", "a_b_c+"},
		{"~x", "_x+"},
	}
	for _, tt := range tests {
		got := RuleKey(tt.name)
		if strings.HasSuffix(tt.want, "+") {
			// A replaced character adds + and 4 hex digits of the name's hash.
			if !strings.HasPrefix(got, tt.want) || len(got) != len(tt.want)+4 {
				t.Errorf("RuleKey(%q) = %q, want %q and 4 hex digits", tt.name, got, tt.want)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("RuleKey(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if RuleKey("web/config") == RuleKey("web_config") {
		t.Error("web/config and web_config share a key")
	}
	names := []string{
		long, long + "x", long[:200] + "/" + long[:99], strings.Repeat("é", 200), strings.Repeat("é", 201),
		strings.Repeat("a", 110), strings.Repeat("a", 111), strings.Repeat("a", 112),
	}
	seen := map[string]string{}
	for _, n := range names {
		k := RuleKey(n)
		for _, prefix := range []string{KeyApplied, KeyFailed, KeyWanted} {
			if len(prefix+k) > MaxKeyLen {
				t.Errorf("RuleKey(%d-byte name) = %q: key %d characters, more than %d", len(n), k, len(prefix+k), MaxKeyLen)
			}
		}
		if prev, ok := seen[k]; ok {
			t.Errorf("two long names share key %q: %.20q… and %.20q…", k, prev, n)
		}
		seen[k] = n
		if k != RuleKey(n) {
			t.Errorf("RuleKey not stable on %.20q…", n)
		}
	}
	if got := RuleKey(strings.Repeat("a", 110)); got != strings.Repeat("a", 110) {
		t.Errorf("a name that fits (110) was cut: %q", got)
	}
	if got := RuleKey(long); !strings.HasPrefix(got, strings.Repeat("r", 50)) || !strings.Contains(got, "+") {
		t.Errorf("RuleKey(long) = %q, want the name's start, + and a hash", got)
	}
}

func TestTagsValues(t *testing.T) {
	reason := "line one\nline two\ttabbed\x00nul " + strings.Repeat("ü", 400)
	s := State{
		Failed: map[string]Failure{"r": {Fingerprint: "v1", Reason: reason}},
		Health: "healthy\r\n",
	}
	tags := s.Tags()
	for k, v := range tags {
		if n := utf8.RuneCountInString(v); n > MaxValueLen {
			t.Errorf("%s: %d characters, more than %d", k, n, MaxValueLen)
		}
		if !utf8.ValidString(v) {
			t.Errorf("%s: not valid UTF-8 (cut inside a character?)", k)
		}
		for _, r := range v {
			if unicode.IsControl(r) {
				t.Errorf("%s = %q holds a control character", k, v)
				break
			}
		}
	}
	f := tags[KeyFailed+"r"]
	if !strings.HasSuffix(f, "…") || utf8.RuneCountInString(f) != MaxValueLen {
		t.Errorf("a long reason: %d characters ending %q, want %d ending with …", utf8.RuneCountInString(f), f[len(f)-8:], MaxValueLen)
	}
	if !strings.HasPrefix(f, "v1 line one line two tabbed nul ") {
		t.Errorf("failure tag = %.40q…, want the fingerprint then the reason, control characters as spaces", f)
	}
	if got := Parse(tags).Failed["r"].Fingerprint; got != "v1" {
		t.Errorf("fingerprint of a long failure = %q, want v1", got)
	}
	// Exactly MaxValueLen characters: kept whole.
	exact := strings.Repeat("é", MaxValueLen)
	if got := (State{Health: exact}).Tags()[KeyHealth]; got != exact {
		t.Errorf("a value of exactly %d characters was changed", MaxValueLen)
	}
}

func TestTagsBudget(t *testing.T) {
	s := State{
		Applied: map[string]string{},
		Failed:  map[string]Failure{},
		Wanted:  map[string]string{},
		Last:    Last{Kind: "deploy", Result: "ok", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		Health:  "healthy",
	}
	for i := range 30 {
		r := fmt.Sprintf("rule%02d", i)
		s.Applied[r] = "v1"
		s.Wanted[r] = "v2"
	}
	for _, i := range []int{29, 17, 3} {
		r := fmt.Sprintf("rule%02d", i)
		s.Failed[r] = Failure{Fingerprint: "v2", Reason: "broke"}
	}
	tags := s.Tags()
	if len(tags) > MaxTags {
		t.Fatalf("%d tags, more than %d", len(tags), MaxTags)
	}
	if len(tags) != MaxTags {
		t.Errorf("%d tags, want the budget (%d) used", len(tags), MaxTags)
	}
	for _, k := range []string{KeyLast, KeyHealth, KeyMore} {
		if _, ok := tags[k]; !ok {
			t.Errorf("%s missing from a state over budget", k)
		}
	}
	for _, r := range []string{"rule03", "rule17", "rule29"} {
		if tags[KeyFailed+r] != "v2 broke" {
			t.Errorf("failure of %s not published: %q", r, tags[KeyFailed+r])
		}
	}
	// 20 = last + health + more + 3 failures + 14 applied (rule00 … rule13), no wanted.
	for i := range 30 {
		k := KeyApplied + fmt.Sprintf("rule%02d", i)
		if _, ok := tags[k]; ok != (i < 14) {
			t.Errorf("%s published: %v, want %v", k, ok, i < 14)
		}
		if _, ok := tags[KeyWanted+fmt.Sprintf("rule%02d", i)]; ok {
			t.Errorf("wanted value of rule%02d published before the applied values", i)
		}
	}
	if more := tags[KeyMore]; !strings.HasPrefix(more, "46 ") {
		t.Errorf("%s = %q, want 46 values not published (63 - 3 failures - 14 applied)", KeyMore, more)
	}
	got := Parse(tags)
	if len(got.Failed) != 3 || len(got.Applied) != 14 || got.Health != "healthy" || got.Last.Kind != "deploy" {
		t.Errorf("Parse: %d failed, %d applied, health %q, last %+v", len(got.Failed), len(got.Applied), got.Health, got.Last)
	}

	// Without Last and Health, the room is theirs.
	s.Last, s.Health = Last{}, ""
	tags = s.Tags()
	if len(tags) != MaxTags || len(Parse(tags).Applied) != 16 {
		t.Errorf("without last and health: %d tags, %d applied; want %d, 16", len(tags), len(Parse(tags).Applied), MaxTags)
	}
}

func TestTagsBudgetExactlyFull(t *testing.T) {
	s := State{Applied: map[string]string{}, Health: "healthy", Last: Last{Kind: "setup", Result: "ok", At: time.Unix(0, 0)}}
	for i := range MaxTags - 2 {
		s.Applied[fmt.Sprintf("r%02d", i)] = "v1"
	}
	tags := s.Tags()
	if _, ok := tags[KeyMore]; ok || len(tags) != MaxTags {
		t.Errorf("%d values that fit exactly: %d tags, %s = %q; want %d and no %s", MaxTags-2, len(tags), KeyMore, tags[KeyMore], MaxTags, KeyMore)
	}
}

func TestParseIgnores(t *testing.T) {
	tags := map[string]string{
		"Name":                      "web-1",
		"aws:autoscaling:groupName": "web",
		"stackhand":                 "x",
		Prefix + "unknown":          "x",
		KeyHold:                     "held",
		KeyMore:                     "3 values not published",
		KeyApplied:                  "v1", // no rule
		KeyWanted:                   "v1",
		KeyFailed:                   "v1 why",
		KeyFailed + "empty":         "",
		KeyFailed + "nofp":          " reason only",
		KeyFailed + "ok":            "v2",
		KeyApplied + "r":            "v3",
		KeyLast:                     "deploy ok yesterday",
	}
	got := Parse(tags)
	want := State{
		Applied: map[string]string{"r": "v3"},
		Failed:  map[string]Failure{"ok": {Fingerprint: "v2"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %+v, want %+v", got, want)
	}
	for _, last := range []string{"", "deploy", "deploy ok", "deploy ok 2026-01-02T03:04:05Z extra", "deploy ok 2026-13-02T03:04:05Z"} {
		if got := Parse(map[string]string{KeyLast: last}); !reflect.DeepEqual(got.Last, Last{}) {
			t.Errorf("Parse(%s=%q).Last = %+v, want zero", KeyLast, last, got.Last)
		}
	}
}

// FuzzParse: Parse never panics on tags of any shape, and a state's failures survive
// Tags then Parse while they fit in the budget.
func FuzzParse(f *testing.F) {
	f.Add("deploy ok 2026-01-02T03:04:05Z", "release", "v3", "hook failed\nexit 2", uint8(3))
	f.Add("", "web/config", `{"a":1}`, "", uint8(0))
	f.Add("x y z", "日本語 rule", "\x00\xff", "…", uint8(40))
	f.Fuzz(func(t *testing.T, last, rule, value, reason string, n uint8) {
		// Arbitrary maps: every key shape Parse distinguishes, with arbitrary values.
		tags := map[string]string{KeyLast: last, KeyHealth: value, rule: reason}
		for _, p := range []string{KeyApplied, KeyFailed, KeyWanted, Prefix, ""} {
			tags[p+rule] = value
			tags[p+reason] = last
			tags[p] = reason
		}
		_ = Parse(tags)

		// A state built from the input: int(n)%25 rules, some failed.
		s := State{Applied: map[string]string{}, Failed: map[string]Failure{}, Health: value}
		if t0, err := time.Parse(time.RFC3339, last); err == nil {
			s.Last = Last{Kind: "deploy", Result: "ok", At: t0}
		}
		rules := int(n) % 25
		failed := 0
		for i := range rules {
			name := fmt.Sprintf("%s-%d", rule, i)
			fp := Fingerprint([]byte(fmt.Sprintf("%q", value+name)))
			if i%2 == 0 {
				s.Failed[name] = Failure{Fingerprint: fp, Reason: reason}
				failed++
			} else {
				s.Applied[name] = fp
			}
		}
		out := s.Tags()
		if len(out) > MaxTags {
			t.Fatalf("%d tags, more than %d", len(out), MaxTags)
		}
		for k, v := range out {
			if len(k) > MaxKeyLen || utf8.RuneCountInString(v) > MaxValueLen {
				t.Fatalf("tag %q=%q over EC2's limits", k, v)
			}
		}
		got := Parse(out)
		if failed > MaxTags-3 {
			return
		}
		for name, fl := range s.Failed {
			// Distinct names may share a key (a/b and a_b): the key then holds one of them.
			pf, ok := got.Failed[RuleKey(name)]
			if !ok {
				t.Fatalf("failure of %q (key %q) lost: %v", name, RuleKey(name), out)
			}
			if pf.Fingerprint != fl.Fingerprint {
				match := false
				for other, ofl := range s.Failed {
					if RuleKey(other) == RuleKey(name) && ofl.Fingerprint == pf.Fingerprint {
						match = true
					}
				}
				if !match {
					t.Fatalf("failure of %q: fingerprint %q, want %q", name, pf.Fingerprint, fl.Fingerprint)
				}
			}
		}
	})
}

// Every key Tags writes is one instance metadata can show: letters, digits and
// + - = . , _ : @ only (EC2 user guide, "Work with instance tags in instance metadata").
func TestTagKeysFitInstanceMetadata(t *testing.T) {
	s := State{Applied: map[string]string{"ssm:/web/release": "v1", "AWS::CloudFormation::Init.config": "sha256:0011", "db schema~x": "v2",
		strings.Repeat("r/", 90): "v3"}, Failed: map[string]Failure{"web/config": {Fingerprint: "v1", Reason: "no"}}, Health: "healthy"}
	for k := range s.Tags() {
		for _, r := range k {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+-=.,_:@", r)) {
				t.Errorf("key %q has %q, which instance metadata does not allow in a tag key", k, r)
			}
		}
	}
}
