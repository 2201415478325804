package packaging_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/stackhand/stackhand/internal/config"
)

// The default config the packages install is valid as it is, in aws mode.
func TestDefaultConfigIsValid(t *testing.T) {
	cfg, err := config.Load("stackhand.yaml")
	if err != nil {
		t.Fatalf("packaging/stackhand.yaml: %v", err)
	}
	if cfg.Mode != config.ModeAWS {
		t.Errorf("mode = %q, want %q (the product's default)", cfg.Mode, config.ModeAWS)
	}
	if len(cfg.Watch) != 0 {
		t.Errorf("the default config has %d watch rules; its examples must stay commented out", len(cfg.Watch))
	}
}

// node returns the value of key in the mapping m, or nil.
func node(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// path follows keys from n.
func path(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		n = node(n, k)
	}
	return n
}

// pseudo are CloudFormation's pseudo parameters a !Sub or !Ref may name.
var pseudo = map[string]bool{"AWS::StackName": true, "AWS::StackId": true, "AWS::Region": true, "AWS::AccountId": true, "AWS::Partition": true, "AWS::URLSuffix": true}

// TestCloudFormationExample parses packaging/examples/cloudformation.yaml (short-form
// tags such as !Sub kept as tags on yaml.Node), checks that every reference names a
// parameter or resource, and that the files its metadata carries are what stackhand
// reads: a valid stackhand.yaml, hooks, and a cfn-hup configuration stackhand loads.
func TestCloudFormationExample(t *testing.T) {
	data, err := os.ReadFile("examples/cloudformation.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("cloudformation.yaml is not YAML: %v", err)
	}
	root := doc.Content[0]
	names := map[string]bool{}
	for k, v := range pseudo {
		names[k] = v
	}
	for _, section := range []string{"Parameters", "Resources"} {
		s := node(root, section)
		if s == nil {
			t.Fatalf("no %s", section)
		}
		for i := 0; i < len(s.Content); i += 2 {
			names[s.Content[i].Value] = true
		}
	}
	for name, typ := range map[string]string{"Group": "AWS::AutoScaling::AutoScalingGroup", "LaunchTemplate": "AWS::EC2::LaunchTemplate", "InstanceProfile": "AWS::IAM::InstanceProfile"} {
		if got := path(root, "Resources", name, "Type"); got == nil || got.Value != typ {
			t.Errorf("Resources.%s.Type = %v, want %s", name, got, typ)
		}
	}

	// Every !Ref, !GetAtt and ${Name} in a !Sub names something that exists.
	subVar := regexp.MustCompile(`\$\{([^}!]+)\}`)
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Tag {
		case "!Ref":
			if !names[n.Value] {
				t.Errorf("line %d: !Ref %s names no parameter or resource", n.Line, n.Value)
			}
		case "!GetAtt":
			if r := strings.SplitN(n.Value, ".", 2)[0]; !names[r] {
				t.Errorf("line %d: !GetAtt %s names no resource", n.Line, n.Value)
			}
		case "!Sub":
			for _, m := range subVar.FindAllStringSubmatch(n.Value, -1) {
				if r := strings.SplitN(m[1], ".", 2)[0]; !names[r] {
					t.Errorf("line %d: !Sub ${%s} names no parameter or resource", n.Line, m[1])
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)

	files := path(root, "Resources", "LaunchTemplate", "Metadata", "AWS::CloudFormation::Init", "config", "files")
	if files == nil {
		t.Fatal("no AWS::CloudFormation::Init config files in the launch template's Metadata")
	}
	// The files as cfn-init would write them, with the pseudo parameters of a stack "web".
	expand := strings.NewReplacer("${AWS::StackName}", "web", "${AWS::Region}", "eu-west-1",
		"${AWS::StackId}", "arn:aws:cloudformation:eu-west-1:123456789012:stack/web/0a1b2c3d")
	dir := t.TempDir()
	written := map[string]string{}
	for i := 0; i+1 < len(files.Content); i += 2 {
		name, f := files.Content[i].Value, files.Content[i+1]
		content := node(f, "content")
		if content == nil {
			t.Errorf("%s: no content", name)
			continue
		}
		text := expand.Replace(content.Value)
		written[name] = text
		if strings.Contains(name, "/hooks.d/") && strings.HasPrefix(name, "/etc/stackhand/") {
			if !strings.HasPrefix(text, "#!") {
				t.Errorf("%s: a hook must start with #!", name)
			}
			if m := node(f, "mode"); m == nil || m.Value != "000755" {
				t.Errorf("%s: mode %v, want 000755 (root-owned, not group/other-writable)", name, m)
			}
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"/etc/stackhand/stackhand.yaml", "/etc/stackhand/hooks.d/deploy/10-release",
		"/etc/cfn/cfn-hup.conf", "/etc/cfn/hooks.d/cfn-auto-reloader.conf"} {
		if _, ok := written[want]; !ok {
			t.Errorf("the metadata carries no %s", want)
		}
	}
	cfg, err := config.Parse([]byte(written["/etc/stackhand/stackhand.yaml"]), filepath.Join(dir, "etc/stackhand/stackhand.yaml"))
	if err != nil {
		t.Fatalf("the template's stackhand.yaml: %v", err)
	}
	if cfg.Resource != "LaunchTemplate" || len(cfg.Watch) != 1 || cfg.Watch[0].Metadata != "release" {
		t.Errorf("the template's stackhand.yaml: resource %q, watch %+v; want LaunchTemplate watching metadata release", cfg.Resource, cfg.Watch)
	}
	if path(root, "Resources", "LaunchTemplate", "Metadata", "release") == nil {
		t.Error("the launch template's Metadata has no release for the watch rule to read")
	}
	hup, err := config.LoadCfnHup(filepath.Join(dir, "etc/cfn"))
	if err != nil {
		t.Fatalf("the template's cfn-hup configuration: %v", err)
	}
	if len(hup.Warnings) > 0 {
		t.Errorf("the template's cfn-hup configuration: warnings %v", hup.Warnings)
	}

	userData := path(root, "Resources", "LaunchTemplate", "Properties", "LaunchTemplateData", "UserData", "Fn::Base64")
	if userData == nil {
		t.Fatal("no UserData Fn::Base64")
	}
	for _, want := range []string{"${PackageUrl}", "dpkg -i --force-confold", "rpm -i", "cfn-init", "cfn-hup"} {
		if !strings.Contains(userData.Value, want) {
			t.Errorf("UserData does not contain %q", want)
		}
	}
}
