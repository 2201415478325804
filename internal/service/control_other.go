//go:build !linux && !windows

package service

import (
	"fmt"
	"runtime"
)

// DefaultConfigPath is the config file the service runs with unless told otherwise.
const DefaultConfigPath = "/etc/stackhand/stackhand.yaml"

func control(action string, o Options) error {
	return fmt.Errorf("stackhand service %s: not supported on %s (only Linux with systemd and Windows)", action, runtime.GOOS)
}
