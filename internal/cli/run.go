package cli

import (
	"context"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/agent"
)

func cmdRun(env Env, args []string) int {
	fs, cfgPath := flags(env, "run", "run [--config PATH] [--cfn-hup-dir DIR] [--log-level LEVEL]")
	cfnHup := fs.String("cfn-hup-dir", "", "read cfn-hup's cfn-hup.conf and hooks.d/*.conf from DIR (default: "+cfnHupDefaultDir()+" when it exists, in aws mode)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	ld, err := loadConfig(*cfgPath, *cfnHup)
	if err != nil {
		return fail(env, ExitFailed, "%v", err)
	}
	cfg := ld.cfg
	lvl := *level
	if cfg.Verbose && lvl == "info" {
		lvl = "debug"
	}
	if err := agent.PrepareDirs(cfg); err != nil {
		return fail(env, ExitFailed, "%v", err)
	}
	log, closeLog, err := newLogger(lvl, cfg.LogDir, env.Stderr)
	if err != nil {
		return fail(env, ExitUsage, "%v", err)
	}
	defer closeLog()
	for _, w := range ld.warnings {
		log.Warn(w)
	}
	if err := agent.Run(context.Background(), agent.Options{Config: cfg, Log: log, Version: Version}); err != nil {
		log.Error("the agent stopped on an error", zap.Error(err))
		return ExitFailed
	}
	return ExitOK
}
