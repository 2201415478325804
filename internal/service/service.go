// Package service runs stackhand as an operating-system service and installs and
// controls that service: a systemd unit on Linux, a Service Control Manager service on
// Windows.
//
// Run wraps the agent body so that it sees one context, canceled when the service is
// told to stop, with a cause that says why: ErrStopped when an operator or the service
// manager stopped the service, ErrSystemShutdown when the whole machine is going down
// (the engine runs the shutdown hooks only then). Control implements
// `stackhand service install|uninstall|start|stop|status`.
package service

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Name is the name of the service: the systemd unit is Name + ".service", the Windows
// service is registered under Name.
const Name = "stackhand"

// ErrStopped is the cause of the agent's context (see context.Cause) when the service
// was stopped while the operating system keeps running: SIGTERM or SIGINT on Linux, a
// Stop request from the Service Control Manager or Ctrl-C on Windows.
var ErrStopped = errors.New("service stopped")

// ErrSystemShutdown is the cause of the agent's context (see context.Cause) when the
// service is stopped because the operating system is shutting down or rebooting.
var ErrSystemShutdown = errors.New("operating system is shutting down")

// Actions lists the actions Control accepts, in the order a usage message shows them.
var Actions = []string{"install", "uninstall", "start", "stop", "status"}

// Options configures Control. The zero value installs the default binary with the
// default config and reports nothing.
type Options struct {
	// ConfigPath is the config file the installed service runs with ("" means
	// DefaultConfigPath). A relative path is made absolute.
	ConfigPath string
	// BinaryPath is the stackhand executable the installed service runs. On Linux
	// "" means DefaultBinaryPath; on Windows it means the running executable. A
	// relative path is made absolute.
	BinaryPath string
	// Out receives what a person should read: what was done, the service status.
	// nil discards it.
	Out io.Writer
	// Root prefixes every file Control reads or writes on Linux (the unit directory,
	// /run/systemd/system, /proc/1/comm); tests point it at a temporary directory.
	// "" means /.
	Root string
	// Systemctl runs systemctl with args and returns its combined output. nil runs
	// the systemctl found in PATH. Linux only.
	Systemctl func(args ...string) (string, error)
}

// Control performs action on the stackhand service: "install" registers it with the
// service manager and enables it at boot, "uninstall" stops and removes it, "start",
// "stop" and "status" do what they say. It writes what it did to o.Out.
func Control(action string, o Options) error {
	if !slices.Contains(Actions, action) {
		return fmt.Errorf("unknown service action %q: want one of %s", action, strings.Join(Actions, ", "))
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	return control(action, o)
}
