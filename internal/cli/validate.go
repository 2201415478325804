package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stackhand/stackhand/internal/agent"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/hooks"
)

func cmdValidate(env Env, args []string) int {
	fs, cfgPath := flags(env, "validate", "validate [--config PATH] [--cfn-hup-dir DIR] [--cwagent-config FILE]")
	cwPath := fs.String("cwagent-config", "", "also check the CloudWatch agent's JSON configuration `FILE` (or ssm:NAME, a Parameter Store parameter) and print what each of its keys becomes")
	cfnHup := fs.String("cfn-hup-dir", "", "also check cfn-hup's configuration in `DIR` (default: "+cfnHupDefaultDir()+" when it exists, in aws mode)")
	if code := parse(env, fs, args); code >= 0 {
		return code
	}
	ld, err := loadConfig(*cfgPath, *cfnHup)
	if err == nil && *cwPath != "" {
		err = ld.addCWAgent(*cwPath)
	}
	if err != nil {
		fmt.Fprintln(env.Stdout, err)
		fmt.Fprintln(env.Stdout, "\nvalidate: the configuration has problems; nothing was started")
		return ExitFailed
	}
	problems, warnings := checkHooks(ld.cfg)
	problems = append(problems, ld.cwProblems...)
	if _, err := os.Stat(ld.cfg.HooksDir); err != nil && ld.cfg.CfnHupOnly {
		warnings = nil // a cfn-hup-only setup never had a hooks directory
	}
	warnings = append(ld.warnings, warnings...)
	for _, w := range warnings {
		fmt.Fprintln(env.Stdout, "warning: "+w)
	}
	printCfnHupRules(env.Stdout, ld)
	if len(ld.cwFindings) > 0 {
		fmt.Fprintf(env.Stdout, "the CloudWatch agent's configuration %s, key by key:\n", *cwPath)
		for _, f := range ld.cwFindings {
			fmt.Fprintln(env.Stdout, "  "+f.String())
		}
	}
	for _, p := range problems {
		fmt.Fprintln(env.Stdout, p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(env.Stdout, "\nvalidate: %d problem(s)\n", len(problems))
		return ExitFailed
	}
	what := ld.cfg.Path
	if ld.cfg.CfnHupOnly {
		what = "cfn-hup's configuration in " + ld.cfnHup
	}
	rules := len(ld.cfg.Watch)
	apps := ""
	if n := len(ld.cfg.Apps); n > 0 {
		// Each app's implicit rules (app:<name>) are counted with the app, not as rules.
		rules -= len(config.AppRules(ld.cfg.Apps))
		apps = fmt.Sprintf(", %d apps", n)
	}
	fmt.Fprintf(env.Stdout, "validate: %s is valid (%d watch rules%s; hooks in %s)\n", what, rules, apps, ld.cfg.HooksDir)
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

// cfnHupTriggers maps the change kinds back to cfn-hup's trigger names.
var cfnHupTriggers = map[string]string{"add": "post.add", "update": "post.update", "remove": "post.remove"}

// printCfnHupRules shows, for each cfn-hup hook section read, what it says and the watch
// rule it became, so that a migrator sees each hook's fate before the switch.
func printCfnHupRules(w io.Writer, ld *loaded) {
	if ld.cfnHup == "" {
		return
	}
	var rules []config.WatchRule
	for _, r := range ld.cfg.Watch {
		if r.CfnHup {
			rules = append(rules, r)
		}
	}
	fmt.Fprintf(w, "cfn-hup hooks in %s: %d, each a watch rule\n", ld.cfnHup, len(rules))
	for _, r := range rules {
		var trig, changes []string
		for _, on := range r.On {
			trig = append(trig, cfnHupTriggers[on])
			changes = append(changes, on)
		}
		runas := r.RunAs
		if runas == "" {
			runas = "(the agent's user)"
		}
		fmt.Fprintf(w, "  [%s]  %s\n", strings.TrimPrefix(r.Name, config.CfnHupPrefix), r.Origin)
		fmt.Fprintf(w, "    path      %s\n", r.Path)
		fmt.Fprintf(w, "    triggers  %s\n", strings.Join(trig, ", "))
		fmt.Fprintf(w, "    runas     %s\n", runas)
		fmt.Fprintf(w, "    action    %s\n", strings.TrimSpace(r.Command))
		fmt.Fprintf(w, "    becomes   rule %s: on %s of the value, runs the action with CFN_OLD_*/CFN_NEW_*\n", r.Name, strings.Join(changes, ", "))
	}
}
