package cli

import (
	"context"
	"os"
	"runtime"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/agent"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/service"
)

func cmdRun(env Env, args []string) int {
	fs, cfgPath := flags(env, "run", "run [--config PATH] [--cfn-hup-dir DIR] [--cwagent-config FILE] [--log-level LEVEL]")
	cwPath := fs.String("cwagent-config", "", "take the logs and metrics sections from the CloudWatch agent's JSON configuration `FILE`, or from the Parameter Store parameter NAME written ssm:NAME (reloaded when its version changes)")
	cfnHup := fs.String("cfn-hup-dir", "", "read cfn-hup's cfn-hup.conf and hooks.d/*.conf from `DIR` (default: "+cfnHupDefaultDir()+" when it exists, in aws mode)")
	level := fs.String("log-level", "info", "`LEVEL`: debug, info, warn or error")
	if code := parse(env, fs, args); code >= 0 {
		return code
	}
	agentProcs()
	// Before anything is written: a log reader that goes away must not kill the agent, and
	// SIGHUP asks for a reload instead of ending it.
	service.SurviveBrokenPipes()
	hangups, stopHangups := service.Hangups()
	defer stopHangups()

	load := func() (*config.Config, []string, error) {
		ld, err := loadConfig(*cfgPath, *cfnHup)
		if err == nil && *cwPath != "" {
			err = ld.addCWAgent(*cwPath)
		}
		if err != nil {
			return nil, nil, err
		}
		// A key of the agent's configuration that could not be read is left out, and the
		// rest runs; validate fails on it.
		return ld.cfg, append(ld.warnings, ld.cwProblems...), nil
	}
	cfg, warnings, err := load()
	if err != nil {
		return fail(env, ExitFailed, "%v", err)
	}
	reload := load
	for {
		if err := agent.PrepareDirs(cfg); err != nil {
			return fail(env, ExitFailed, "%v", err)
		}
		// The logger is made again for each configuration: log_dir may change.
		log, closeLog, err := newLogger(*level, cfg.LogDir, env.Stderr)
		if err != nil {
			return fail(env, ExitUsage, "%v", err)
		}
		for _, w := range warnings {
			log.Warn(w)
		}
		// agent.Run logs the warnings of a configuration it reloads.
		next, err := agent.Run(context.Background(), agent.Options{Config: cfg, Log: log, Version: Version,
			Hangups: hangups, Reload: reload})
		if err != nil {
			log.Error("the agent stopped on an error", zap.Error(err))
			closeLog()
			return ExitFailed
		}
		if next == nil {
			closeLog()
			return ExitOK
		}
		log.Info("restarting on the reloaded configuration", zap.String("config", next.Path))
		closeLog()
		cfg, warnings = next, nil
	}
}

// agentProcs runs the agent's Go code on one processor at a time, unless the GOMAXPROCS
// environment variable says otherwise, and returns the setting. The agent waits most of
// the time and then works in short bursts of a few goroutines in a row (read, batch,
// compress, send): with a processor per core, each burst wakes idle processors that find
// nothing to do, and parking them again was a tenth of the agent's CPU while it tailed a
// busy file (BenchmarkLogsLive, README's Performance section). Hooks and commands are
// processes of their own and keep every core.
func agentProcs() int {
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		return runtime.GOMAXPROCS(0)
	}
	runtime.GOMAXPROCS(1)
	return 1
}
