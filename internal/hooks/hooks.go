// Package hooks runs the hooks of one lifecycle event, as README's "The hook contract"
// promises fleet owners: the executables of hooks.d/<event>/ in lexical order (or one
// cfn-hup action command), each with the STACKHAND_* environment and the JSON payload on
// stdin, refused when unsafe, stopped at the first failure, its whole process tree ended
// at its timeout, and its output kept in a per-run log file and sent to the agent's log.
//
// The runner knows nothing about where an event came from; the engine builds a Spec.
package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/atomicfile"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/omitempty"
	"github.com/stackhand/stackhand/internal/trust"
)

const (
	// DefaultKeep is how many payload files and run log directories a Runner keeps
	// when Keep is zero.
	DefaultKeep = 200
	// DefaultMaxRunLog is Runner.MaxRunLog when zero: the first and last 1 MiB of a run.
	DefaultMaxRunLog = 2 << 20
	// DefaultMaxLogTotal is Runner.MaxLogTotal when zero.
	DefaultMaxLogTotal = 512 << 20
	// DefaultKillGrace is the time between SIGTERM and SIGKILL when KillGrace is zero.
	DefaultKillGrace = 10 * time.Second

	// CommandName is the HookResult.Name (and log file name) of a Spec.Command run
	// whose Spec.Name is empty.
	CommandName = "command"

	// reapWait bounds the wait for a SIGKILLed hook to be reaped: a process stuck in
	// uninterruptible sleep must not hang the agent.
	reapWait = 5 * time.Second
)

// Spec is one run of one event's hooks.
type Spec struct {
	Event      event.Kind
	EventID    string // names the payload file and the run's log directory: letters, digits, '.', '_', '-'
	Reason     string
	InstanceID string
	Stack      string
	Region     string // AWS_REGION; left as the agent has it when empty
	Retry      bool   // sets STACKHAND_RETRY=1

	// Dir is hooks.d/<event>; ignored when Command is set.
	Dir string
	// Command, when set, is run as the one hook (a cfn-hup action): /bin/sh -c on Unix,
	// cmd.exe /C on Windows.
	Command string
	// Name names the Command run, so that two commands can be told apart in logs and
	// status: it is the HookResult.Name, and its log file is <Name>.log with every
	// character but letters, digits, '-', '_' and '.' made '_'. The engine gives the
	// watch rule's name ("cfn-hup:<section>" for a cfn-hup hook); CommandName when "".
	Name string
	// QuietMissingDir says a missing Dir is normal (a cfn-hup-only setup never had one):
	// no warning, the event succeeds with no hooks run.
	QuietMissingDir bool
	// RunAs is the user Command runs as (Unix): a name or a numeric uid. "" or the agent's
	// own user changes nothing; anyone else needs the agent to be root.
	RunAs string

	// Env holds extra KEY=VALUE entries (hook_env, CFN_OLD_*/CFN_NEW_*); they come after,
	// and so override, the STACKHAND_* ones.
	Env []string
	// Payload is the JSON payload; "{}" when empty.
	Payload []byte
	// Timeout bounds each hook; zero or less means no bound but ctx.
	Timeout time.Duration
}

