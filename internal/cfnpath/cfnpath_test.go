package cfnpath

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Path
		wantErr string
	}{
		{in: "Resources.WebServer", want: Path{LogicalID: "WebServer", Field: LastUpdated}},
		{in: "Resources.WebServer.Metadata", want: Path{LogicalID: "WebServer", Field: Metadata}},
		{in: "Resources.LC.Metadata.AWS::CloudFormation::Init.config",
			want: Path{LogicalID: "LC", Field: Metadata, Sub: []string{"AWS::CloudFormation::Init", "config"}}},
		{in: "Resources.LC.Metadata.release", want: Path{LogicalID: "LC", Field: Metadata, Sub: []string{"release"}}},
		{in: `Resources.LC.Metadata.a\.b.c`, want: Path{LogicalID: "LC", Field: Metadata, Sub: []string{"a.b", "c"}}},
		{in: "Resources.Db.PhysicalResourceId", want: Path{LogicalID: "Db", Field: PhysicalResourceID}},
		// cfn-hup compares these parts without regard to case.
		{in: "resources.Db.physicalresourceid", want: Path{LogicalID: "Db", Field: PhysicalResourceID}},
		{in: "RESOURCES.Db.METADATA.x", want: Path{LogicalID: "Db", Field: Metadata, Sub: []string{"x"}}},

		{in: "", wantErr: "empty path"},
		{in: "Resources", wantErr: "names no resource"},
		{in: "Resources.", wantErr: "empty logical id"},
		{in: "Parameters.X", wantErr: "does not start with Resources."},
		{in: "WebServer.Metadata", wantErr: "does not start with Resources."},
		{in: "Resources.Web-Server", wantErr: "letters and digits only"},
		{in: "Resources.X.Properties", wantErr: `"Properties" after the logical id is neither Metadata nor PhysicalResourceId`},
		{in: "Resources.X.", wantErr: "empty part after X"},
		{in: "Resources.X.Metadata.", wantErr: "empty metadata path"},
		{in: "Resources.X.Metadata.a..b", wantErr: "empty key (part 2)"},
		{in: "Resources.X.Metadata..a", wantErr: "empty key (part 1)"},
		{in: "Resources.X.PhysicalResourceId.x", wantErr: "goes on after PhysicalResourceId"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			tt.want.Raw = tt.in
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestPathString(t *testing.T) {
	for in, want := range map[string]string{
		"resources.X":                                    "Resources.X",
		"Resources.X.metadata":                           "Resources.X.Metadata",
		`Resources.X.Metadata.a\.b.c`:                    `Resources.X.Metadata.a\.b.c`,
		"Resources.X.physicalResourceId":                 "Resources.X.PhysicalResourceId",
		"Resources.X.Metadata.AWS::CloudFormation::Init": "Resources.X.Metadata.AWS::CloudFormation::Init",
	} {
		p, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.String(); got != want {
			t.Errorf("Parse(%q).String() = %q, want %q", in, got, want)
		}
	}
}

func TestFieldNames(t *testing.T) {
	for f, want := range map[Field][2]string{
		Metadata:           {"Metadata", "METADATA"},
		PhysicalResourceID: {"PhysicalResourceId", "PHYSICAL_RESOURCE_ID"},
		LastUpdated:        {"LastUpdatedTimestamp", "LAST_UPDATED"},
	} {
		if f.String() != want[0] || f.EnvSuffix() != want[1] {
			t.Errorf("%d: got %s %s, want %v", f, f.String(), f.EnvSuffix(), want)
		}
	}
}

func TestLookup(t *testing.T) {
	const md = `{
	  "release": "v42",
	  "count": 0,
	  "big": 12345678901234567890.50,
	  "flag": false,
	  "empty": "",
	  "nothing": null,
	  "list": [3, 1],
	  "a.b": {"c": 1},
	  "AWS::CloudFormation::Init": {
	    "config": {"packages": {}, "files": {"/etc/x": {"content": "<b>&", "mode": "000644"}}},
	    "configSets": {"default": ["config"]}
	  }
	}`
	tests := []struct {
		name, sub string // sub "" means the whole Metadata
		metadata  string
		want      string // "" means absent
		wantErr   string
	}{
		{name: "string", sub: "release", want: `"v42"`},
		{name: "zero is a value", sub: "count", want: `0`},
		{name: "number kept as written", sub: "big", want: `12345678901234567890.50`},
		{name: "false is a value", sub: "flag", want: `false`},
		{name: "empty string is absent", sub: "empty"},
		{name: "null is absent", sub: "nothing"},
		{name: "missing key", sub: "nope"},
		{name: "missing deeper key", sub: "AWS::CloudFormation::Init.config.commands"},
		{name: "through null", sub: "nothing.x"},
		{name: "escaped dot", sub: `a\.b.c`, want: `1`},
		{name: "object sorted, no html escaping", sub: "AWS::CloudFormation::Init.config",
			want: `{"files":{"/etc/x":{"content":"<b>&","mode":"000644"}},"packages":{}}`},
		{name: "array", sub: "list", want: `[3,1]`},
		{name: "through a string", sub: "release.version",
			wantErr: "Metadata.release is a string, not an object; path release.version cannot go through it"},
		{name: "through an array", sub: "list.0", wantErr: "Metadata.list is an array, not an object"},
		{name: "through a number", sub: "count.x.y", wantErr: "Metadata.count is a number, not an object; path count.x.y"},
		{name: "metadata itself an array", metadata: `[1]`, sub: "x", wantErr: "Metadata is an array, not an object"},
		{name: "whole metadata", metadata: `{"b": 1, "a": [true, null]}`, want: `{"a":[true,null],"b":1}`},
		{name: "empty metadata", metadata: " \n"},
		{name: "null metadata", metadata: "null", sub: "x"},
		{name: "bad json", metadata: `{"a": 1,, }`, wantErr: "at byte offset 9"},
		{name: "truncated json", metadata: `{"a": `, wantErr: "at byte offset 6: unexpected end of input"},
		{name: "trailing data", metadata: `{"a": 1} {}`, wantErr: "more data after the JSON value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.metadata
			if m == "" && !strings.HasPrefix(tt.name, "empty") {
				m = md
			}
			var sub []string
			if tt.sub != "" {
				var err error
				if sub, err = ParseSub(tt.sub); err != nil {
					t.Fatal(err)
				}
			}
			got, present, err := Lookup([]byte(m), sub)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if present != (tt.want != "") || string(got) != tt.want {
				t.Fatalf("Lookup = %q, %v; want %q, %v", got, present, tt.want, tt.want != "")
			}
		})
	}
}

func TestLookupEqualValuesEqualBytes(t *testing.T) {
	a, _, err := Lookup([]byte(`{"x": {"b": [1, {"d": 2, "c": 3}], "a": "s"}}`), []string{"x"})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Lookup([]byte(`{"x":{"a":"s","b":[1,{"c":3,"d":2}]}}`), []string{"x"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("%s != %s", a, b)
	}
}

func TestCfnHupEmpty(t *testing.T) {
	for in, want := range map[string]bool{
		"": true, "null": true, "false": true, "0": true, "0.0": true, "-0e3": true, `""`: true, "[]": true, "{}": true,
		"true": false, "1": false, `"0"`: false, "[0]": false, `{"a":null}`: false, `" "`: false,
	} {
		if got := CfnHupEmpty([]byte(in)); got != want {
			t.Errorf("CfnHupEmpty(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Resources.X", "Resources.X.Metadata", "Resources.LC.Metadata.AWS::CloudFormation::Init.config",
		"Resources.X.PhysicalResourceId", `Resources.X.Metadata.a\.b\\.c\`, "resources..", "Resources.X.Metadata..",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(p.String())
		if err != nil {
			t.Fatalf("Parse(%q) ok but its String %q does not parse: %v", s, p.String(), err)
		}
		again.Raw = p.Raw
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("Parse(%q) = %#v, but Parse(String()) = %#v", s, p, again)
		}
	})
}

func FuzzLookup(f *testing.F) {
	f.Add([]byte(`{"a":{"b":[1,2]},"c":"x"}`), "a.b")
	f.Add([]byte(`{"a":1.50e3}`), "a")
	f.Add([]byte(`{"a":"\u003c\ud800"}`), "a")
	f.Add([]byte(`null`), "a")
	f.Add([]byte(`{"a":`), "a")
	f.Fuzz(func(t *testing.T, metadata []byte, sub string) {
		keys, err := ParseSub(sub)
		if err != nil {
			keys = nil
		}
		v, present, err := Lookup(metadata, keys)
		if err != nil || !present {
			return
		}
		again, present, err := Lookup(v, nil)
		if err != nil || !present {
			t.Fatalf("value %q does not look up as itself: %v, %v", v, present, err)
		}
		if !bytes.Equal(again, v) {
			t.Fatalf("canonical form not stable: %q then %q", v, again)
		}
	})
}
