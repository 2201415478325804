//go:build windows

package hooks

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/stackhand/stackhand/internal/trust"
)

// Check returns why the hook at path may not run, or nil. As cron and sudo do on Unix,
// a hook (the target, when path is a symlink or junction) and the directory holding it
// must be owned by SYSTEM, Administrators or TrustedInstaller, and their DACLs must give
// no one else a right to change them (see windowsUnsafe): the agent runs hooks as
// LocalSystem. The error names who has which right and the icacls command that fixes it.
func Check(path string) error {
	_, err := check(path, path, 0)
	return err
}

// check is Check with the name the hook has in messages (label); euid is unused on
// Windows, where the owner must be one of the administrative principals whoever the
// agent runs as.
// It returns the path to run: path itself (Windows runs a hook by its extension, so the
// name a link has matters).
func check(path, label string, _ int) (trust.Result, error) {
	return trust.Result{Resolved: path}, checkTree(path, label, checkACL)
}

// checkACL checks the owner and DACL of one file or directory, resolved already.
func checkACL(path, label string, isDir bool) error {
	owner, aces, nullDACL, err := readSecurity(path)
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	if p := findACLProblem(owner, aces, nullDACL, isDir, accountName); p.reason != "" {
		return aclError(label, path, isDir, p)
	}
	return nil
}

// readSecurity reads path's owner SID and DACL. nullDACL is true when there is no DACL
// to restrict access: a NULL DACL, none at all, or no security descriptor (a file
// system without ACLs).
func readSecurity(path string) (owner string, aces []aceInfo, nullDACL bool, err error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return "", nil, false, fmt.Errorf("read its security descriptor: %w", err)
	}
	if sd == nil {
		return "", nil, true, nil
	}
	sid, _, err := sd.Owner()
	if err != nil {
		return "", nil, false, fmt.Errorf("read its owner: %w", err)
	}
	if sid != nil {
		owner = sid.String()
	}
	dacl, _, err := sd.DACL()
	switch {
	case errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND): // no DACL present
		return owner, nil, true, nil
	case err != nil:
		return "", nil, false, fmt.Errorf("read its DACL: %w", err)
	case dacl == nil:
		return owner, nil, true, nil
	}
	aces, err = readACEs(dacl)
	if err != nil {
		return "", nil, false, err
	}
	return owner, aces, false, nil
}

// ACE types (winnt.h) beyond the two x/sys names.
const (
	accessAllowedObjectACEType         = 0x5
	accessDeniedObjectACEType          = 0x6
	accessAllowedCallbackACEType       = 0x9
	accessDeniedCallbackACEType        = 0xA
	accessAllowedCallbackObjectACEType = 0xB
	accessDeniedCallbackObjectACEType  = 0xC

	aceObjectTypePresent          = 0x1 // ACE_OBJECT_TYPE_PRESENT
	aceInheritedObjectTypePresent = 0x2 // ACE_INHERITED_OBJECT_TYPE_PRESENT
)

// readACEs lists the allow and deny ACEs of dacl. Callback (conditional) allow ACEs count
// as allows: whether their condition holds is not ours to guess.
func readACEs(dacl *windows.ACL) ([]aceInfo, error) {
	aces := make([]aceInfo, 0, dacl.AceCount)
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return nil, fmt.Errorf("read ACE %d of its DACL: %w", i, err)
		}
		a := aceInfo{
			Mask:        uint32(ace.Mask),
			InheritOnly: ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0,
			Inherited:   ace.Header.AceFlags&windows.INHERITED_ACE != 0,
		}
		// Every ACE type starts with the header and the mask; plain and callback ACEs
		// have the SID next, object ACEs a flags word and up to two GUIDs before it.
		off := uintptr(8)
		switch ace.Header.AceType {
		case windows.ACCESS_ALLOWED_ACE_TYPE, accessAllowedCallbackACEType:
			a.Allow = true
		case windows.ACCESS_DENIED_ACE_TYPE, accessDeniedCallbackACEType:
		case accessAllowedObjectACEType, accessAllowedCallbackObjectACEType,
			accessDeniedObjectACEType, accessDeniedCallbackObjectACEType:
			a.Allow = ace.Header.AceType == accessAllowedObjectACEType || ace.Header.AceType == accessAllowedCallbackObjectACEType
			flags := *(*uint32)(unsafe.Add(unsafe.Pointer(ace), 8))
			off = 12
			if flags&aceObjectTypePresent != 0 {
				off += 16
			}
			if flags&aceInheritedObjectTypePresent != 0 {
				off += 16
			}
		default: // audit, alarm and label ACEs do not belong in a DACL and grant nothing
			continue
		}
		if off+8 <= uintptr(ace.Header.AceSize) { // room for a SID header at least
			if sid := (*windows.SID)(unsafe.Add(unsafe.Pointer(ace), off)); sid.IsValid() {
				a.SID = sid.String()
			}
		}
		aces = append(aces, a)
	}
	return aces, nil
}

// accountName names a SID for messages: the well-known names without a lookup (they are
// the same on every machine), others as DOMAIN\account when Windows knows them.
func accountName(s string) string {
	if n := wellKnownName(s); n != "" {
		return n
	}
	sid, err := windows.StringToSid(s)
	if err != nil {
		return ""
	}
	account, domain, _, err := sid.LookupAccount("")
	if err != nil {
		return ""
	}
	if domain == "" {
		return account
	}
	return domain + `\` + account
}
