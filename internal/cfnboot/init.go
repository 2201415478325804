package cfnboot

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/stackhand/stackhand/internal/cfninit"
)

// InitOptions is cfn-init's command line.
type InitOptions struct {
	Stack    string
	Resource string
	// ConfigSets to run, in order (-c a,b); empty means "default".
	ConfigSets []string
	AWS        AWSFlags
	Verbose    bool
	// Resume continues a run a reboot stopped (waitAfterCompletion "forever").
	Resume bool
	// MetadataFile reads the Metadata from a file instead of CloudFormation (stackhand's
	// --metadata, or cfn-init's positional FILE); "-" reads standard input.
	MetadataFile string
}

// initOptions are cfn-init's flags as cfn-init takes them (aws-cfn-bootstrap bin/cfn-init;
// AWS's cfn-init page), plus --metadata.
func initOptions(o *InitOptions, sets *string) []option {
	opts := []option{
		{short: 's', long: "stack", arg: "STACK", help: "the stack's name or id", set: str(&o.Stack)},
		{short: 'r', long: "resource", arg: "LOGICAL_ID", help: "the logical id of the resource whose Metadata holds AWS::CloudFormation::Init", set: str(&o.Resource)},
		{short: 'c', long: "configsets", arg: "SETS", help: "the configSets to run, comma-separated, in order (default: default)", set: str(sets)},
		{short: 'v', long: "verbose", help: "log details (each step and why it was skipped) to cfn-init.log and stderr", set: flagOn(&o.Verbose)},
		{long: "resume", help: "continue the run a reboot stopped (a command with waitAfterCompletion: forever)", set: flagOn(&o.Resume)},
		{long: "metadata", arg: "FILE", help: "read the Metadata from FILE (JSON; - for stdin) instead of CloudFormation: try an Init block on a laptop", set: str(&o.MetadataFile)},
	}
	return append(opts, awsOptions(&o.AWS, 'u')...)
}

// ParseInitArgs parses cfn-init's command line (without the program name).
func ParseInitArgs(args []string) (InitOptions, error) {
	var o InitOptions
	var sets string
	pos, err := parseOptions(initOptions(&o, &sets), args)
	if err != nil {
		return o, err
	}
	if sets != "" {
		for _, s := range strings.Split(sets, ",") {
			if s = strings.TrimSpace(s); s != "" {
				o.ConfigSets = append(o.ConfigSets, s)
			}
		}
		if len(o.ConfigSets) == 0 {
			return o, usagef("--configsets %q names no configSet", sets)
		}
	}
	// cfn-init reads a file named as its one argument, or stdin for "-".
	switch {
	case len(pos) > 1:
		return o, usagef("one metadata file at most; got %d arguments: %s", len(pos), strings.Join(pos, " "))
	case len(pos) == 1 && o.MetadataFile != "":
		return o, usagef("the metadata file is given twice (--metadata %s and %s)", o.MetadataFile, pos[0])
	case len(pos) == 1:
		o.MetadataFile = pos[0]
	}
	if err := o.AWS.check(); err != nil {
		return o, err
	}
	switch {
	case o.Resume:
		// The metadata comes from the resume file (runInit), as cfn-init's --resume
		// takes it from its work log.
	case o.MetadataFile != "" && (o.Stack != "" || o.Resource != ""):
		return o, usagef("give either --stack and --resource, or a metadata file, not both (cfn-init reads one source)")
	case o.MetadataFile == "" && (o.Stack == "" || o.Resource == ""):
		return o, usagef("give --stack and --resource (the resource whose Metadata holds AWS::CloudFormation::Init), or --metadata FILE")
	}
	return o, nil
}

// InitHelp writes cfn-init's help.
func InitHelp(w io.Writer, prog string) {
	fmt.Fprintf(w, `Usage: %[1]s --stack STACK --resource LOGICAL_ID [--configsets SETS] [-v] [options]
   or: %[1]s --metadata FILE [--configsets SETS] [-v]

stackhand's cfn-init: reads the resource's Metadata (cloudformation:DescribeStackResource,
signed with the instance role, or with the instance identity document when the instance
has no credentials, as cfn-init does) and applies its AWS::CloudFormation::Init block: each
config of the configSets, in the order packages, groups, users, sources, files, commands,
services. The first failure stops the run.

Logs: %[2]s (what was done and why) and %[3]s (commands' output).
`, prog, defaultInitLog(), defaultCmdLog())
	var o InitOptions
	var s string
	printOptions(w, initOptions(&o, &s))
	fmt.Fprint(w, `
Exit codes:
  0  every config applied (or a reboot is expected: run again with --resume after it;
     on Windows a scheduled task does, at the next start)
  1  a step failed, or the metadata could not be read (the reason is printed and logged)
  2  usage: an unknown flag, a missing --stack/--resource
`)
}

