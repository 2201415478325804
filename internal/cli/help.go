package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
)

// commandHelp is what a command's --help says besides its synopsis and flags: what it
// does, and its exit codes (README, "Commands").
var commandHelp = map[string]struct{ about, more string }{
	"run": {
		about: "Runs the agent in the foreground until it is stopped (SIGTERM, Ctrl-C, the service manager)\n" +
			"or a terminating shutdown is done. This is what the service runs.",
		more: "Exit codes:\n" +
			"  0  stopped, or the shutdown hooks ran on a terminating instance\n" +
			"  1  the configuration cannot be read, or the agent stopped on an error (see agent.log)\n" +
			"  2  usage: unknown flag or log level\n",
	},
	"validate": {
		about: "Checks stackhand.yaml, cfn-hup's configuration (what each section becomes) and hooks.d;\n" +
			"prints every problem as file:line: what, how to fix. Starts nothing.",
		more: "Exit codes:\n" +
			"  0  valid (warnings may be printed)\n" +
			"  1  problems found\n" +
			"  2  usage\n",
	},
	"status": {
		about: "Shows the verdict, whether the agent runs, the instance, the last run of each event,\n" +
			"the queue and retries, then the sources and reporters, those with a problem first.",
		more: "Exit codes:\n" +
			"  0  printed (whatever the verdict)\n" +
			"  1  the configuration cannot be read\n" +
			"  2  usage\n" +
			"  4  stackhand could not read its own state (state.json or status.json)\n",
	},
	"releases": {
		about: "Lists the releases of APP (apps: in stackhand.yaml) found in its deploy_to/releases, newest\n" +
			"first, with revision, time, size and which is current and previous. Reads the disk only:\n" +
			"it works with the agent stopped.",
		more: "Exit codes:\n" +
			"  0  listed (or none yet)\n" +
			"  1  the configuration or deploy_to cannot be read\n" +
			"  2  usage: no such app, or an unknown flag\n",
	},
	"rollback": {
		about: "Asks the running agent to switch APP's current link back (through the request spool), to\n" +
			"RELEASE or to the release before the current one, and to run its after_switch release hooks.\n" +
			"The deploy hooks do not run. The revision switched away from is not deployed again on its\n" +
			"own: the agent deploys again when the revision changes.",
		more: "Exit codes:\n" +
			"  0  rolled back (with --no-wait: the request was handed over or queued)\n" +
			"  1  the rollback failed (no such release, nothing before the current one), or the\n" +
			"     configuration cannot be read\n" +
			"  2  usage: no such app, or an unknown flag\n" +
			"  3  no agent answered: not running (the request stays queued and runs when it starts),\n" +
			"     or --timeout passed\n",
	},
	"trigger": {
		about: "Asks the running agent to run EVENT (through the request spool in the state directory)\n" +
			"and waits for its result.",
		more: "Events:\n" +
			"  setup      the instance's first-start work; followed by deploy, then configure\n" +
			"  configure  the peers changed (OpsWorks' configure); the payload lists every peer\n" +
			"  deploy     a watched value was added or changed\n" +
			"  undeploy   a watched value was removed\n" +
			"  shutdown   the instance is going away; after it the agent exits\n" +
			"\nExit codes:\n" +
			"  0  the event succeeded (with --no-wait: the request was handed over or queued)\n" +
			"  1  the event failed (its output tail is printed), or the configuration cannot be read\n" +
			"  2  usage: unknown event or flag\n" +
			"  3  no agent answered: not running (the request stays queued and runs when it starts),\n" +
			"     the event was dropped by a shutdown, or --timeout passed\n" +
			"  4  stackhand could not read its own state (the result file)\n",
	},
	"fleet status": {
		about: "Shows the fleet: each online instance of the group (in mode local, of peers.json) with its\n" +
			"AZ, what it applied of each watch rule and app, its last event with result and age, and its\n" +
			"health, as the agents published them (instance tags; local.fleet_dir in mode local), in the\n" +
			"order rollouts go through them; then a line per rollout in progress and every failure.",
		more: "Exit codes:\n" +
			"  0  printed\n" +
			"  1  the configuration, the group or the published state cannot be read\n" +
			"  2  usage\n",
	},
	"fleet hold": {
		about: "Holds every rollout of the group: no agent starts a new wave until stackhand fleet resume.\n" +
			"Sets the tag stackhand:rollout-hold on the Auto Scaling group (in mode local, the file\n" +
			"hold in local.fleet_dir); the agents read it with the group, at no extra call.",
		more: "Exit codes:\n" +
			"  0  held\n" +
			"  1  the configuration cannot be read, or the tag cannot be set\n" +
			"  2  usage\n",
	},
	"fleet resume": {
		about: "Ends stackhand fleet hold: the agents go on with their rollouts at their next read.",
		more: "Exit codes:\n" +
			"  0  resumed\n" +
			"  1  the configuration cannot be read, or the tag cannot be removed\n" +
			"  2  usage\n",
	},
	"service": {
		about: "Installs, uninstalls, starts, stops or shows the system service (systemd on Linux,\n" +
			"the Service Control Manager on Windows).",
		more: "Exit codes:\n" +
			"  0  done\n" +
			"  1  the service manager refused (the reason is printed)\n" +
			"  2  usage: no action, or an unknown one\n",
	},
	"version": {
		about: "Prints the version, the Go version and the platform.",
		more:  "Exit codes:\n  0  always\n",
	},
}

