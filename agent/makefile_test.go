package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMakeRunSaysItIsBuildingFirst: make run's first build is silent for minutes on a cold
// machine, so it says so before it starts.
func TestMakeRunSaysItIsBuildingFirst(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	out, err := exec.Command("make", "-n", "-C", "..", "run").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n run: %v\n%s", err, out)
	}
	text := string(out)
	notice := strings.Index(text, "make run: building bin/stackhand first")
	build := strings.Index(text, "go build")
	if notice < 0 || build < 0 || notice > build || !strings.Contains(text, "takes a few minutes") {
		t.Errorf("make run does not announce its build, with how long a first one takes, before it starts:\n%s", text)
	}
}
