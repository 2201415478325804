package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/cwagent"
	"github.com/stackhand/stackhand/internal/trust"
)

// addCWAgent makes the logs and metrics sections of the CloudWatch agent's JSON
// configuration at path ld.cfg's: translated (package cwagent), then checked as
// stackhand.yaml's own sections would be, so a translation stackhand cannot run is
// refused with the same messages. stackhand.yaml must leave both sections out: the two
// are not merged. What the agent's configuration holds that stackhand does not run is a
// warning (the rest runs); a key it could not read is in ld.cwProblems.
//
// A path of the form ssm:NAME is the Parameter Store parameter NAME, read with
// GetParameter as the agent's fetch-config does; its version is kept in the configuration
// so that the agent can reload when it changes.
func (ld *loaded) addCWAgent(path string) error {
	var data []byte
	var err error
	if name, ok := strings.CutPrefix(path, CWAgentSSMPrefix); ok {
		data, err = ld.readCWAgentParameter(name)
	} else {
		// It names the files the agent reads and ships as root: checked as stackhand.yaml
		// is, owned by root (or the agent's user) and writable by no one else, through
		// every directory above it.
		data, err = trust.ReadFile(path, "the CloudWatch agent's configuration "+path, os.Geteuid())
	}
	if err != nil {
		return fmt.Errorf("--cwagent-config: %w", err)
	}
	res, err := cwagent.Translate(data, path)
	if err != nil {
		return err
	}
	cfg := ld.cfg
	for _, sec := range []string{"logs", "metrics"} {
		if cfg.IsSet(sec) {
			return fmt.Errorf("%s has a %s section, and the CloudWatch agent's configuration %s gives one too: remove it from %s (stackhand does not merge the two)", cfg.Path, sec, path, cfg.Path)
		}
	}
	doc := struct {
		Mode    string            `yaml:"mode"`
		Local   map[string]string `yaml:"local,omitempty"`
		Metrics config.Metrics    `yaml:"metrics"`
		Logs    config.Logs       `yaml:"logs"`
	}{Mode: cfg.Mode, Metrics: res.Metrics, Logs: res.Logs}
	if cfg.Mode == config.ModeLocal {
		doc.Local = map[string]string{"dir": cfg.Local.Dir}
	}
	y, err := yaml.Marshal(doc)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tr, err := config.Parse(y, path+" (as stackhand.yaml)")
	if err != nil {
		return fmt.Errorf("the CloudWatch agent's configuration %s translates to sections stackhand refuses; fix them in it:\n%w", path, err)
	}
	cfg.Logs, cfg.Metrics = tr.Logs, tr.Metrics
	ld.cwFindings = res.Findings
	for _, f := range res.Findings {
		switch f.Kind {
		case "unsupported":
			ld.warnings = append(ld.warnings, path+": "+f.Path+": not run by stackhand: "+f.Detail)
		case "error":
			ld.cwProblems = append(ld.cwProblems, path+": "+f.Path+": "+f.Detail)
		}
	}
	return nil
}

// CWAgentSSMPrefix starts a --cwagent-config that names a Parameter Store parameter, as
// the CloudWatch agent's fetch-config -c ssm:NAME does.
const CWAgentSSMPrefix = "ssm:"

// cwagentFetchTimeout bounds reading the parameter, the AWS setup included: that waits for
// IMDS when the region has to come from there.
const cwagentFetchTimeout = 2 * time.Minute

// readCWAgentParameter reads the parameter name from Parameter Store, and records it and
// its version in ld.cfg for the agent to watch. The parameter is not a file stackhand can
// check the owner of: who may change it is whoever IAM lets call ssm:PutParameter on it,
// as for the CloudWatch agent.
func (ld *loaded) readCWAgentParameter(name string) ([]byte, error) {
	cfg := ld.cfg
	if name == "" {
		return nil, errors.New("ssm: names no parameter; write ssm:NAME, e.g. ssm:AmazonCloudWatch-linux")
	}
	if cfg.Mode != config.ModeAWS {
		return nil, fmt.Errorf("ssm:%s: a configuration in Parameter Store needs mode aws; in mode local pass the agent's JSON file", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cwagentFetchTimeout)
	defer cancel()
	region := cfg.AWSRegion()
	env, err := awsenv.Load(ctx, awsenv.Options{Region: region, CredentialFile: cfg.CredentialFile, NoIMDS: cfg.NoIMDS(),
		Role: cfg.Role, CallTimeout: cfg.AWSTimeout.D()})
	if err != nil {
		return nil, fmt.Errorf("ssm:%s: the AWS setup to read it failed: %w", name, err)
	}
	p, err := env.SSM().GetParameter(ctx, name)
	switch {
	case err == nil:
	case awsenv.ErrorCode(err) == "ParameterNotFound":
		return nil, fmt.Errorf("ssm:%s: Parameter Store in %s has no such parameter: fix the name, or store the agent's JSON there (aws ssm put-parameter --name %s --type String --value file://amazon-cloudwatch-agent.json)",
			name, env.Region(), name)
	default:
		return nil, fmt.Errorf("ssm:%s: %w", name, awsenv.ExplainErr(err, "ssm:GetParameter"))
	}
	cfg.CWAgentParameter, cfg.CWAgentVersion = name, p.Version
	return []byte(p.Value), nil
}
