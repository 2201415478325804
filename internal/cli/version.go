package cli

import (
	"fmt"
	"runtime"
)

func cmdVersion(env Env, args []string) int {
	fs := newFlagSet(env, "version", "version")
	if code := parse(env, fs, args); code >= 0 {
		return code
	}
	fmt.Fprintf(env.Stdout, "stackhand %s (%s, %s/%s)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return ExitOK
}
