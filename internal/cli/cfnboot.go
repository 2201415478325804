package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/stackhand/stackhand/internal/cfnboot"
)

// The aws-cfn-bootstrap drop-ins: stackhand answers to cfn-init, cfn-signal and
// cfn-get-metadata as a command ("stackhand cfn-init ...") and, through a link of that
// name to the binary (/opt/aws/bin/cfn-init, which templates call), as the program itself.
// Their flags are the scripts' own, not stackhand's --flag style (package cfnboot).

// runDropIn runs the drop-in name with args; prog is how its help names it.
func runDropIn(env Env, name, prog string, args []string) int {
	switch name {
	case "cfn-init":
		return cfnInit(env, prog, args)
	case "cfn-signal":
		return cfnSignal(env, prog, args)
	case "cfn-get-metadata":
		return cfnGetMetadata(env, prog, args)
	}
	return ExitUsage
}

func cmdCfnInit(env Env, args []string) int { return cfnInit(env, "stackhand cfn-init", args) }
func cmdCfnSignal(env Env, args []string) int {
	return cfnSignal(env, "stackhand cfn-signal", args)
}
func cmdCfnGetMetadata(env Env, args []string) int {
	return cfnGetMetadata(env, "stackhand cfn-get-metadata", args)
}

// parsed turns a Parse function's error into the exit code to stop with (-1: go on):
// help on stdout and 0, a usage error with a pointer to --help and 2.
func parsed(env Env, prog string, err error, help func(io.Writer, string)) int {
	switch {
	case err == nil:
		return -1
	case errors.Is(err, cfnboot.ErrHelp):
		help(env.Stdout, prog)
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "%s: %v\nRun '%s --help' for the flags.\n", prog, err, prog)
	return ExitUsage
}

// bootEnv is the drop-ins' view of env; verbose sends the agent-side log lines to stderr.
func bootEnv(env Env, verbose bool) cfnboot.Env {
	stdin := env.Stdin
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	e := cfnboot.Env{Stdin: stdin, Stdout: env.Stdout, Stderr: env.Stderr}
	if verbose {
		enc := zap.NewDevelopmentEncoderConfig()
		e.Log = zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(env.Stderr), zapcore.DebugLevel))
	}
	return e
}

// signalContext ends when the process is asked to stop, so a run stops between steps
// and its commands are ended with it.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func cfnInit(env Env, prog string, args []string) int {
	opts, err := cfnboot.ParseInitArgs(args)
	if code := parsed(env, prog, err, cfnboot.InitHelp); code >= 0 {
		return code
	}
	ctx, cancel := signalContext()
	defer cancel()
	res, err := cfnboot.RunInit(ctx, opts, bootEnv(env, false))
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
		return ExitFailed
	}
	if res.Reboot {
		fmt.Fprintf(env.Stdout, "%s: a command expects a reboot; after it, run: %s --resume\n", prog, prog)
	}
	return ExitOK
}

func cfnSignal(env Env, prog string, args []string) int {
	opts, err := cfnboot.ParseSignalArgs(args)
	if code := parsed(env, prog, err, cfnboot.SignalHelp); code >= 0 {
		return code
	}
	ctx, cancel := signalContext()
	defer cancel()
	if err := cfnboot.Signal(ctx, opts, bootEnv(env, false)); err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
		return ExitFailed
	}
	return ExitOK
}

func cfnGetMetadata(env Env, prog string, args []string) int {
	opts, err := cfnboot.ParseGetMetadataArgs(args)
	if code := parsed(env, prog, err, cfnboot.GetMetadataHelp); code >= 0 {
		return code
	}
	ctx, cancel := signalContext()
	defer cancel()
	if err := cfnboot.GetMetadata(ctx, opts, bootEnv(env, opts.Verbose)); err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
		return ExitFailed
	}
	return ExitOK
}
