package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
)

// freeBytes is FreeBytes, replaced by tests that pretend a disk is small.
var freeBytes = FreeBytes

// blockSize is what each entry is counted to cost beyond its content: a file's last
// partial block, a directory's block, an inode's share. Most Linux file systems use 4 KiB.
const blockSize = 4096

// Needed is the room Extract wants on dest's file system for an archive with these
// stats, before Options.Reserve.
func Needed(s Stats) int64 { return s.Bytes + int64(s.Entries+1)*blockSize }

// ErrChanged is wrapped when the archive holds more or other than its scan found: the
// file changed between the two passes.
var ErrChanged = errors.New("archive changed after it was scanned")

// Extract unpacks the archive at path into dest (made if missing, with mode 0755), over
// what dest already holds, and returns what it unpacked. It first scans the whole archive
// (see Scan and the package's rules) and checks that Needed(stats) fits in dest's free
// space less o.Reserve: a refused entry, a damaged archive or too little room fail before
// anything is written. While writing it stops at a full disk (ErrNoSpace), at an
// archive that turns out bigger than scanned (ErrChanged), and when ctx ends; what it
// wrote until then stays (a re-run converges: every entry is written by a rename).
//
// dest's own path is trusted as given; the caller checks who may write its components
// (internal/trust). Directories' modes are set after their contents are written, as tar
// does, so that a read-only directory in the archive can still be filled.
func Extract(ctx context.Context, archivePath, dest string, o Options) (Stats, error) {
	stats, err := scan(ctx, archivePath, o.StripComponents)
	if err != nil {
		return Stats{}, fmt.Errorf("unpack into %s (nothing written): %w", dest, err)
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return Stats{}, fmt.Errorf("unpack %s: make the target directory: %w", archivePath, err)
	}
	free, err := freeBytes(dest)
	if err != nil {
		return Stats{}, fmt.Errorf("unpack %s: free space of %s: %w", archivePath, dest, err)
	}
	if need := Needed(stats); need > free-o.Reserve {
		return Stats{}, fmt.Errorf("unpack %s into %s: %w: it needs %s (%d files, %s of content), %s is free and %s must stay free; free some space or unpack elsewhere",
			archivePath, dest, ErrNoSpace, human(need), stats.Files, human(stats.Bytes), human(free), human(o.Reserve))
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return Stats{}, fmt.Errorf("unpack %s: %w", archivePath, err)
	}
	defer root.Close()
	x := &extractor{root: root, dest: dest, o: o, dirs: map[string]bool{}, limit: stats.Bytes}
	x.uid, x.gid = o.UID, o.GID
	if x.uid == os.Geteuid() {
		x.uid = -1
	}
	if x.gid == os.Getegid() {
		x.gid = -1
	}
	x.chown = runtime.GOOS != "windows" && (x.uid >= 0 || x.gid >= 0)
	got, err := x.run(ctx, archivePath)
	if err != nil {
		return Stats{}, err
	}
	if got.Files != stats.Files || got.Bytes != stats.Bytes || got.Entries != stats.Entries {
		return Stats{}, fmt.Errorf("unpack %s into %s: %w (scanned %d entries, %d bytes; unpacked %d entries, %d bytes)",
			archivePath, dest, ErrChanged, stats.Entries, stats.Bytes, got.Entries, got.Bytes)
	}
	return stats, nil
}

// human writes a byte count for people.
func human(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

type extractor struct {
	root     *os.Root
	dest     string
	o        Options
	uid, gid int  // -1: leave
	chown    bool // uid or gid to set
	dirs     map[string]bool
	explicit []dirEntry // directories the archive names: modes set at the end
	written  int64
	limit    int64
}

type dirEntry struct {
	name string
	mode fs.FileMode
	mod  int64
}

func (x *extractor) run(ctx context.Context, archivePath string) (Stats, error) {
	w, format, err := open(archivePath)
	if err != nil {
		return Stats{}, err
	}
	defer w.close()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	c := newChecker(x.o.StripComponents)
	for {
		if err := ctx.Err(); err != nil {
			return Stats{}, err
		}
		e, err := w.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Stats{}, wrapRead(archivePath, format, err)
		}
		name, err := c.check(e)
		if err != nil {
			return Stats{}, fmt.Errorf("%s: %w", archivePath, err)
		}
		if name == "" {
			continue
		}
		if err := x.write(ctx, e, name, *bp); err != nil {
			var ee *EntryError
			if errors.As(err, &ee) {
				return Stats{}, fmt.Errorf("unpack %s into %s: %w", archivePath, x.dest, err)
			}
			return Stats{}, fmt.Errorf("unpack %s into %s: %w", archivePath, x.dest, &EntryError{Name: e.raw, Err: err})
		}
	}
	// Innermost first, so that a read-only parent does not stop a child's chmod.
	for i := len(x.explicit) - 1; i >= 0; i-- {
		d := x.explicit[i]
		if err := x.setDir(d.name, d.mode, d.mod); err != nil {
			return Stats{}, fmt.Errorf("unpack %s into %s: directory %s: %w", archivePath, x.dest, d.name, err)
		}
	}
	return c.result(), nil
}

