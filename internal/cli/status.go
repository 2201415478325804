package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/contract"
	"github.com/stackhand/stackhand/internal/engine"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/status"
)

func cmdStatus(env Env, args []string) int {
	fs, cfgPath := flags(env, "status", "status [--json] [--config PATH]")
	asJSON := fs.Bool("json", false, "print JSON instead of text (the schema: README, \"stackhand status --json\")")
	if code := parse(env, fs, args); code >= 0 {
		return code
	}
	ld, err := loadConfig(*cfgPath, "")
	if err != nil {
		return fail(env, ExitFailed, "%v", err)
	}
	dir := ld.cfg.StateDir
	st, err := state.Read(dir)
	if err != nil {
		return fail(env, ExitInternal, "%v", err)
	}
	parts, err := status.Read(dir)
	if err != nil {
		return fail(env, ExitInternal, "%v", err)
	}
	pid, running := state.Holder(dir)
	now := time.Now()
	s := contract.NewStatus(dir, st, parts, running, pid)
	markStale(&s, now)
	s.Verdict = verdict(s, now)
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			return fail(env, ExitInternal, "%v", err)
		}
		return ExitOK
	}
	renderStatusStart(env.Stdout, s, now, startCommand(ld))
	if ld.cfg.Mode == config.ModeLocal && s.Lifecycle.ShutdownDone && s.Lifecycle.ShutdownFor != "" && s.Lifecycle.ShutdownFor == s.Identity.InstanceID {
		fmt.Fprintln(env.Stdout, "\n"+engine.LocalFreshStart(dir))
	}
	return ExitOK
}

// markStale sets Stale on each source and reporter of a running agent whose last success
// (or the time the agent began expecting one) is older than status.StaleAfter its
// interval: a part stuck without an error to show (a call that never returns).
func markStale(s *contract.Status, now time.Time) {
	if !s.Agent.Running {
		return
	}
	for _, parts := range []map[string]*contract.Component{s.Sources, s.Reporters} {
		for _, c := range parts {
			if c.EverySeconds <= 0 {
				continue
			}
			sc := status.Component{LastOK: c.LastOK, Since: c.Since, Every: time.Duration(c.EverySeconds * float64(time.Second))}
			if at := sc.StaleAt(); !at.IsZero() && now.After(at) {
				c.Stale = true
			}
		}
	}
}

// staleText says what a stale part last did and what was expected of it.
func staleText(c *contract.Component, now time.Time) string {
	last := "never ok"
	if !c.LastOK.IsZero() {
		last = "last ok " + age(now.Sub(c.LastOK)) + " ago"
	} else if !c.Since.IsZero() {
		last = "never ok in " + age(now.Sub(c.Since))
	}
	return fmt.Sprintf("STALE: %s, expected every %s", last, time.Duration(c.EverySeconds*float64(time.Second)))
}

// verdict is the overall word on s at now, with its reasons worst first: failing when the
// agent is not running, the instance is unknown, setup failed or an event's last run did
// not succeed; degraded when a source or reporter has a problem or an app's revision was
// rolled back. (An event's warnings,
// such as a hooks directory that does not exist, show under EVENTS: many are normal.)
func verdict(s contract.Status, now time.Time) contract.Verdict {
	var failing, degraded []string
	if !s.Agent.Running {
		failing = append(failing, "the agent is not running")
	}
	if s.Identity.InstanceID == "" && s.Discovery != nil && s.Discovery.LastError != "" {
		failing = append(failing, "the instance is not known: "+clip(s.Discovery.LastError, 100))
	}
	for _, k := range event.Kinds {
		o := s.Last[string(k)]
		if o == nil {
			continue
		}
		if o.Result != string(state.Succeeded) {
			failing = append(failing, fmt.Sprintf("%s %s %s", k, o.ID, o.Result))
		}
	}
	// An app running an older release than wanted, after a rollback, is degraded: it
	// serves, but not what was asked for, and the agent will not try again on its own.
	for _, n := range slices.Sorted(maps.Keys(s.Apps)) {
		if a := s.Apps[n]; a.FailedRevision != "" {
			degraded = append(degraded, "app "+n+": revision "+a.FailedRevision+" was rolled back")
		}
	}
	for _, b := range []struct {
		what  string
		parts map[string]*contract.Component
	}{{"source", s.Sources}, {"reporter", s.Reporters}} {
		for _, n := range slices.Sorted(maps.Keys(b.parts)) {
			c := b.parts[n]
			if c.Stale {
				// A heartbeat that stopped lets its alarm act (reboot, recover) on an
				// instance that may be healthy.
				why := b.what + " " + n + ": " + staleText(c, now)
				if b.what == "reporter" && n == "heartbeat" {
					failing = append(failing, why+"; the heartbeat alarm may act on this instance")
				} else {
					degraded = append(degraded, why)
				}
			}
			if c.LastError != "" {
				degraded = append(degraded, b.what+" "+n+": "+clip(c.LastError, 100))
			}
			// A journal or event log the shipper cannot read ships nothing, though the
			// log part as a whole is well.
			for _, j := range c.Journals {
				if j.LastError != "" {
					degraded = append(degraded, j.Entry+": "+clip(j.LastError, 100))
				}
			}
			for _, e := range c.WinEvents {
				if e.LastError != "" {
					degraded = append(degraded, e.Entry+": "+clip(e.LastError, 100))
				}
			}
		}
	}
	switch {
	case len(failing) > 0:
		return contract.Verdict{Level: contract.VerdictFailing, Reasons: append(failing, degraded...)}
	case len(degraded) > 0:
		return contract.Verdict{Level: contract.VerdictDegraded, Reasons: degraded}
	}
	return contract.Verdict{Level: contract.VerdictOK}
}

