package hooks

import (
	"fmt"
	"strings"
)

// The Windows side of the hook contract ("refused when writable by others or not owned
// by root"), decided over plain data so that it is tested on every platform;
// safety_windows.go reads the security descriptors.

// Windows access rights (winnt.h). On a directory the same bits name the rights to
// change its entries: FILE_ADD_FILE, FILE_ADD_SUBDIRECTORY, FILE_DELETE_CHILD.
const (
	fileWriteData       = 0x00000002 // FILE_WRITE_DATA; FILE_ADD_FILE on a directory
	fileAppendData      = 0x00000004 // FILE_APPEND_DATA; FILE_ADD_SUBDIRECTORY on a directory
	fileWriteEA         = 0x00000010 // FILE_WRITE_EA
	fileDeleteChild     = 0x00000040 // FILE_DELETE_CHILD (directories only)
	fileWriteAttributes = 0x00000100 // FILE_WRITE_ATTRIBUTES
	accessDelete        = 0x00010000 // DELETE
	accessWriteDAC      = 0x00040000 // WRITE_DAC
	accessWriteOwner    = 0x00080000 // WRITE_OWNER
	genericAll          = 0x10000000 // GENERIC_ALL
	genericWrite        = 0x40000000 // GENERIC_WRITE
	fileAllAccess       = 0x001f01ff // FILE_ALL_ACCESS ("full control")
)

// Well-known SIDs.
const (
	sidSystem           = "S-1-5-18"
	sidAdministrators   = "S-1-5-32-544"
	sidTrustedInstaller = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
	sidCreatorOwner     = "S-1-3-0"
	sidOwnerRights      = "S-1-3-4"
	sidUsers            = "S-1-5-32-545"
)

// trustedOwners may own a hook or its directory: the Windows counterparts of root.
var trustedOwners = map[string]bool{
	sidSystem:           true,
	sidAdministrators:   true,
	sidTrustedInstaller: true,
}

// trustedWriters may hold write rights on a hook or its directory: the trusted owners,
// CREATOR OWNER (a placeholder no token holds: it grants nothing on the object itself,
// and what it passes on to new files is checked on those files) and OWNER RIGHTS
// (which stands for the owner, checked to be trusted first).
var trustedWriters = map[string]bool{
	sidSystem:           true,
	sidAdministrators:   true,
	sidTrustedInstaller: true,
	sidCreatorOwner:     true,
	sidOwnerRights:      true,
}

// writeRights are the rights that let a principal change what a hook runs, or who may
// change it, with their names in messages. FILE_WRITE_ATTRIBUTES is among them though it
// changes no byte of a hook: it can clear the read-only flag and rewrite timestamps, and
// NTFS accepts it for attaching a reparse point, which could turn an empty hooks
// directory into a junction to elsewhere; no ACL an operator means for hooks grants it
// to anyone but administrators (Users' read & execute does not hold it), so counting it
// refuses nothing legitimate.
var writeRights = []struct {
	mask      uint32
	file, dir string
}{
	{fileWriteData, "write data", "add files"},
	{fileAppendData, "append data", "add subdirectories"},
	{fileWriteEA, "write extended attributes", "write extended attributes"},
	{fileWriteAttributes, "write attributes", "write attributes"},
	{fileDeleteChild, "", "delete entries"}, // no meaning on a file
	{accessDelete, "delete", "delete"},
	{accessWriteDAC, "change permissions", "change permissions"},
	{accessWriteOwner, "take ownership", "take ownership"},
	{genericWrite, "generic write", "generic write"},
	{genericAll, "generic all", "generic all"},
}

// wellKnownNames names the SIDs a message is likely to show.
var wellKnownNames = map[string]string{
	sidSystem:           `NT AUTHORITY\SYSTEM`,
	sidAdministrators:   `BUILTIN\Administrators`,
	sidTrustedInstaller: `NT SERVICE\TrustedInstaller`,
	sidCreatorOwner:     `CREATOR OWNER`,
	sidOwnerRights:      `OWNER RIGHTS`,
	sidUsers:            `BUILTIN\Users`,
	"S-1-1-0":           `Everyone`,
	"S-1-5-11":          `NT AUTHORITY\Authenticated Users`,
	"S-1-5-4":           `NT AUTHORITY\INTERACTIVE`,
	"S-1-5-2":           `NT AUTHORITY\NETWORK`,
	"S-1-5-6":           `NT AUTHORITY\SERVICE`,
	"S-1-5-7":           `NT AUTHORITY\ANONYMOUS LOGON`,
	"S-1-5-19":          `NT AUTHORITY\LOCAL SERVICE`,
	"S-1-5-20":          `NT AUTHORITY\NETWORK SERVICE`,
	"S-1-5-32-546":      `BUILTIN\Guests`,
	"S-1-15-2-1":        `ALL APPLICATION PACKAGES`,
}

func wellKnownName(sid string) string { return wellKnownNames[sid] }

// aceInfo is one ACE of a DACL, as much of it as the decision needs.
type aceInfo struct {
	SID  string // "" when it could not be read
	Mask uint32
	// Allow is true for an access-allowed ACE (plain, callback or object); deny ACEs are
	// ignored: a deny can only take away, and judging whether it covers every allow
	// would trade a simple rule for a subtle one.
	Allow bool
	// InheritOnly ACEs are only passed on to new children; they grant nothing on the
	// object itself (the child that gets one is checked on its own).
	InheritOnly bool
	// Inherited ACEs came from the parent directory; used to say what to fix.
	Inherited bool
}

