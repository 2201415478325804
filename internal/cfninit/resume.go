package cfninit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/stackhand/stackhand/internal/atomicfile"
	"github.com/stackhand/stackhand/internal/trust"
)

// How cfn-init resumes, from aws-cfn-bootstrap's cfnbootstrap/construction.py (WorkLog):
// on Windows, a config's commands are queued in a shelve database, resume_db, under
// %SystemDrive%\cfn\cfn-init (/var/lib/cfn-init on Linux), with the configs and
// configSets still to run and the changes so far; each command is popped before it
// runs, so one that asked to wait "forever" (it reboots the machine) is not run again.
// `cfn-init --resume` then runs the commands left, the config's services with the
// changes recorded before the reboot, and the remaining configs; with nothing
// recorded it does nothing. The work log also holds the metadata (WorkLog.build puts
// 'metadata' first; bin/cfn-init's --resume reads it from there and fails without it),
// so the resumed run needs neither the stack nor credentials: the Task Scheduler task
// that resumes it runs plain "cfn-init -v --resume" (cfnbootstrap/platform_utils.py,
// set_reboot_trigger). stackhand keeps the same facts in a JSON file of its own.

// DefaultResumeFile is where stackhand keeps cfn-init's progress: beside cfn-init's own
// work log, in its directory.
func DefaultResumeFile() string {
	if runtime.GOOS == "windows" {
		drive := os.Getenv("SystemDrive")
		if drive == "" {
			drive = "C:"
		}
		return drive + `\cfn\cfn-init\stackhand-resume.json`
	}
	return "/var/lib/cfn-init/stackhand-resume.json"
}

// Progress is what a run stopped for a reboot had done.
type Progress struct {
	// Configs is the whole list the run was asked for, in order.
	Configs []string `json:"configs"`
	// Done lists the configs finished.
	Done []string `json:"done"`
	// Current is the config whose commands were running, "" when none.
	Current string `json:"current,omitempty"`
	// Commands lists the commands of Current that ran.
	Commands []string `json:"commands,omitempty"`
	// Changes is what Current had changed, for its services after the reboot.
	Changes *Changes `json:"changes,omitempty"`
	// Metadata is the Metadata the run applies (Runner.Metadata), for --resume.
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// ReadProgress reads a resume file; a missing file gives (nil, nil). What it records
// decides which commands do not run again, so it is read only when the file and every
// directory above it pass package trust's check (root's, writable by no one else).
func ReadProgress(path string) (*Progress, error) {
	b, err := trust.ReadFile(path, "resume file "+path, os.Geteuid())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the resume file: %w", err)
	}
	var p Progress
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: not a stackhand resume file (%v); remove it to run from the start", path, err)
	}
	return &p, nil
}

// progress is a run's record of itself, written to the resume file after each command
// where commands may reboot the machine (Windows), and then after each config. A nil
// *progress (no ResumeFile) records nothing.
type progress struct {
	path string
	p    Progress
	// resumed is the state read at start with Runner.Resume: what to skip.
	resumed *Progress
	// inResumed is true while the config stopped by the reboot runs again; a later
	// run of the same config (a config listed twice) is a run of its own.
	inResumed bool
}

// startProgress prepares a run of configs. With r.Resume it reads what was done and
// returns the configs left (none when nothing is recorded, as cfn-init --resume does
// nothing then).
func (r *Runner) startProgress(configs []string) ([]string, error) {
	r.progress = nil
	if r.ResumeFile == "" {
		if r.Resume {
			return nil, errors.New("--resume needs a resume file")
		}
		return configs, nil
	}
	pr := &progress{path: r.ResumeFile, p: Progress{Configs: slices.Clone(configs)}}
	if json.Valid(r.Metadata) { // else the file could not be written; --resume then says none is kept
		pr.p.Metadata = r.Metadata
	}
	r.progress = pr
	if !r.Resume {
		return configs, nil
	}
	old, err := ReadProgress(r.ResumeFile)
	if err != nil {
		return nil, err
	}
	if old == nil {
		r.Log.Info("nothing to resume: " + r.ResumeFile + " does not exist")
		return nil, nil
	}
	// Configs run in order, so what is done is a prefix of the list (a config may be
	// listed twice: counting, not names, says where to go on).
	if len(old.Done) > len(old.Configs) || !slices.Equal(old.Done, old.Configs[:len(old.Done)]) {
		return nil, fmt.Errorf("%s: the configs done %v are not the start of the configs %v; remove the file to run from the start", r.ResumeFile, old.Done, old.Configs)
	}
	pr.resumed = old
	pr.p = Progress{Configs: old.Configs, Done: slices.Clone(old.Done), Metadata: old.Metadata}
	left := slices.Clone(old.Configs[len(old.Done):])
	r.Log.Info(fmt.Sprintf("resuming from %s: %d of %d configs done", r.ResumeFile, len(old.Done), len(old.Configs)))
	return left, nil
}

// resumeChanges returns the changes config had made before the reboot, when the run
// resumes inside it; the sections before commands are then not applied again.
func (p *progress) resumeChanges(config string) *Changes {
	if p == nil || p.resumed == nil || p.resumed.Current != config || p.resumed.Changes == nil ||
		len(p.p.Done) != len(p.resumed.Done) {
		return nil
	}
	p.inResumed = true
	ch := p.resumed.Changes
	if ch.Files == nil {
		ch.Files = map[string]bool{}
	}
	if ch.Sources == nil {
		ch.Sources = map[string]bool{}
	}
	if ch.Packages == nil {
		ch.Packages = map[string]map[string]bool{}
	}
	if ch.Commands == nil {
		ch.Commands = map[string]bool{}
	}
	return ch
}

// commandDone reports whether command of config ran before the reboot.
func (p *progress) commandDone(config, command string) bool {
	return p != nil && p.inResumed && p.resumed.Current == config &&
		slices.Contains(p.resumed.Commands, command)
}

// recordCommand writes down that command of config ran, with the config's changes.
func (p *progress) recordCommand(config, command string, ch *Changes) error {
	if p == nil {
		return nil
	}
	if p.p.Current != config {
		p.p.Current, p.p.Commands = config, nil
		if p.inResumed {
			p.p.Commands = slices.Clone(p.resumed.Commands)
		}
	}
	if !slices.Contains(p.p.Commands, command) {
		p.p.Commands = append(p.p.Commands, command)
	}
	p.p.Changes = ch
	return p.write()
}

// configDone writes down that config finished, when the file is in use.
func (p *progress) configDone(config string) error {
	if p == nil {
		return nil
	}
	p.p.Done = append(p.p.Done, config)
	p.p.Current, p.p.Commands, p.p.Changes = "", nil, nil
	p.inResumed = false
	if p.resumed == nil && !p.written() {
		return nil // nothing waited yet: no file to keep up to date
	}
	return p.write()
}

// finish removes the resume file after a run that went to the end.
func (p *progress) finish() error {
	if p == nil {
		return nil
	}
	if err := os.Remove(p.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the resume file: %v", err)
	}
	return nil
}

func (p *progress) written() bool {
	_, err := os.Lstat(p.path)
	return err == nil
}

// write records the progress atomically, readable by root only (it names what ran).
func (p *progress) write() error {
	b, err := json.MarshalIndent(&p.p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.path), 0o700); err != nil {
		return fmt.Errorf("record progress for --resume: %v", err)
	}
	if err := atomicfile.Write(p.path, b, 0o600); err != nil {
		return fmt.Errorf("record progress for --resume: %w", err)
	}
	return nil
}