// startCommand is how to start the agent of this configuration: the service, or in mode
// local the agent in the foreground (local mode is not a service).
func startCommand(ld *loaded) string {
	if ld.cfg.Mode != config.ModeLocal {
		return "stackhand service start"
	}
	path := ld.cfg.Path
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return "stackhand run --config " + path + " (local mode runs in the foreground, not as a service)"
}

// renderStatus writes the text form of s as for the service; see renderStatusStart.
func renderStatus(w io.Writer, s contract.Status, now time.Time) {
	renderStatusStart(w, s, now, "stackhand service start")
}

// renderStatusStart writes the text form of s, with ages relative to now; start is the
// command that starts the agent when it is not running. It is what an on-call engineer
// reads first: the verdict, then the worst news first in each block, and the blocks with
// a problem before the ones without.
//
// Everything it writes goes through terminalSafe: hook output and errors are shown, never
// obeyed by the terminal.
func renderStatusStart(w io.Writer, s contract.Status, now time.Time, start string) {
	w = terminalSafe(w)
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z") + " (" + age(now.Sub(t)) + " ago)"
	}
	in := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		d := t.Sub(now)
		if d <= 0 {
			return t.UTC().Format("2006-01-02 15:04:05Z") + " (due now)"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z") + " (in " + age(d) + ")"
	}
	fmt.Fprintf(w, "verdict    %s\n", strings.ToUpper(s.Verdict.Level))
	for _, r := range s.Verdict.Reasons {
		fmt.Fprintf(w, "           - %s\n", r)
	}
	switch {
	case s.Agent.Running:
		fmt.Fprintf(w, "agent      running (pid %d), state in %s\n", s.Agent.PID, s.StateDir)
	case s.UpdatedAt.IsZero():
		fmt.Fprintf(w, "agent      NOT RUNNING (state in %s, never written); start it: %s\n", s.StateDir, start)
	default:
		fmt.Fprintf(w, "agent      NOT RUNNING (state in %s, last written %s); start it: %s\n", s.StateDir, ts(s.UpdatedAt), start)
	}
	id := s.Identity
	switch {
	case id.InstanceID != "":
		var parts []string
		for _, p := range []string{id.AvailabilityZone, id.PrivateIP, id.PublicIP, id.InstanceType} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		fmt.Fprintf(w, "instance   %s (%s)\n", id.InstanceID, strings.Join(parts, ", "))
		if id.Stack != "" || id.AutoScalingGroup != "" {
			fmt.Fprintf(w, "stack      %s  resource %s  group %s\n", dash(id.Stack), dash(id.LogicalID), dash(id.AutoScalingGroup))
		}
	case s.Discovery != nil && s.Discovery.LastError != "":
		d := s.Discovery
		fmt.Fprintf(w, "instance   UNKNOWN: discovery failing since %s, %d attempt(s), next try %s:\n", ts(d.ErrorAt), d.Attempts, in(d.NextTry))
		fmt.Fprintf(w, "           %s\n", d.LastError)
	default:
		fmt.Fprintln(w, "instance   unknown (the agent has not discovered its identity yet)")
	}
	switch {
	case s.Setup.Done:
		fmt.Fprintf(w, "setup      done %s (%s)\n", ts(s.Setup.At), s.Setup.EventID)
	case s.Last[string(event.Setup)] != nil && s.Last[string(event.Setup)].Result == string(state.Failed):
		fmt.Fprintln(w, "setup      FAILED — the instance is not online; fix the hook, then: stackhand trigger setup")
	default:
		fmt.Fprintln(w, "setup      not done yet")
	}
	if s.Lifecycle.State != "" {
		fmt.Fprintf(w, "lifecycle  %s, seen %s", s.Lifecycle.State, ts(s.Lifecycle.SeenAt))
		if s.Lifecycle.ShutdownDone {
			fmt.Fprint(w, "; shutdown hooks done")
		}
		fmt.Fprintln(w)
		if s.Lifecycle.ShutdownDone && s.Lifecycle.ShutdownFor != "" && s.Lifecycle.ShutdownFor == s.Identity.InstanceID {
			fmt.Fprintln(w, "           idle until the instance ends: the terminating shutdown is done, no event runs, requests are dropped")
		}
	}

	fmt.Fprintln(w, "\nEVENTS")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  EVENT\tRESULT\tWHEN\tDURATION\tID\tREASON")
	var failed, warned []*contract.Event
	for _, k := range event.Kinds {
		o := s.Last[string(k)]
		if o == nil {
			fmt.Fprintf(tw, "  %s\t-\t-\t-\t-\t-\n", k)
			continue
		}
		res := o.Result
		if res != string(state.Succeeded) {
			res = strings.ToUpper(res)
			failed = append(failed, o)
		}
		if len(o.Warnings) > 0 {
			warned = append(warned, o)
		}
		d := time.Duration(o.Duration)
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", k, res, ts(o.End), d.Round(time.Millisecond), o.ID, clip(o.Reason, 60))
	}
	tw.Flush()
	for _, o := range failed {
		fmt.Fprintf(w, "\n  %s %s %s: %s\n", o.Event, o.ID, o.Result, o.Error)
		for _, r := range s.Retries {
			if r.Event == o.Event && r.LastEventID == o.ID {
				fmt.Fprintf(w, "  retry: attempt %d at %s, if the change is still there (or now: stackhand trigger %s)\n",
					r.Attempts+1, in(r.NextAttempt), o.Event)
			}
		}
		for _, h := range o.Hooks {
			if h.Name == o.FailedHook && h.LogFile != "" {
				fmt.Fprintf(w, "  full output: %s\n", h.LogFile)
			}
		}
		if o.OutputTail != "" {
			fmt.Fprintln(w, "  output tail:")
			printIndented(w, o.OutputTail, "    | ")
		}
	}
	for _, o := range warned {
		fmt.Fprintf(w, "\n  %s %s warnings:\n", o.Event, o.ID)
		for _, m := range o.Warnings {
			fmt.Fprintf(w, "    ! %s\n", m)
		}
	}
	// What a built-in command (cfn-init) changed: the answer to "what did the last
	// metadata change do to this instance".
	for _, k := range event.Kinds {
		o := s.Last[string(k)]
		if o == nil {
			continue
		}
		for _, h := range o.Hooks {
			if !h.Builtin {
				continue
			}
			if len(h.Changes) == 0 {
				fmt.Fprintf(w, "\n  %s %s %s (built in, %s): no change\n", o.Event, o.ID, h.Name, time.Duration(h.Duration).Round(time.Millisecond))
				continue
			}
			fmt.Fprintf(w, "\n  %s %s %s (built in, %s) changed:\n", o.Event, o.ID, h.Name, time.Duration(h.Duration).Round(time.Millisecond))
			for _, c := range h.Changes {
				fmt.Fprintf(w, "    ~ %s\n", c)
			}
		}
	}

	fmt.Fprintln(w)
	if s.Running != nil {
		fmt.Fprintf(w, "running    %s %s since %s: %s\n", s.Running.Event, s.Running.ID, ts(s.Running.Started), clip(strings.Join(s.Running.Reasons, "; "), 80))
	} else {
		fmt.Fprintln(w, "running    nothing")
	}
	if len(s.Queue) == 0 {
		fmt.Fprintln(w, "queue      empty")
	} else {
		fmt.Fprintf(w, "queue      %d waiting\n", len(s.Queue))
		for _, p := range s.Queue {
			fmt.Fprintf(w, "           %s %s queued %s: %s\n", p.Event, p.ID, ts(p.Queued), clip(strings.Join(p.Reasons, "; "), 80))
		}
	}
	if len(s.Retries) > 0 {
		fmt.Fprintf(w, "retries    %d scheduled\n", len(s.Retries))
		for _, r := range s.Retries {
			what := r.Event
			if r.Rule != "" {
				what += " (rule " + r.Rule + ")"
			}
			fmt.Fprintf(w, "           %s: failed %d time(s) in a row, last %s; attempt %d at %s\n", what, r.Attempts,
				dash(r.LastEventID), r.Attempts+1, in(r.NextAttempt))
		}
	}
	if len(s.Apps) > 0 {
		fmt.Fprintf(w, "apps       %d\n", len(s.Apps))
		for _, name := range slices.Sorted(maps.Keys(s.Apps)) {
			a := s.Apps[name]
			fmt.Fprintf(w, "           %s: %s, current %s (revision %s), last %s\n", name, dash(a.Result), dash(a.Release), dash(a.Revision), ts(a.At))
			switch {
			case a.Note != "":
				fmt.Fprintf(w, "             %s\n", a.Note)
			case a.Error != "":
				fmt.Fprintf(w, "             revision %s: %s\n", dash(a.DesiredRevision), clip(a.Error, 120))
			}
		}
	}
	blocks := []struct {
		title, okWhat string
		parts         map[string]*contract.Component
	}{{"sources", "last read", s.Sources}, {"reporters", "last success", s.Reporters}}
	// A block with a problem comes first.
	slices.SortStableFunc(blocks, func(a, b struct {
		title, okWhat string
		parts         map[string]*contract.Component
	}) int {
		return cmp.Compare(errorCount(b.parts), errorCount(a.parts))
	})
	for _, b := range blocks {
		healthBlock(w, b.title, b.parts, ts, b.okWhat, now)
	}
}

