// Package journaltest writes real systemd journal files for tests, with
// systemd-journal-remote reading the journal export format, so that journalctl
// --directory reads them as it reads a host's journal. No journald needs to run.
package journaltest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// remotePaths are where Debian and Fedora put systemd-journal-remote.
var remotePaths = []string{"/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"}

// Tools returns the paths of systemd-journal-remote and journalctl. Without them the test
// is skipped, or fails under CI=true, where .ci/run installs them.
func Tools(t testing.TB) (remote, journalctl string) {
	t.Helper()
	for _, p := range remotePaths {
		if _, err := os.Stat(p); err == nil {
			remote = p
			break
		}
	}
	journalctl, _ = exec.LookPath("journalctl")
	if remote == "" || journalctl == "" {
		msg := "systemd-journal-remote and journalctl are needed to write and read journal files (Debian: apt-get install systemd-journal-remote)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; .ci/run installs them")
		}
		t.Skip(msg)
	}
	return remote, journalctl
}

// Entry is one journal entry.
type Entry struct {
	Time     time.Time
	Message  string // may hold newlines: it is then written as a binary field
	Unit     string // _SYSTEMD_UNIT; empty: none
	Priority int    // PRIORITY, 0 to 7
	Fields   map[string]string
}

// BootID is the boot id of the entries Write makes.
const BootID = "0123456789abcdef0123456789abcdef"

// Export encodes entries in the journal export format.
func Export(entries []Entry) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		// The monotonic time follows the wall clock: entries of one boot in different
		// files are merged by it, and a count from 1 at each Write put a rotated-to
		// file's entries before the ones they followed.
		ts := e.Time
		if ts.IsZero() {
			ts = time.Now()
		}
		fmt.Fprintf(&b, "__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n_MACHINE_ID=%s\n_HOSTNAME=journaltest\n",
			ts.UnixMicro(), ts.UnixMicro(), BootID, BootID)
		field(&b, "MESSAGE", e.Message)
		fmt.Fprintf(&b, "PRIORITY=%d\n", e.Priority)
		if e.Unit != "" {
			fmt.Fprintf(&b, "_SYSTEMD_UNIT=%s\n", e.Unit)
		}
		for k, v := range e.Fields {
			field(&b, k, v)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func field(b *bytes.Buffer, name, value string) {
	if !strings.ContainsAny(value, "\n") {
		fmt.Fprintf(b, "%s=%s\n", name, value)
		return
	}
	b.WriteString(name + "\n")
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(value)))
	b.Write(n[:])
	b.WriteString(value + "\n")
}

// Write appends entries to the journal file dir/name (made if missing), as journald
// appends to its active file.
func Write(t testing.TB, dir, name string, entries ...Entry) {
	t.Helper()
	remote, _ := Tools(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(remote, "--output="+filepath.Join(dir, name), "-")
	cmd.Stdin = bytes.NewReader(Export(entries))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-journal-remote: %v: %s", err, out)
	}
}

// Messages returns the messages journalctl reads from dir, oldest first.
func Messages(t testing.TB, dir string) []string {
	t.Helper()
	_, journalctl := Tools(t)
	out, err := exec.Command(journalctl, "--directory="+dir, "--merge", "--output=cat", "--no-pager", "--quiet").Output()
	if err != nil {
		t.Fatalf("journalctl: %v", err)
	}
	s := strings.TrimSuffix(string(out), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
