package agent

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/cfnboot"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/source"
)

// cfnInitBuiltin is the hooks runner's Builtin: a cfn-hup action that calls cfn-init (the
// cfn-auto-reloader's `/opt/aws/bin/cfn-init -v --stack S --resource R --region X`) runs
// inside the agent, with no shell and no child process, and its changes reach the event's
// outcome. It does so only when
//   - the action is one plain command: no shell syntax (a pipe, `;`, `$VAR`, a redirection)
//     that only a shell can run;
//   - its program is cfn-init by name and is this binary or absent: where aws-cfn-bootstrap
//     is installed at that path, the fleet chose it, and it runs as before;
//   - its arguments parse as cfn-init's (a wrong one gets the shell, and the binary's own
//     cfn-init prints the usage error, as aws-cfn-bootstrap's would).
//
// In mode local the Metadata comes from local.dir's metadata.json (the one resource
// local mode serves) unless the action names a file, so an auto-reloader hook can be
// tried on a laptop.
func cfnInitBuiltin(cfg *config.Config, log *zap.Logger, reload func() error) func(string) (hooks.BuiltinFunc, bool) {
	return func(command string) (hooks.BuiltinFunc, bool) {
		argv, err := cfnboot.SplitCommandLine(command)
		if err != nil || len(argv) == 0 || cfnboot.DropInName(argv[0]) != "cfn-init" || !answersAsUs(argv[0]) {
			return nil, false
		}
		opts, err := cfnboot.ParseInitArgs(argv[1:])
		if err != nil {
			return nil, false
		}
		if cfg.Mode == config.ModeLocal && opts.MetadataFile == "" {
			opts.MetadataFile = filepath.Join(cfg.Local.Dir, source.MetadataFile)
		}
		return func(ctx context.Context, out io.Writer) (int, []string, error) {
			// The agent is what stands for cfn-hup here, whatever unit files exist.
			env := cfnboot.Env{Stdout: out, Stderr: out, Log: log.Named("cfn-init"), SelfService: "stackhand", SelfReload: reload}
			res, err := cfnboot.RunInit(ctx, opts, env)
			var changes []string
			if res != nil {
				changes = res.Changed
			}
			if err != nil {
				return 1, changes, err
			}
			return 0, changes, nil
		}, true
	}
}

// answersAsUs reports whether prog, a cfn-init named in a cfn-hup action, is this binary
// (the packages' drop-in link) or is not there at all (no aws-cfn-bootstrap).
func answersAsUs(prog string) bool {
	path := prog
	if !strings.ContainsAny(prog, `/\`) {
		found, err := exec.LookPath(prog)
		if err != nil {
			return true
		}
		path = found
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	self, err := os.Executable()
	if err != nil {
		return false
	}
	me, err := os.Stat(self)
	return err == nil && os.SameFile(fi, me)
}
