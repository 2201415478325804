package logship

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/stackhand/stackhand/internal/atomicfile"
)

// fpMax is how many of a file's first bytes its fingerprint covers.
const fpMax = 1024

// fingerprint tells apart two files that had the same device and inode (an inode reused
// after a delete, a file recreated in place): a hash of its first n bytes. A file shorter
// than fpMax has n = its length; as it grows the tailer extends the fingerprint, and a
// stored fingerprint is compared against the same n first bytes only, so growth never
// makes a file look new.
type fingerprint struct {
	sum uint64
	n   int
}

func hashBytes(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// fingerprintOf hashes the first min(limit, fpMax) bytes of f.
func fingerprintOf(f *os.File, limit int64) (fingerprint, error) {
	n := min(limit, fpMax)
	if n <= 0 {
		return fingerprint{}, nil
	}
	var buf [fpMax]byte
	got, err := f.ReadAt(buf[:n], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fingerprint{}, err
	}
	return fingerprint{sum: hashBytes(buf[:got]), n: got}, nil
}

// matches reports whether f's first fp.n bytes are the ones fp was taken of.
func (fp fingerprint) matches(f *os.File) bool {
	if fp.n == 0 {
		return true
	}
	var buf [fpMax]byte
	got, err := f.ReadAt(buf[:fp.n], 0)
	if got < fp.n || (err != nil && !errors.Is(err, io.EOF)) {
		return false
	}
	return hashBytes(buf[:got]) == fp.sum
}

// checkpointGen is one generation of a file in a checkpoint: its identity and the offset
// up to which its bytes are acknowledged.
type checkpointGen struct {
	Dev            uint64 `json:"dev"`
	Inode          uint64 `json:"inode"`
	Fingerprint    string `json:"fingerprint"` // FNV-1a 64 of the first fingerprint_len bytes, hex
	FingerprintLen int    `json:"fingerprint_len"`
	Offset         int64  `json:"offset"`
	// TailFingerprint (FNV-1a 64, hex) is of the TailLen bytes just before TailAt, an
	// offset acknowledged when the file was last open (at most Offset): a restart that
	// finds the same first bytes but other bytes there knows the file was truncated and
	// written again (copytruncate) while the agent was down.
	TailFingerprint string `json:"tail_fingerprint,omitempty"`
	TailLen         int    `json:"tail_len,omitempty"`
	TailAt          int64  `json:"tail_at,omitempty"`
	// ModTime (Unix ns) is the file's modification time when the checkpoint was written:
	// rotated files modified since then hold lines no checkpoint names.
	ModTime int64 `json:"mtime_ns,omitempty"`
}

// checkpoint is the file written for one followed path. Its top-level identity and offset
// name the oldest generation not yet fully acknowledged; Next lists the newer ones the
// tailer had already opened (rotated while it was behind), oldest first, so that a restart
// drains every one of them.
type checkpoint struct {
	Path string `json:"path"`
	checkpointGen
	Updated time.Time       `json:"updated"`
	Next    []checkpointGen `json:"next,omitempty"`
	// Done lists the last generations read to their end and closed, with that end: a
	// restart that finds one in the rotation set sends only what was added after it.
	Done []checkpointGen `json:"done,omitempty"`
}

// gens returns the generations cp names, oldest first.
func (cp *checkpoint) gens() []checkpointGen {
	return append([]checkpointGen{cp.checkpointGen}, cp.Next...)
}

func (g checkpointGen) id() fileID { return fileID{dev: g.Dev, ino: g.Inode} }

func (g checkpointGen) fp() (fingerprint, error) {
	if g.FingerprintLen < 0 || g.FingerprintLen > fpMax {
		return fingerprint{}, fmt.Errorf("fingerprint_len %d is out of range", g.FingerprintLen)
	}
	if g.TailLen < 0 || g.TailLen > fpMax || int64(g.TailLen) > g.TailAt || g.TailAt > g.Offset {
		return fingerprint{}, fmt.Errorf("tail_len %d is out of range", g.TailLen)
	}
	if g.TailLen > 0 {
		if _, err := strconv.ParseUint(g.TailFingerprint, 16, 64); err != nil {
			return fingerprint{}, fmt.Errorf("tail_fingerprint %q: %w", g.TailFingerprint, err)
		}
	}
	if g.FingerprintLen == 0 {
		return fingerprint{}, nil
	}
	sum, err := strconv.ParseUint(g.Fingerprint, 16, 64)
	if err != nil {
		return fingerprint{}, fmt.Errorf("fingerprint %q: %w", g.Fingerprint, err)
	}
	return fingerprint{sum: sum, n: g.FingerprintLen}, nil
}

// tailFingerprintOf hashes the up to fpMax bytes of f just before off.
func tailFingerprintOf(f *os.File, off int64) (fingerprint, error) {
	n := int(min(off, fpMax))
	if n <= 0 {
		return fingerprint{}, nil
	}
	var buf [fpMax]byte
	got, err := f.ReadAt(buf[:n], off-int64(n))
	if got < n {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return fingerprint{}, err
	}
	return fingerprint{sum: hashBytes(buf[:n]), n: n}, nil
}

// tailMatches reports whether f holds, just before g.TailAt, the bytes it held when the
// checkpoint was written (true when the checkpoint has no tail fingerprint: one written
// by an older agent).
func (g checkpointGen) tailMatches(f *os.File) bool {
	if g.TailLen == 0 {
		return true
	}
	sum, err := strconv.ParseUint(g.TailFingerprint, 16, 64)
	if err != nil {
		return false
	}
	fp, err := tailFingerprintOf(f, g.TailAt)
	return err == nil && fp.n == g.TailLen && fp.sum == sum
}

// fileMark is what a checkpoint entry records of an open file besides its offset: the
// fingerprint of the bytes before an acknowledged offset, and the modification time.
type fileMark struct {
	tail   fingerprint
	tailAt int64
	mod    int64 // Unix ns
}

// markOf reads f's mark at offset off.
func markOf(f *os.File, off int64) (fileMark, bool) {
	fi, err := f.Stat()
	if err != nil {
		return fileMark{}, false
	}
	fp, err := tailFingerprintOf(f, off)
	if err != nil {
		return fileMark{}, false
	}
	return fileMark{tail: fp, tailAt: off, mod: fi.ModTime().UnixNano()}, true
}

func genEntryMarked(id fileID, fp fingerprint, off int64, m fileMark) checkpointGen {
	e := genEntry(id, fp, off)
	if m.tail.n > 0 && m.tailAt <= off {
		e.TailFingerprint, e.TailLen, e.TailAt = strconv.FormatUint(m.tail.sum, 16), m.tail.n, m.tailAt
	}
	e.ModTime = m.mod
	return e
}

func genEntry(id fileID, fp fingerprint, off int64) checkpointGen {
	return checkpointGen{Dev: id.dev, Inode: id.ino, Fingerprint: strconv.FormatUint(fp.sum, 16), FingerprintLen: fp.n, Offset: off}
}

// checkpointFile is the checkpoint's name for path: a hash of the path, so that any path
// makes a valid, short file name.
func checkpointFile(dir, path string) string {
	h := fnv.New64a()
	h.Write([]byte(path))
	return filepath.Join(dir, hex.EncodeToString(h.Sum(nil))+".json")
}

// readCheckpoint returns path's checkpoint in dir, nil if there is none.
func readCheckpoint(dir, path string) (*checkpoint, error) {
	if dir == "" {
		return nil, nil
	}
	name := checkpointFile(dir, path)
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", name, err)
	}
	var cp checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("checkpoint %s of %s is corrupt: %w", name, path, err)
	}
	if cp.Path != path {
		// Two paths with one hash: the other path's checkpoint.
		return nil, nil
	}
	for _, g := range append(cp.gens(), cp.Done...) {
		if _, err := g.fp(); err != nil {
			return nil, fmt.Errorf("checkpoint %s of %s is corrupt: %w", name, path, err)
		}
		if g.Offset < 0 {
			return nil, fmt.Errorf("checkpoint %s of %s is corrupt: offset %d", name, path, g.Offset)
		}
	}
	return &cp, nil
}

