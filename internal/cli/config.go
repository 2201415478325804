package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/cwagent"
)

// cfnHupDefaultDir is where cfn-hup keeps its configuration: config.DefaultCfnHupDir, on
// the system drive on Windows.
func cfnHupDefaultDir() string {
	if drive := os.Getenv("SystemDrive"); runtime.GOOS == "windows" && drive != "" {
		return drive + `\cfn`
	}
	return config.DefaultCfnHupDir
}

// cfnHupDataDir is where cfn-hup keeps metadata_db.json: config.DefaultCfnHupDataDir, on
// the system drive on Windows.
func cfnHupDataDir() string {
	if drive := os.Getenv("SystemDrive"); runtime.GOOS == "windows" && drive != "" {
		return drive + `\cfn\cfn-hup\data`
	}
	return config.DefaultCfnHupDataDir
}

// loaded is a config together with what loading it had to say.
type loaded struct {
	cfg      *config.Config
	warnings []string
	cfnHup   string // the cfn-hup directory read, if any
	// cwFindings are what the CloudWatch agent's configuration translated to, key by key
	// (--cwagent-config); cwProblems the keys it could not read.
	cwFindings []cwagent.Finding
	cwProblems []string
}

// loadConfig reads stackhand.yaml and, when asked or found at its usual place in aws mode,
// cfn-hup's configuration, whose hooks become watch rules. With no stackhand.yaml at the
// default path but a cfn-hup directory, the defaults are used: stackhand is then a
// drop-in replacement for cfn-hup.
func loadConfig(path, cfnHupDir string) (*loaded, error) {
	out := &loaded{}
	cfg, err := config.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		auto := cfnHupDir
		if auto == "" {
			auto = cfnHupDefaultDir()
		}
		// A drop-in: no stackhand.yaml at the default path, or one named but absent
		// together with an explicit --cfn-hup-dir.
		if (path == config.DefaultConfigPath || cfnHupDir != "") && fileExists(filepath.Join(auto, "cfn-hup.conf")) {
			cfg = config.Default()
			out.warnings = append(out.warnings, fmt.Sprintf("%s does not exist: using the defaults and cfn-hup's configuration in %s", path, auto))
			cfnHupDir = auto
			cfg.CfnHupOnly = true
			err = nil
		} else {
			if cfnHupDir != "" {
				return nil, fmt.Errorf("config file %s does not exist, and neither does %s; pass --cfn-hup-dir the directory that holds cfn-hup.conf, or write %s (see /usr/share/doc/stackhand/examples)",
					path, filepath.Join(cfnHupDir, "cfn-hup.conf"), path)
			}
			return nil, fmt.Errorf("config file %s does not exist; write one (see /usr/share/doc/stackhand/examples), pass --config PATH, or --cfn-hup-dir DIR to run on cfn-hup's configuration alone", path)
		}
	}
	if err != nil {
		return nil, err
	}
	if cfnHupDir == "" && cfg.Mode == config.ModeAWS && fileExists(filepath.Join(cfnHupDefaultDir(), "cfn-hup.conf")) {
		cfnHupDir = cfnHupDefaultDir()
		out.warnings = append(out.warnings, fmt.Sprintf("found cfn-hup's configuration in %s: its hooks run as watch rules (stop cfn-hup so that each change runs once)", cfnHupDir))
	}
	if cfnHupDir != "" {
		h, err := config.LoadCfnHup(cfnHupDir)
		if err != nil {
			return nil, err
		}
		for _, w := range h.Warnings {
			out.warnings = append(out.warnings, w.String())
		}
		cfg.ApplyCfnHup(h)
		cfg.CfnHupDataDir = cfnHupDataDir()
		out.cfnHup = cfnHupDir
	}
	for _, w := range cfg.Warnings() {
		out.warnings = append(out.warnings, w.String())
	}
	out.cfg = cfg
	return out, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
