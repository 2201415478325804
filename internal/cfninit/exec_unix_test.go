//go:build !windows

package cfninit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/testenv"
)

// gone says whether a process has ended (no such process, or a zombie not yet reaped
// by whoever adopted it).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the command's closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// TestToolKilledAsAGroup: a tool that outlives its deadline, or its run being cancelled,
// is stopped with everything it started (a package manager's download helpers).
func TestToolKilledAsAGroup(t *testing.T) {
	for _, how := range []string{"deadline", "cancel"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			pidFile := filepath.Join(dir, "child.pid")
			script := filepath.Join(dir, "stuck")
			// The pid is written whole before the file appears under its name: a cancel
			// as soon as the file exists must not find it empty.
			body := "#!/bin/sh\necho working\n/bin/sleep 300 &\necho $! > " + pidFile + ".tmp\nmv " + pidFile + ".tmp " + pidFile + "\nwait\n"
			if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
			r, _ := testRunner(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if how == "deadline" {
				r.sys.timeout = 300 * time.Millisecond
			} else {
				go func() {
					testenv.WaitFor(t, "the child to start", func() bool { _, err := os.Stat(pidFile); return err == nil })
					cancel()
				}()
			}
			// Through sh, not exec'd itself: a script written a moment ago can still be
			// open for writing in a child another test is forking (ETXTBSY).
			_, err := r.runTool(ctx, nil, "/bin/sh", script)
			if err == nil {
				t.Fatal("a stuck tool returned no error")
			}
			if how == "deadline" && !strings.Contains(err.Error(), "did not finish within 300ms") {
				t.Errorf("error = %v", err)
			}
			if how == "cancel" && !strings.Contains(err.Error(), "context canceled") {
				t.Errorf("error = %v", err)
			}
			var pid int
			testenv.WaitFor(t, fmt.Sprintf("the pid file (the tool ended with: %v)", err), func() bool {
				b, err := os.ReadFile(pidFile)
				if err != nil {
					return false
				}
				pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
				return err == nil
			})
			testenv.WaitFor(t, "the tool's child to be killed with it", func() bool { return gone(pid) })
		})
	}
}

func TestToolResultKeepsTheTail(t *testing.T) {
	var b tailBuffer
	big := bytes.Repeat([]byte("x"), outputCap)
	b.Write(big)
	b.Write([]byte("\nE: the reason\n"))
	if len(b.buf) != outputCap || !bytes.HasSuffix(b.buf, []byte("E: the reason\n")) {
		t.Fatalf("buffer kept %d bytes, ends %q", len(b.buf), b.buf[len(b.buf)-20:])
	}
	res := toolResult{argv: []string{"apt-get", "install", "x"}, code: 100, out: b.buf}
	err := res.failure("install x")
	if !strings.HasSuffix(err.Error(), "\nE: the reason") || !strings.Contains(err.Error(), "exited with code 100:\n...xxx") {
		t.Errorf("failure ends %q", err.Error()[max(0, len(err.Error())-40):])
	}
	if len(err.Error()) > tailBytes+200 {
		t.Errorf("failure is %d bytes long; the output quoted should be at most %d", len(err.Error()), tailBytes)
	}
}

func TestMissingToolNamed(t *testing.T) {
	newRecorder(t)
	r, _ := testRunner(t)
	_, err := r.runTool(context.Background(), nil, "zypper", "install", "x")
	if err == nil || !strings.Contains(err.Error(), "zypper is not installed") {
		t.Fatalf("error = %v", err)
	}
}

// TestCredentialsNeverShown: a location with credentials, echoed by the tool, appears
// masked in the error and the log.
func TestCredentialsNeverShown(t *testing.T) {
	rc := newRecorder(t, "rpm")
	rc.rule(t, "rpm -qp *", 1, `error: open of https://deploy:s3cr3t-token@repo.example.com/a.rpm failed: 404`)
	r, logs := testRunner(t)
	_, _, err := applyPkgs(t, r, pkgConfig("rpm", Package{Name: "a", Versions: []string{"https://deploy:s3cr3t-token@repo.example.com/a.rpm"}}))
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(allLogs(logs), "s3cr3t") {
		t.Errorf("the password reached the error or the log:\n%v\n%s", err, allLogs(logs))
	}
	if !strings.Contains(err.Error(), "https://xxxxx@repo.example.com/a.rpm failed: 404") {
		t.Errorf("error = %v", err)
	}
}
