package packaging_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"

	"github.com/stackhand/stackhand/internal/cfnboot"
	"github.com/stackhand/stackhand/internal/cfninit"
	"github.com/stackhand/stackhand/internal/config"
)

// cfnValue turns a template's YAML node into the JSON value CloudFormation would hand
// cfn-init, for a stack "web" in eu-west-1: !Sub and !Ref resolved from the pseudo
// parameters and the parameters' defaults.
func cfnValue(t *testing.T, n *yaml.Node, params map[string]string) any {
	t.Helper()
	expand := func(s string) string {
		for k, v := range params {
			s = strings.ReplaceAll(s, "${"+k+"}", v)
		}
		return s
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = cfnValue(t, n.Content[i+1], params)
		}
		return m
	case yaml.SequenceNode:
		var l []any
		for _, c := range n.Content {
			l = append(l, cfnValue(t, c, params))
		}
		return l
	}
	switch n.Tag {
	case "!Sub":
		return expand(n.Value)
	case "!Ref":
		v, ok := params[n.Value]
		if !ok {
			t.Fatalf("line %d: !Ref %s has no value here", n.Line, n.Value)
		}
		return v
	}
	return n.Value
}

// TestCloudFormationNoBootstrapExample: the template with no aws-cfn-bootstrap parses
// with stackhand's own cfn-init with no warning, its configSets resolve, the files of its
// config "agent" (written under a temporary root by the built-in cfn-init) are a valid
// stackhand.yaml and a cfn-hup configuration stackhand loads, and the auto-reloader's
// action is one the agent runs itself.
func TestCloudFormationNoBootstrapExample(t *testing.T) {
	data, err := os.ReadFile("examples/cloudformation-no-bootstrap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("not YAML: %v", err)
	}
	root := doc.Content[0]
	params := map[string]string{"AWS::StackName": "web", "AWS::Region": "eu-west-1",
		"AWS::StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/web/0a1b2c3d"}
	if ps := node(root, "Parameters"); ps != nil {
		for i := 0; i+1 < len(ps.Content); i += 2 {
			if d := node(ps.Content[i+1], "Default"); d != nil {
				params[ps.Content[i].Value] = d.Value
			}
		}
	}
	md, err := json.Marshal(cfnValue(t, path(root, "Resources", "LaunchTemplate", "Metadata"), params))
	if err != nil {
		t.Fatal(err)
	}
	in, err := cfninit.Parse(md)
	if err != nil {
		t.Fatalf("the Init block: %v", err)
	}
	if len(in.Warnings) > 0 {
		t.Errorf("the Init block: warnings %v", in.Warnings)
	}
	for _, set := range []string{"bootstrap", "reload"} {
		if got, err := in.Resolve([]string{set}); err != nil || !slices.Equal(got, []string{"agent", "app"}) {
			t.Errorf("configSet %s: %v, %v; want [agent app]", set, got, err)
		}
	}
	agent := *in.Configs["agent"]
	if len(agent.Services) != 1 || agent.Services[0].Name != "cfn-hup" {
		t.Errorf("config agent: services %+v; want the cfn-hup entry templates carry", agent.Services)
	}

	// The config's files, written by the built-in cfn-init under a temporary root.
	dir := t.TempDir()
	var files []cfninit.File
	for _, f := range agent.Files {
		f.Path = filepath.Join(dir, f.Path)
		f.Owner, f.Group = "", ""
		files = append(files, f)
	}
	agentFiles := &cfninit.Init{Configs: map[string]*cfninit.Config{"agent": {Name: "agent", Files: files}}}
	r := &cfninit.Runner{Log: zap.NewNop(), CmdLog: io.Discard, Fetch: &cfninit.HTTPFetcher{}}
	if _, err := r.Apply(context.Background(), agentFiles, []string{"agent"}); err != nil {
		t.Fatalf("writing the config agent's files: %v", err)
	}
	if _, err := config.Load(filepath.Join(dir, "etc/stackhand/stackhand.yaml")); err != nil {
		t.Errorf("the template's stackhand.yaml: %v", err)
	}
	hup, err := config.LoadCfnHup(filepath.Join(dir, "etc/cfn"))
	if err != nil {
		t.Fatalf("the template's cfn-hup configuration: %v", err)
	}
	if len(hup.Warnings) > 0 || len(hup.Hooks) != 1 {
		t.Fatalf("the template's cfn-hup configuration: hooks %+v, warnings %v", hup.Hooks, hup.Warnings)
	}
	argv, err := cfnboot.SplitCommandLine(hup.Hooks[0].Action)
	if err != nil || cfnboot.DropInName(argv[0]) != "cfn-init" {
		t.Fatalf("the auto-reloader's action %q is not one plain cfn-init command (%v)", hup.Hooks[0].Action, err)
	}
	opts, err := cfnboot.ParseInitArgs(argv[1:])
	if err != nil || opts.Stack != "web" || opts.Resource != "LaunchTemplate" || !slices.Equal(opts.ConfigSets, []string{"reload"}) {
		t.Errorf("the auto-reloader's cfn-init: %+v, %v", opts, err)
	}

	userData := path(root, "Resources", "LaunchTemplate", "Properties", "LaunchTemplateData", "UserData", "Fn::Base64")
	if userData == nil {
		t.Fatal("no UserData")
	}
	for _, want := range []string{"/opt/aws/bin/cfn-init", "--configsets bootstrap", "/opt/aws/bin/cfn-signal -e $?"} {
		if !strings.Contains(userData.Value, want) {
			t.Errorf("UserData does not contain %q", want)
		}
	}
	if strings.Contains(userData.Value, "aws-cfn-bootstrap") && !strings.Contains(userData.Value, "No Python, no aws-cfn-bootstrap") {
		t.Error("UserData installs aws-cfn-bootstrap")
	}
}