// Runner runs hooks. Its zero value is not usable: PayloadDir and LogDir are required.
// A Runner may be shared; Runs of the same EventID must not overlap.
type Runner struct {
	// PayloadDir holds the payload files, <EventID>.json, mode 0600; created 0700. A
	// payload that cannot be written there (a read-only or full state directory) goes to
	// a private temporary directory instead, said once in the log and in each Result's
	// Warnings, so that the event still runs.
	PayloadDir string
	// LogDir holds one directory per run, <EventID>/ (0750), with one <hook>.log (0640)
	// per hook run, <name>.log for a Command (see Spec.Name). A rerun with the same
	// EventID appends.
	LogDir string
	// KillGrace is the time between SIGTERM and SIGKILL when a hook's process tree is
	// ended; DefaultKillGrace when zero.
	KillGrace time.Duration
	// Logger gets the runner's messages and each hook's output lines; none when nil.
	Logger *zap.Logger
	// Keep is how many payload files and run log directories are kept, the oldest
	// pruned after each Run; DefaultKeep when zero, no pruning when negative.
	Keep int
	// MaxRunLog bounds the output one run of a hook leaves in its log file: past it the
	// first and last MaxRunLog/2 bytes are kept, with a line between saying how much was
	// cut. DefaultMaxRunLog when zero, no cap when negative.
	MaxRunLog int64
	// MaxLogTotal bounds the run log directories together: past it the oldest are pruned
	// (the current run's never). DefaultMaxLogTotal when zero, no bound when negative.
	MaxLogTotal int64

	// RecordFile, when set, is where the runner records the hook it runs (see
	// EndLeftover); it belongs in the agent's state directory.
	RecordFile string

	// Builtin, when set, is asked about each Spec.Command that runs as the agent's own
	// user: when it returns a function, that function runs the command in the agent's
	// process (no shell, no child) instead of the shell. The agent answers for cfn-init.
	Builtin func(command string) (BuiltinFunc, bool)

	// euid stands in for os.Geteuid in tests.
	euid func() int

	// fallbackMu guards fallback, the private directory of the payloads that PayloadDir
	// refused ("" while it takes them).
	fallbackMu sync.Mutex
	fallback   string
}

// Result is what a Run did. It never loses a hook's exit code, timeout or duration.
type Result struct {
	// OK is true when every hook exited 0 (or there was none to run).
	OK bool
	// Hooks holds the hooks that were started or refused, in run order. Hooks after a
	// failure are not started and not here; they are in NotRun.
	Hooks []HookResult
	// Failed names the hook that failed or was refused; "" if OK, or if the run failed
	// before any hook (see Err).
	Failed string
	// NotRun names the hooks skipped because an earlier one failed.
	NotRun []string
	// Tail is the last ~4 KiB of the output of the failed hook, or of the last hook if OK.
	Tail string
	// Warnings says what an operator should know though it did not fail the event: hooks
	// directory missing, a file skipped because it cannot run.
	Warnings []string
	// PayloadFile is the absolute path of the payload file.
	PayloadFile string
	// Err says why the run failed before any hook could start (payload not written, hooks
	// directory unreadable); "" otherwise.
	Err string
}

// HookResult is one hook's run.
type HookResult struct {
	Name string
	Path string // "" for a Command
	// ExitCode is the hook's exit status; -1 when it was not started, was refused or was
	// ended by a signal (see Signal).
	ExitCode int
	// Signal names the signal that ended the hook ("killed", "terminated"), if one did.
	Signal   string
	Start    time.Time
	Duration time.Duration
	// TimedOut is true when the hook ran past Spec.Timeout and its tree was ended.
	TimedOut bool
	// Canceled is true when the run's context ended while the hook ran (its tree was
	// ended) or before it could start.
	Canceled bool
	// Refused says why the hook was not run (unsafe ownership or mode).
	Refused string
	// Err says what else went wrong: the hook could not be started, or was not reaped.
	Err string
	// LogFile is the hook's output, stdout and stderr interleaved.
	LogFile string
	// Builtin is true when the command ran inside the agent (see Runner.Builtin).
	Builtin bool
	// Changes lists what a built-in command changed on the instance, one line each.
	Changes []string
}

// BuiltinFunc runs a command inside the agent. It writes what a person reads to out (the
// hook's log file), ends when ctx does, and returns the exit status the command would
// have had, what it changed, and why it failed ("" when it did not).
type BuiltinFunc func(ctx context.Context, out io.Writer) (exitCode int, changes []string, err error)

// OK reports whether the hook ran and exited 0.
func (h HookResult) OK() bool {
	return h.ExitCode == 0 && h.Refused == "" && h.Err == "" && !h.TimedOut && !h.Canceled
}

// noContainer makes the runner say once per process that hooks run uncontained.
var noContainer sync.Once

