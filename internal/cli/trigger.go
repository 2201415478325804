package cli

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"os/user"
	"time"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/status"
)

// triggerPoll is how often trigger looks for its answer.
const triggerPoll = 100 * time.Millisecond

func cmdTrigger(env Env, args []string) int {
	fs, cfgPath := flags(env, "trigger", "trigger EVENT [--reason TEXT] [--no-wait] [--timeout D] [--config PATH]")
	reason := fs.String("reason", "", "`TEXT`: why, for the payload, the logs and status")
	noWait := fs.Bool("no-wait", false, "return once the request is handed over, without waiting for the result")
	timeout := fs.Duration("timeout", 0, "give up waiting after `D` (e.g. 10m; 0: wait until the event ends)")
	if code := parse(env, fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fail(env, ExitUsage, "trigger takes one event: %s", event.KindNames())
	}
	kind, err := event.ParseKind(fs.Arg(0))
	if err != nil {
		return fail(env, ExitUsage, "%v", err)
	}
	ld, err := loadConfig(*cfgPath, "")
	if err != nil {
		return fail(env, ExitFailed, "%v", err)
	}
	dir := ld.cfg.StateDir
	who := ""
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	now := time.Now().UTC()
	req := source.Request{ID: source.NewRequestID(now), Event: kind, Reason: *reason, User: who, Time: now}
	return submitAndWait(env, dir, req, string(kind), *noWait, *timeout)
}

// submitAndWait hands req to the agent through the spool of dir and, unless noWait, waits
// for its outcome (at most timeout when it is more than 0) and prints it.
func submitAndWait(env Env, dir string, req source.Request, what string, noWait bool, timeout time.Duration) int {
	now := req.Time
	if err := source.Submit(dir, req); err != nil {
		return fail(env, ExitFailed, "%v", err)
	}
	pid, running := state.Holder(dir)
	if !running {
		fmt.Fprintf(env.Stderr, "stackhand: no agent is running with state directory %s; request %s is queued and runs when the agent starts\n", dir, req.ID)
		if noWait {
			return ExitOK
		}
		return ExitNoAgent
	}
	if noWait {
		fmt.Fprintf(env.Stdout, "request %s handed to the agent (pid %d)\n", req.ID, pid)
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "waiting for %s (request %s, agent pid %d)...\n", what, req.ID, pid)
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		res, err := source.ReadResult(dir, req.ID)
		if err == nil {
			source.RemoveResult(dir, req.ID)
			return printOutcome(env, res.Outcome)
		}
		if !errors.Is(err, iofs.ErrNotExist) {
			return fail(env, ExitInternal, "read the result of %s: %v", req.ID, err)
		}
		if refused := requestsRefused(dir, now); refused != "" {
			return fail(env, ExitFailed, "the agent does not take requests: %s; request %s stays queued until that is fixed and the agent restarts", refused, req.ID)
		}
		if _, running := state.Holder(dir); !running {
			if source.Pending(dir, req.ID) {
				return fail(env, ExitNoAgent, "the agent stopped before taking request %s; it stays queued and runs when the agent starts", req.ID)
			}
			return fail(env, ExitNoAgent, "the agent stopped while request %s was queued or running; see stackhand status after it restarts", req.ID)
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return fail(env, ExitNoAgent, "no result for request %s within %s; it is still queued or running (see stackhand status)", req.ID, timeout)
		}
		time.Sleep(triggerPoll)
	}
}

// requestsRefused returns the problem of the agent's requests source that status.json
// shows, when the agent met it after since (the request was queued then), or "": an agent
// that refuses its spool never answers. A problem older than the request may be over: the
// agent restarts the source, and the request is taken then.
func requestsRefused(dir string, since time.Time) string {
	snap, err := status.Read(dir)
	if err != nil {
		return ""
	}
	c := snap.Sources["requests"]
	if c == nil || c.LastError == "" || c.LastOK.After(c.ErrorAt) || !c.ErrorAt.After(since) {
		return ""
	}
	return c.LastError
}

// printOutcome prints an event's outcome and returns the exit code that says it, with its
// warnings (a hook skipped because it cannot run) whatever the result. What it prints
// goes through terminalSafe: a hook's output and errors are shown, never obeyed by the
// terminal.
func printOutcome(env Env, o state.Outcome) int {
	env.Stdout, env.Stderr = terminalSafe(env.Stdout), terminalSafe(env.Stderr)
	for _, w := range o.Warnings {
		fmt.Fprintf(env.Stderr, "warning: %s\n", w)
	}
	switch o.Result {
	case state.Succeeded:
		fmt.Fprintf(env.Stdout, "%s %s succeeded in %s\n", o.Kind, o.ID, time.Duration(o.Duration).Round(time.Millisecond))
		return ExitOK
	case state.Dropped, state.Superseded:
		fmt.Fprintf(env.Stderr, "%s %s was not run (%s): %s\n", o.Kind, o.ID, o.Result, o.Error)
		return ExitNoAgent
	}
	fmt.Fprintf(env.Stderr, "%s %s %s: %s\n", o.Kind, o.ID, o.Result, o.Error)
	if o.Tail != "" {
		fmt.Fprintln(env.Stderr, "output tail:")
		printIndented(env.Stderr, o.Tail, "  | ")
	}
	return ExitFailed
}
