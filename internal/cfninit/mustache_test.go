package cfninit

import (
	"encoding/json"
	"strings"
	"testing"
)

// mustacheData is the context of TestRenderLikePystache, as a template's `context`
// would carry it (JSON numbers kept as written).
const mustacheData = `{"name": "web", "html": "<a href='x'>&\"</a>", "t": true, "f": false, "n": null, "one": 1, "zero": 0, "fl": 1.0, "big": 1e+16, "small": 1.5e-05, "neg0": -0.0, "list": ["a", "b"], "objs": [{"k": "x"}, {"k": "y"}], "empty": [], "eobj": {}, "obj": {"k": "v", "inner": {"deep": "d"}}, "s": "", "str0": "0", "mixed": [1, "a", null, true], "port": 8080}`

func decodeContext(t testing.TB, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRenderLikePystache: each want is what pystache 0.6 (the Python 3 pystache that
// cfn-init renders with) printed for the same template and context.
func TestRenderLikePystache(t *testing.T) {
	data := decodeContext(t, mustacheData)
	for _, c := range []struct{ tmpl, want string }{
		{"plain text, no tags", "plain text, no tags"},
		{"Hello {{name}}!", "Hello web!"},
		{"{{html}}|{{{html}}}|{{&html}}|{{& html }}|{{ name }}", "&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;&lt;/a&gt;|<a href='x'>&\"</a>|<a href='x'>&\"</a>|<a href='x'>&\"</a>|web"},
		{"{{t}} {{f}} {{n}} {{one}} {{zero}} {{fl}} {{big}} {{small}} {{neg0}} {{port}}", "True False None 1 0 1.0 1e+16 1.5e-05 -0.0 8080"},
		{"{{list}} {{mixed}} {{obj.inner}}", "[&#x27;a&#x27;, &#x27;b&#x27;] [1, &#x27;a&#x27;, None, True] {&#x27;deep&#x27;: &#x27;d&#x27;}"},
		{"{{missing}}|{{obj.k}}|{{obj.inner.deep}}|{{obj.nope}}|{{name.x}}", "|v|d||"},
		{"{{#list}}[{{.}}]{{/list}}", "[a][b]"},
		{"{{#objs}}{{k}}-{{name}};{{/objs}}", "x-web;y-web;"},
		{"{{#obj}}{{k}}{{/obj}}", "v"},
		{"{{#t}}yes{{/t}}{{#f}}no{{/f}}{{^f}}notf{{/f}}{{^t}}nott{{/t}}", "yesnotf"},
		{"{{#empty}}E{{/empty}}{{^empty}}noE{{/empty}}{{#eobj}}O{{/eobj}}{{^eobj}}noO{{/eobj}}", "noEnoO"},
		{"{{#zero}}Z{{/zero}}{{^zero}}noZ{{/zero}}{{#str0}}S0{{/str0}}{{#s}}S{{/s}}{{^s}}noS{{/s}}{{#n}}N{{/n}}{{^missing}}noM{{/missing}}", "noZS0noSnoM"},
		{"{{#name}}[{{.}}]{{/name}}", "[web]"},
		{"a {{! a comment }} b", "a  b"},
		{"line1\n{{! standalone comment }}\nline2\n", "line1\nline2\n"},
		{"begin\n  {{#list}}\n  - {{.}}\n  {{/list}}\nend\n", "begin\n  - a\n  - b\nend\n"},
		{"begin\r\n{{#t}}\r\nT\r\n{{/t}}\r\nend", "begin\r\nT\r\nend"},
		{"x {{#t}}\ny{{/t}} z", "x \ny z"},
		{"{{#t}}  \nnot standalone with trailing spaces\n{{/t}}\n", "  \nnot standalone with trailing spaces\n"},
		{"{{=<% %>=}}<% name %> {{name}} <%={{ }}=%>{{name}}", "web {{name}} web"},
		{"\t{{=| |=}}\n|name|\n", "web\n"},
		{"{{ name}}{{name }}{{#  t  }}x{{/t}}", "webwebx"},
		{"{{#objs}}{{#list}}{{k}}{{.}},{{/list}}{{/objs}}", "xa,xb,ya,yb,"},
		{"{{#obj}}{{inner.deep}}{{/obj}}", "d"},
		{"port={{port}} {{{ port }}}", "port=8080 8080"},
		{"  {{name}}  \n", "  web  \n"},
		{"{{#list}}{{/list}}", ""},
		{"{{! multi\nline\ncomment }}after", "after"},
		{"no close {", "no close {"},
		{"single } braces { here", "single } braces { here"},
	} {
		got, err := Render(c.tmpl, data)
		if err != nil {
			t.Errorf("Render(%q): %v", c.tmpl, err)
			continue
		}
		if got != c.want {
			t.Errorf("Render(%q)\n got %q\nwant %q", c.tmpl, got, c.want)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	for _, c := range []struct{ tmpl, want string }{
		{"abc {{name", "the tag {{ at offset 4 is not closed"},
		{"{{{name}}", "the tag {{{ at offset 0 is not closed"},
		{"x{{#a}}y", "the section {{#a}} opened at offset 1 is not closed"},
		{"{{#a}}{{/b}}", "the closing tag {{/b}} at offset 6 does not match the section {{#a}} opened at offset 0"},
		{"{{/a}}", "the closing tag {{/a}} at offset 0 closes no section"},
		{"{{> part}}", "the partial {{>part}} at offset 0 is not supported"},
		{"{{}}", "empty tag {{}} at offset 0"},
		{"{{=<% %>}}", "the delimiter tag at offset 0 does not end with ="},
		{"{{=<%=}}", "wants two delimiters"},
		{"{{=<% %>=}}<% a", "the tag <% at offset 11 is not closed (want %>)"},
	} {
		_, err := Render(c.tmpl, map[string]any{"a": true})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Render(%q) = %v, want an error with %q", c.tmpl, err, c.want)
		}
	}
}

// TestRenderGoValues: callers other than Parse may hand plain Go values.
func TestRenderGoValues(t *testing.T) {
	got, err := Render("{{i}} {{f}} {{#l}}{{.}};{{/l}} {{m.k}} {{#z}}no{{/z}}", map[string]any{
		"i": 42, "f": 2.5, "l": []string{"a", "b"}, "m": map[string]string{"k": "v"}, "z": 0,
	})
	if want := "42 2.5 a;b; v "; err != nil || got != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
}

func TestRenderOutputBounded(t *testing.T) {
	l := make([]any, 64)
	for i := range l {
		l[i] = i
	}
	tmpl := strings.Repeat("{{#l}}", 6) + strings.Repeat("x", 64) + strings.Repeat("{{/l}}", 6)
	if _, err := Render(tmpl, map[string]any{"l": l}); err == nil || !strings.Contains(err.Error(), "MiB") {
		t.Fatalf("err = %v, want the output bound", err)
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range []string{"Hello {{name}}", "{{#l}}{{.}}{{/l}}", "{{=<% %>=}}<%name%>", "{{{html}}}{{&html}}",
		"  {{#t}}\n{{/t}}\n", "{{^n}}x{{/n}}", "{{! c }}", "{{a.b.c}}", "plain", "{{#l}}{{#l}}{{/l}}{{/l}}"} {
		f.Add(s)
	}
	data := decodeContext(f, `{"name":"web","html":"<&>","l":[1,"a",null],"t":true,"n":null,"a":{"b":{"c":1.5}}}`)
	f.Fuzz(func(t *testing.T, tmpl string) {
		out, err := Render(tmpl, data)
		if !strings.Contains(tmpl, "{{") && (err != nil || out != tmpl) {
			t.Fatalf("a template without tags must render as itself: %q -> %q, %v", tmpl, out, err)
		}
	})
}

// TestRenderLikePystacheMore: nesting, standalone lines with tabs and CRLF, delimiter
// changes around sections; each want is again pystache 0.6's output.
func TestRenderLikePystacheMore(t *testing.T) {
	data := decodeContext(t, `{"a": {"a": {"x": 1}}, "l": [{"n": 1}, {"n": 0}], "name": "w", "t": true, "e": [], "deep": {"list": [1, 2]}, "u": "\u00e9<", "big": 123456789012345678901234567890, "f0": 0.0}`)
	for _, c := range []struct{ tmpl, want string }{
		{"{{#a}}{{#a}}{{x}}{{/a}}{{/a}}", "1"},
		{"{{#l}}\n\t{{#n}}\n  yes\n\t{{/n}}\n{{/l}}", "  yes\n"},
		{"{{#l}}{{n}}{{^n}}zero{{/n}}|{{/l}}", "1|0zero|"},
		{"{{{ name }}} {{ { name } }}|{{# t }}T{{/ t }}", "w w|T"},
		{"{{#deep.list}}<{{.}}>{{/deep.list}}", "<1><2>"},
		{"{{#a}}{{a.x}}|{{x}}{{/a}}", "1|"},
		{"{{u}} {{{u}}}", "\u00e9&lt; \u00e9<"},
		{"{{big}} {{f0}} {{#f0}}yes{{/f0}}", "123456789012345678901234567890 0.0 "},
		{"a\n{{#t}}\nb\n{{/t}}", "a\nb\n"},
		{"a\n  {{!c}}  \nb", "a\n    \nb"},
		{" {{=<% %>=}} \nx", "  \nx"},
		{"<%x%>{{=<% %>=}}\n<%#t%>\n<%name%>\n<%/t%>\n", "<%x%>\nw\n"},
		{"\r\n{{#t}}\r\n\r\n{{/t}}\r\n", "\r\n\r\n"},
		{"{{#e}}{{/e}}{{^e}}empty\n{{/e}}", "empty\n"},
		{"{{^name}}no{{/name}}{{^big}}no{{/big}}", ""},
	} {
		got, err := Render(c.tmpl, data)
		if err != nil || got != c.want {
			t.Errorf("Render(%q) = %q, %v; want %q", c.tmpl, got, err, c.want)
		}
	}
}
