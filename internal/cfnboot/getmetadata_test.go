package cfnboot

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

const webMeta = `{"zeta": 1, "AWS::CloudFormation::Init": {"config": {"files": {"/etc/app.conf": {"content": "v1"}}}},
 "app": {"release": "v7", "ports": [80, 443], "dotted.key": {"x": true}}, "alpha": "first"}`

func TestGetMetadata(t *testing.T) {
	srv := awsfake.Start(t)
	srv.PutResource("app", awsfake.Resource{LogicalID: "Web", Metadata: webMeta})
	srv.PutResource("app", awsfake.Resource{LogicalID: "Bare"})
	tests := []struct {
		name, key string
		want      string
	}{
		{"whole, indented by 4, in the document's order", "", `{
    "zeta": 1,
    "AWS::CloudFormation::Init": {
        "config": {
            "files": {
                "/etc/app.conf": {
                    "content": "v1"
                }
            }
        }
    },
    "app": {
        "release": "v7",
        "ports": [
            80,
            443
        ],
        "dotted.key": {
            "x": true
        }
    },
    "alpha": "first"
}
`},
		{"a string as is", "app.release", "v7\n"},
		{"a key holding ::", "AWS::CloudFormation::Init.config.files./etc/app\\.conf.content", "v1\n"},
		{"an escaped dot", `app.dotted\.key`, "{\n    \"x\": true\n}\n"},
		{"a list", "app.ports", "[\n    80,\n    443\n]\n"},
		{"a number", "zeta", "1\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, out, _ := testEnv(t)
			args := append([]string{"-s", "app", "-r", "Web"}, awsArgs(srv.URL)...)
			if tc.key != "" {
				args = append(args, "-k", tc.key)
			}
			opts, err := ParseGetMetadataArgs(args)
			if err != nil {
				t.Fatal(err)
			}
			if err := GetMetadata(testCtx(t), opts, env); err != nil {
				t.Fatalf("GetMetadata: %v", err)
			}
			if out.String() != tc.want {
				t.Errorf("printed\n%s\nwant\n%s", out.String(), tc.want)
			}
		})
	}
	errs := []struct{ res, key, want string }{
		{"Web", "app.nothing", "app.nothing is not present in the metadata for Web"},
		{"Web", "alpha.x", "alpha.x is not present in the metadata for Web: alpha is not an object"},
		{"Bare", "", "resource Bare of stack app has no Metadata"},
		{"Nope", "", "stack app or its resource Nope does not exist"},
	}
	for _, tc := range errs {
		env, out, _ := testEnv(t)
		args := append([]string{"-s", "app", "-r", tc.res}, awsArgs(srv.URL)...)
		if tc.key != "" {
			args = append(args, "-k", tc.key)
		}
		opts, _ := ParseGetMetadataArgs(args)
		err := GetMetadata(testCtx(t), opts, env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s -k %q: err %v, want %q", tc.res, tc.key, err, tc.want)
		}
		if out.Len() != 0 {
			t.Errorf("%s -k %q: printed %q on an error", tc.res, tc.key, out)
		}
	}
}

func TestSplitKey(t *testing.T) {
	for key, want := range map[string]string{
		"a.b.c":       "a|b|c",
		`a\.b.c`:      "a.b|c",
		"single":      "single",
		`trailing\`:   `trailing\`,
		`x\y.z`:       `x\y|z`,
		"a..b":        "a||b",
		`f./etc/x\.y`: "f|/etc/x.y",
	} {
		if got := strings.Join(splitKey(key), "|"); got != want {
			t.Errorf("splitKey(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestPrintMetadataNotJSON(t *testing.T) {
	var b bytes.Buffer
	if err := printMetadata(&b, []byte(`{"a":`), "", "Web"); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("err %v", err)
	}
}
