package cfninit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/archive"
)

// What cfn-init does with sources, from aws-cfn-bootstrap's cfnbootstrap/sources_tool.py:
//   - targets are applied sorted; a source is an http(s) URL, fetched to a temporary
//     file, or a local archive file's path;
//   - tar (any compression Python's tarfile reads) and zip are unpacked over what the
//     target holds; every member must fall under the target;
//   - an archive GitHub generates (https?://github.com/.*?/(zipball|tarball)/.*) loses
//     its single top-level directory, when it has exactly one member at the top;
//   - every source counts as a change of its target (cfn-init does not compare).

// githubArchive is cfn-init's test for a GitHub-generated archive URL (matched on the
// lower-cased URL, as sources_tool.py does).
var githubArchive = regexp.MustCompile(`^https?://github\.com/.*?/(zipball|tarball)/.*$`)

// downloadReserve is what a download leaves free on the file system it lands on.
const downloadReserve = 64 << 20

// applySources unpacks the config's sources in order.
func (r *Runner) applySources(ctx context.Context, c *Config, ch *Changes, res *Result) error {
	for _, s := range c.Sources {
		if err := ctx.Err(); err != nil {
			return err
		}
		stats, err := r.applySource(ctx, s)
		if err != nil {
			return fmt.Errorf("source %s (%s): %w", s.Target, RedactURL(s.URL), err)
		}
		ch.Sources[s.Target] = true
		res.Changed = append(res.Changed, "source "+s.Target)
		r.Log.Info("unpacked "+RedactURL(s.URL)+" into "+s.Target,
			zap.Int("files", stats.Files), zap.Int64("bytes", stats.Bytes))
	}
	return nil
}

func (r *Runner) applySource(ctx context.Context, s Source) (archive.Stats, error) {
	if !filepath.IsAbs(s.Target) || filepath.Clean(s.Target) != s.Target {
		return archive.Stats{}, errors.New("the target must be an absolute, clean directory path")
	}
	// The target and every directory above it: made when missing and checked as files'
	// parents are (files_unix.go), owned by root and writable by no one else, so that
	// the path handed to the unpacker cannot be redirected by another user.
	if err := checkTargetDir(s.Target); err != nil {
		return archive.Stats{}, err
	}
	path := s.URL
	lower := strings.ToLower(s.URL)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		tmp, err := r.download(ctx, s)
		if err != nil {
			return archive.Stats{}, err
		}
		defer os.Remove(tmp)
		path = tmp
	} else if !filepath.IsAbs(s.URL) {
		return archive.Stats{}, errors.New("the source is neither an http(s) URL nor an absolute path to an archive file")
	}
	opts := archive.Options{UID: -1, GID: -1}
	if githubArchive.MatchString(lower) {
		st, err := archive.Scan(ctx, path)
		if err != nil {
			return st, err
		}
		if st.OneTopDir != "" {
			r.Log.Debug("stripping GitHub's top-level directory " + st.OneTopDir)
			opts.StripComponents = 1
		}
	}
	return archive.Extract(ctx, path, s.Target, opts)
}

// download fetches s.URL into a private temporary file beside the target (the same
// file system, so the free-space check that follows is about the right disk), or in
// the system's temporary directory when that cannot be made.
func (r *Runner) download(ctx context.Context, s Source) (string, error) {
	if r.Fetch == nil {
		return "", errors.New("no fetcher configured")
	}
	dir := filepath.Dir(s.Target)
	f, err := os.CreateTemp(dir, "."+filepath.Base(s.Target)+".stackhand-source-*")
	if err != nil {
		if f, err = os.CreateTemp("", "stackhand-source-*"); err != nil {
			return "", fmt.Errorf("a temporary file for the download: %v", err)
		}
		dir = os.TempDir()
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	body, err := r.Fetch.Open(ctx, s.URL, r.authFor(s.URL, s.Auth))
	if err != nil {
		return "", err
	}
	defer body.Close()
	limit := int64(-1)
	if free, err := archive.FreeBytes(dir); err == nil {
		limit = free - downloadReserve
	}
	var src io.Reader = body
	if limit >= 0 {
		src = io.LimitReader(body, limit+1)
	}
	n, err := io.Copy(f, src)
	if err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	if limit >= 0 && n > limit {
		return "", fmt.Errorf("download: the archive is larger than the free space of %s (less %d MiB kept free): %w", dir, downloadReserve>>20, archive.ErrNoSpace)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("download: %v", err)
	}
	ok = true
	return f.Name(), nil
}