// job is one hook to run, file or command.
type job struct {
	name    string
	logName string // its log file's name in the run's log directory
	path    string // "" for a command
	argv    []string
	rawLine string // Windows raw command line, see windowsCmdLine
	builtin BuiltinFunc
	// checked is what the safety check looked at; the file it resolved to is what runs.
	checked trust.Result
}

// Run runs s's hooks one after the other and reports what they did. It stops at the first
// hook that fails, is refused or is canceled; it returns when that hook's process tree is
// ended, never waiting on what a hook left running in the background. After the run it
// prunes old payload files and run logs.
func (r *Runner) Run(ctx context.Context, s Spec) Result {
	log := r.logger().With(zap.String("event", string(s.Event)), zap.String("event_id", s.EventID))
	var res Result
	fail := func(format string, args ...any) Result {
		res.Err = fmt.Sprintf(format, args...)
		log.Error("hooks not run", zap.String("error", res.Err))
		return res
	}
	if err := checkEventID(s.EventID); err != nil {
		return fail("%v", err)
	}
	if r.PayloadDir == "" || r.LogDir == "" {
		return fail("hooks runner: PayloadDir and LogDir must be set")
	}
	if s.Command == "" && s.Dir == "" {
		return fail("event %s: neither a hooks directory nor a command to run", s.Event)
	}
	payloadFile, warning, err := r.writePayload(s.EventID, s.Payload, log)
	if err != nil {
		return fail("%v", err)
	}
	if warning != "" {
		res.Warnings = append(res.Warnings, warning)
	}
	res.PayloadFile = payloadFile
	defer r.prune(s.EventID, log)

	var jobs []job
	if s.Command != "" {
		name := s.Name
		if name == "" {
			name = CommandName
		}
		argv := shellCommand(runtime.GOOS, s.Command)
		j := job{name: name, logName: logFileName(name), argv: argv, rawLine: windowsCmdLine(argv)}
		if r.Builtin != nil {
			j.builtin, _ = r.Builtin(s.Command)
		}
		jobs = []job{j}
	} else {
		hooks, skipped, err := List(s.Dir)
		if errors.Is(err, fs.ErrNotExist) && s.QuietMissingDir {
			res.OK = true
			log.Debug("no hooks directory (a cfn-hup-only setup)", zap.String("dir", s.Dir))
			return res
		}
		if errors.Is(err, fs.ErrNotExist) {
			res.OK = true
			res.Warnings = append(res.Warnings, fmt.Sprintf("hooks directory %s does not exist: no %s hooks ran", s.Dir, s.Event))
			log.Warn("hooks directory missing", zap.String("dir", s.Dir))
			return res
		}
		if err != nil {
			return fail("%v", err)
		}
		for _, sk := range skipped {
			if sk.Warn {
				w := fmt.Sprintf("%s skipped: %s", filepath.Join(filepath.Base(s.Dir), sk.Name), sk.Reason)
				res.Warnings = append(res.Warnings, w)
				log.Warn("hook skipped", zap.String("hook", sk.Name), zap.String("reason", sk.Reason))
			}
		}
		for _, h := range hooks {
			argv, err := commandLine(runtime.GOOS, h.Path)
			if err != nil { // List skips these; keep the guard local
				continue
			}
			jobs = append(jobs, job{name: h.Name, logName: h.Name + ".log", path: h.Path, argv: argv, rawLine: windowsCmdLine(argv)})
		}
	}
	if len(jobs) == 0 {
		res.OK = true
		return res
	}

	// The run's log directory is one the agent made: a symlink planted in its place
	// would send hook logs (root writes them) wherever it points.
	logDir, err := ownSubdir(r.LogDir, 0o750)
	if err != nil {
		return fail("hook log directory: %v", err)
	}
	runDir, err := trust.Subdir(logDir, s.EventID, 0o750, os.Geteuid())
	if err != nil {
		return fail("create run log directory: %v", err)
	}
	// Resolve the identity once: a wrong runas fails the command, not the whole agent.
	identity, idErr := lookupRunAs(s.RunAs, r.geteuid())
	base, eventFile := os.Environ(), payloadFile
	var identityEnv []string
	if identity != nil {
		// Another user gets what sudo's env_reset gives, never the agent's environment
		// (its AWS credentials among it), and a copy of the payload it can read.
		base = runAsBaseEnv(os.Environ())
		identityEnv = []string{"HOME=" + identity.home, "USER=" + identity.name, "LOGNAME=" + identity.name, "SHELL=" + identity.shell}
		copyFile, cleanup, err := identity.payloadCopy(payloadFile)
		if err != nil {
			return fail("payload for runas %s: %v", s.RunAs, err)
		}
		defer cleanup()
		eventFile = copyFile
	}
	env := hookEnv(runtime.GOOS, base, s, eventFile, identityEnv)
	if err := checkEnvSize(env); err != nil {
		return fail("%v", err)
	}

	for i, j := range jobs {
		var hr HookResult
		switch {
		case ctx.Err() != nil:
			hr = HookResult{Name: j.name, Path: j.path, ExitCode: -1, Canceled: true, Start: time.Now(),
				Err: fmt.Sprintf("not started: %v", context.Cause(ctx))}
		case j.path != "":
			checked, err := check(j.path, filepath.Join(filepath.Base(s.Dir), j.name), r.geteuid())
			if err != nil {
				hr = HookResult{Name: j.name, Path: j.path, ExitCode: -1, Start: time.Now(), Refused: err.Error()}
				break
			}
			// Run the file that was checked, not the name that led to it: every directory
			// from / down to it is one only root (or the agent's user) can change.
			j.checked = checked
			if argv, err := commandLine(runtime.GOOS, checked.Resolved); err == nil {
				j.argv, j.rawLine = argv, windowsCmdLine(argv)
			}
			hr, res.Tail = r.runOne(ctx, s, j, nil, env, payloadFile, runDir, log)
		case idErr != nil:
			hr = HookResult{Name: j.name, ExitCode: -1, Start: time.Now(), Err: idErr.Error()}
			res.Tail = idErr.Error()
		case j.builtin != nil && identity == nil:
			// In the agent itself: only when the command would run as the agent's own user
			// anyway; a runas user gets the shell and the binary's own cfn-init.
			hr, res.Tail = r.runBuiltin(ctx, s, j, runDir, log)
		default:
			hr, res.Tail = r.runOne(ctx, s, j, identity, env, payloadFile, runDir, log)
		}
		res.Hooks = append(res.Hooks, hr)
		if !hr.OK() {
			if hr.Refused != "" {
				res.Tail = ""
			}
			res.Failed = hr.Name
			for _, rest := range jobs[i+1:] {
				res.NotRun = append(res.NotRun, rest.name)
			}
			log.Error("hook failed; later hooks of this event skipped",
				zap.String("hook", hr.Name), zap.Int("exit_code", hr.ExitCode), omitempty.String("signal", hr.Signal),
				omitempty.Bool("timed_out", hr.TimedOut), omitempty.Bool("canceled", hr.Canceled),
				omitempty.String("refused", hr.Refused), omitempty.String("error", hr.Err),
				omitempty.Duration("duration", hr.Duration), omitempty.Strings("not_run", res.NotRun),
				omitempty.String("log_file", hr.LogFile), omitempty.String("tail", res.Tail))
			return res
		}
	}
	res.OK = true
	return res
}

