//go:build !windows

package service

import (
	"errors"
	"os/exec"
	"testing"
)

func TestSystemShuttingDown(t *testing.T) {
	for _, tc := range []struct {
		out  string
		err  error
		want bool
	}{
		{"stopping", nil, true},
		{"running", nil, false},
		{"degraded", nil, false},
		{"starting", nil, false},
		{"offline", nil, false},
		{"", exec.ErrNotFound, false},           // no systemctl
		{"stopping", errors.New("boom"), false}, // an error is never a shutdown
	} {
		got := systemShuttingDown(func() (string, error) { return tc.out, tc.err })
		if got != tc.want {
			t.Errorf("systemShuttingDown(%q, %v) = %v, want %v", tc.out, tc.err, got, tc.want)
		}
	}
}

// TestSystemStateHere runs the real detector: whatever this machine is, it is not
// shutting down while the tests run.
func TestSystemStateHere(t *testing.T) {
	if systemShuttingDown(systemState) {
		t.Error("systemShuttingDown(systemState) = true on a machine that is running tests")
	}
}
