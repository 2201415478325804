package service

import (
	"errors"
	"fmt"
	"unsafe"

	"go.uber.org/zap"
	"golang.org/x/sys/windows"
)

// lockDownDirs gives the agent's directories under %ProgramData%\stackhand the security
// of agentDirs, logging what it changed; a directory that is missing or cannot be
// fixed is logged and left, never a reason not to run (the hook checks still refuse
// hooks others can change).
func lockDownDirs(log *zap.Logger) {
	for _, d := range agentDirs(programData()) {
		changes, err := lockDownDir(d)
		switch {
		case errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND):
			log.Debug("directory not there; nothing to protect", zap.String("dir", d.Path))
		case err != nil:
			log.Warn("could not restrict who may change the directory; run the icacls command of the README's Windows install",
				zap.String("dir", d.Path), zap.Error(err))
		case len(changes) > 0:
			log.Info("directory restricted to SYSTEM and Administrators", zap.String("dir", d.Path),
				zap.String("sddl", d.SDDL), zap.Strings("changed", changes))
		}
	}
}

// lockDownDir gives d.Path the owner and protected DACL of d.SDDL unless it has them,
// and returns what it changed. Windows passes the new inheritable ACEs on to what the
// directory holds, replacing what those inherited from %ProgramData%.
func lockDownDir(d agentDir) ([]string, error) {
	wantSD, err := windows.SecurityDescriptorFromString(d.SDDL)
	if err != nil {
		return nil, fmt.Errorf("parse SDDL %s: %w", d.SDDL, err)
	}
	want, err := readDirSecurity(wantSD)
	if err != nil {
		return nil, fmt.Errorf("SDDL %s: %w", d.SDDL, err)
	}
	haveSD, err := windows.GetNamedSecurityInfo(d.Path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return nil, fmt.Errorf("read security of %s: %w", d.Path, err)
	}
	var have dirSecurity
	if haveSD == nil {
		have.NullDACL = true
	} else if have, err = readDirSecurity(haveSD); err != nil {
		return nil, fmt.Errorf("read security of %s: %w", d.Path, err)
	}
	changes := securityChanges(have, want)
	if len(changes) == 0 {
		return nil, nil
	}
	owner, _, err := wantSD.Owner()
	if err != nil {
		return nil, err
	}
	dacl, _, err := wantSD.DACL()
	if err != nil {
		return nil, err
	}
	if err := windows.SetNamedSecurityInfo(d.Path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION,
		owner, nil, dacl, nil); err != nil {
		return nil, fmt.Errorf("set security of %s: %w", d.Path, err)
	}
	return changes, nil
}

// readDirSecurity reads the owner, the protection and the ACEs of sd.
func readDirSecurity(sd *windows.SECURITY_DESCRIPTOR) (dirSecurity, error) {
	var s dirSecurity
	owner, _, err := sd.Owner()
	if err != nil {
		return s, fmt.Errorf("owner: %w", err)
	}
	if owner != nil {
		s.Owner = owner.String()
	}
	control, _, err := sd.Control()
	if err != nil {
		return s, fmt.Errorf("control: %w", err)
	}
	s.Protected = control&windows.SE_DACL_PROTECTED != 0
	dacl, _, err := sd.DACL()
	switch {
	case errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND), err == nil && dacl == nil:
		s.NullDACL = true
		return s, nil
	case err != nil:
		return s, fmt.Errorf("DACL: %w", err)
	}
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var a *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &a); err != nil {
			return s, fmt.Errorf("ACE %d: %w", i, err)
		}
		e := ace{Type: a.Header.AceType, Flags: a.Header.AceFlags, Mask: uint32(a.Mask)}
		// Allow and deny ACEs (the only kinds stackhand writes) have the SID after the
		// mask; any other kind differs from what is wanted by its type already.
		if a.Header.AceType == windows.ACCESS_ALLOWED_ACE_TYPE || a.Header.AceType == windows.ACCESS_DENIED_ACE_TYPE {
			e.SID = (*windows.SID)(unsafe.Pointer(&a.SidStart)).String()
		}
		s.ACEs = append(s.ACEs, e)
	}
	return s, nil
}