// Log files, where cfn-init writes them: /var/log on Linux; on Windows
// %SystemDrive%\cfn\log (aws-cfn-bootstrap cfnbootstrap/__init__.py, _getLogFile).
func defaultInitLog() string { return filepath.Join(logDir(), "cfn-init.log") }
func defaultCmdLog() string  { return filepath.Join(logDir(), "cfn-init-cmd.log") }

func logDir() string {
	if runtime.GOOS == "windows" {
		drive := os.Getenv("SystemDrive")
		if drive == "" {
			drive = "C:"
		}
		return drive + `\cfn\log`
	}
	return "/var/log"
}

// resumeFile is where a run stopped by a reboot records its progress (one place for the
// command line, the agent and the runner: cfninit.DefaultResumeFile).
func (e Env) resumeFile() string {
	if e.ResumeFile != "" {
		return e.ResumeFile
	}
	return cfninit.DefaultResumeFile()
}

// RunInit runs cfn-init: reads the Metadata, resolves the configSets and applies them.
// The error, when not nil, has been logged to cfn-init.log; the caller prints it.
func RunInit(ctx context.Context, opts InitOptions, env Env) (*cfninit.Result, error) {
	start := time.Now()
	logs, err := openInitLogs(env, opts.Verbose)
	if err != nil {
		return nil, err
	}
	defer logs.close()
	log := logs.log
	agent := env.log().With(zap.String("stack", opts.Stack), zap.String("resource", opts.Resource))

	res, err := runInit(ctx, opts, env, log, logs.cmd)
	// On Windows a run stopped for a reboot leaves a task that resumes it at boot, and
	// a resumed run removes it (resumetask.go).
	if terr := manageResumeTask(ctx, opts, res, err, func(warn bool, msg string) {
		if warn {
			log.Warn(msg)
		} else {
			log.Info(msg)
		}
	}); terr != nil && err == nil {
		err = terr
	}
	if err != nil {
		log.Error(strings.Repeat("-", 19) + "BUILD FAILED!" + strings.Repeat("-", 28))
		log.Error("Error occurred during build: " + err.Error())
		agent.Warn("cfn-init failed", zap.Duration("duration", time.Since(start)), zap.Error(err))
		return res, err
	}
	log.Info(strings.Repeat("-", 23) + "Build complete" + strings.Repeat("-", 23))
	agent.Info("cfn-init done", zap.Duration("duration", time.Since(start)),
		zap.Strings("configs", res.Configs), zap.Int("changes", len(res.Changed)), zap.Bool("reboot", res.Reboot))
	return res, nil
}

func runInit(ctx context.Context, opts InitOptions, env Env, log *zap.Logger, cmdLog io.Writer) (*cfninit.Result, error) {
	var md []byte
	var from string
	if opts.Resume {
		// As cfn-init's --resume: the Metadata is the one the stopped run kept, not
		// read again (the stack may have changed since, and the task that runs this
		// after a reboot carries no stack and no credentials).
		p, err := cfninit.ReadProgress(env.resumeFile())
		if err != nil {
			return nil, err
		}
		if p == nil {
			log.Info("Nothing to resume: " + env.resumeFile() + " does not exist")
			return &cfninit.Result{}, nil
		}
		if len(p.Metadata) > 0 {
			md, from = p.Metadata, "the resume file "+env.resumeFile()
		} else if opts.MetadataFile == "" && (opts.Stack == "" || opts.Resource == "") {
			return nil, fmt.Errorf("%s keeps no Metadata to resume with; give --stack and --resource (or --metadata FILE) with --resume, or remove the file to run from the start", env.resumeFile())
		}
	}
	if md == nil {
		var err error
		md, from, err = readMetadata(ctx, opts, env)
		if err != nil {
			return nil, err
		}
	}
	log.Info("Read the Metadata from " + from)
	in, err := cfninit.Parse(md)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	for _, w := range in.Warnings {
		log.Warn(w)
	}
	var configs []string
	if !opts.Resume { // a resumed run goes on with the configs the resume file lists
		if configs, err = in.Resolve(opts.ConfigSets); err != nil {
			return nil, fmt.Errorf("%s: %w", from, err)
		}
	}
	sets := opts.ConfigSets
	if len(sets) == 0 {
		sets = []string{"default"}
	}
	awsOpts, err := opts.AWS.options(nil)
	if err != nil {
		return nil, err
	}
	log.Info(strings.Repeat("-", 23) + "Starting build" + strings.Repeat("-", 23))
	if opts.Resume {
		log.Info("Resuming the run a reboot stopped, from " + env.resumeFile())
	} else {
		log.Info(fmt.Sprintf("Running configSets: %s (configs: %s)", strings.Join(sets, ", "), strings.Join(configs, ", ")))
	}
	r := &cfninit.Runner{
		Log:         log,
		CmdLog:      cmdLog,
		Fetch:       newFetcher(log, awsOpts.Proxy),
		Auth:        in.Auth,
		ResumeFile:  env.resumeFile(),
		Resume:      opts.Resume,
		Metadata:    md,
		SelfService: env.selfService(),
		SelfReload:  env.SelfReload,
	}
	return r.Apply(ctx, in, configs)
}

