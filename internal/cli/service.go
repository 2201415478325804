package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stackhand/stackhand/internal/service"
)

func cmdService(env Env, args []string) int {
	fs, cfgPath := flags(env, "service", "service install|uninstall|start|stop|status [--config PATH]")
	if code := parse(env, fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fail(env, ExitUsage, "service takes one action: %s", strings.Join(service.Actions, ", "))
	}
	action := fs.Arg(0)
	known := false
	for _, a := range service.Actions {
		known = known || a == action
	}
	if !known {
		return fail(env, ExitUsage, "unknown service action %q: want one of %s", action, strings.Join(service.Actions, ", "))
	}
	bin, err := os.Executable()
	if err == nil {
		bin, _ = filepath.EvalSymlinks(bin)
	}
	cfg, err := filepath.Abs(*cfgPath)
	if err != nil {
		cfg = *cfgPath
	}
	if err := service.Control(action, service.Options{ConfigPath: cfg, BinaryPath: bin, Out: env.Stdout}); err != nil {
		return fail(env, ExitFailed, "service %s: %v", action, err)
	}
	if action != "status" {
		fmt.Fprintf(env.Stdout, "service %s: done\n", action)
	}
	return ExitOK
}