// openHookLog opens a hook's log file for appending, without following a symlink, and
// returns where this run's output starts (a rerun appends).
func openHookLog(path string) (*os.File, int64, error) {
	out, err := trust.OpenNoFollow(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, 0, fmt.Errorf("open hook log: %w", err)
	}
	fi, err := out.Stat()
	if err != nil {
		out.Close()
		return nil, 0, fmt.Errorf("stat hook log: %w", err)
	}
	return out, fi.Size(), nil
}

// runOne runs one hook to its end and returns its result and output tail.
func (r *Runner) runOne(ctx context.Context, s Spec, j job, id *identity, env []string, payloadFile, runDir string, log *zap.Logger) (HookResult, string) {
	hr := HookResult{Name: j.name, Path: j.path, ExitCode: -1, Start: time.Now()}
	hr.LogFile = filepath.Join(runDir, j.logName)
	out, from, err := openHookLog(hr.LogFile)
	if err != nil {
		hr.Err = err.Error()
		return hr, hr.Err
	}
	defer out.Close()
	in, err := trust.OpenNoFollow(payloadFile, os.O_RDONLY, 0)
	if err != nil {
		hr.Err = fmt.Sprintf("open payload: %v", err)
		return hr, hr.Err
	}
	defer in.Close()

	// Files, not pipes, for all three: the child gets the descriptors themselves, so no
	// copying goroutine can block on a big payload or on a background child that keeps
	// stdout open after the hook exits.
	cmd := exec.Command(j.argv[0], j.argv[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, out, out
	if j.path != "" {
		cmd.Dir = filepath.Dir(j.path)
	} else if runtime.GOOS != "windows" {
		cmd.Dir = "/"
	}
	prepareProc(cmd, j.rawLine)
	if id != nil {
		id.apply(cmd)
	}
	// Contained where the platform allows it (a cgroup, a job object), so that nothing the
	// hook starts escapes the end of its tree; recorded, so that a dead agent's successor
	// can end it.
	cg, cgErr := contain(cmd, s.EventID)
	if cgErr != nil {
		noContainer.Do(func() {
			log.Info("hooks run without a cgroup of their own: their trees are followed through process groups, parents and, on Linux, the orphans the agent adopts as a child subreaper",
				zap.String("why", cgErr.Error()))
		})
	}
	defer cg.release()
	rec := runningHook{EventID: s.EventID, Hook: j.name, Cgroup: cg.name()}
	r.record(rec, log)
	defer r.forget()

	if err := j.checked.Unchanged(); err != nil {
		hr.Refused = err.Error()
		note(out, hr.LogFile, "stackhand: not run: "+hr.Refused)
		return hr, hr.Refused
	}
	log.Info("hook started", zap.String("hook", j.name), zap.String("log_file", hr.LogFile))
	hr.Start = time.Now()
	if err := startHook(cmd); err != nil {
		cg.started(0)
		hr.Duration = time.Since(hr.Start)
		hr.Err = startError(j, err)
		note(out, hr.LogFile, "stackhand: "+hr.Err)
		return hr, r.finish(log, j.name, hr, from)
	}
	cg.started(cmd.Process.Pid)
	rec.PID, rec.Start = cmd.Process.Pid, procStart(cmd.Process.Pid)
	r.record(rec, log)
	waited := make(chan error, 1)
	go func() { waited <- waitHook(cmd) }()

	var timeout <-chan time.Time
	if s.Timeout > 0 {
		t := time.NewTimer(s.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var waitErr error
	reaped := true
	select {
	case waitErr = <-waited:
	case <-timeout:
		hr.TimedOut = true
	case <-ctx.Done():
		hr.Canceled = true
	}
	if hr.TimedOut || hr.Canceled {
		why := fmt.Sprintf("timed out after %s", s.Timeout)
		if hr.Canceled {
			why = fmt.Sprintf("canceled (%v)", context.Cause(ctx))
		}
		log.Warn("hook "+why+"; ending its process tree", zap.String("hook", j.name), zap.Int("pid", cmd.Process.Pid))
		waitErr, reaped = endTree(cmd.Process.Pid, cg, r.killGrace(), waited)
		note(out, hr.LogFile, fmt.Sprintf("stackhand: hook %s; its process tree was ended", why))
	}
	hr.Duration = time.Since(hr.Start)
	if !reaped {
		hr.Err = fmt.Sprintf("hook (pid %d) did not exit %s after SIGKILL; it may be stuck in the kernel", cmd.Process.Pid, reapWait)
	} else if cmd.ProcessState != nil {
		hr.ExitCode = cmd.ProcessState.ExitCode()
		hr.Signal = signalOf(cmd.ProcessState)
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) && hr.Err == "" {
		hr.Err = fmt.Sprintf("wait: %v", waitErr)
	}
	return hr, r.finish(log, j.name, hr, from)
}

// runBuiltin runs a built-in command to its end, its output in the hook's log file, and
// returns its result and output tail as runOne does for a process.
func (r *Runner) runBuiltin(ctx context.Context, s Spec, j job, runDir string, log *zap.Logger) (HookResult, string) {
	hr := HookResult{Name: j.name, ExitCode: -1, Start: time.Now(), Builtin: true}
	hr.LogFile = filepath.Join(runDir, j.logName)
	out, from, err := openHookLog(hr.LogFile)
	if err != nil {
		hr.Err = err.Error()
		return hr, hr.Err
	}
	defer out.Close()
	runCtx := ctx
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	log.Info("hook started inside the agent", zap.String("hook", j.name), zap.String("log_file", hr.LogFile))
	code, changes, runErr := j.builtin(runCtx, out)
	hr.Duration = time.Since(hr.Start)
	hr.ExitCode, hr.Changes = code, changes
	switch {
	case ctx.Err() != nil:
		hr.Canceled = true
	case runCtx.Err() != nil:
		hr.TimedOut = true
		note(out, hr.LogFile, fmt.Sprintf("stackhand: hook timed out after %s; stopped", s.Timeout))
	}
	if runErr != nil && hr.ExitCode == 0 {
		hr.ExitCode = 1
	}
	if runErr != nil {
		note(out, hr.LogFile, "stackhand: "+runErr.Error())
	}
	return hr, r.finish(log, j.name, hr, from)
}

// finish logs a finished hook and its output, and returns its output tail.
func (r *Runner) finish(log *zap.Logger, name string, hr HookResult, from int64) string {
	r.capLog(log, name, hr.LogFile, from)
	if err := logOutput(log, name, hr.LogFile, from); err != nil {
		log.Warn("cannot read hook output", zap.String("hook", name), zap.Error(err))
	}
	tail, err := readTail(hr.LogFile, from)
	if err != nil {
		log.Warn("cannot read hook output", zap.String("hook", name), zap.Error(err))
	}
	log.Info("hook finished", zap.String("hook", name), zap.Int("exit_code", hr.ExitCode),
		omitempty.String("signal", hr.Signal), zap.Duration("duration", hr.Duration),
		omitempty.Bool("timed_out", hr.TimedOut), omitempty.Bool("canceled", hr.Canceled))
	return tail
}

// startError says why a hook could not start, with a hint for the usual causes.
func startError(j job, err error) string {
	switch {
	case errors.Is(err, syscall.ENOEXEC):
		return fmt.Sprintf("start %s: %v; does it begin with a #! line?", j.argv[0], err)
	case errors.Is(err, fs.ErrNotExist) && j.path != "":
		return fmt.Sprintf("start %s: %v; if the file is there, check the interpreter in its #! line", j.argv[0], err)
	}
	return fmt.Sprintf("start %s: %v", j.argv[0], err)
}

// note appends a line of the runner's own to a hook's log, on a line of its own.
func note(out *os.File, path, line string) {
	if !endsWithNewline(path) {
		line = "\n" + line
	}
	_, _ = out.WriteString(line + "\n")
}

// writePayload writes the payload file atomically, mode 0600, and returns its absolute
// path. When PayloadDir refuses it, the payload goes to the fallback directory, with a
// warning for the event's result; the switch each way is logged once.
func (r *Runner) writePayload(eventID string, payload []byte, log *zap.Logger) (path, warning string, err error) {
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	path, err = writePayloadIn(r.PayloadDir, eventID, payload)
	r.fallbackMu.Lock()
	defer r.fallbackMu.Unlock()
	if err == nil {
		if r.fallback != "" {
			log.Info("payloads are written into the state directory again", zap.String("payload_dir", r.PayloadDir))
			os.RemoveAll(r.fallback)
			r.fallback = ""
		}
		return path, "", nil
	}
	if r.fallback == "" {
		tmp, terr := os.MkdirTemp("", "stackhand-payloads-")
		if terr != nil {
			return "", "", fmt.Errorf("%v; and no temporary directory for it either: %v", err, terr)
		}
		log.Error("cannot write payloads into the state directory; using a private temporary directory until it is fixed",
			zap.Error(err), zap.String("payload_dir", tmp))
		r.fallback = tmp
	}
	path, ferr := writePayloadIn(r.fallback, eventID, payload)
	if ferr != nil {
		return "", "", fmt.Errorf("%v; and in %s: %v", err, r.fallback, ferr)
	}
	return path, fmt.Sprintf("the payload was written to %s: %v", path, err), nil
}

func writePayloadIn(payloadDir, eventID string, payload []byte) (string, error) {
	dir, err := filepath.Abs(payloadDir)
	if err != nil {
		return "", fmt.Errorf("payload directory %s: %w", payloadDir, err)
	}
	if dir, err = ownSubdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("payload directory: %w", err)
	}
	path := filepath.Join(dir, eventID+".json")
	if err := atomicfile.Write(path, payload, 0o600); err != nil {
		return "", fmt.Errorf("payload: %w", err)
	}
	return path, nil
}

// ownSubdir makes dir (creating its parent when missing) and makes sure it is a real
// directory the agent owns, not a symlink planted in its place: payloads and hook logs
// are written there by root.
func ownSubdir(dir string, perm os.FileMode) (string, error) {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, perm); err != nil {
		return "", err
	}
	return trust.Subdir(parent, filepath.Base(dir), perm, os.Geteuid())
}

// checkEventID makes sure an event id is safe as a file name.
func checkEventID(id string) error {
	if id == "" {
		return errors.New("event id is empty")
	}
	if id[0] == '.' {
		return fmt.Errorf("event id %q: must not start with '.'", id)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("event id %q: only letters, digits, '-', '_' and '.' may be used", id)
		}
	}
	return nil
}

// maxLogName bounds a command's log file name before ".log": well inside the 255 bytes
// file systems allow, and still readable in a listing.
const maxLogName = 100

// logFileName returns the name of the log file, in the run's log directory, of the
// command named name. A name comes from a config file (a cfn-hup section, a watch rule)
// and may hold anything; the file name may not: every character other than a letter, a
// digit, '-', '_' and '.' becomes '_' (so no path separator, no ':' that Windows reads as
// a stream, no control character), a leading '.' becomes '_' (no "..", no hidden file),
// a name Windows keeps for a device (CON, NUL, COM1...) gets a leading '_', and the name
// is cut at maxLogName bytes. The result always ends in ".log".
func logFileName(name string) string {
	b := make([]byte, 0, len(name))
	for _, c := range name {
		if len(b) == maxLogName {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b = append(b, byte(c))
		case c == '.' && len(b) > 0:
			b = append(b, '.')
		default:
			b = append(b, '_')
		}
	}
	base, _, _ := strings.Cut(string(b), ".")
	if len(b) == 0 || windowsDevice(base) {
		b = append([]byte{'_'}, b...)
	}
	return string(b) + ".log"
}

// windowsDevice reports whether Windows takes a file whose name, up to its first '.',
// is base for a device rather than a file: CON, PRN, AUX, NUL, COM0-9, LPT0-9.
func windowsDevice(base string) bool {
	u := strings.ToUpper(base)
	switch {
	case u == "CON", u == "PRN", u == "AUX", u == "NUL":
		return true
	case len(u) == 4 && (strings.HasPrefix(u, "COM") || strings.HasPrefix(u, "LPT")):
		return u[3] >= '0' && u[3] <= '9'
	}
	return false
}

func (r *Runner) logger() *zap.Logger {
	if r.Logger == nil {
		return zap.NewNop()
	}
	return r.Logger
}

func (r *Runner) killGrace() time.Duration {
	if r.KillGrace <= 0 {
		return DefaultKillGrace
	}
	return r.KillGrace
}

func (r *Runner) geteuid() int {
	if r.euid != nil {
		return r.euid()
	}
	return os.Geteuid()
}
