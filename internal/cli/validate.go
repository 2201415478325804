package cli

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/stackhand/stackhand/internal/agent"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/hooks"
)

func cmdValidate(env Env, args []string) int {
	fs, cfgPath := flags(env, "validate", "validate [--config PATH] [--cfn-hup-dir DIR]")
	cfnHup := fs.String("cfn-hup-dir", "", "also check cfn-hup's configuration in DIR")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	ld, err := loadConfig(*cfgPath, *cfnHup)
	if err != nil {
		fmt.Fprintln(env.Stdout, err)
		fmt.Fprintln(env.Stdout, "\nvalidate: the configuration has problems; nothing was started")
		return ExitFailed
	}
	problems, warnings := checkHooks(ld.cfg)
	warnings = append(ld.warnings, warnings...)
	for _, w := range warnings {
		fmt.Fprintln(env.Stdout, "warning: "+w)
	}
	for _, p := range problems {
		fmt.Fprintln(env.Stdout, p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(env.Stdout, "\nvalidate: %d problem(s)\n", len(problems))
		return ExitFailed
	}
	fmt.Fprintf(env.Stdout, "validate: %s is valid (%d watch rules; hooks in %s)\n", ld.cfg.Path, len(ld.cfg.Watch), ld.cfg.HooksDir)
	return ExitOK
}

// checkHooks lists, for each event directory, the hooks that would be refused (problems)
// and the files that would be skipped or are odd (warnings).
func checkHooks(cfg *config.Config) (problems, warnings []string) {
	warnings = append(warnings, agent.HooksDirProblems(cfg.HooksDir)...)
	dirs := []string{string(event.Health)}
	for _, k := range event.Kinds {
		dirs = append(dirs, string(k))
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		dir := filepath.Join(cfg.HooksDir, d)
		list, skipped, err := hooks.List(dir)
		if err != nil {
			continue // a missing event directory is normal
		}
		for _, s := range skipped {
			if s.Warn {
				warnings = append(warnings, fmt.Sprintf("%s: %s", filepath.Join(dir, s.Name), s.Reason))
			}
		}
		for _, h := range list {
			if err := hooks.Check(h.Path); err != nil {
				problems = append(problems, err.Error()) // it starts with h.Path
			}
		}
	}
	return problems, warnings
}
