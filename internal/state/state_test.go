package state

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/event"
)

func TestSaveAndReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	st, s, warn, err := Open(dir, time.Now())
	if err != nil || warn != nil {
		t.Fatalf("Open: %v %v", err, warn)
	}
	st.Seq = 7
	st.Setup = Setup{InstanceID: "i-1", Done: true}
	st.Applied["release|release"] = []byte(`"v2"`)
	st.Record(Outcome{ID: "deploy-000007", Kind: event.Deploy, Result: Succeeded, Duration: Duration(1500 * time.Millisecond)})
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", info.Mode().Perm())
	}
	got, _, warn, err := Open(dir, time.Now())
	if err != nil || warn != nil {
		t.Fatalf("reopen: %v %v", err, warn)
	}
	if got.Seq != 7 || !got.Setup.Done || string(got.Applied["release|release"]) != `"v2"` {
		t.Errorf("reopened state lost data: %+v", got)
	}
	if o := got.Last[event.Deploy]; o == nil || o.Duration != Duration(1500*time.Millisecond) {
		t.Errorf("last deploy = %+v", o)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestCorruptStateIsSetAsideNotFatal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte(`{"version":1,"seq":`), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	st, s, warn, err := Open(dir, now)
	if err != nil {
		t.Fatalf("Open returned a fatal error for a corrupt file: %v", err)
	}
	if warn == nil || !strings.Contains(warn.Error(), "corrupt") || !strings.Contains(warn.Error(), "set aside") {
		t.Fatalf("warning = %v, want a loud 'corrupt ... set aside' message", warn)
	}
	if st.Seq != 0 || st.Setup.Done {
		t.Errorf("fresh state expected, got %+v", st)
	}
	aside := path + ".corrupt-20261121T100000Z"
	if b, err := os.ReadFile(aside); err != nil || !strings.HasPrefix(string(b), `{"version":1`) {
		t.Errorf("corrupt file not kept at %s: %v", aside, err)
	}
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
}

func TestNewerFormatIsRefusedAsCorruptButKept(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, FileName), []byte(`{"version":99}`), 0o600)
	_, _, warn, err := Open(dir, time.Now())
	if err != nil || warn == nil || !strings.Contains(warn.Error(), "newer stackhand") {
		t.Fatalf("err=%v warn=%v", err, warn)
	}
}

func TestSaveToUnwritableDirFailsLoudly(t *testing.T) {
	dir := t.TempDir()
	st, s, _, err := Open(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.dir = filepath.Join(dir, "gone")
	st.Seq = 1
	if err := s.Save(st); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("Save into a missing dir: %v", err)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	st := New()
	for i := range HistoryLen + 10 {
		st.Record(Outcome{ID: strconv.Itoa(i), Kind: event.Deploy})
	}
	if len(st.History) != HistoryLen || st.History[0].ID != "10" {
		t.Fatalf("history len %d first %q", len(st.History), st.History[0].ID)
	}
	if _, ok := st.Find("59"); !ok {
		t.Error("Find newest failed")
	}
}

func TestLockRefusesSecondHolderAndNamesPID(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if pid, held := Holder(dir); !held || pid != os.Getpid() {
		t.Fatalf("Holder = %d %v", pid, held)
	}
	// flock locks belong to the open file description, so a second Acquire in this
	// process conflicts just as another process would.
	_, err = Acquire(dir)
	var le *ErrLocked
	if !errors.As(err, &le) || le.PID != os.Getpid() {
		t.Fatalf("second Acquire: %v", err)
	}
	if !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("message does not name the pid: %v", err)
	}
	l.Close()
	if _, held := Holder(dir); held {
		t.Error("lock still held after Close")
	}
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Close: %v", err)
	}
	l2.Close()
}

