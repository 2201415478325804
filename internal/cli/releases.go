package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/release"
)

func cmdReleases(env Env, args []string) int {
	fs, cfgPath := flags(env, "releases", "releases APP [--config PATH]")
	if code := parse(env, fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fail(env, ExitUsage, "releases takes one app name")
	}
	ld, err := loadConfig(*cfgPath, "")
	if err != nil {
		return fail(env, ExitFailed, "%v", err)
	}
	a := ld.cfg.AppByName(fs.Arg(0))
	if a == nil {
		return fail(env, ExitUsage, "no app %q in %s; the apps are: %s", fs.Arg(0), ld.cfg.Path, appNames(ld.cfg.Apps))
	}
	// Read from disk, not from the agent: it works with the agent stopped.
	rs, err := (&release.Manager{}).List(a.ReleaseApp())
	if err != nil {
		return fail(env, ExitFailed, "%v", err)
	}
	out := terminalSafe(env.Stdout)
	if len(rs) == 0 {
		fmt.Fprintf(out, "%s: no releases in %s\n", a.Name, a.DeployTo)
		return ExitOK
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tRELEASE\tREVISION\tTIME\tSIZE")
	for i := len(rs) - 1; i >= 0; i-- { // newest first
		r := rs[i]
		mark := ""
		switch {
		case r.Current:
			mark = "current"
		case r.Previous:
			mark = "previous"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", mark, r.Name, r.Revision, r.Time.UTC().Format("2006-01-02 15:04:05Z"), humanBytes(r.Size))
	}
	tw.Flush()
	return ExitOK
}

func appNames(apps []config.App) string {
	if len(apps) == 0 {
		return "none (add apps: to the config)"
	}
	var ns []string
	for _, a := range apps {
		ns = append(ns, a.Name)
	}
	return strings.Join(ns, ", ")
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
