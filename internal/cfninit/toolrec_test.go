package cfninit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// recScript is a recording stand-in for a system tool: it appends its name and each
// argument on a line of its own, then "@@", to $REC_LOG (with DEBIAN_FRONTEND's value when
// set), and answers with the first rule of $REC_RULES whose glob matches "tool args...":
// each rule is "glob|exit code|output" (output through printf %b). No rule: exit 0,
// no output. It uses only shell builtins, so PATH can hold nothing but the stand-ins.
const recScript = `#!/bin/sh
tool=${0##*/}
{
  printf '%s\n' "$tool"
  for a in "$@"; do printf '%s\n' "$a"; done
  if [ -n "$DEBIAN_FRONTEND" ]; then printf 'env DEBIAN_FRONTEND=%s\n' "$DEBIAN_FRONTEND"; fi
  printf '@@\n'
} >> "$REC_LOG"
line="$tool $*"
if [ -f "$REC_RULES" ]; then
  while IFS='|' read -r pat code out; do
    case "$line" in
      $pat) if [ -n "$out" ]; then printf '%b\n' "$out"; fi; exit "$code";;
    esac
  done < "$REC_RULES"
fi
exit 0
`

// recorder is a directory of recording tools put alone on PATH.
type recorder struct {
	dir, log, rules string
}

// newRecorder installs recording stand-ins for the tools and makes them the only thing on
// PATH for the test.
func newRecorder(t *testing.T, tools ...string) *recorder {
	t.Helper()
	base := t.TempDir()
	rc := &recorder{dir: filepath.Join(base, "bin"), log: filepath.Join(base, "calls"), rules: filepath.Join(base, "rules")}
	if err := os.Mkdir(rc.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range tools {
		rc.add(t, tool)
	}
	t.Setenv("PATH", rc.dir)
	t.Setenv("REC_LOG", rc.log)
	t.Setenv("REC_RULES", rc.rules)
	t.Setenv("DEBIAN_FRONTEND", "")
	return rc
}

func (rc *recorder) add(t *testing.T, tool string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(rc.dir, tool), []byte(recScript), 0o755); err != nil {
		t.Fatal(err)
	}
}

// rule makes calls matching glob exit with code and print out.
func (rc *recorder) rule(t *testing.T, glob string, code int, out string) {
	t.Helper()
	f, err := os.OpenFile(rc.rules, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s|%d|%s\n", glob, code, out); err != nil {
		t.Fatal(err)
	}
}

// calls returns the argument vectors recorded, in order.
func (rc *recorder) calls(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile(rc.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	var cur []string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "@@" {
			out = append(out, cur)
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	return out
}

// reset forgets the calls recorded so far.
func (rc *recorder) reset(t *testing.T) {
	t.Helper()
	if err := os.Remove(rc.log); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

// wantCalls compares the calls recorded with the ones expected, each written as one
// string of space-separated arguments ("apt-get -q -y install curl").
func (rc *recorder) wantCalls(t *testing.T, want ...string) {
	t.Helper()
	got := rc.calls(t)
	var g []string
	for _, c := range got {
		g = append(g, strings.Join(c, " "))
	}
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(g, "\n  "), strings.Join(want, "\n  "))
	}
}

// testRunner is a Runner whose log is observed at debug level, with no system
// directories searched after PATH.
func testRunner(t *testing.T) (*Runner, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	r := &Runner{Log: zap.New(core), sys: &system{sbinDirs: []string{}}}
	return r, logs
}

// logged says whether a line containing s was logged.
func logged(logs *observer.ObservedLogs, level zapcore.Level, s string) bool {
	for _, e := range logs.All() {
		if e.Level == level && strings.Contains(e.Message, s) {
			return true
		}
	}
	return false
}

func allLogs(logs *observer.ObservedLogs) string {
	var b strings.Builder
	for _, e := range logs.All() {
		fmt.Fprintf(&b, "%s %s\n", e.Level, e.Message)
	}
	return b.String()
}
