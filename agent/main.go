// Command stackhand is the on-instance agent: it watches this instance's stack metadata,
// tags, peers and lifecycle, and runs the fleet owner's hooks for each lifecycle event.
// This file only wires the command line to internal/cli.
package main

import (
	"os"

	"github.com/stackhand/stackhand/internal/cli"
)

func main() {
	os.Exit(cli.Main(cli.DefaultEnv()))
}