// writeCheckpoint writes cp atomically (temporary file, fsync, rename), mode 0600.
func writeCheckpoint(dir string, cp *checkpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	return atomicfile.Write(checkpointFile(dir, cp.Path), append(b, '\n'), 0o600)
}

func removeCheckpoint(dir, path string) error {
	err := os.Remove(checkpointFile(dir, path))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// locateGen finds the file a checkpoint generation names: at path, or else under another
// name in path's directory (where rename rotation put it: app.log.1, app.log-20260101).
// It returns the file opened, or nil when it is nowhere (rotated away, compressed, deleted).
func locateGen(path string, g checkpointGen) (*os.File, string) {
	fp, _ := g.fp()
	try := func(p string) *os.File {
		id, dir, err := statPath(p)
		if err != nil || dir || id != g.id() {
			return nil
		}
		f, err := openFile(p)
		if err != nil {
			return nil
		}
		if fid, _, err := statFile(f); err != nil || fid != g.id() || !fp.matches(f) {
			f.Close()
			return nil
		}
		return f
	}
	if f := try(path); f != nil {
		return f, path
	}
	dir := filepath.Dir(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, ""
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if p == path || !e.Type().IsRegular() {
			continue
		}
		if f := try(p); f != nil {
			return f, p
		}
	}
	return nil, ""
}
