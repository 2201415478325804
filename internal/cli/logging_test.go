package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// logFiles returns the content of path, path.1, path.2, ... that exist, up to path.9.
func logFiles(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for i := 0; i < 10; i++ {
		p := path
		if i > 0 {
			p = fmt.Sprintf("%s.%d", path, i)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		out[filepath.Base(p)] = string(b)
	}
	return out
}

func TestRotatingKeepsAtMostKeepOldFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log", "agent.log") // the directory is created
	w, err := openRotating(path, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	line := func(i int) string { return fmt.Sprintf("line %02d %s\n", i, strings.Repeat("x", 31)) } // 40 bytes
	for i := 1; i <= 10; i++ {
		if n, err := w.Write([]byte(line(i))); err != nil || n != 40 {
			t.Fatalf("Write %d = %d, %v", i, n, err)
		}
	}
	// 100 bytes hold two 40-byte lines: lines 1-2, 3-4, ..., 9-10; the newest file is
	// path, then .1, .2; older ones are gone.
	got := logFiles(t, path)
	want := map[string]string{
		"agent.log":   line(9) + line(10),
		"agent.log.1": line(7) + line(8),
		"agent.log.2": line(5) + line(6),
	}
	if len(got) != len(want) {
		t.Errorf("files %v, want %d files", keys(got), len(want))
	}
	for name, content := range want {
		if got[name] != content {
			t.Errorf("%s =\n%q\nwant\n%q", name, got[name], content)
		}
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("log file mode: %v %v, want 0640", info.Mode().Perm(), err)
	}
}

func TestRotatingWriteLargerThanMax(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.log")
	w, err := openRotating(path, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	big := bytes.Repeat([]byte("b"), 25)
	// An empty file takes a write larger than max whole rather than rotating forever.
	for i := 0; i < 2; i++ {
		if n, err := w.Write(big); err != nil || n != len(big) {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	got := logFiles(t, path)
	if got["agent.log"] != string(big) || got["agent.log.1"] != string(big) || len(got) != 2 {
		t.Errorf("files %v, want agent.log and agent.log.1 with one write each", keys(got))
	}
}

func TestRotatingContinuesAnExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.log")
	if err := os.WriteFile(path, []byte("0123456789"), 0o640); err != nil {
		t.Fatal(err)
	}
	w, err := openRotating(path, 15, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("abcd\n")); err != nil { // 15 bytes: still fits
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("e\n")); err != nil { // 17 bytes: rotates first
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	got := logFiles(t, path)
	if got["agent.log.1"] != "0123456789abcd\n" || got["agent.log"] != "e\n" || len(got) != 2 {
		t.Errorf("files = %q", got)
	}
	// A write after Close opens the file again.
	if _, err := w.Write([]byte("f\n")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got := logFiles(t, path); got["agent.log"] != "e\nf\n" {
		t.Errorf("agent.log after reopening = %q", got["agent.log"])
	}
}

func TestNewLoggerWritesTheAgentLog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	var stderr bytes.Buffer
	log, closeLog, err := newLogger("warn", dir, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("not shown at warn")
	log.Warn("hooks directory missing")
	closeLog()
	b, err := os.ReadFile(filepath.Join(dir, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"agent.log": string(b), "stderr": stderr.String()} {
		if !strings.Contains(out, `"msg":"hooks directory missing"`) || strings.Contains(out, "not shown") {
			t.Errorf("%s = %q, want the warning as JSON and not the info line", name, out)
		}
	}
	if _, _, err := newLogger("loud", "", &stderr); err == nil || !strings.Contains(err.Error(), "want debug, info, warn or error") {
		t.Errorf("newLogger with a bad level: %v", err)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
