//go:build linux

package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// builtinFor answers for commands that start with "cfn-init", as the agent does.
func builtinFor(fn BuiltinFunc) func(string) (BuiltinFunc, bool) {
	return func(command string) (BuiltinFunc, bool) {
		if strings.HasPrefix(command, "cfn-init") {
			return fn, true
		}
		return nil, false
	}
}

// TestBuiltinCommandRunsInTheAgentWithItsOutputAndChanges: a command the agent knows runs
// inside it (no shell: the command line would fail as a shell command here), its output
// goes to the hook's log file and tail, and what it changed is in the result.
func TestBuiltinCommandRunsInTheAgentWithItsOutputAndChanges(t *testing.T) {
	f := newFixture(t)
	calls := 0
	f.runner.Builtin = builtinFor(func(ctx context.Context, out io.Writer) (int, []string, error) {
		calls++
		fmt.Fprintf(out, "applied config default in pid %d\n", os.Getpid())
		return 0, []string{"file /etc/app.conf"}, nil
	})
	s := f.spec("ev-builtin")
	s.Dir, s.Name, s.Command = "", "cfn-hup:reloader", "cfn-init -v --stack no-such-binary-on-path"
	res := f.runner.Run(context.Background(), s)
	if !res.OK || calls != 1 || len(res.Hooks) != 1 {
		t.Fatalf("result %+v, calls %d; want OK with one built-in run", res, calls)
	}
	h := res.Hooks[0]
	if !h.Builtin || h.ExitCode != 0 || !slices.Equal(h.Changes, []string{"file /etc/app.conf"}) {
		t.Errorf("hook %+v; want built in, exit 0, the change listed", h)
	}
	want := fmt.Sprintf("in pid %d", os.Getpid())
	if !strings.Contains(res.Tail, want) {
		t.Errorf("tail %q does not hold %q (the agent's own pid: no child process)", res.Tail, want)
	}
	if b, err := os.ReadFile(h.LogFile); err != nil || !strings.Contains(string(b), "applied config default") {
		t.Errorf("log file %s: %q, %v", h.LogFile, b, err)
	}
}

// TestBuiltinCommandFailureTimeoutAndOthers: a failing built-in fails the event with its
// exit status and reason; one that outlives the hook timeout is stopped and marked timed
// out; a command the agent does not know, or one that runs as another user, goes to the
// shell as before.
func TestBuiltinCommandFailureTimeoutAndOthers(t *testing.T) {
	t.Run("failure", func(t *testing.T) {
		f := newFixture(t)
		f.runner.Builtin = builtinFor(func(ctx context.Context, out io.Writer) (int, []string, error) {
			return 1, []string{"file /etc/a"}, errors.New("config default: commands: 10-migrate exited with status 3")
		})
		s := f.spec("ev-fail")
		s.Dir, s.Command = "", "cfn-init -s x -r y"
		res := f.runner.Run(context.Background(), s)
		if res.OK || res.Failed != CommandName || res.Hooks[0].ExitCode != 1 {
			t.Fatalf("result %+v; want the command failed with status 1", res)
		}
		if !strings.Contains(res.Tail, "10-migrate exited with status 3") {
			t.Errorf("tail %q lacks the reason", res.Tail)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		f := newFixture(t)
		f.runner.Builtin = builtinFor(func(ctx context.Context, out io.Writer) (int, []string, error) {
			<-ctx.Done()
			return 1, nil, ctx.Err()
		})
		s := f.spec("ev-timeout")
		s.Dir, s.Command, s.Timeout = "", "cfn-init -s x -r y", 50*time.Millisecond
		res := f.runner.Run(context.Background(), s)
		if res.OK || !res.Hooks[0].TimedOut {
			t.Fatalf("result %+v; want timed out", res)
		}
	})
	t.Run("not a built-in", func(t *testing.T) {
		f := newFixture(t)
		f.runner.Builtin = builtinFor(func(ctx context.Context, out io.Writer) (int, []string, error) {
			t.Error("built-in called for a command it does not answer for")
			return 0, nil, nil
		})
		s := f.spec("ev-shell")
		s.Dir, s.Command = "", "echo from the shell"
		res := f.runner.Run(context.Background(), s)
		if !res.OK || res.Hooks[0].Builtin || !strings.Contains(res.Tail, "from the shell") {
			t.Fatalf("result %+v; want the shell's run", res)
		}
	})
	t.Run("runas another user", func(t *testing.T) {
		requireRoot(t)
		f := newFixture(t)
		f.runner.Builtin = builtinFor(func(ctx context.Context, out io.Writer) (int, []string, error) {
			t.Error("built-in called for a command that runs as another user")
			return 0, nil, nil
		})
		s := f.spec("ev-runas")
		s.Dir, s.Command, s.RunAs = "", "cfn-init --version 2>/dev/null; id -u", "nobody"
		res := f.runner.Run(context.Background(), s)
		if res.Hooks[0].Builtin || !strings.Contains(res.Tail, "65534") {
			t.Fatalf("result %+v; want the shell's run as nobody", res)
		}
	})
}