// errorCount is how many of parts have a problem.
func errorCount(parts map[string]*contract.Component) int {
	n := 0
	for _, c := range parts {
		if c.LastError != "" || c.Stale {
			n++
		}
	}
	return n
}

// healthBlock writes one block of parts: those with a problem first, then by name.
func healthBlock(w io.Writer, title string, hs map[string]*contract.Component, ts func(time.Time) string, okWhat string, now time.Time) {
	if len(hs) == 0 {
		fmt.Fprintf(w, "%-10s none\n", title)
		return
	}
	names := slices.SortedFunc(maps.Keys(hs), func(a, b string) int {
		if ea, eb := hs[a].LastError != "" || hs[a].Stale, hs[b].LastError != "" || hs[b].Stale; ea != eb {
			if ea {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	fmt.Fprintln(w, "\n"+strings.ToUpper(title))
	for _, n := range names {
		h := hs[n]
		if h.LastError != "" {
			lastOK := "never"
			if !h.LastOK.IsZero() {
				lastOK = ts(h.LastOK)
			}
			fmt.Fprintf(w, "  %-10s ERROR since %s, last ok %s:\n", n, ts(h.ErrorAt), lastOK)
			fmt.Fprintf(w, "             %s\n", h.LastError)
			if h.Stale {
				fmt.Fprintf(w, "             %s\n", staleText(h, now))
			}
		} else if h.Stale {
			fmt.Fprintf(w, "  %-10s %s\n", n, staleText(h, now))
		} else {
			fmt.Fprintf(w, "  %-10s ok, %s %s\n", n, okWhat, ts(h.LastOK))
		}
		reporterDetails(w, h, ts)
	}
}

// reporterDetails writes what a reporter keeps besides its last success and error: its
// detail, counters, health checks and shipped files.
func reporterDetails(w io.Writer, h *contract.Component, ts func(time.Time) string) {
	const indent = "             "
	if h.Detail != "" {
		fmt.Fprintf(w, "%s%s\n", indent, h.Detail)
	}
	if len(h.Counters) > 0 {
		keys := slices.Sorted(maps.Keys(h.Counters))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s %d", k, h.Counters[k])
		}
		fmt.Fprintf(w, "%s%s\n", indent, strings.Join(parts, ", "))
	}
	for _, c := range h.Checks {
		if c.OK {
			fmt.Fprintf(w, "%scheck %s: ok, %s\n", indent, c.Name, ts(c.LastRun))
			continue
		}
		fmt.Fprintf(w, "%scheck %s: FAILING, %d in a row, %s: %s\n", indent, c.Name, c.Failures, ts(c.LastRun), clip(c.LastError, 100))
	}
	// Files that ship to one stream (the hooks' output: a file per hook run) are one line,
	// with counts; only those with an error are named.
	for _, files := range byStream(h.Files) {
		f := files[0]
		lag := func(f contract.File) time.Duration {
			return time.Duration(f.LagSeconds * float64(time.Second)).Round(time.Second)
		}
		if len(files) == 1 {
			fmt.Fprintf(w, "%s%s -> %s/%s: shipped %d of %d bytes, lag %d bytes, %s\n", indent, f.Path, f.Group, f.Stream,
				f.Shipped, f.Size, max(f.Size-f.Shipped, 0), lag(f))
		} else {
			var shipped, size, behind int64
			var worst time.Duration
			for _, g := range files {
				shipped, size, behind = shipped+g.Shipped, size+g.Size, behind+max(g.Size-g.Shipped, 0)
				worst = max(worst, lag(g))
			}
			fmt.Fprintf(w, "%s%d files in %s -> %s/%s: shipped %d of %d bytes, lag %d bytes, %s\n", indent, len(files),
				commonDir(files), f.Group, f.Stream, shipped, size, behind, worst)
		}
		for _, g := range files {
			if g.LastError == "" {
				continue
			}
			what := ""
			if len(files) > 1 {
				what = " " + g.Path
			}
			fmt.Fprintf(w, "%s  ERROR%s %s: %s\n", indent, what, ts(g.ErrorAt), clip(g.LastError, 100))
		}
	}
	for _, j := range h.Journals {
		last := "no entry read yet"
		if !j.LastEntry.IsZero() {
			last = "last entry " + ts(j.LastEntry)
		}
		fmt.Fprintf(w, "%s%s %s -> %s/%s: shipped %d entries, %d pending, %s\n", indent, j.Entry, j.What, j.Group, j.Stream,
			j.Shipped, j.Pending, last)
		if j.VacuumedUnshipped > 0 {
			fmt.Fprintf(w, "%s  LOST %d entries: the journal removed them (rotation, vacuum) before they were shipped\n", indent, j.VacuumedUnshipped)
		}
		if j.LastError != "" {
			fmt.Fprintf(w, "%s  ERROR %s: %s\n", indent, ts(j.ErrorAt), clip(j.LastError, 160))
		}
	}
	for _, e := range h.WinEvents {
		last := "no event read yet"
		if !e.LastEvent.IsZero() {
			last = "last event " + ts(e.LastEvent)
		}
		fmt.Fprintf(w, "%s%s %s -> %s/%s: shipped %d events, %d pending, %s\n", indent, e.Entry, e.What, e.Group, e.Stream,
			e.Shipped, e.Pending, last)
		if e.ClearedUnshipped > 0 {
			fmt.Fprintf(w, "%s  LOST %d events: the event log was cleared or wrapped before they were shipped\n", indent, e.ClearedUnshipped)
		}
		if e.LastError != "" {
			fmt.Fprintf(w, "%s  ERROR %s: %s\n", indent, ts(e.ErrorAt), clip(e.LastError, 160))
		}
	}
}

// byStream groups files by the log stream they ship to, in the order each stream first
// appears.
func byStream(files []contract.File) [][]contract.File {
	var out [][]contract.File
	at := map[string]int{}
	for _, f := range files {
		k := f.Group + "\x00" + f.Stream
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], f)
	}
	return out
}

// commonDir is the longest directory that holds every file.
func commonDir(files []contract.File) string {
	dir := filepath.Dir(files[0].Path)
	for _, f := range files[1:] {
		for dir != "." && dir != string(filepath.Separator) && !strings.HasPrefix(f.Path, dir+string(filepath.Separator)) {
			dir = filepath.Dir(dir)
		}
	}
	return dir
}

// age writes d in its largest unit that keeps it readable at a glance: 40s, 15m, 26h, 3d.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute)/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Round(time.Hour)/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip shortens s to n characters (runes, so that a character is never cut in two).
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func printIndented(w io.Writer, text, prefix string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintln(w, prefix+line)
	}
}