// readMetadata reads the Metadata from the file or CloudFormation and says from where.
func readMetadata(ctx context.Context, opts InitOptions, env Env) ([]byte, string, error) {
	switch opts.MetadataFile {
	case "":
	case "-":
		data, err := io.ReadAll(io.LimitReader(env.stdin(), maxMetadata+1))
		if err != nil {
			return nil, "", fmt.Errorf("read the Metadata from stdin: %w", err)
		}
		if len(data) > maxMetadata {
			return nil, "", fmt.Errorf("the Metadata on stdin is over %d bytes", maxMetadata)
		}
		return data, "stdin", nil
	default:
		data, err := readLimited(opts.MetadataFile)
		if err != nil {
			return nil, "", err
		}
		return data, opts.MetadataFile, nil
	}
	e, err := loadAWS(ctx, &opts.AWS, env)
	if err != nil {
		return nil, "", err
	}
	md, err := describeResource(ctx, e.CloudFormation(), opts.Stack, opts.Resource)
	if err != nil {
		return nil, "", err
	}
	return md, fmt.Sprintf("resource %s of stack %s", opts.Resource, opts.Stack), nil
}

// maxMetadata bounds what is read: CloudFormation's whole template is at most 1 MB
// (its quotas page), so a resource's Metadata cannot be larger.
const maxMetadata = 4 << 20

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the Metadata: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMetadata+1))
	if err != nil {
		return nil, fmt.Errorf("read the Metadata from %s: %w", path, err)
	}
	if len(data) > maxMetadata {
		return nil, fmt.Errorf("%s is over %d bytes: not a resource's Metadata", path, maxMetadata)
	}
	return data, nil
}

// selfService is the service standing for cfn-hup: Env.SelfService, else "stackhand"
// when its unit (or, on Windows, its service, which the MSI always installs) is there.
func (e Env) selfService() string {
	if e.SelfService != "" {
		return e.SelfService
	}
	if runtime.GOOS == "windows" {
		return "stackhand"
	}
	for _, d := range []string{"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"} {
		if _, err := os.Stat(filepath.Join(d, "stackhand.service")); err == nil {
			return "stackhand"
		}
	}
	return ""
}

// cfnLevel writes levels as Python's logging does: INFO, WARNING, ERROR, DEBUG.
func cfnLevel(l zapcore.Level, enc zapcore.PrimitiveArrayEncoder) {
	name := "INFO"
	switch l {
	case zapcore.DebugLevel:
		name = "DEBUG"
	case zapcore.WarnLevel:
		name = "WARNING"
	case zapcore.ErrorLevel, zapcore.DPanicLevel, zapcore.PanicLevel, zapcore.FatalLevel:
		name = "ERROR"
	}
	enc.AppendString("[" + name + "]")
}

// cfnTime is Python logging's default asctime: "2026-12-04 15:00:00,123".
func cfnTime(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
	enc.AppendString(t.Format("2006-01-02 15:04:05,000"))
}

// cfnEncoder writes cfn-init.log's lines: "2026-12-04 15:00:00,123 [INFO] message",
// with any structured fields after the message as JSON.
func cfnEncoder() zapcore.Encoder {
	return zapcore.NewConsoleEncoder(zapcore.EncoderConfig{
		TimeKey: "t", LevelKey: "l", MessageKey: "m",
		EncodeTime: cfnTime, EncodeLevel: cfnLevel, ConsoleSeparator: " ",
		LineEnding: "\n", EncodeDuration: zapcore.StringDurationEncoder,
	})
}
