//go:build windows

package hooks

import (
	"fmt"
	"os/exec"
)

// identity is the user a command runs as when it is not the agent's own; Windows has none.
type identity struct {
	name, home, shell string
}

// lookupRunAs refuses runas on Windows: commands run as the agent's service account.
func lookupRunAs(runAs string, _ int) (*identity, error) {
	if runAs == "" {
		return nil, nil
	}
	return nil, fmt.Errorf("runas %s: not supported on Windows, where commands run as the agent's service account; drop runas", runAs)
}

func (*identity) apply(*exec.Cmd) {}

// payloadCopy is never called on Windows (lookupRunAs gives no identity there).
func (*identity) payloadCopy(payloadFile string) (string, func(), error) {
	return payloadFile, func() {}, nil
}
