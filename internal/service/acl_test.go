package service

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const (
	sidSystem = "S-1-5-18"
	sidAdmins = "S-1-5-32-544"
	sidUsers  = "S-1-5-32-545"

	fullControl = 0x1f01ff // FA
	readExecute = 0x1200a9 // icacls RX
	// writeBits are the rights that change a file or directory or who may: write data
	// (add file), append (add subdirectory), write EAs, delete child, write attributes,
	// delete, write DAC, write owner, generic all, generic write.
	writeBits = 0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x10000 | 0x40000 | 0x80000 | 0x10000000 | 0x40000000

	oici      = 0x3  // OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE
	inherited = 0x10 // INHERITED_ACE
)

// parseSDDL reads the small part of SDDL the agent's descriptors use: an owner, a DACL
// with flags, and allow ACEs with aliases or hex masks. It stands in for Windows'
// parser so that the constants are checked on every platform.
func parseSDDL(t *testing.T, sddl string) dirSecurity {
	t.Helper()
	alias := map[string]string{"SY": sidSystem, "BA": sidAdmins, "BU": sidUsers}
	m := regexp.MustCompile(`^O:(\w\w)D:(\w*)((?:\([^)]*\))*)$`).FindStringSubmatch(sddl)
	if m == nil {
		t.Fatalf("SDDL %q: not O:xxD:flags(ace)...", sddl)
	}
	s := dirSecurity{Owner: alias[m[1]], Protected: strings.Contains(m[2], "P")}
	for _, a := range regexp.MustCompile(`\(([^)]*)\)`).FindAllStringSubmatch(m[3], -1) {
		f := strings.Split(a[1], ";")
		if len(f) != 6 || f[0] != "A" || f[1] != "OICI" || alias[f[5]] == "" {
			t.Fatalf("SDDL %q: ACE %q not understood", sddl, a[1])
		}
		var mask uint64 = fullControl
		if f[2] != "FA" {
			var err error
			if mask, err = strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 32); err != nil {
				t.Fatalf("SDDL %q: mask %q: %v", sddl, f[2], err)
			}
		}
		s.ACEs = append(s.ACEs, ace{Type: 0, Flags: oici, Mask: uint32(mask), SID: alias[f[5]]})
	}
	return s
}

func TestAgentDirs(t *testing.T) {
	for _, pd := range []string{`C:\ProgramData`, `C:\ProgramData\`} {
		var got []string
		for _, d := range agentDirs(pd) {
			got = append(got, d.Path)
		}
		want := []string{`C:\ProgramData\stackhand`, `C:\ProgramData\stackhand\hooks.d`, `C:\ProgramData\stackhand\state`, `C:\ProgramData\stackhand\logs`}
		if !slices.Equal(got, want) {
			t.Errorf("agentDirs(%q) = %q, want %q", pd, got, want)
		}
	}
	full := []ace{{Flags: oici, Mask: fullControl, SID: sidSystem}, {Flags: oici, Mask: fullControl, SID: sidAdmins}}
	users := ace{Flags: oici, Mask: readExecute, SID: sidUsers}
	want := map[string][]ace{
		"stackhand": append(slices.Clone(full), users),
		"hooks.d":   append(slices.Clone(full), users),
		"state":     full,
		"logs":      full,
	}
	for _, d := range agentDirs(`D:\Data`) {
		name := d.Path[strings.LastIndex(d.Path, `\`)+1:]
		t.Run(name, func(t *testing.T) {
			s := parseSDDL(t, d.SDDL)
			if s.Owner != sidAdmins || !s.Protected {
				t.Errorf("%s: owner %s, protected %v; want Administrators, protected", d.SDDL, s.Owner, s.Protected)
			}
			if !slices.Equal(s.ACEs, want[name]) {
				t.Errorf("%s: ACEs %v, want %v", d.SDDL, s.ACEs, want[name])
			}
			for _, a := range s.ACEs {
				if a.SID != sidSystem && a.SID != sidAdmins && a.Mask&writeBits != 0 {
					t.Errorf("%s: %s may change the directory (mask 0x%x)", d.SDDL, a.SID, a.Mask)
				}
			}
		})
	}
}

func TestSecurityChanges(t *testing.T) {
	want := dirSecurity{Owner: sidAdmins, Protected: true, ACEs: []ace{
		{Flags: oici, Mask: fullControl, SID: sidSystem},
		{Flags: oici, Mask: fullControl, SID: sidAdmins},
		{Flags: oici, Mask: readExecute, SID: sidUsers},
	}}
	// What a directory created under %ProgramData% has: inherited ACEs, Users may add files.
	programData := dirSecurity{Owner: "S-1-5-21-1-2-3-1001", ACEs: []ace{
		{Flags: oici | inherited, Mask: fullControl, SID: sidSystem},
		{Flags: oici | inherited, Mask: fullControl, SID: sidAdmins},
		{Flags: oici | inherited, Mask: readExecute, SID: sidUsers},
		{Flags: 0x2 | inherited, Mask: 0x116, SID: sidUsers},
	}}
	tests := []struct {
		name string
		have dirSecurity
		want []string // a part of each change
	}{
		{"already locked: nothing to write", want, nil},
		{"as the MSI leaves it", programData, []string{"owner S-1-5-21-1-2-3-1001 -> S-1-5-32-544", "inherits from its parent: true -> false",
			"DACL [allow S-1-5-18 0x1f01ff inherited, allow S-1-5-32-544 0x1f01ff inherited, allow S-1-5-32-545 0x1200a9 inherited, allow S-1-5-32-545 0x116 inherited] -> [allow S-1-5-18 0x1f01ff, "}},
		{"owner only", dirSecurity{Owner: sidSystem, Protected: true, ACEs: want.ACEs}, []string{"owner S-1-5-18 -> S-1-5-32-544"}},
		{"no owner", dirSecurity{Protected: true, ACEs: want.ACEs}, []string{"owner none -> "}},
		{"an ACE added by hand", dirSecurity{Owner: sidAdmins, Protected: true, ACEs: append(slices.Clone(want.ACEs), ace{Type: 1, Mask: 0x2, SID: "S-1-1-0"})},
			[]string{"deny S-1-1-0 0x2] -> "}},
		{"Users' right widened", dirSecurity{Owner: sidAdmins, Protected: true, ACEs: []ace{want.ACEs[0], want.ACEs[1], {Flags: oici, Mask: 0x1301bf, SID: sidUsers}}},
			[]string{"0x1301bf] -> "}},
		{"NULL DACL", dirSecurity{Owner: sidAdmins, Protected: true, NullDACL: true}, []string{"DACL [NULL: everyone full control] -> "}},
		{"inheritance only", dirSecurity{Owner: sidAdmins, ACEs: want.ACEs}, []string{"inherits from its parent: true -> false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := securityChanges(tt.have, want)
			if len(got) != len(tt.want) {
				t.Fatalf("changes = %q, want %d like %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tt.want[i]) {
					t.Errorf("change %d = %q, want it to contain %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}
