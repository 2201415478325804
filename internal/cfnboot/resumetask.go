package cfnboot

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/stackhand/stackhand/internal/cfninit"
)

// The task that resumes cfn-init after a reboot, on Windows.
//
// aws-cfn-bootstrap's cfn-init registers a Task Scheduler task named "cfn-init Resume
// Trigger" (cfnbootstrap/platform_utils.py, set_reboot_trigger): a boot trigger with a
// 30 s delay, run as NT AUTHORITY\SYSTEM at the highest run level, running the cfn-init
// executable with "-v --resume" and no other argument — the work log holds the
// metadata, so the resumed run needs neither the stack nor credentials. It deletes the
// task when a build or a resume finishes (clear_reboot_trigger, called by
// construction.py's Contractor.build and WorkLog.resume).
//
// stackhand does the same through schtasks.exe, with a name of its own so that it never
// replaces or deletes aws-cfn-bootstrap's task on a machine that has both. Differences,
// on purpose:
//   - the task is registered when a run stops for a reboot (Result.Reboot), not before
//     every run: a cfn-hup hook re-applying the Init every few minutes does not spawn
//     schtasks.exe twice each time;
//   - it is deleted at the end of every resumed run, failed ones too: aws-cfn-bootstrap
//     leaves it after a failure, and the failing resume then runs again at every boot;
//   - the resume file keeps the metadata (cfninit.Progress.Metadata), so the task's
//     command line carries no credentials; the only flags carried over are the proxies,
//     which the resumed run's downloads (files, sources) need. A proxy URL with a
//     password is not written into the task (its definition is readable by
//     administrators and backup tools): the resumed run then goes without that proxy,
//     and the log says so.

// ResumeTaskName is the Task Scheduler task that runs cfn-init --resume at boot.
const ResumeTaskName = `stackhand cfn-init Resume Trigger`

// maxTaskRun is the longest /TR value schtasks.exe accepts ("Value for '/TR' option
// cannot be more than 261 character(s)").
const maxTaskRun = 261

// taskOS is the platform whose reboot rules apply; a variable so that tests on Linux
// exercise Windows's.
var taskOS = runtime.GOOS

// schtasks runs schtasks.exe with args and returns its output; a variable for tests.
// The program is named by its full path under %SystemRoot%, not looked up on PATH:
// cfn-init runs as SYSTEM, and a directory on PATH writable by someone else must not
// choose what runs.
var schtasks = func(ctx context.Context, args []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	root := os.Getenv("SystemRoot")
	if root == "" || strings.ContainsAny(root, `"`) {
		root = `C:\Windows`
	}
	return exec.CommandContext(ctx, root+`\System32\schtasks.exe`, args...).CombinedOutput()
}

// executable is this program's path, for the task's command line; a variable for tests.
var executable = os.Executable

// taskAction is what to do with the resume task after a run.
type taskAction int

const (
	taskNone   taskAction = iota
	taskCreate            // the run stopped for a reboot: resume after it
	taskDelete            // a resumed run ended: nothing is left to resume
)

// resumeTaskAction decides, from the platform, the options and the run's outcome.
// A resumed run that stops for a reboot again keeps (re-creates) the task.
func resumeTaskAction(goos string, opts InitOptions, res *cfninit.Result, runErr error) taskAction {
	if goos != "windows" {
		return taskNone // waitAfterCompletion, and so a reboot, is Windows's only
	}
	if runErr == nil && res != nil && res.Reboot {
		return taskCreate
	}
	if opts.Resume {
		return taskDelete
	}
	return taskNone
}

// resumeCommand returns the resumed run's argument vector — exe, then "cfn-init"
// unless exe is the cfn-init drop-in, "-v --resume" and the proxies — and a note per
// flag left out.
func resumeCommand(exe string, opts InitOptions) (argv []string, notes []string) {
	argv = []string{exe}
	if DropInName(exe) != "cfn-init" {
		argv = append(argv, "cfn-init")
	}
	argv = append(argv, "-v", "--resume")
	for _, p := range []struct{ flag, value string }{
		{"--http-proxy", opts.AWS.HTTPProxy}, {"--https-proxy", opts.AWS.HTTPSProxy},
	} {
		if p.value == "" {
			continue
		}
		// [scheme://][user:password@]host:port: any user part is left out.
		rest := p.value
		if i := strings.Index(rest, "://"); i >= 0 {
			rest = rest[i+3:]
		}
		if strings.Contains(rest, "@") {
			notes = append(notes, p.flag+" carries credentials, which are not written into the scheduled task: the run after the reboot goes without that proxy")
			continue
		}
		argv = append(argv, p.flag, p.value)
	}
	if opts.AWS.SecretKey != "" || opts.AWS.AccessKey != "" || opts.AWS.CredentialFile != "" || opts.AWS.Role != "" {
		notes = append(notes, "the credentials flags are not carried over: the run after the reboot applies the Metadata kept in the resume file and reads nothing from CloudFormation")
	}
	return argv, notes
}

