package cli

import (
	"runtime"
	"testing"
)

// TestHelpGolden: every command's --help goes to stdout (so that `| less` shows it), exits
// 0 and says what an operator needs: flags as --flag, the events, the exit codes.
func TestHelpGolden(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the golden files hold the Linux default paths")
	}
	cases := map[string][]string{
		"stackhand":        {"help"},
		"run":              {"run", "--help"},
		"validate":         {"validate", "--help"},
		"status":           {"status", "-h"},
		"trigger":          {"trigger", "--help"},
		"releases":         {"releases", "--help"},
		"rollback":         {"rollback", "--help"},
		"service":          {"service", "--help"},
		"fleet":            {"fleet", "--help"},
		"fleet-status":     {"fleet", "status", "--help"},
		"fleet-hold":       {"fleet", "hold", "--help"},
		"version":          {"version", "--help"},
		"cfn-init":         {"cfn-init", "--help"},
		"cfn-signal":       {"cfn-signal", "--help"},
		"cfn-get-metadata": {"cfn-get-metadata", "--help"},
		"bad-flag":         {"status", "--jsno"},
		"no-command":       {},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			r := run(t, args...)
			want := ExitOK
			switch name {
			case "bad-flag", "no-command":
				want = ExitUsage
			}
			if r.code != want {
				t.Errorf("exit %d, want %d", r.code, want)
			}
			if name == "bad-flag" {
				if r.stdout != "" {
					t.Errorf("a bad flag printed on stdout:\n%s", r.stdout)
				}
				golden(t, "help/"+name+".golden", []byte(r.stderr))
				return
			}
			if r.stderr != "" {
				t.Errorf("help printed on stderr:\n%s", r.stderr)
			}
			golden(t, "help/"+name+".golden", []byte(r.stdout))
		})
	}
}
