// Package cli holds stackhand's subcommands, one file each, and what they share: flags,
// config loading, logging and exit codes.
package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stackhand/stackhand/internal/cfnboot"
)

// Exit codes, documented in README.
const (
	ExitOK       = 0 // success
	ExitFailed   = 1 // the command ran and what it did or checked failed
	ExitUsage    = 2 // bad command line: unknown command, flag or event
	ExitNoAgent  = 3 // trigger: no agent answered (not running, or the request was dropped)
	ExitInternal = 4 // stackhand could not read its own state
)

// Version is set at build time with -ldflags "-X github.com/stackhand/stackhand/internal/cli.Version=...".
var Version = "dev"

// Env is what a command may touch of the outside world, so tests can run commands in-process.
type Env struct {
	Stdin  io.Reader // cfn-init's metadata for "-"; nil reads nothing
	Stdout io.Writer
	Stderr io.Writer
	Args   []string
}

type command struct {
	name  string
	short string
	run   func(env Env, args []string) int
}

func commands() []command {
	return []command{
		{"run", "run the agent in the foreground (what the service runs)", cmdRun},
		{"validate", "check the config and hooks.d; print every problem", cmdValidate},
		{"status", "show identity, last events, the queue and source health", cmdStatus},
		{"trigger", "ask the running agent to run an event and wait for its result", cmdTrigger},
		{"releases", "list an app's releases on disk: revision, time, size, current and previous", cmdReleases},
		{"rollback", "ask the running agent to switch an app back to an earlier release", cmdRollback},
		{"fleet", "show the fleet's applied revisions and rollouts; hold or resume rollouts", cmdFleet},
		{"service", "install, uninstall, start, stop or show the system service", cmdService},
		{"version", "print the version", cmdVersion},
		{"cfn-init", "apply AWS::CloudFormation::Init (aws-cfn-bootstrap's cfn-init, built in)", cmdCfnInit},
		{"cfn-signal", "signal a CreationPolicy or a WaitConditionHandle (cfn-signal, built in)", cmdCfnSignal},
		{"cfn-get-metadata", "print a resource's Metadata (cfn-get-metadata, built in)", cmdCfnGetMetadata},
	}
}

// Main runs the command named in args[1:] and returns the process exit code. Invoked
// through a link named cfn-init, cfn-signal or cfn-get-metadata (.exe on Windows), it is
// that program, with args[1:] as its arguments: /opt/aws/bin/cfn-init keeps working on
// an instance that has stackhand instead of aws-cfn-bootstrap.
func Main(env Env) int {
	if len(env.Args) > 0 {
		if name := cfnboot.DropInName(env.Args[0]); name != "" {
			return runDropIn(env, name, name, env.Args[1:])
		}
	}
	if len(env.Args) == 0 {
		env.Args = []string{"stackhand"}
	}
	args := env.Args[1:]
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(env, args[1:])
		}
	}
	fmt.Fprintf(env.Stderr, "stackhand: unknown command %q\n\n", args[0])
	usage(env.Stderr)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "stackhand — runs lifecycle hooks (setup, configure, deploy, undeploy, shutdown) on this instance")
	fmt.Fprintln(w, "\nUsage: stackhand COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.short)
	}
	fmt.Fprintln(w, "\nEvents: "+eventNames()+" (stackhand trigger EVENT).")
	fmt.Fprintln(w, "\nRun through a link named cfn-init, cfn-signal or cfn-get-metadata (as /opt/aws/bin/cfn-init,\n"+
		"which the packages install where aws-cfn-bootstrap is absent), stackhand is that program.")
	fmt.Fprint(w, "\n"+exitCodesHelp)
	fmt.Fprintln(w, "\nRun 'stackhand COMMAND --help' for what a command does, its flags and its exit codes.")
}

func fail(env Env, code int, format string, a ...any) int {
	msg := fmt.Sprintf(format, a...)
	fmt.Fprintln(env.Stderr, "stackhand: "+strings.TrimRight(msg, "\n"))
	return code
}

// DefaultEnv is the process's own standard streams and arguments.
func DefaultEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Args: os.Args}
}
