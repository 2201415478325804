package agent

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stackhand/stackhand/internal/config"
)

// rssFileKiB reads this process's file-backed resident memory.
func rssFileKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "RssFile:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// TestTrimCodeShrinksTheResidentSetAndBreaksNothing: the test binary's code is unmapped
// from the resident set, and the code runs on (it is mapped back as it is used).
func TestTrimCodeShrinksTheResidentSetAndBreaksNothing(t *testing.T) {
	before := rssFileKiB(t)
	advised := trimCode()
	after := rssFileKiB(t)
	if advised <= 0 {
		t.Fatalf("trimCode advised %d bytes; want the executable's read-only mappings", advised)
	}
	if after >= before {
		t.Fatalf("RssFile %d KiB before, %d KiB after trimCode", before, after)
	}
	// Code and read-only data come back on use: parse a config, which walks reflection
	// data and regexps.
	c, err := config.Parse([]byte("mode: local\nlocal:\n  dir: /tmp\nwatch:\n  - tag: Role\n"), "")
	if err != nil || c.Watch[0].Tag != "Role" {
		t.Fatalf("after trimCode: %+v, %v", c, err)
	}
	t.Logf("RssFile %d KiB -> %d KiB (%d KiB of mappings advised)", before, after, advised>>10)
}