// aclProblem is why a hook or its directory is unsafe; reason is "" when it is safe.
type aclProblem struct {
	reason   string
	owner    bool     // the owner is the problem
	nullDACL bool     // there is no DACL: everyone has full control
	explicit bool     // some offending ACE is the object's own, not inherited
	sids     []string // the principals with write rights, in DACL order
}

// windowsUnsafe says why a hook (isDir false) or the directory holding it (isDir true)
// with this owner and DACL may not run, or "" when it may: the owner must be SYSTEM,
// Administrators or TrustedInstaller, and no allow ACE that applies to the object may
// give anyone else a right in writeRights. A NULL DACL (everyone full control) is unsafe.
func windowsUnsafe(owner string, aces []aceInfo, nullDACL, isDir bool) string {
	return findACLProblem(owner, aces, nullDACL, isDir, wellKnownName).reason
}

// findACLProblem is windowsUnsafe's decision with more detail; name gives an account
// name for a SID ("" when it has none).
func findACLProblem(owner string, aces []aceInfo, nullDACL, isDir bool, name func(sid string) string) aclProblem {
	if !trustedOwners[owner] {
		who := "no one"
		if owner != "" {
			who = principal(owner, name)
		}
		return aclProblem{owner: true,
			reason: fmt.Sprintf("is owned by %s, not SYSTEM, Administrators or TrustedInstaller", who)}
	}
	if nullDACL {
		return aclProblem{nullDACL: true, explicit: true, reason: "has no DACL (a NULL DACL): everyone has full control"}
	}
	var p aclProblem
	granted := map[string]uint32{}
	for _, a := range aces {
		if !a.Allow || a.InheritOnly || trustedWriters[a.SID] {
			continue
		}
		m := writeMask(a.Mask, isDir)
		if m == 0 {
			continue
		}
		if _, seen := granted[a.SID]; !seen {
			p.sids = append(p.sids, a.SID)
		}
		granted[a.SID] |= m
		if !a.Inherited {
			p.explicit = true
		}
	}
	if len(p.sids) == 0 {
		return aclProblem{}
	}
	parts := make([]string, len(p.sids))
	for i, sid := range p.sids {
		who := "an ACE whose SID cannot be read"
		if sid != "" {
			who = principal(sid, name)
		}
		parts[i] = who + " [" + rightNames(granted[sid], isDir) + "]"
	}
	p.reason = "is writable by " + strings.Join(parts, " and ")
	return p
}

// writeMask is the part of mask that is a write right on a file (isDir false) or a
// directory.
func writeMask(mask uint32, isDir bool) uint32 {
	var m uint32
	for _, r := range writeRights {
		if mask&r.mask != 0 && (isDir || r.file != "") {
			m |= r.mask
		}
	}
	return m
}

// rightNames names the write rights in mask (from writeMask): "full control" when it
// holds them all.
func rightNames(mask uint32, isDir bool) string {
	if all := writeMask(fileAllAccess, isDir); mask&all == all {
		return "full control"
	}
	var names []string
	for _, r := range writeRights {
		if mask&r.mask == 0 {
			continue
		}
		if isDir {
			names = append(names, r.dir)
		} else if r.file != "" {
			names = append(names, r.file)
		}
	}
	return strings.Join(names, ", ")
}

// principal is how a message shows a SID: "BUILTIN\Users (S-1-5-32-545)".
func principal(sid string, name func(string) string) string {
	if n := name(sid); n != "" {
		return n + " (" + sid + ")"
	}
	return sid
}

// lockedDirACL is the icacls command that gives a hooks directory the ACL the agent
// gives its own hooks.d: no inheritance, SYSTEM and Administrators full control, Users
// read & execute. The grants are quoted so that PowerShell does not read (OI) as an
// expression.
const lockedDirACL = `/inheritance:r /grant:r "SYSTEM:(OI)(CI)F" "Administrators:(OI)(CI)F" "Users:(OI)(CI)RX"`

// aclError turns p, found on path (a directory when isDir), into the error a person
// reads: what is wrong, who has which right, and the command that fixes it. label names
// path in the message.
func aclError(label, path string, isDir bool, p aclProblem) error {
	return fmt.Errorf("%s %s; run: %s", label, p.reason, aclFix(path, isDir, p))
}

// aclFix is the command that fixes p on path.
func aclFix(path string, isDir bool, p aclProblem) string {
	switch {
	case p.owner:
		return fmt.Sprintf(`icacls "%s" /setowner Administrators`, path)
	case !isDir && p.explicit:
		// The file's own ACEs (or its NULL DACL) are the problem: its directory passed,
		// so the ACL it passes on is the one to take.
		return fmt.Sprintf(`icacls "%s" /reset`, path)
	}
	dir := path
	if !isDir { // only inherited ACEs: they come from the directory's inherit-only ones
		dir = parentDir(path)
	}
	cmd := fmt.Sprintf(`icacls "%s" %s`, dir, lockedDirACL)
	for _, sid := range p.sids {
		if sid != "" && sid != sidUsers { // /grant:r replaces Users' own grants
			cmd += fmt.Sprintf(` /remove:g "*%s"`, sid)
		}
	}
	return cmd
}

// parentDir is the directory of a Windows path (filepath.Dir would use the build
// platform's separator in tests).
func parentDir(path string) string {
	i := strings.LastIndexAny(path, `\/`)
	if i <= 0 {
		return "."
	}
	if i == 2 && path[1] == ':' { // C:\x
		return path[:3]
	}
	return path[:i]
}
