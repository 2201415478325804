package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
)

// Status is what `stackhand status --json` prints.
type Status struct {
	Agent     AgentStatus                   `json:"agent"`
	StateDir  string                        `json:"state_dir"`
	Identity  event.Instance                `json:"identity"`
	Setup     state.Setup                   `json:"setup"`
	Lifecycle state.Lifecycle               `json:"lifecycle"`
	Last      map[event.Kind]*state.Outcome `json:"last"`
	Running   *state.Pending                `json:"running,omitempty"`
	Queue     []state.Pending               `json:"queue"`
	Sources   map[string]*state.Health      `json:"sources"`
	Reporters map[string]*state.Health      `json:"reporters"`
	UpdatedAt time.Time                     `json:"state_updated_at"`
}

// AgentStatus says whether an agent holds the state directory.
type AgentStatus struct {
	Running bool `json:"running"`
	PID     int  `json:"pid,omitempty"`
}

func cmdStatus(env Env, args []string) int {
	fs, cfgPath := flags(env, "status", "status [--json] [--config PATH]")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	if code := parse(fs, args); code >= 0 {
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
	pid, running := state.Holder(dir)
	s := Status{Agent: AgentStatus{Running: running, PID: pid}, StateDir: dir, Identity: st.Identity,
		Setup: st.Setup, Lifecycle: st.Lifecycle, Last: st.Last, Running: st.Running, Queue: st.Queue,
		Sources: st.Sources, Reporters: st.Reporters, UpdatedAt: st.UpdatedAt}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			return fail(env, ExitInternal, "%v", err)
		}
		return ExitOK
	}
	renderStatus(env.Stdout, s, time.Now())
	return ExitOK
}

// renderStatus writes the text form of s, with ages relative to now. It is what an
// on-call engineer reads first: the worst news comes first in each block.
func renderStatus(w io.Writer, s Status, now time.Time) {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z") + " (" + age(now.Sub(t)) + " ago)"
	}
	switch {
	case s.Agent.Running:
		fmt.Fprintf(w, "agent      running (pid %d), state in %s\n", s.Agent.PID, s.StateDir)
	case s.UpdatedAt.IsZero():
		fmt.Fprintf(w, "agent      NOT RUNNING (state in %s, never written); start it: stackhand service start\n", s.StateDir)
	default:
		fmt.Fprintf(w, "agent      NOT RUNNING (state in %s, last written %s); start it: stackhand service start\n", s.StateDir, ts(s.UpdatedAt))
	}
	in := s.Identity
	if in.InstanceID == "" {
		fmt.Fprintln(w, "instance   unknown (the agent has not discovered its identity yet)")
	} else {
		var parts []string
		for _, p := range []string{in.AvailabilityZone, in.PrivateIP, in.PublicIP, in.InstanceType} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		fmt.Fprintf(w, "instance   %s (%s)\n", in.InstanceID, strings.Join(parts, ", "))
		if in.Stack != "" || in.AutoScalingGroup != "" {
			fmt.Fprintf(w, "stack      %s  resource %s  group %s\n", dash(in.Stack), dash(in.LogicalID), dash(in.AutoScalingGroup))
		}
	}
	switch {
	case s.Setup.Done:
		fmt.Fprintf(w, "setup      done %s (%s)\n", ts(s.Setup.At), s.Setup.EventID)
	case s.Last[event.Setup] != nil && s.Last[event.Setup].Result == state.Failed:
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
	}

	fmt.Fprintln(w, "\nEVENTS")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  EVENT\tRESULT\tWHEN\tDURATION\tID\tREASON")
	var failed []*state.Outcome
	for _, k := range event.Kinds {
		o := s.Last[k]
		if o == nil {
			fmt.Fprintf(tw, "  %s\t-\t-\t-\t-\t-\n", k)
			continue
		}
		res := o.Result
		if res != state.Succeeded {
			res = strings.ToUpper(res)
			failed = append(failed, o)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", k, res, ts(o.End), time.Duration(o.Duration).Round(time.Millisecond), o.ID, clip(o.Reason, 60))
	}
	tw.Flush()
	for _, o := range failed {
		fmt.Fprintf(w, "\n  %s %s %s: %s\n", o.Kind, o.ID, o.Result, o.Error)
		for _, h := range o.Hooks {
			if h.Name == o.Failed && h.LogFile != "" {
				fmt.Fprintf(w, "  full output: %s\n", h.LogFile)
			}
		}
		if o.Tail != "" {
			fmt.Fprintln(w, "  output tail:")
			printIndented(w, o.Tail, "    | ")
		}
	}

	fmt.Fprintln(w)
	if s.Running != nil {
		fmt.Fprintf(w, "running    %s %s since %s: %s\n", s.Running.Kind, s.Running.ID, ts(s.Running.Started), clip(strings.Join(s.Running.Reasons, "; "), 80))
	} else {
		fmt.Fprintln(w, "running    nothing")
	}
	if len(s.Queue) == 0 {
		fmt.Fprintln(w, "queue      empty")
	} else {
		fmt.Fprintf(w, "queue      %d waiting\n", len(s.Queue))
		for _, p := range s.Queue {
			fmt.Fprintf(w, "           %s %s queued %s: %s\n", p.Kind, p.ID, ts(p.Queued), clip(strings.Join(p.Reasons, "; "), 80))
		}
	}
	healthBlock(w, "sources", s.Sources, ts, "last read")
	healthBlock(w, "reporters", s.Reporters, ts, "last success")
}

func healthBlock(w io.Writer, title string, hs map[string]*state.Health, ts func(time.Time) string, okWhat string) {
	if len(hs) == 0 {
		fmt.Fprintf(w, "%-10s none\n", title)
		return
	}
	names := make([]string, 0, len(hs))
	for n := range hs {
		names = append(names, n)
	}
	sort.Strings(names)
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
		} else {
			fmt.Fprintf(w, "  %-10s ok, %s %s\n", n, okWhat, ts(h.LastOK))
		}
		reporterDetails(w, h, ts)
	}
}

// reporterDetails writes what a reporter keeps besides its last success and error: its
// detail, counters, health checks and shipped files.
func reporterDetails(w io.Writer, h *state.Health, ts func(time.Time) string) {
	const indent = "             "
	if h.Detail != "" {
		fmt.Fprintf(w, "%s%s\n", indent, h.Detail)
	}
	if len(h.Counters) > 0 {
		keys := make([]string, 0, len(h.Counters))
		for k := range h.Counters {
			keys = append(keys, k)
		}
		sort.Strings(keys)
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
	for _, f := range h.Files {
		fmt.Fprintf(w, "%s%s -> %s/%s: shipped %d of %d bytes, lag %d bytes, %s\n", indent, f.Path, f.Group, f.Stream,
			f.Shipped, f.Size, max(f.Size-f.Shipped, 0), time.Duration(f.LagSeconds*float64(time.Second)).Round(time.Second))
		if f.LastError != "" {
			fmt.Fprintf(w, "%s  ERROR %s: %s\n", indent, ts(f.ErrorAt), clip(f.LastError, 100))
		}
	}
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
