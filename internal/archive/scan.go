package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// checker applies the package's rules to entries in archive order; Scan and Extract use
// the same one, so that whatever Extract would refuse, its scan has refused first.
type checker struct {
	strip int
	files map[string]bool // regular files so far, by cleaned name: what hard links may name
	stats Stats
	links map[string]bool // symbolic links so far: nothing may be written through them
	tops  map[string]bool // top-level names (before stripping), for Stats.OneTopDir
	topOK bool            // every entry so far lies under a directory, not at the top
}

func newChecker(strip int) *checker {
	return &checker{strip: strip, files: map[string]bool{}, links: map[string]bool{}, tops: map[string]bool{}, topOK: true}
}

// check validates e and returns its name inside dest (slash-separated, cleaned,
// stripped), or "" when the entry is to be skipped.
func (c *checker) check(e *entry) (string, error) {
	if e.kind == kindSkip {
		return "", nil
	}
	parts, err := splitName(e.raw)
	if err != nil {
		return "", refuse(e.raw, "%v", err)
	}
	if len(parts) > 0 {
		c.tops[parts[0]] = true
		if len(parts) == 1 && e.kind != kindDir {
			c.topOK = false
		}
	}
	if len(parts) <= c.strip {
		return "", nil
	}
	parts = parts[c.strip:]
	name := strings.Join(parts, "/")
	if len(c.links) > 0 {
		for i := 1; i < len(parts); i++ {
			if dir := strings.Join(parts[:i], "/"); c.links[dir] {
				return "", refuse(e.raw, "%s is a symbolic link made earlier by this archive; nothing is written through a link", dir)
			}
		}
	}
	switch e.kind {
	case kindSymlink:
		if err := checkSymlink(len(parts)-1, e.link); err != nil {
			return "", refuse(e.raw, "symbolic link to %q: %v", e.link, err)
		}
	case kindHardlink:
		tparts, err := splitName(e.link)
		if err != nil || len(tparts) <= c.strip {
			return "", refuse(e.raw, "hard link to %q: not a file of this archive", e.link)
		}
		target := strings.Join(tparts[c.strip:], "/")
		if !c.files[target] {
			return "", refuse(e.raw, "hard link to %q: not a regular file that comes earlier in this archive", e.link)
		}
		e.link = target
	case kindFile:
		if e.size < 0 {
			return "", refuse(e.raw, "negative size")
		}
		c.stats.Files++
		c.stats.Bytes += e.size
	}
	if e.kind == kindSymlink {
		c.links[name] = true
	} else {
		delete(c.links, name)
	}
	if e.kind == kindFile {
		c.files[name] = true
	} else {
		// A later entry of the same name replaces the file: a hard link may no longer name it.
		delete(c.files, name)
	}
	c.stats.Entries++
	return name, nil
}

func (c *checker) result() Stats {
	s := c.stats
	if len(c.tops) == 1 && c.topOK {
		for t := range c.tops {
			s.OneTopDir = t
		}
	}
	return s
}

// splitName splits an archive member's name into its components, refusing absolute names
// and ".." components; "." and empty components are dropped. A backslash counts as a
// separator too for these checks: a zip made on Windows spells "..\x" so, and on Windows
// it is one.
func splitName(name string) ([]string, error) {
	if name == "" {
		return nil, errors.New("empty name")
	}
	if strings.ContainsRune(name, 0) {
		return nil, errors.New("name holds a NUL byte")
	}
	if name[0] == '/' || name[0] == '\\' || (len(name) >= 2 && name[1] == ':') {
		return nil, errors.New("absolute name; entries must be relative to the target directory")
	}
	var parts []string
	for _, p := range strings.Split(name, "/") {
		if p == "" || p == "." {
			continue
		}
		for _, q := range strings.Split(p, "\\") {
			if q == ".." {
				return nil, errors.New(`".." component; entries must stay inside the target directory`)
			}
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// checkSymlink checks a symbolic link's target for a link depth directories below dest
// (0: in dest itself). The target may climb with leading ".." components, no higher than
// dest, then only descend: a ".." after a name could climb out through a name that is
// itself a link (dest/s -> ., then s/../../x), so it is refused.
func checkSymlink(depth int, target string) error {
	if target == "" {
		return errors.New("empty target")
	}
	if strings.ContainsRune(target, 0) {
		return errors.New("target holds a NUL byte")
	}
	if target[0] == '/' || target[0] == '\\' || (len(target) >= 2 && target[1] == ':') {
		return errors.New("absolute target; links must be relative and stay inside the target directory")
	}
	ups, named := 0, false
	for _, p := range strings.FieldsFunc(target, func(r rune) bool { return r == '/' || r == '\\' }) {
		switch {
		case p == ".":
		case p == ".." && named:
			return errors.New(`".." after a name; such a link can leave the target directory through another link`)
		case p == "..":
			ups++
		default:
			named = true
		}
	}
	if ups > depth {
		return fmt.Errorf("resolves outside the target directory (%d levels up from a link %d deep)", ups, depth)
	}
	return nil
}

// Scan reads the archive at path once, through every entry, and returns what it holds;
// it fails on the first entry the package's rules refuse (naming it), on a truncated or
// damaged archive, and on a file that is no archive.
func Scan(ctx context.Context, path string) (Stats, error) {
	return scan(ctx, path, 0)
}

func scan(ctx context.Context, path string, strip int) (Stats, error) {
	w, format, err := open(path)
	if err != nil {
		return Stats{}, err
	}
	defer w.close()
	c := newChecker(strip)
	for {
		if err := ctx.Err(); err != nil {
			return Stats{}, err
		}
		e, err := w.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Stats{}, wrapRead(path, format, err)
		}
		// A zip entry's content is checked (CRC, declared size) only when read, by
		// Extract as it writes; a tar entry's is read through by the next call to next.
		if _, err := c.check(e); err != nil {
			return Stats{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	return c.result(), nil
}

// wrapRead says where an archive could not be read.
func wrapRead(path string, format Format, err error) error {
	var ee *EntryError
	if errors.As(err, &ee) {
		return fmt.Errorf("%s: %w", path, err)
	}
	return fmt.Errorf("read %s (%s): %w", path, format, err)
}