// windowsCommandLine joins argv into one command line that a Windows program's
// runtime (the Microsoft C runtime's rules, which Go's os.Args follows) splits back
// into argv. The program, argv[0], is quoted whole: CreateProcess takes it up to the
// next quote, without backslash escapes.
func windowsCommandLine(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 0 {
			b.WriteString(`"` + a + `"`)
			continue
		}
		b.WriteString(windowsQuote(a))
	}
	return b.String()
}

// windowsQuote quotes one argument for the C runtime's parser: unquoted when it has
// no space, tab or quote; otherwise in quotes, a quote escaped as \", and backslashes
// doubled where they precede a quote (or the closing one), since 2n backslashes before
// a quote give n and 2n+1 give n and a literal quote.
func windowsQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\v\"") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(c)
	}
	b.WriteString(strings.Repeat(`\`, slashes))
	b.WriteByte('"')
	return b.String()
}

// resumeTaskCreateArgs returns schtasks.exe's arguments registering the task that runs
// argv at boot: as SYSTEM, highest run level, 30 s after the start (cfn-init's trigger
// delay), replacing an older one of the same name (/F).
func resumeTaskCreateArgs(argv []string) ([]string, error) {
	tr := windowsCommandLine(argv)
	if len(tr) > maxTaskRun {
		return nil, fmt.Errorf("the command that resumes cfn-init after the reboot is %d characters, over the %d schtasks.exe accepts: %s; install stackhand in a shorter path", len(tr), maxTaskRun, tr)
	}
	return []string{"/Create", "/TN", ResumeTaskName, "/SC", "ONSTART", "/DELAY", "0000:30",
		"/RU", "SYSTEM", "/RL", "HIGHEST", "/F", "/TR", tr}, nil
}

// resumeTaskDeleteArgs returns schtasks.exe's arguments deleting the task.
func resumeTaskDeleteArgs() []string {
	return []string{"/Delete", "/TN", ResumeTaskName, "/F"}
}

// manageResumeTask registers or deletes the resume task after a run, as
// resumeTaskAction decides. A task that cannot be registered is an error: the machine
// is about to reboot and nothing would continue the run. One that cannot be deleted
// is only logged: at the next boot it runs --resume, which finds nothing to resume and
// deletes it again.
func manageResumeTask(ctx context.Context, opts InitOptions, res *cfninit.Result, runErr error, logf func(warn bool, msg string)) error {
	switch resumeTaskAction(taskOS, opts, res, runErr) {
	case taskCreate:
		exe, err := executable()
		if err != nil {
			return fmt.Errorf("the run stopped for a reboot, but this program's path (for the task that resumes it) is unknown: %v; after the reboot run: stackhand cfn-init -v --resume", err)
		}
		argv, notes := resumeCommand(exe, opts)
		for _, n := range notes {
			logf(true, n)
		}
		args, err := resumeTaskCreateArgs(argv)
		if err != nil {
			return err
		}
		if out, err := schtasks(ctx, args); err != nil {
			return fmt.Errorf("the run stopped for a reboot, but the scheduled task %q that resumes it could not be registered (schtasks.exe: %v: %s); after the reboot run: %s",
				ResumeTaskName, err, strings.TrimSpace(string(out)), windowsCommandLine(argv))
		}
		logf(false, fmt.Sprintf("Registered the scheduled task %q: after the reboot it runs %s", ResumeTaskName, windowsCommandLine(argv)))
	case taskDelete:
		if out, err := schtasks(ctx, resumeTaskDeleteArgs()); err != nil {
			logf(true, fmt.Sprintf("could not delete the scheduled task %q (schtasks.exe: %v: %s); it runs cfn-init --resume at the next boot, which will find nothing to resume", ResumeTaskName, err, strings.TrimSpace(string(out))))
			return nil
		}
		logf(false, fmt.Sprintf("Deleted the scheduled task %q: nothing is left to resume", ResumeTaskName))
	}
	return nil
}
