//go:build !windows

package cli

import (
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"

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
func (ld *loaded) addCWAgent(path string) error {
	// It names the files the agent reads and ships as root: checked as stackhand.yaml is,
	// owned by root (or the agent's user) and writable by no one else, through every
	// directory above it.
	data, err := trust.ReadFile(path, "the CloudWatch agent's configuration "+path, os.Geteuid())
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
