package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// GitFetcher fetches git+<url>#REF through the system's git: a shallow fetch of exactly
// REF (a branch, a tag or, where the server allows it, a commit) into a scratch bare
// repository, then `git archive` of it as a tar into the Sink, so that a Git revision is
// unpacked, verified and switched like any other archive.
type GitFetcher struct {
	// Git is the git binary (empty means "git" on PATH).
	Git string
	// Timeout bounds each git command (0 means 10 minutes).
	Timeout time.Duration
}

// ErrNoGit is returned (wrapped) when no git binary is installed.
var ErrNoGit = errors.New("git is not installed: apt-get install git / dnf install git")

// ParseGit splits git+<url>#REF into the URL git is given and the ref.
func ParseGit(source string) (repo, ref string, err error) {
	rest, ok := strings.CutPrefix(source, "git+")
	if !ok {
		return "", "", fmt.Errorf("source %s: want git+https://host/repo.git#REF", Redact(source))
	}
	repo, ref, _ = strings.Cut(rest, "#")
	u, err := url.Parse(repo)
	if err != nil || u.Scheme == "" {
		return "", "", fmt.Errorf("source %s: want git+https://host/repo.git#REF", Redact(source))
	}
	if ref == "" || strings.HasPrefix(ref, "-") || strings.ContainsAny(ref, " \t\n:") {
		return "", "", fmt.Errorf("source %s: want a ref after '#' (a branch, tag or commit), not %q", Redact(source), ref)
	}
	return repo, ref, nil
}

// Fetch writes a tar of REF's tree into w.
func (g GitFetcher) Fetch(ctx context.Context, source string, w *Sink) error {
	repo, ref, err := ParseGit(source)
	if err != nil {
		return permanent(err)
	}
	bin := g.Git
	if bin == "" {
		bin = "git"
	}
	if bin, err = exec.LookPath(bin); err != nil {
		return permanent(fmt.Errorf("source %s: %w", Redact(source), ErrNoGit))
	}
	u, _ := url.Parse(repo)
	red := Redact(repo)
	scratch, err := os.MkdirTemp(w.ScratchDir, "git-")
	if err != nil {
		return fmt.Errorf("source %s: scratch directory: %w", red, err)
	}
	defer os.RemoveAll(scratch)
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	run := func(stdout *Sink, args ...string) error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = scratch
		cmd.Env = append(os.Environ(),
			"GIT_TERMINAL_PROMPT=0", // never wait for a password nobody will type
			"LC_ALL=C",              // the messages below are matched in English
			// Only the protocol of the configured URL: no redirect to file:// or ext::.
			"GIT_ALLOW_PROTOCOL="+strings.ToLower(u.Scheme),
		)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if stdout != nil {
			cmd.Stdout = stdout
		}
		cmd.WaitDelay = 5 * time.Second
		err := cmd.Run()
		if err == nil {
			return nil
		}
		msg := strings.TrimSpace(strings.ReplaceAll(stderr.String(), repo, red))
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("source %s: git %s took longer than %s", red, args[0], timeout)
		}
		if strings.Contains(msg, "couldn't find remote ref") || strings.Contains(msg, "not our ref") ||
			strings.Contains(msg, "unadvertised object") || strings.Contains(msg, "no such remote ref") {
			return permanent(fmt.Errorf("source %s: git ref %q not found: push it, or fix the revision", red, ref))
		}
		if strings.Contains(msg, "does not appear to be a git repository") || strings.Contains(msg, "not found") ||
			strings.Contains(msg, "Authentication failed") || strings.Contains(msg, "could not read Username") {
			return permanent(fmt.Errorf("source %s: git %s: %s", red, args[0], lastLine(msg)))
		}
		return fmt.Errorf("source %s: git %s: %v: %s", red, args[0], err, lastLine(msg))
	}
	bare := filepath.Join(scratch, "repo.git")
	if err := run(nil, "init", "-q", "--bare", bare); err != nil {
		return err
	}
	if err := run(nil, "-C", bare, "fetch", "-q", "--depth", "1", "--no-tags", "--", repo, ref); err != nil {
		return err
	}
	if err := w.Reset(); err != nil {
		return err
	}
	return run(w, "-C", bare, "archive", "--format=tar", "FETCH_HEAD")
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
