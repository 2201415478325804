package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/engine"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/service"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
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
	log, closeLog, err := newLogger(lvl, cfg.LogDir, env.Stderr)
	if err != nil {
		return fail(env, ExitUsage, "%v", err)
	}
	defer closeLog()
	for _, w := range ld.warnings {
		log.Warn(w)
	}
	if err := runAgent(context.Background(), cfg, log); err != nil {
		log.Error("the agent stopped on an error", zap.Error(err))
		return ExitFailed
	}
	return ExitOK
}

// trimAfter is when, after the agent starts, its start-up code is unmapped again (the
// reporters do it as soon as they start; this catches what ran since, such as the first
// events' code, and an agent whose AWS setup keeps failing).
const trimAfter = 10 * time.Second

// runAgent wires the sources, the engine and the hook runner, and runs them until the
// service is stopped or a terminating shutdown is done.
func runAgent(parent context.Context, cfg *config.Config, log *zap.Logger) error {
	if cfg.Umask != nil {
		setUmask(*cfg.Umask)
	}
	log.Info("stackhand starting", zap.String("version", Version), zap.String("mode", cfg.Mode),
		zap.String("config", cfg.Path), zap.String("hooks_dir", cfg.HooksDir), zap.String("state_dir", cfg.StateDir))
	warnHooksDir(cfg, log)

	lock, err := state.Acquire(cfg.StateDir)
	var locked *state.ErrLocked
	switch {
	case errors.As(err, &locked):
		return err
	case err != nil:
		log.Error("cannot lock the state directory; going on without the lock — make it writable", zap.Error(err))
	}
	defer lock.Close()

	clk := clock.Real{}
	st, store, warn, err := state.Open(cfg.StateDir, clk.Now())
	if err != nil {
		log.Error("cannot read the state directory; going on with an empty state in memory", zap.Error(err))
		st, store = state.New(), state.NewStore(cfg.StateDir)
	}
	if warn != nil {
		log.Error("STATE FILE CORRUPT", zap.Error(warn))
	}
	payloadDir := filepath.Join(cfg.StateDir, "payloads")
	if err := os.MkdirAll(payloadDir, 0o700); err != nil {
		if tmp, terr := os.MkdirTemp("", "stackhand-payloads-"); terr == nil {
			log.Error("cannot write payloads into the state directory; using a private temporary directory until it is fixed",
				zap.Error(err), zap.String("payload_dir", tmp))
			payloadDir = tmp
		}
	}
	runner := &hooks.Runner{
		PayloadDir: payloadDir,
		LogDir:     filepath.Join(cfg.LogDir, "hooks"),
		KillGrace:  cfg.KillGrace.D(),
		Logger:     log.Named("hooks"),
	}
	spool := &source.Spool{StateDir: cfg.StateDir, Clock: clk, Interval: cfg.Interval.D(),
		OnInvalid: func(file string, err error) { log.Warn("request refused", zap.String("file", file), zap.Error(err)) }}
	// The engine is made below; reporters report their status through it.
	var eng *engine.Engine
	srcCtx, stopSources := context.WithCancel(context.Background())
	defer stopSources()
	observer := &lazyObserver{}
	rep := newReporters(cfg, log, clk, observer, reporterStatus(func(name string, h *state.Health) {
		eng.Update(srcCtx, source.Update{Source: name, Reporter: h})
	}))
	if st.Lifecycle.ShutdownDone {
		rep.terminated = st.Lifecycle.ShutdownFor
	}
	// Once start-up is over (discovery, the first events), the code it ran is no longer
	// needed in memory: see trimCode.
	trim := clk.AfterFunc(trimAfter, func() {
		log.Debug("start-up code unmapped from the resident set", zap.Int64("bytes_advised", trimCode()))
	})
	defer trim.Stop()
	var sources []source.Source
	var await []string
	if cfg.Mode == config.ModeLocal {
		sources, err = localSources(cfg, clk)
		if err != nil {
			return err
		}
		for _, s := range sources {
			await = append(await, s.Name())
		}
	} else {
		sources = []source.Source{&awsSources{cfg: cfg, log: log, clk: clk, observer: observer, reporters: rep}}
		await = awsSourceNames
	}
	sources = append(sources, spool)
	eng, err = engine.New(engine.Options{Config: cfg, Store: store, State: st, Runner: runner, Spool: spool,
		Notifier: rep.notifier, Shutdown: observer, Clock: clk, Logger: log.Named("engine"), Await: await})
	if err != nil {
		return err
	}

	return service.Run(parent, log, func(ctx context.Context) error {
		engCtx, stopEngine := context.WithCancel(context.Background())
		defer stopEngine()
		var wg sync.WaitGroup
		for _, s := range sources {
			wg.Add(1)
			go func() {
				defer wg.Done()
				emit := func(u source.Update) {
					if u.Identity != nil && cfg.Mode == config.ModeLocal {
						rep.start(srcCtx, *u.Identity, nil)
					}
					eng.Update(srcCtx, u)
				}
				if err := s.Run(srcCtx, emit); err != nil {
					log.Error("source stopped", zap.String("source", s.Name()), zap.Error(err))
					eng.Update(srcCtx, source.Update{Source: s.Name(), Err: err})
				}
			}()
		}
		engDone := make(chan error, 1)
		go func() { engDone <- eng.Run(engCtx) }()
		var runErr error
		select {
		case runErr = <-engDone:
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), service.ErrSystemShutdown) {
				eng.Shutdown("the operating system is shutting down", time.Time{})
			} else {
				log.Info("stopping", zap.Error(context.Cause(ctx)))
				stopEngine()
			}
			runErr = <-engDone
		}
		stopSources()
		wg.Wait()
		rep.wait()
		return runErr
	})
}

// localSources builds mode: local's file-backed sources.
func localSources(cfg *config.Config, clk clock.Clock) ([]source.Source, error) {
	l := source.Local{Dir: cfg.Local.Dir, Clock: clk, Interval: cfg.Interval.D()}
	resource := cfg.Resource
	if resource == "" {
		resource = "Local" // local mode serves one resource's Metadata, whatever its name
	}
	rules, err := metadataRules(cfg, resource)
	if err != nil {
		return nil, err
	}
	return []source.Source{
		source.LocalIdentity{Local: l, Override: event.Instance{Stack: cfg.Stack, Region: cfg.Region, LogicalID: cfg.Resource}},
		source.LocalMetadata{Local: l, Rules: rules},
		source.LocalTags{Local: l},
		source.LocalPeers{Local: l},
		source.LocalLifecycle{Local: l},
	}, nil
}

// warnHooksDir says once at start what is odd about hooks.d: missing, or holding a
// directory that is not an event (a typo like "deploi" would never run).
func warnHooksDir(cfg *config.Config, log *zap.Logger) {
	for _, p := range hooksDirProblems(cfg.HooksDir) {
		log.Warn(p)
	}
}

func hooksDirProblems(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return []string{fmt.Sprintf("%s: hooks directory cannot be read (%v); events run no hooks until it exists", dir, errors.Unwrap(err))}
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := event.ParseKind(e.Name()); err != nil && e.Name() != "health" {
			out = append(out, fmt.Sprintf("%s: %v (and health); its hooks never run — rename the directory", filepath.Join(dir, e.Name()), err))
		}
	}
	return out
}