func TestLockHeldByAnotherProcess(t *testing.T) {
	flock, err := exec.LookPath("flock")
	if err != nil {
		t.Skip("flock(1) not installed")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, LockName), []byte("4242\n"), 0o600)
	cmd := exec.Command(flock, "-x", filepath.Join(dir, LockName), "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, held := Holder(dir); held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("flock(1) never took the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err = Acquire(dir)
	var le *ErrLocked
	if !errors.As(err, &le) || le.PID != 4242 {
		t.Fatalf("Acquire while another process holds it: %v", err)
	}
}

func TestCorruptStateGoesOnFromTheLastGoodCopy(t *testing.T) {
	dir := t.TempDir()
	st, s, _, err := Open(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st.Seq, st.Setup = 7, Setup{InstanceID: "i-1", Done: true}
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	st.Seq = 8
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	// Overwritten in place: a rename-based save never leaves this, a broken disk may.
	os.WriteFile(filepath.Join(dir, FileName), []byte(`{"version":1,"seq":`), 0o600)
	got, _, warn, err := Open(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 7 || !got.Setup.Done {
		t.Errorf("state from the last good copy: seq %d setup %+v, want seq 7 and setup done", got.Seq, got.Setup)
	}
	if warn == nil || !strings.Contains(warn.Error(), "corrupt") || !strings.Contains(warn.Error(), LastGoodName) {
		t.Errorf("warning %v does not say it goes on from %s", warn, LastGoodName)
	}
}

func TestUnreadableStateGoesOnFromTheLastGoodCopy(t *testing.T) {
	dir := t.TempDir()
	st, s, _, _ := Open(dir, time.Now())
	st.Seq = 3
	s.Save(st)
	st.Seq = 4
	s.Save(st)
	// A directory where the file should be cannot be read as a file.
	os.Remove(filepath.Join(dir, FileName))
	os.Mkdir(filepath.Join(dir, FileName), 0o700)
	got, _, warn, err := Open(dir, time.Now())
	if err != nil || warn == nil {
		t.Fatalf("err %v warn %v, want a warning only", err, warn)
	}
	if got.Seq != 3 {
		t.Errorf("seq %d, want 3 from the last good copy", got.Seq)
	}
}

func TestMissingStateWithALastGoodCopyIsACrashBetweenRenames(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, LastGoodName), []byte(`{"version":1,"seq":5}`), 0o600)
	got, _, warn, err := Open(dir, time.Now())
	if err != nil || warn != nil || got.Seq != 5 {
		t.Fatalf("seq %d warn %v err %v, want seq 5 silently", got.Seq, warn, err)
	}
}

func TestHighestSeqReadsEventIDsOnly(t *testing.T) {
	logs, payloads := t.TempDir(), t.TempDir()
	for _, d := range []string{"setup-000001", "deploy-000041", "not-an-event-999999", "deploy-x"} {
		os.Mkdir(filepath.Join(logs, d), 0o700)
	}
	os.WriteFile(filepath.Join(payloads, "configure-000042.json"), nil, 0o600)
	if got := HighestSeq(logs, payloads, filepath.Join(logs, "missing")); got != 42 {
		t.Errorf("HighestSeq = %d, want 42", got)
	}
	st := New()
	st.Seq = 50
	st.SeqAtLeast(42)
	if st.Seq != 50 {
		t.Errorf("SeqAtLeast lowered seq to %d", st.Seq)
	}
}

// Between the two renames of a save, state.json is absent and the state is in its
// last-good copy: Read (stackhand status) gives that, not an empty state.
func TestReadBetweenTheRenamesOfASave(t *testing.T) {
	dir := t.TempDir()
	st, store, _, err := Open(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st.Seq = 42
	if err := store.Save(st); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, FileName), filepath.Join(dir, LastGoodName)); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil || got.Seq != 42 {
		t.Fatalf("Read = seq %v, %v; want the last-good copy's 42", got.Seq, err)
	}
	os.Remove(filepath.Join(dir, LastGoodName))
	if got, err := Read(dir); err != nil || got.Seq != 0 {
		t.Fatalf("Read of nothing = %v, %v", got.Seq, err)
	}
}
