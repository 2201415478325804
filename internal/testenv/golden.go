package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Golden compares got with the file at path, or, with update (a test's -update flag),
// rewrites the file with got. what says what a difference means to whoever reads the
// failure (e.g. "the public JSON changed").
func Golden(tb testing.TB, path string, got []byte, update bool, what string) {
	tb.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("the output differs from %s: %s (run go test -update and review the diff)\n--- got\n%s\n--- want\n%s", path, what, got, want)
	}
}
