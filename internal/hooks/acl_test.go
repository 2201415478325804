package hooks

import (
	"strings"
	"testing"
)

// Access masks as Windows shows them.
const (
	maskReadExecute = 0x001200a9 // icacls RX: read data, EAs, attributes, execute, READ_CONTROL, SYNCHRONIZE
	maskModify      = 0x001301bf // icacls M
)

func allow(sid string, mask uint32) aceInfo { return aceInfo{SID: sid, Mask: mask, Allow: true} }

// lockedACL is the DACL the agent gives its hooks.d (internal/service's SDDL
// O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)) as a directory
// holds it, and as a file inside it inherits it.
var (
	lockedDir  = []aceInfo{allow(sidSystem, fileAllAccess), allow(sidAdministrators, fileAllAccess), allow(sidUsers, maskReadExecute)}
	lockedFile = []aceInfo{
		{SID: sidSystem, Mask: fileAllAccess, Allow: true, Inherited: true},
		{SID: sidAdministrators, Mask: fileAllAccess, Allow: true, Inherited: true},
		{SID: sidUsers, Mask: maskReadExecute, Allow: true, Inherited: true},
	}
)

func TestWindowsUnsafe(t *testing.T) {
	with := func(base []aceInfo, more ...aceInfo) []aceInfo { return append(append([]aceInfo{}, base...), more...) }
	tests := []struct {
		name     string
		owner    string
		aces     []aceInfo
		nullDACL bool
		isDir    bool
		want     string // a part of the reason; "" for safe
	}{
		{"the agent's hooks.d", sidAdministrators, lockedDir, false, true, ""},
		{"a hook in it", sidAdministrators, lockedFile, false, false, ""},
		{"owned by SYSTEM", sidSystem, lockedFile, false, false, ""},
		{"owned by TrustedInstaller", sidTrustedInstaller, lockedFile, false, false, ""},
		{"Users may write data", sidAdministrators, with(lockedFile, allow(sidUsers, fileWriteData)), false, false,
			`is writable by BUILTIN\Users (S-1-5-32-545) [write data]`},
		{"Users may add files to the directory", sidAdministrators, with(lockedDir, allow(sidUsers, fileWriteData|fileAppendData)), false, true,
			`is writable by BUILTIN\Users (S-1-5-32-545) [add files, add subdirectories]`},
		{"Authenticated Users generic write", sidAdministrators, with(lockedFile, allow("S-1-5-11", genericWrite)), false, false,
			`NT AUTHORITY\Authenticated Users (S-1-5-11) [generic write]`},
		{"Authenticated Users modify", sidAdministrators, with(lockedFile, allow("S-1-5-11", maskModify)), false, false,
			`[write data, append data, write extended attributes, write attributes, delete]`},
		{"Everyone read and execute", sidAdministrators, with(lockedFile, allow("S-1-1-0", maskReadExecute)), false, false, ""},
		{"Everyone full control", sidAdministrators, with(lockedFile, allow("S-1-1-0", fileAllAccess)), false, false,
			`Everyone (S-1-1-0) [full control]`},
		{"CREATOR OWNER inherit-only full control", sidAdministrators,
			with(lockedDir, aceInfo{SID: sidCreatorOwner, Mask: genericAll, Allow: true, InheritOnly: true}), false, true, ""},
		{"Users inherit-only write: passed on, not held", sidAdministrators,
			with(lockedDir, aceInfo{SID: sidUsers, Mask: fileWriteData, Allow: true, InheritOnly: true}), false, true, ""},
		{"OWNER RIGHTS full control", sidAdministrators, with(lockedFile, allow(sidOwnerRights, fileAllAccess)), false, false, ""},
		{"owner Users", sidUsers, lockedFile, false, false,
			`is owned by BUILTIN\Users (S-1-5-32-545), not SYSTEM, Administrators or TrustedInstaller`},
		{"owner a local user", "S-1-5-21-1-2-3-1001", lockedFile, false, false, `is owned by S-1-5-21-1-2-3-1001,`},
		{"no owner", "", lockedFile, false, false, "is owned by no one"},
		{"NULL DACL", sidAdministrators, nil, true, false, "NULL DACL"},
		{"empty DACL: no one but the owner's implicit rights", sidAdministrators, nil, false, false, ""},
		{"deny ACEs ignored", sidAdministrators,
			with([]aceInfo{{SID: sidUsers, Mask: fileAllAccess}}, lockedFile...), false, false, ""},
		{"a deny does not cancel an allow", sidAdministrators,
			with([]aceInfo{{SID: "S-1-1-0", Mask: fileWriteData}}, allow("S-1-1-0", fileWriteData)), false, false, "Everyone"},
		{"delete child means nothing on a file", sidAdministrators, with(lockedFile, allow(sidUsers, fileDeleteChild)), false, false, ""},
		{"delete child on the directory", sidAdministrators, with(lockedDir, allow(sidUsers, fileDeleteChild)), false, true,
			`[delete entries]`},
		{"write attributes counts", sidAdministrators, with(lockedFile, allow(sidUsers, fileWriteAttributes)), false, false,
			`[write attributes]`},
		{"change permissions, take ownership", sidAdministrators, with(lockedFile, allow(sidUsers, accessWriteDAC|accessWriteOwner)), false, false,
			`[change permissions, take ownership]`},
		{"unreadable SID", sidAdministrators, with(lockedFile, allow("", fileWriteData)), false, false,
			`an ACE whose SID cannot be read [write data]`},
		{"two principals, rights merged", sidAdministrators,
			with(lockedFile, allow(sidUsers, fileWriteData), allow("S-1-5-11", accessDelete), allow(sidUsers, fileAppendData)), false, false,
			`BUILTIN\Users (S-1-5-32-545) [write data, append data] and NT AUTHORITY\Authenticated Users (S-1-5-11) [delete]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := windowsUnsafe(tt.owner, tt.aces, tt.nullDACL, tt.isDir)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("windowsUnsafe = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestACLError(t *testing.T) {
	const (
		dir  = `C:\ProgramData\stackhand\hooks.d\deploy`
		hook = dir + `\10-app.ps1`
	)
	fix := `icacls "` + dir + `" /inheritance:r /grant:r "SYSTEM:(OI)(CI)F" "Administrators:(OI)(CI)F" "Users:(OI)(CI)RX"`
	tests := []struct {
		name     string
		path     string
		isDir    bool
		owner    string
		aces     []aceInfo
		nullDACL bool
		want     string
	}{
		{"directory writable by Users", dir, true, sidAdministrators,
			[]aceInfo{allow(sidSystem, fileAllAccess), {SID: sidUsers, Mask: fileWriteData | fileAppendData, Allow: true, Inherited: true}}, false,
			`directory ` + dir + ` is writable by BUILTIN\Users (S-1-5-32-545) [add files, add subdirectories]; run: ` + fix},
		{"directory writable by Authenticated Users", dir, true, sidAdministrators,
			[]aceInfo{allow("S-1-5-11", maskModify)}, false,
			`directory ` + dir + ` is writable by NT AUTHORITY\Authenticated Users (S-1-5-11) [add files, add subdirectories, write extended attributes, write attributes, delete]; run: ` +
				fix + ` /remove:g "*S-1-5-11"`},
		{"hook with its own ACE for Users", hook, false, sidAdministrators,
			append([]aceInfo{allow(sidUsers, fileWriteData)}, lockedFile...), false,
			`deploy\10-app.ps1 is writable by BUILTIN\Users (S-1-5-32-545) [write data]; run: icacls "` + hook + `" /reset`},
		{"hook inheriting a write ACE", hook, false, sidAdministrators,
			append([]aceInfo{{SID: "S-1-1-0", Mask: genericWrite, Allow: true, Inherited: true}}, lockedFile...), false,
			`deploy\10-app.ps1 is writable by Everyone (S-1-1-0) [generic write]; run: ` + fix + ` /remove:g "*S-1-1-0"`},
		{"hook with a NULL DACL", hook, false, sidAdministrators, nil, true,
			`deploy\10-app.ps1 has no DACL (a NULL DACL): everyone has full control; run: icacls "` + hook + `" /reset`},
		{"hook owned by a user", hook, false, "S-1-5-21-1-2-3-1001", lockedFile, false,
			`deploy\10-app.ps1 is owned by S-1-5-21-1-2-3-1001, not SYSTEM, Administrators or TrustedInstaller; run: icacls "` + hook + `" /setowner Administrators`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			label := `deploy\10-app.ps1`
			if tt.isDir {
				label = "directory " + tt.path
			}
			p := findACLProblem(tt.owner, tt.aces, tt.nullDACL, tt.isDir, wellKnownName)
			if p.reason == "" {
				t.Fatal("no problem found")
			}
			if got := aclError(label, tt.path, tt.isDir, p).Error(); got != tt.want {
				t.Errorf("error\n  %s\nwant\n  %s", got, tt.want)
			}
		})
	}
}

func TestParentDir(t *testing.T) {
	for in, want := range map[string]string{
		`C:\ProgramData\stackhand\hooks.d\deploy\a.ps1`: `C:\ProgramData\stackhand\hooks.d\deploy`,
		`C:\a.ps1`:               `C:\`,
		`\\server\share\x\a.cmd`: `\\server\share\x`,
		`a.cmd`:                  `.`,
	} {
		if got := parentDir(in); got != want {
			t.Errorf("parentDir(%q) = %q, want %q", in, got, want)
		}
	}
}
