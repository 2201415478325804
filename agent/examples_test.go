package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The example hooks read the payload with a JSON parser (jq, or python3 where jq is not
// installed), so they work whatever the payload's layout: here one line of compact JSON
// with the keys in another order than the agent writes them, a peer without a private IP
// and a release value that is an object.
func TestExampleHooksReadThePayloadWithAParser(t *testing.T) {
	payload := `{"metadata":[{"rule":"other","source":"metadata","path":"x","new":1},` +
		`{"new":{"tag":"v2","n":[1,2]},"old":"v1","rule":"release","source":"metadata","path":"Resources.W.Metadata.release","change":"update"}],` +
		`"peers":[{"private_ip":"10.0.0.1","instance_id":"i-1"},{"instance_id":"i-2"},{"instance_id":"i-3","private_ip":"10.0.0.3"}],` +
		`"id":"deploy-000004","event":"deploy","reason":"r"}`
	for _, parser := range []string{"jq", "python3"} {
		t.Run(parser, func(t *testing.T) {
			// A PATH with the tools the examples use and, of the two parsers, only this one.
			bin := t.TempDir()
			for _, tool := range []string{"sh", "mkdir", "dirname", "mv", "wc", parser} {
				p, err := exec.LookPath(tool)
				if err != nil {
					if tool == parser && os.Getenv("CI") == "" {
						t.Skipf("%s is not installed", parser)
					}
					t.Fatalf("%s: %v", tool, err)
				}
				if tool == "python3" {
					// pyenv and the like install a shell shim: link the interpreter itself.
					out, err := exec.Command(p, "-c", "import sys; print(sys.executable)").Output()
					if err != nil {
						t.Fatal(err)
					}
					p = strings.TrimSpace(string(out))
				}
				if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
					t.Fatal(err)
				}
			}
			dir := t.TempDir()
			file := filepath.Join(dir, "payload.json")
			if err := os.WriteFile(file, []byte(payload), 0o600); err != nil {
				t.Fatal(err)
			}
			run := func(hook string) string {
				t.Helper()
				cmd := exec.Command(filepath.Join("..", "hooks", hook))
				cmd.Env = []string{"PATH=" + bin, "STACKHAND_EVENT_FILE=" + file, "STACKHAND_EVENT_ID=deploy-000004",
					"STACKHAND_REASON=r", "DEMO_DIR=" + dir}
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s: %v\n%s", hook, err, out)
				}
				return strings.TrimSpace(string(out))
			}
			if got, want := run("deploy/10-release"), `deploy deploy-000004: release "v1" -> {"tag":"v2","n":[1,2]} (r)`; got != want {
				t.Errorf("deploy example printed %q, want %q", got, want)
			}
			if got := run("configure/10-peers"); !strings.HasPrefix(got, "configure: 2 peer(s) written to") {
				t.Errorf("configure example printed %q", got)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "peers.txt")); string(b) != "10.0.0.1\n10.0.0.3\n" {
				t.Errorf("peers.txt = %q", b)
			}
		})
	}
}
