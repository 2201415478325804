package service

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/windows"
)

// TestLockDownDirIdempotent checks against Windows itself that what lockDownDir writes
// reads back as what it wants: a second call changes nothing. The test's own user is
// the owner (setting Administrators would need an elevated test) and keeps full control
// so that the temporary directory can be removed.
func TestLockDownDirIdempotent(t *testing.T) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	me := user.User.Sid.String()
	dir := filepath.Join(t.TempDir(), "hooks.d")
	if err := os.MkdirAll(filepath.Join(dir, "deploy"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := agentDir{Path: dir, SDDL: "O:" + me + "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;" + me + ")(A;OICI;0x1200a9;;;BU)"}
	changes, err := lockDownDir(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) == 0 {
		t.Fatal("first call changed nothing; a fresh directory inherits from its parent")
	}
	t.Logf("changed: %q", changes)
	if changes, err = lockDownDir(d); err != nil || len(changes) != 0 {
		t.Errorf("second call: changes %q, err %v; want none", changes, err)
	}
	_, err = lockDownDir(agentDir{Path: filepath.Join(dir, "missing"), SDDL: d.SDDL})
	if !errors.Is(err, windows.ERROR_FILE_NOT_FOUND) && !errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
		t.Errorf("a missing directory: error %v, want one lockDownDirs takes for not there", err)
	}
}
