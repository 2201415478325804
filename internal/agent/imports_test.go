package agent

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportDirection keeps the package map's one direction of imports (README,
// "Development"): cli → agent → the parts; nothing below agent imports cli or agent; the
// sources, which only watch, import nothing that acts on AWS or runs hooks; the hook
// runner and the service wrapper do not need the state file's package; the agent links
// no test stand-in.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}:{{join .Deps " "}}`, "github.com/stackhand/stackhand/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/stackhand/stackhand/"
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, ds, _ := strings.Cut(line, ":")
		for _, d := range strings.Fields(ds) {
			if strings.HasPrefix(d, mod) {
				deps[strings.TrimPrefix(pkg, mod)] = append(deps[strings.TrimPrefix(pkg, mod)], strings.TrimPrefix(d, mod))
			}
		}
	}
	if len(deps["agent"]) == 0 || !slices.Contains(deps["agent"], "internal/agent") {
		t.Fatalf("go list found no dependencies of the main package: %v", deps["agent"])
	}
	never := func(pkg string, forbidden ...string) {
		for _, f := range forbidden {
			if slices.Contains(deps[pkg], f) {
				t.Errorf("%s depends on %s", pkg, f)
			}
		}
	}
	for pkg := range deps {
		if strings.HasPrefix(pkg, "internal/") && pkg != "internal/cli" {
			never(pkg, "internal/cli")
		}
		if strings.HasPrefix(pkg, "internal/") && pkg != "internal/cli" && pkg != "internal/agent" {
			never(pkg, "internal/agent")
		}
	}
	never("internal/source", "internal/lifecycle", "internal/report", "internal/hooks", "internal/engine", "internal/logship")
	never("internal/hooks", "internal/state")
	never("internal/service", "internal/state")
	never("agent", "internal/testenv", "internal/testenv/awsfake", "internal/testenv/imdsmock")
}
