package logship

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/config"
)

// shipAll runs a tailer over p until it has read seq 0..n-1 with every event
// acknowledged, and stops it: the checkpoint then names p at its end.
func shipAll(t *testing.T, p, cp string, n int) {
	t.Helper()
	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: p}, cp, c)
	tailWait(t, "the first run's lines", c, func() bool { return len(seqs(c.messages())) >= n })
	h.stop()
}

func mustRename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// TestTailRestartAfterTwoRotations: while the agent is down the file is rotated twice
// (app.log → app.log.1 → app.log.2), with lines in each generation. The checkpoint names
// the oldest; the middle one is named by nothing but its place in the rotation set. A
// restart ships all three, oldest first, every line once.
func TestTailRestartAfterTwoRotations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rotate func(t *testing.T, p string)
	}{
		{"numbered", func(t *testing.T, p string) {
			mustRename(t, p, p+".1")
			writeFile(t, p, seqLines(120, 150))
			mustRename(t, p+".1", p+".2")
			mustRename(t, p, p+".1")
		}},
		{"dated", func(t *testing.T, p string) {
			mustRename(t, p, p+"-20261203")
			writeFile(t, p, seqLines(120, 150))
			mustRename(t, p, p+"-20261204")
		}},
		{"dated before the extension", func(t *testing.T, p string) {
			stem := strings.TrimSuffix(p, ".log")
			mustRename(t, p, stem+"-2026-12-03.log")
			writeFile(t, p, seqLines(120, 150))
			mustRename(t, p, stem+"-2026-12-04.log")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, cp := t.TempDir(), t.TempDir()
			p := filepath.Join(dir, "app.log")
			writeFile(t, p, seqLines(0, 100))
			// Older generations, shipped long ago, and another application's log: never sent.
			writeFile(t, filepath.Join(dir, "app.log.9"), seqLines(900, 910))
			writeFile(t, filepath.Join(dir, "app-worker.log"), seqLines(800, 810))
			old := filepath.Join(dir, "app.log.9")
			if err := os.Chtimes(old, timeAgo(), timeAgo()); err != nil {
				t.Fatal(err)
			}
			shipAll(t, p, cp, 100)
			appendFile(t, p, seqLines(100, 120))
			tc.rotate(t, p)
			writeFile(t, p, seqLines(150, 170))

			c := newCollector()
			startTailer(t, config.LogFile{FilePath: p}, cp, c)
			tailWait(t, "70 lines", c, func() bool { return len(seqs(c.messages())) >= 70 })
			wantSeqs(t, c.messages(), 100, 170)
		})
	}
}

// TestTailRestartAfterTwoRotationsDrainedGenerationNotResent: a generation the last run
// read to its end and closed is not sent again when a restart finds it in the rotation
// set, even when it was written to after the file the checkpoint names.
func TestTailRestartAfterRotationDrainedGenerationNotResent(t *testing.T) {
	dir, cp := t.TempDir(), t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, seqLines(0, 50))
	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: p}, cp, c)
	tailWait(t, "50 lines", c, func() bool { return len(seqs(c.messages())) >= 50 })
	mustRename(t, p, p+".1")
	writeFile(t, p, "")
	h.rescan()
	tailWait(t, "the new generation", nil, func() bool { return h.gens(p) == 2 })
	appendFile(t, p+".1", seqLines(50, 60)) // the writer's last lines, after the rename
	h.rescan()
	tailWait(t, "60 lines", c, func() bool { return len(seqs(c.messages())) >= 60 })
	h.advanceUntil("the rotated file closed", func() bool { return h.gens(p) == 1 })
	h.stop()
	appendFile(t, p, seqLines(60, 70))

	c2 := newCollector()
	startTailer(t, config.LogFile{FilePath: p}, cp, c2)
	tailWait(t, "10 lines", c2, func() bool { return len(seqs(c2.messages())) >= 10 })
	wantSeqs(t, c2.messages(), 60, 70)
}

