//go:build windows

package hooks

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestReadSecurity gives a file a known DACL and reads it back as Check does.
func TestReadSecurity(t *testing.T) {
	p := filepath.Join(t.TempDir(), "10-app.ps1")
	if err := os.WriteFile(p, []byte("exit 0\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;;FA;;;SY)(D;;WD;;;BG)(A;;0x1200a9;;;BU)(A;;GW;;;WD)")
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(p, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatal(err)
	}
	owner, aces, nullDACL, err := readSecurity(p)
	if err != nil {
		t.Fatal(err)
	}
	if owner == "" || nullDACL {
		t.Errorf("owner %q, nullDACL %v; want an owner and a DACL", owner, nullDACL)
	}
	want := []aceInfo{
		{SID: sidSystem, Mask: fileAllAccess, Allow: true},
		{SID: "S-1-5-32-546", Mask: fileWriteData},
		{SID: sidUsers, Mask: maskReadExecute, Allow: true},
		{SID: "S-1-1-0", Mask: genericWrite, Allow: true},
	}
	if !slices.Equal(aces, want) {
		t.Errorf("ACEs\n  %+v\nwant\n  %+v", aces, want)
	}
	// The test's temporary directory is its user's (owned by them, or writable by them
	// when the test runs elevated), and the file is writable by Everyone: refused.
	if err := Check(p); err == nil || !strings.Contains(err.Error(), "; run: icacls ") {
		t.Errorf("Check = %v; want it refused with the command that fixes it", err)
	}
}
