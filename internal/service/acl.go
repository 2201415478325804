package service

import (
	"fmt"
	"strings"
)

// The security the agent gives its own directories under %ProgramData%\stackhand when it
// starts under the Service Control Manager. %ProgramData% lets every user create files
// and folders, and what is created inherits that; hooks there run as LocalSystem. The
// choice of security lives here, apart from the Windows-only code that reads and writes
// it, so it is tested on every platform.

// Each SDDL makes Administrators the owner and gives a protected DACL (P: nothing
// inherited from %ProgramData%; AI: children inherit it automatically) whose ACEs apply
// to the directory, its subdirectories and files (OICI): SYSTEM (SY) and Administrators
// (BA) full control (FA), and, where said, Users (BU) read & execute (0x1200a9: read
// data, extended attributes and attributes, execute, read permissions, synchronize).
const (
	// sddlReadable is for hooks.d and logs: users may read hooks and their output.
	sddlReadable = "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)"
	// sddlPrivate is for state: payloads hold metadata values, and the request spool
	// must be writable by administrators only (README, "Files"), as /var/lib/stackhand is 0700.
	sddlPrivate = "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
)

// agentDir is one directory of the agent's and the security it must have.
type agentDir struct {
	Path string
	SDDL string
}

// agentDirs lists the directories the agent locks down, given %ProgramData%: the default
// hooks.d, state and logs of config/paths_windows.go. Directories a config moves
// elsewhere are the operator's to protect; Check refuses hooks they left open.
func agentDirs(programData string) []agentDir {
	base := strings.TrimRight(programData, `\`) + `\stackhand\`
	// The folder itself holds stackhand.yaml: readable, as /etc/stackhand is on Linux.
	// Logs hold hook output, which may hold secrets: private, as /var/log/stackhand (0750
	// root) is on Linux.
	return []agentDir{
		{strings.TrimSuffix(base, `\`), sddlReadable},
		{base + "hooks.d", sddlReadable},
		{base + "state", sddlPrivate},
		{base + "logs", sddlPrivate},
	}
}

// ace is one ACE of a DACL as the comparison needs it.
type ace struct {
	Type  uint8 // ACCESS_ALLOWED_ACE_TYPE, ACCESS_DENIED_ACE_TYPE, ...
	Flags uint8 // inheritance flags, INHERITED_ACE included
	Mask  uint32
	SID   string
}

func (a ace) String() string {
	kind := "allow"
	switch a.Type {
	case 0:
	case 1:
		kind = "deny"
	default:
		kind = fmt.Sprintf("type %d", a.Type)
	}
	inherited := ""
	if a.Flags&0x10 != 0 { // INHERITED_ACE
		inherited = " inherited"
	}
	return fmt.Sprintf("%s %s 0x%x%s", kind, a.SID, a.Mask, inherited)
}

// dirSecurity is the part of a directory's security descriptor the agent sets.
type dirSecurity struct {
	Owner     string // SID
	Protected bool   // SE_DACL_PROTECTED: nothing inherited from the parent
	NullDACL  bool   // no DACL or a NULL one: everyone full control
	ACEs      []ace
}

// securityChanges says what must change for have to be want, one line per difference,
// for the log; nil when nothing must (so a restart writes nothing).
func securityChanges(have, want dirSecurity) []string {
	var out []string
	if have.Owner != want.Owner {
		out = append(out, fmt.Sprintf("owner %s -> %s", orNone(have.Owner), want.Owner))
	}
	if have.Protected != want.Protected {
		out = append(out, fmt.Sprintf("inherits from its parent: %v -> %v", !have.Protected, !want.Protected))
	}
	if have.NullDACL != want.NullDACL || !sameACEs(have.ACEs, want.ACEs) {
		out = append(out, fmt.Sprintf("DACL %s -> %s", describeDACL(have), describeDACL(want)))
	}
	return out
}

func sameACEs(a, b []ace) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func describeDACL(s dirSecurity) string {
	if s.NullDACL {
		return "[NULL: everyone full control]"
	}
	parts := make([]string, len(s.ACEs))
	for i, a := range s.ACEs {
		parts[i] = a.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