// TestTailRestartCompressedGenerationReported: the generation the checkpoint names was
// rotated and compressed while the agent was down. Its unsent lines cannot be read; the
// restart says which file holds them, in the log and in the file's status, and ships
// the generations that came after it.
func TestTailRestartCompressedGenerationReported(t *testing.T) {
	dir, cp := t.TempDir(), t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, seqLines(0, 100))
	shipAll(t, p, cp, 100)
	appendFile(t, p, seqLines(100, 120))
	mustRename(t, p, p+".1")
	writeFile(t, p, seqLines(120, 150))
	gzipFile(t, p+".1", p+".2.gz")
	mustRename(t, p, p+".1")
	writeFile(t, p, seqLines(150, 170))

	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: p}, cp, c)
	tailWait(t, "50 lines", c, func() bool { return len(seqs(c.messages())) >= 50 })
	wantSeqs(t, c.messages(), 120, 170)
	if h.count("compressed") == 0 {
		t.Errorf("the compressed generation is not reported; log: %v", h.logs.All())
	}
	st := h.tl.Status()
	if len(st) != 1 || !strings.Contains(st[0].LastError, "app.log.2.gz") {
		t.Errorf("status %+v does not name app.log.2.gz", st)
	}
}

func gzipFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		t.Fatal(err)
	}
	in.Close()
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(from); err != nil {
		t.Fatal(err)
	}
}

// banner is a start-up banner longer than the fingerprint: after a copytruncate the
// file's first KiB is what it was.
var banner = "banner " + strings.Repeat("=", 1100) + "\n"

// copyTruncate copies p to p.1 (unless copy is false) and truncates p in place.
func copyTruncate(t *testing.T, p string, keepCopy bool) {
	t.Helper()
	if keepCopy {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, p+".1", string(b))
	}
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
}

// TestTailRestartAfterCopyTruncate: while the agent is down the file is copied to
// app.log.1 and truncated, and grows again, with the same first KiB, past the offset
// the checkpoint names. The restart sees the bytes before that offset changed, reads the
// copy from the checkpoint and the new file from its start: every line, once.
func TestTailRestartAfterCopyTruncate(t *testing.T) {
	dir, cp := t.TempDir(), t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, banner+seqLines(0, 100))
	shipAll(t, p, cp, 100)
	appendFile(t, p, seqLines(100, 120))
	copyTruncate(t, p, true)
	appendFile(t, p, banner+seqLines(120, 300))

	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: p}, cp, c)
	tailWait(t, "200 lines", c, func() bool { return len(seqs(c.messages())) >= 200 })
	wantSeqs(t, c.messages(), 100, 300)
	if h.count("truncated") == 0 {
		t.Error("the truncation is not logged")
	}
}

// TestTailRestartAfterCopyTruncateCopyGone: as above, but the copy is not there (deleted
// or compressed): the new file is read from its start, and the log and status say that
// the lines between the checkpoint and the truncation could not be read.
func TestTailRestartAfterCopyTruncateCopyGone(t *testing.T) {
	dir, cp := t.TempDir(), t.TempDir()
	p := filepath.Join(dir, "app.log")
	writeFile(t, p, banner+seqLines(0, 100))
	shipAll(t, p, cp, 100)
	appendFile(t, p, seqLines(100, 120))
	copyTruncate(t, p, false)
	appendFile(t, p, banner+seqLines(120, 300))

	c := newCollector()
	h := startTailer(t, config.LogFile{FilePath: p}, cp, c)
	tailWait(t, "180 lines", c, func() bool { return len(seqs(c.messages())) >= 180 })
	wantSeqs(t, c.messages(), 120, 300)
	if h.count("could not be read") == 0 {
		t.Errorf("the lost lines are not reported; log: %v", h.logs.All())
	}
	if st := h.tl.Status(); len(st) != 1 || st[0].LastError == "" {
		t.Errorf("status %+v has no error", st)
	}
}

func timeAgo() time.Time { return time.Now().Add(-time.Hour) }