func (x *extractor) mode(m fs.FileMode) fs.FileMode {
	if x.o.KeepSpecialBits {
		return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	}
	return m & fs.ModePerm
}

func (x *extractor) write(ctx context.Context, e *entry, name string, buf []byte) error {
	if e.kind == kindDir {
		if err := x.ensureDir(e.raw, name); err != nil {
			return err
		}
		x.explicit = append(x.explicit, dirEntry{name: name, mode: x.mode(e.mode), mod: e.mod})
		return nil
	}
	if err := x.ensureDir(e.raw, path.Dir(name)); err != nil {
		return err
	}
	tmp := tmpName(name)
	osTmp, osName := filepath.FromSlash(tmp), filepath.FromSlash(name)
	var err error
	switch e.kind {
	case kindFile:
		err = x.writeFile(ctx, e, osTmp, buf)
	case kindSymlink:
		if err = x.root.Symlink(filepath.FromSlash(e.link), osTmp); err == nil && x.chown {
			err = x.root.Lchown(osTmp, x.uid, x.gid)
		}
	case kindHardlink:
		err = x.root.Link(filepath.FromSlash(e.link), osTmp)
	}
	if err == nil {
		err = x.root.Rename(osTmp, osName)
		if err != nil {
			if fi, serr := x.root.Lstat(osName); serr == nil && fi.IsDir() {
				err = fmt.Errorf("%s is a directory in the target; an entry of another type cannot replace it", name)
			}
		}
	}
	// After a rename that did its work the temporary name is gone; after one of a hard
	// link over another link to the same file, rename(2) does nothing and it stays.
	if rerr := x.root.Remove(osTmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// writeFile writes e's content to tmp, owner and mode set before the caller's rename.
func (x *extractor) writeFile(ctx context.Context, e *entry, tmp string, buf []byte) error {
	f, err := x.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	r, err := e.body()
	if err != nil {
		f.Close()
		return err
	}
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			f.Close()
			return err
		}
		m, rerr := r.Read(buf)
		if m > 0 {
			n += int64(m)
			x.written += int64(m)
			if n > e.size || x.written > x.limit {
				f.Close()
				return fmt.Errorf("%w: more content than the %d bytes scanned", ErrChanged, e.size)
			}
			if _, werr := f.Write(buf[:m]); werr != nil {
				f.Close()
				if isNoSpace(werr) {
					return fmt.Errorf("%w: the file system of %s filled up (%s written of %s): %v", ErrNoSpace, x.dest, human(x.written), human(x.limit), werr)
				}
				return werr
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			f.Close()
			return truncated(rerr)
		}
	}
	if n != e.size {
		f.Close()
		return fmt.Errorf("%w: content ended after %d of %d bytes", ErrTruncated, n, e.size)
	}
	if x.chown {
		// Before the chmod: chown clears setuid and setgid bits.
		if err := f.Chown(x.uid, x.gid); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Chmod(x.mode(e.mode)); err != nil {
		f.Close()
		return err
	}
	if e.mod > 0 {
		if err := setMtime(f, time.Unix(e.mod, 0)); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		if isNoSpace(err) {
			return fmt.Errorf("%w: the file system of %s filled up: %v", ErrNoSpace, x.dest, err)
		}
		return err
	}
	return nil
}

// ensureDir makes sure name (slash-separated, inside dest; "." or "" is dest) is a real
// directory, making it and its parents (mode 0755, the options' owner) where missing. A
// symbolic link on the way is refused, whether the archive made it or dest held it.
func (x *extractor) ensureDir(raw, name string) error {
	if name == "" || name == "." || x.dirs[name] {
		return nil
	}
	if err := x.ensureDir(raw, path.Dir(name)); err != nil {
		return err
	}
	osName := filepath.FromSlash(name)
	fi, err := x.root.Lstat(osName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := x.root.Mkdir(osName, 0o700); err != nil {
			return err
		}
		if err := x.setDir(name, 0o755, 0); err != nil {
			return err
		}
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return refuse(raw, "%s is a symbolic link in the target directory; nothing is written through a link (remove it, or unpack elsewhere)", name)
	case !fi.IsDir():
		return fmt.Errorf("%s exists in the target directory and is not a directory", name)
	}
	x.dirs[name] = true
	return nil
}

// setDir gives a directory the options' owner and mode through a descriptor of it.
func (x *extractor) setDir(name string, mode fs.FileMode, mod int64) error {
	f, err := x.root.Open(filepath.FromSlash(name))
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is no longer a directory", name)
	}
	if x.chown {
		if err := f.Chown(x.uid, x.gid); err != nil {
			return err
		}
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if mod > 0 {
		return setMtime(f, time.Unix(mod, 0))
	}
	return nil
}

var tmpSeq atomic.Uint64

// tmpName is a name beside name for writing it: hidden, unique to this process and call,
// short enough for NAME_MAX whatever the base name's length.
func tmpName(name string) string {
	dir, base := path.Split(name)
	if len(base) > 200 {
		base = base[:200]
	}
	return dir + "." + base + ".stackhand-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(tmpSeq.Add(1), 36)
}
