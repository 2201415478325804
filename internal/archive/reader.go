package archive

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// kind is what an entry makes.
type kind int

const (
	kindFile kind = iota
	kindDir
	kindSymlink
	kindHardlink
	kindSkip // pax global headers and the like: nothing to write
)

// entry is one member of an archive, whatever the format.
type entry struct {
	raw  string      // the name as the archive spells it (for errors)
	kind kind        // what it makes
	mode fs.FileMode // permission and special bits
	size int64       // regular files: the content's length
	link string      // symbolic links: the target; hard links: the earlier entry's name
	mod  int64       // modification time, Unix seconds (0: unknown)
	// body reads a regular file's content (tar: the archive stream itself, valid until
	// the next call to next).
	body func() (io.Reader, error)
}

// walker goes through an archive's entries in order.
type walker interface {
	next() (*entry, error) // io.EOF after the last entry
	close() error
}

// maxZstdWindow bounds the memory a zstd frame may ask for: zstd's levels up to 19 use
// windows of at most 8 MiB; a frame made with --long asks for more and is refused rather
// than allowed to make the agent's memory grow (issue 11: peak RSS <= 40 MiB).
const maxZstdWindow = 32 << 20

// bufSize is the size of the read buffer before a decompressor and of the copy buffer.
const bufSize = 256 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

var bufioPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bufSize) }}

// open opens the archive at path and returns a walker over it.
func open(path string) (walker, Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Unknown, err
	}
	head := make([]byte, HeadSize)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, Unknown, fmt.Errorf("read %s: %w", path, err)
	}
	format, err := Detect(path, head[:n])
	if err != nil {
		f.Close()
		return nil, Unknown, err
	}
	if format == Zip {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, format, err
		}
		zr, err := zip.NewReader(f, st.Size())
		if err != nil {
			f.Close()
			if errors.Is(err, zip.ErrFormat) {
				return nil, format, fmt.Errorf("%s: %w (zip directory missing or damaged: %v)", path, ErrTruncated, err)
			}
			return nil, format, fmt.Errorf("read zip %s: %w", path, err)
		}
		return &zipWalker{f: f, files: zr.File}, format, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, format, err
	}
	w := &tarWalker{f: f}
	var r io.Reader = f // a plain tar is read from the file, so tar.Reader can seek past contents
	if format != Tar {
		w.br = bufioPool.Get().(*bufio.Reader)
		w.br.Reset(f)
		r = w.br
	}
	switch format {
	case TarGzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			w.close()
			return nil, format, fmt.Errorf("read gzip %s: %w", path, truncated(err))
		}
		w.closers = append(w.closers, zr.Close)
		r = zr
	case TarBzip2:
		r = bzip2.NewReader(r)
	case TarZstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			w.close()
			return nil, format, fmt.Errorf("read zstd %s: %w", path, err)
		}
		w.closers = append(w.closers, func() error { zr.Close(); return nil })
		r = zr
	}
	w.tr = tar.NewReader(r)
	return w, format, nil
}

// truncated maps the ways a reader says "the data stopped early" to ErrTruncated.
func truncated(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w (%v)", ErrTruncated, err)
	}
	return err
}

type tarWalker struct {
	f       *os.File
	br      *bufio.Reader
	tr      *tar.Reader
	closers []func() error
}

func (w *tarWalker) next() (*entry, error) {
	h, err := w.tr.Next()
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, truncated(err)
	}
	e := &entry{raw: h.Name, size: h.Size, link: h.Linkname, mod: h.ModTime.Unix()}
	e.mode = h.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeRegA:
		e.kind = kindFile
		e.body = func() (io.Reader, error) { return w.tr, nil }
	case tar.TypeDir:
		e.kind = kindDir
	case tar.TypeSymlink:
		e.kind = kindSymlink
	case tar.TypeLink:
		e.kind = kindHardlink
	case tar.TypeXGlobalHeader:
		// git archive (and so GitHub's tarballs) starts with one, holding the commit id.
		e.kind = kindSkip
	case tar.TypeChar, tar.TypeBlock:
		return nil, refuse(h.Name, "device node (%s); an archive may not make devices", typeName(h.Typeflag))
	case tar.TypeFifo:
		return nil, refuse(h.Name, "named pipe (fifo); an archive may not make fifos")
	default:
		return nil, refuse(h.Name, "unsupported tar entry type %s", typeName(h.Typeflag))
	}
	return e, nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeGNUSparse:
		return "GNU sparse file"
	}
	if t >= ' ' && t < 0x7f {
		return fmt.Sprintf("%q", t)
	}
	return fmt.Sprintf("0x%02x", t)
}

func (w *tarWalker) close() error {
	for _, c := range w.closers {
		c()
	}
	if w.br != nil {
		w.br.Reset(nil)
		bufioPool.Put(w.br)
		w.br = nil
	}
	return w.f.Close()
}

// maxZipLink bounds a zip symbolic link's target, read into memory.
const maxZipLink = 4096

type zipWalker struct {
	f     *os.File
	files []*zip.File
	i     int
	open  io.ReadCloser
}

func (w *zipWalker) next() (*entry, error) {
	if w.open != nil {
		w.open.Close()
		w.open = nil
	}
	if w.i >= len(w.files) {
		return nil, io.EOF
	}
	zf := w.files[w.i]
	w.i++
	e := &entry{raw: zf.Name, mod: zf.Modified.Unix()}
	if zf.Flags&0x1 != 0 {
		return nil, refuse(zf.Name, "encrypted zip entries are not supported")
	}
	m := zf.Mode()
	e.mode = m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if zf.CreatorVersion>>8 != creatorUnix {
		// Modes from MS-DOS attributes mean nothing here (archive/zip makes 0666 and 0777
		// of them, world-writable): give the usual ones.
		e.mode = 0o644
		if m.IsDir() {
			e.mode = 0o755
		}
	}
	if zf.UncompressedSize64 > 1<<62 {
		return nil, refuse(zf.Name, "declared size %d is impossible", zf.UncompressedSize64)
	}
	switch {
	case m.IsDir() || (len(zf.Name) > 0 && zf.Name[len(zf.Name)-1] == '/'):
		e.kind = kindDir
	case m&fs.ModeSymlink != 0:
		e.kind = kindSymlink
		if zf.UncompressedSize64 > maxZipLink {
			return nil, refuse(zf.Name, "symbolic link target longer than %d bytes", maxZipLink)
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, &EntryError{Name: zf.Name, Err: err}
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxZipLink+1))
		rc.Close()
		if err != nil {
			return nil, &EntryError{Name: zf.Name, Err: truncated(err)}
		}
		e.link = string(b)
	case m.IsRegular():
		e.kind = kindFile
		e.size = int64(zf.UncompressedSize64)
		e.body = func() (io.Reader, error) {
			rc, err := zf.Open()
			if err != nil {
				return nil, err
			}
			w.open = rc
			return rc, nil
		}
	default:
		return nil, refuse(zf.Name, "special file (mode %v); an archive may not make devices, fifos or sockets", m)
	}
	return e, nil
}

// creatorUnix is the "version made by" host of zips made on Unix (APPNOTE 4.4.2).
const creatorUnix = 3

func (w *zipWalker) close() error {
	if w.open != nil {
		w.open.Close()
	}
	return w.f.Close()
}
