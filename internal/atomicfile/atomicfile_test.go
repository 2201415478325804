package atomicfile

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestWriteReplacesWholeWithModeAndLeavesNoTemporary(t *testing.T) {
	for name, write := range map[string]func(string, []byte, os.FileMode) error{"Write": Write, "WriteVolatile": WriteVolatile} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f.json")
			if err := write(p, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := write(p, []byte("new content"), 0o600); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(p)
			if err != nil || string(b) != "new content" {
				t.Fatalf("content %q, %v", b, err)
			}
			if fi, _ := os.Stat(p); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", fi.Mode().Perm())
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only f.json: %v", len(entries), entries)
			}
		})
	}
}

func TestWriteIntoMissingDirectoryFailsNamingThePath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "missing", "f")
	err := Write(p, []byte("x"), 0o600)
	if err == nil {
		t.Fatal("no error")
	}
	if want := "write " + p; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Errorf("error %q does not name %s", err, p)
	}
}

func TestWriteErrorIsTheSameEachTimeWhateverTheTemporaryName(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A directory that cannot be created into: below a regular file.
	p := filepath.Join(blocker, "f")
	e1, e2 := Write(p, []byte("a"), 0o600), Write(p, []byte("b"), 0o600)
	if e1 == nil || e2 == nil || e1.Error() != e2.Error() {
		t.Fatalf("errors %q and %q, want the same", e1, e2)
	}
	if strings.Contains(e1.Error(), ".tmp-") {
		t.Errorf("error %q names the temporary file", e1)
	}
}

func TestWriteKeepKeepsThePreviousFile(t *testing.T) {
	dir := t.TempDir()
	p, prev := filepath.Join(dir, "f"), filepath.Join(dir, "f.prev")
	if err := WriteKeep(p, []byte("one"), 0o600, prev); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(prev); !os.IsNotExist(err) {
		t.Errorf("prev exists after the first write: %v", err)
	}
	if err := WriteKeep(p, []byte("two"), 0o600, prev); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	old, _ := os.ReadFile(prev)
	if string(b) != "two" || string(old) != "one" {
		t.Errorf("file %q prev %q, want two and one", b, old)
	}
}
