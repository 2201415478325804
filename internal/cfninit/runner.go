package cfninit

import (
	"context"
	"fmt"
	"io"

	"go.uber.org/zap"
)

// Fetcher opens a URL for files' and sources' `source`, with the Authentication entry
// that applies (nil when none does). Errors name the URL without credentials and, for an
// HTTP answer, its status (404, 403).
type Fetcher interface {
	Open(ctx context.Context, url string, auth *Auth) (io.ReadCloser, error)
}

// Runner applies configs. The zero value is not usable: Log, CmdLog and Fetch are needed.
type Runner struct {
	// Log gets cfn-init.log's lines (what is done, skipped and why; -v adds details).
	// Secrets never reach it.
	Log *zap.Logger
	// CmdLog gets each command's output, as cfn-init-cmd.log does.
	CmdLog io.Writer
	// Fetch opens files' and sources' URLs.
	Fetch Fetcher
	// Auth is the Init's Authentication block, by name.
	Auth map[string]*Auth
	// ResumeFile, when set, records the configs and commands done so that a run stopped
	// by a command's waitAfterCompletion "forever" (a reboot) continues with --resume.
	ResumeFile string
	// Resume continues from ResumeFile.
	Resume bool
	// Metadata is the resource's Metadata this run applies, kept in ResumeFile so that
	// --resume after the reboot applies the same Init without reading it again (and so
	// without the credentials that read it), as cfn-init's work log keeps it.
	Metadata []byte
	// SelfService names the service that stands for cfn-hup on an instance where
	// stackhand replaces aws-cfn-bootstrap (services.sysvinit.cfn-hup); "" when none.
	SelfService string
	// SelfReload, when set, makes stackhand re-read its configuration (what SIGHUP does);
	// the agent sets it when cfn-init runs inside it. Without it the stand-in for cfn-hup
	// is reloaded through the init system (systemctl reload).
	SelfReload func() error

	sys      *system   // the machine's tools; nil is the machine itself (tests set it)
	progress *progress // this run's record for --resume (resume.go)
}

// Changes is what a run changed so far, for services' restart lists.
type Changes struct {
	Files    map[string]bool
	Sources  map[string]bool
	Packages map[string]map[string]bool // manager -> name
	Commands map[string]bool
}

func newChanges() *Changes {
	return &Changes{Files: map[string]bool{}, Sources: map[string]bool{},
		Packages: map[string]map[string]bool{}, Commands: map[string]bool{}}
}

// Result is what a run did.
type Result struct {
	Configs []string // the configs applied, in order
	Changed []string // one line per change ("file /etc/app.conf", "package yum httpd", ...)
	// Reboot is true when a command's waitAfterCompletion "forever" stopped the run: the
	// rest continues with --resume after the reboot.
	Reboot bool
}

// Apply runs the configs in order, each section in cfn-init's order: packages, groups,
// users, sources, files, commands, services. The first error stops the run, as in
// cfn-init; the error names the config, the section and the entry.
func (r *Runner) Apply(ctx context.Context, in *Init, configs []string) (*Result, error) {
	res := &Result{}
	configs, err := r.startProgress(configs)
	if err != nil {
		return res, err
	}
	for _, name := range configs {
		c, ok := in.Configs[name]
		if !ok {
			return res, fmt.Errorf("config %q does not exist in %s", name, InitKey)
		}
		r.Log.Info("running config " + name)
		ch := newChanges()
		// Resuming inside a config after a reboot: its earlier sections are done.
		resumed := r.progress.resumeChanges(name)
		if resumed != nil {
			ch = resumed
		}
		steps := []struct {
			section string
			run     func(context.Context, *Config, *Changes, *Result) error
		}{
			{"packages", r.applyPackages},
			{"groups", r.applyGroups},
			{"users", r.applyUsers},
			{"sources", r.applySources},
			{"files", r.applyFiles},
			{"commands", r.applyCommands},
			{"services", r.applyServices},
		}
		for _, s := range steps {
			if resumed != nil && s.section != "commands" && s.section != "services" {
				continue
			}
			if err := ctx.Err(); err != nil {
				return res, err
			}
			if err := s.run(ctx, c, ch, res); err != nil {
				return res, fmt.Errorf("config %s: %s: %w", name, s.section, err)
			}
			if res.Reboot {
				return res, nil
			}
		}
		res.Configs = append(res.Configs, name)
		if err := r.progress.configDone(name); err != nil {
			return res, err
		}
	}
	return res, r.progress.finish()
}
