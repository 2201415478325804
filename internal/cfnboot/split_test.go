package cfnboot

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSplitCommandLine(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"/opt/aws/bin/cfn-init -v --stack app --resource Web --region us-east-1",
			[]string{"/opt/aws/bin/cfn-init", "-v", "--stack", "app", "--resource", "Web", "--region", "us-east-1"}},
		{"  cfn-init\t-s  app  ", []string{"cfn-init", "-s", "app"}},
		{`cfn-init -c 'a,b' -s "my stack"`, []string{"cfn-init", "-c", "a,b", "-s", "my stack"}},
		{`a 'it''s' "x\"y" "\\" "\q"`, []string{"a", "its", `x"y`, `\`, `\q`}},
		{`a 'no $expansion; | here' "semi;colon|pipe"`, []string{"a", "no $expansion; | here", "semi;colon|pipe"}},
		{`a b\ c d\\e \$HOME`, []string{"a", "b c", `d\e`, "$HOME"}},
		{"a \\\nb", []string{"a", "b"}},
		{`a "" ''`, []string{"a", "", ""}},
		{`a=b`, nil}, // replaced below: an assignment needs a shell
		{"a b#c x~y", []string{"a", "b#c", "x~y"}},
		{"", nil},
	}
	for _, tc := range tests {
		if tc.line == "a=b" {
			continue
		}
		got, err := SplitCommandLine(tc.line)
		if err != nil {
			t.Errorf("SplitCommandLine(%q): %v", tc.line, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitCommandLine(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestSplitCommandLineNeedsShell(t *testing.T) {
	for _, line := range []string{
		"cfn-init -s a -r b; echo done",
		"cfn-init -s a -r b && cfn-signal -e $? x",
		"cfn-init -s a -r b || true",
		"cfn-init -s a -r b | tee log",
		"cfn-init -s a -r b > /tmp/log",
		"cfn-init -s a -r b 2>&1",
		"cfn-init < in",
		"cfn-init -s $STACK",
		"cfn-init -s ${STACK}",
		"cfn-init -s $(cat /etc/stack)",
		"cfn-init -s `cat /etc/stack`",
		`cfn-init -s "$STACK"`,
		"cfn-init -s app &",
		"(cfn-init)",
		"cfn-init\ncfn-signal",
		"cfn-init -f /etc/*.creds",
		"cfn-init -f ~/creds",
		"cfn-init # comment",
		"AWS_REGION=x cfn-init -s a -r b",
	} {
		_, err := SplitCommandLine(line)
		if !errors.Is(err, ErrNeedsShell) {
			t.Errorf("SplitCommandLine(%q): err %v, want ErrNeedsShell", line, err)
		}
	}
	for _, line := range []string{`cfn-init 'open`, `cfn-init "open`} {
		_, err := SplitCommandLine(line)
		if err == nil || errors.Is(err, ErrNeedsShell) || !strings.Contains(err.Error(), "unterminated") {
			t.Errorf("SplitCommandLine(%q): err %v, want an unterminated quote error a shell would give too", line, err)
		}
	}
}

func FuzzSplitCommandLine(f *testing.F) {
	for _, s := range []string{"cfn-init -v -s 'a b' \"c\\\"d\"", "a\\", "x;y", `"$a"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words, err := SplitCommandLine(line)
		if err != nil {
			return
		}
		// What splits without a shell has no word the shell would have changed: joining
		// the words back, each single-quoted, splits to the same words.
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+strings.ReplaceAll(w, "'", `'\''`)+"'")
		}
		again, err := SplitCommandLine(strings.Join(quoted, " "))
		if err != nil || !reflect.DeepEqual(again, words) && !(len(again) == 0 && len(words) == 0) {
			t.Fatalf("%q -> %q -> %q (%v)", line, words, again, err)
		}
	})
}
