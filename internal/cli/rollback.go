package cli

import (
	"os/user"
	"time"

	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
)

func cmdRollback(env Env, args []string) int {
	fs, cfgPath := flags(env, "rollback", "rollback APP [--to RELEASE] [--reason TEXT] [--no-wait] [--timeout D] [--config PATH]")
	to := fs.String("to", "", "`RELEASE`: a release name or a revision (stackhand releases APP lists them); default the release before the current one")
	reason := fs.String("reason", "", "`TEXT`: why, for the logs and status")
	noWait := fs.Bool("no-wait", false, "return once the request is handed over, without waiting for the result")
	timeout := fs.Duration("timeout", 0, "give up waiting after `D` (e.g. 10m; 0: wait until the rollback ends)")
	if code := parse(env, fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fail(env, ExitUsage, "rollback takes one app name")
	}
	ld, err := loadConfig(*cfgPath, "")
	if err != nil {
		return fail(env, ExitFailed, "%v", err)
	}
	app := fs.Arg(0)
	if ld.cfg.AppByName(app) == nil {
		return fail(env, ExitUsage, "no app %q in %s; the apps are: %s", app, ld.cfg.Path, appNames(ld.cfg.Apps))
	}
	who := ""
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	now := time.Now().UTC()
	req := source.Request{ID: source.NewRequestID(now), Event: "deploy", Reason: *reason, User: who, Time: now,
		Rollback: &state.RollbackRequest{App: app, To: *to}}
	return submitAndWait(env, ld.cfg.StateDir, req, "the rollback of "+app, *noWait, *timeout)
}