// exitCodesHelp is the top-level help's list of exit codes; the same as README's.
const exitCodesHelp = `Exit codes:
  0  success
  1  the command ran and what it did or checked failed
  2  usage: unknown command, flag or event
  3  no agent answered (trigger)
  4  stackhand could not read its own state
`

// newFlagSet makes a command's FlagSet whose usage is its help: synopsis, what it does,
// its flags written as --flag, then its events and exit codes.
func newFlagSet(env Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() { printHelp(fs.Output(), fs, synopsis) }
	return fs
}

// flags makes a FlagSet for a command with the --config flag every command but version takes.
func flags(env Env, name, synopsis string) (*flag.FlagSet, *string) {
	fs := newFlagSet(env, name, synopsis)
	cfg := fs.String("config", config.DefaultConfigPath, "`PATH` of stackhand.yaml")
	return fs, cfg
}

func printHelp(w io.Writer, fs *flag.FlagSet, synopsis string) {
	h := commandHelp[fs.Name()]
	fmt.Fprintf(w, "Usage: stackhand %s\n", synopsis)
	if h.about != "" {
		fmt.Fprintf(w, "\n%s\n", h.about)
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nFlags:")
		fs.VisitAll(func(f *flag.Flag) {
			arg, usage := flag.UnquoteUsage(f)
			line := "  --" + f.Name
			if arg != "" {
				line += " " + arg
			}
			fmt.Fprintln(w, line)
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0s" {
				usage += fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(w, "        %s\n", usage)
		})
	}
	if h.more != "" {
		fmt.Fprintf(w, "\n%s", h.more)
	}
}

// parse parses args; it returns an exit code to stop with, or -1 to go on. --help (or -h)
// prints the command's help on stdout and stops with 0; a bad flag prints the error and
// the help on stderr and stops with ExitUsage.
func parse(env Env, fs *flag.FlagSet, args []string) int {
	var errOut bytes.Buffer
	fs.SetOutput(&errOut)
	defer fs.SetOutput(env.Stderr)
	// Allow flags after positional arguments ("trigger deploy --reason x").
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(env.Stdout)
				fs.Usage()
				return ExitOK
			}
			// The flag package writes a flag with one dash; the help writes two.
			msg := strings.Replace(errOut.String(), "not defined: -", "not defined: --", 1)
			io.WriteString(env.Stderr, msg)
			return ExitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	fs.Parse(append([]string{"--"}, pos...))
	return -1
}

// eventNames is the list of events for messages.
func eventNames() string { return event.KindNames() }
