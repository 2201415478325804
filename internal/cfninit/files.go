package cfninit

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// What cfn-init does with files, from aws-cfn-bootstrap's cfnbootstrap/file_tool.py
// and posix_security.py (mirrored at github.com/mesosphere-backup/aws-cfn-bootstrap):
//   - files are applied by path, sorted; a path must be absolute;
//   - the mode's file-type bits say whether the entry is a symlink (S_ISLNK, 120000),
//     whose target is content; the last four digits are the permission (S_IMODE);
//   - without mode the file gets what Python's open() gives under the usual umask 022,
//     0644, and without owner/group it stays owned by cfn-init (root:root): an existing
//     file is renamed aside and a new one written, so its old mode and owner are not
//     kept;
//   - missing parent directories are made with os.makedirs: 0777 less the umask
//     (0755), owned by root;
//   - an existing file is kept as PATH.bak (a previous .bak is replaced);
//   - base64 content is decoded after trimming spaces; a JSON object is written as
//     JSON and never rendered; context renders string content, and a source's text,
//     as Mustache;
//   - a file counts as changed when its content differs (cfn-init compares only
//     content; stackhand also counts mode, owner and link target, so that a service
//     watching a file restarts when its permissions change).

// defaultFileMode is a file's permission when mode is absent (see above).
const defaultFileMode = 0o644

// maxTemplateSize bounds a fetched source rendered with context: it is held in memory.
const maxTemplateSize = 64 << 20

// wantFile is what one files entry asks for, resolved.
type wantFile struct {
	path     string
	link     bool
	target   string // link target
	perm     uint32
	uid, gid int // -1: the writer's own
}

// applyFiles writes the config's files in order; see writeFile for how.
func (r *Runner) applyFiles(ctx context.Context, c *Config, ch *Changes, res *Result) error {
	for i := range c.Files {
		f := &c.Files[i]
		if err := ctx.Err(); err != nil {
			return err
		}
		changed, err := r.applyFile(ctx, f)
		if err != nil {
			return fmt.Errorf("file %s: %w", f.Path, err)
		}
		if changed {
			ch.Files[f.Path] = true
			res.Changed = append(res.Changed, "file "+f.Path)
			r.Log.Info("wrote file " + f.Path)
		} else {
			r.Log.Debug("file " + f.Path + " unchanged")
		}
	}
	return nil
}

func (r *Runner) applyFile(ctx context.Context, f *File) (bool, error) {
	w, err := resolveFile(f)
	if err != nil {
		return false, err
	}
	if w.link {
		return writeLink(w)
	}
	content, err := r.fileContent(ctx, f)
	if err != nil {
		return false, err
	}
	defer content.Close()
	return writeRegular(w, content)
}

// resolveFile checks the entry's path and turns mode, owner and group into numbers.
func resolveFile(f *File) (wantFile, error) {
	w := wantFile{path: f.Path, perm: defaultFileMode, uid: -1, gid: -1}
	if !filepath.IsAbs(f.Path) || filepath.Clean(f.Path) != f.Path {
		return w, fmt.Errorf("the path must be absolute and clean (no trailing /, no . or .. components)")
	}
	if f.Mode != "" {
		m, err := strconv.ParseUint(f.Mode, 8, 32)
		if err != nil || len(f.Mode) != 6 {
			return w, fmt.Errorf("mode %q is not six octal digits (e.g. 000644, or 120777 for a symlink)", f.Mode)
		}
		w.perm = uint32(m & 0o7777)
		if m&0o170000 == 0o120000 {
			w.link = true
		}
	}
	if w.link {
		if f.Content == nil || *f.Content == "" {
			return w, fmt.Errorf("mode %s makes a symbolic link, but content (the link's target) is empty", f.Mode)
		}
		w.target = *f.Content
	}
	var err error
	if f.Owner != "" {
		if w.uid, err = lookupID(f.Owner, false); err != nil {
			return w, err
		}
	}
	if f.Group != "" {
		if w.gid, err = lookupID(f.Group, true); err != nil {
			return w, err
		}
	}
	return w, nil
}

// lookupID resolves a user or group name, or takes a number as it is (cfn-init
// accepts names only; a number is what a name would resolve to).
func lookupID(name string, group bool) (int, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	if group {
		g, err := user.LookupGroup(name)
		if err != nil {
			return -1, fmt.Errorf("group %q: %v (create it under groups, or fix the name)", name, err)
		}
		return strconv.Atoi(g.Gid)
	}
	u, err := user.Lookup(name)
	if err != nil {
		return -1, fmt.Errorf("owner %q: %v (create the user under users, or fix the name)", name, err)
	}
	return strconv.Atoi(u.Uid)
}

// fileContent returns what a regular file gets: content (decoded, rendered) or the
// fetched source (rendered when context is set).
func (r *Runner) fileContent(ctx context.Context, f *File) (io.ReadCloser, error) {
	if f.Content != nil && f.Source == "" {
		text := *f.Content
		switch {
		case strings.EqualFold(f.Encoding, "base64"):
			b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
			if err != nil {
				return nil, fmt.Errorf("content is not valid base64 (encoding: base64): %v", err)
			}
			return io.NopCloser(bytes.NewReader(b)), nil
		case f.Context != nil && !f.ContentIsJSON:
			out, err := Render(text, f.Context)
			if err != nil {
				return nil, fmt.Errorf("rendering content as a Mustache template (context): %w", err)
			}
			text = out
		}
		return io.NopCloser(strings.NewReader(text)), nil
	}
	if f.Source == "" {
		return nil, fmt.Errorf("neither content nor source is given")
	}
	if r.Fetch == nil {
		return nil, fmt.Errorf("source %s: no fetcher configured", RedactURL(f.Source))
	}
	body, err := r.Fetch.Open(ctx, f.Source, r.authFor(f.Source, f.Auth))
	if err != nil {
		return nil, err
	}
	if f.Context == nil {
		return body, nil
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, maxTemplateSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxTemplateSize {
		return nil, fmt.Errorf("source %s is over %d MiB, too large to render as a template (context)", RedactURL(f.Source), maxTemplateSize>>20)
	}
	out, err := Render(string(b), f.Context)
	if err != nil {
		return nil, fmt.Errorf("rendering source %s as a Mustache template (context): %w", RedactURL(f.Source), err)
	}
	return io.NopCloser(strings.NewReader(out)), nil
}

// authFor returns the Authentication entry for url: the one named, else one whose
// buckets or uris match.
func (r *Runner) authFor(url, name string) *Auth {
	if len(r.Auth) == 0 {
		return nil
	}
	return (&Init{Auth: r.Auth}).AuthFor(url, name)
}

// testHookTemp, when set by a test, is called with the temporary file's path after it
// is created ("created") and just before it is renamed into place ("rename").
var testHookTemp func(stage, path string)
