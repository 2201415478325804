// Package agent assembles the agent and runs it: Run is the one place where its parts
// are made, started in order and stopped in the reverse order. The command line (package
// cli) only parses flags, prints and picks exit codes; the parts themselves (sources,
// engine, hook runner, reporters, shutdown actuators, status) know nothing of each other
// beyond the small interfaces they are handed here.
package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/appdeploy"
	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/engine"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/lifecycle"
	"github.com/stackhand/stackhand/internal/release"
	"github.com/stackhand/stackhand/internal/service"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/status"
	"github.com/stackhand/stackhand/internal/trust"
)

// Options are what Run needs.
type Options struct {
	Config *config.Config
	Log    *zap.Logger
	// Version is logged at start.
	Version string
	// Hangups delivers the requests to reload the configuration (SIGHUP); nil: none come.
	Hangups <-chan os.Signal
	// Reload reads and checks the configuration again, as at start; it is called for each
	// request on Hangups, and returns the warnings to log with the new configuration.
	Reload func() (*config.Config, []string, error)
}

// trimAfter is when, after the agent starts, its start-up code is unmapped again (the
// reporters do it as soon as they start; this catches what ran since, such as the first
// events' code, and an agent whose AWS setup keeps failing). It comes after the status
// writer's first deferred write (status.FlushEvery after the reporters' first reports):
// at 10 s the write right after it brought back the pages the unmapping had just dropped.
const trimAfter = status.FlushEvery + 5*time.Second

// Run runs the agent until the service is stopped (ctx ends, or the service manager or a
// signal says so) or a terminating shutdown is done. In order:
//
//  1. the state directory: its lock, the state file, the status writer;
//  2. which instance this is: the AWS setup and discovery in mode aws (retried with
//     backoff for as long as it takes, each retry shown in status), instance.json in mode
//     local;
//  3. the reporters: notifier, heartbeat, health checks, metrics, log shipping;
//  4. the shutdown actuators: the lifecycle action and the alarm's removal;
//  5. the sources, each under a supervisor that restarts it with backoff when it stops
//     (supervise), and the engine that turns what they see into events.
//
// It stops in the reverse order: the engine (the running event gets the shutdown grace),
// the sources, the reporters (the log shipper drains), the status writer.
//
// A request on o.Hangups reloads the configuration: when o.Reload says the new one is
// invalid, the agent goes on with the old one, and says so in the log and in status (as
// the source "config"); when it is valid, no new event starts, the running one finishes
// however long it takes, everything stops in the reverse order, and Run returns the new
// configuration for the caller to run Run with again. next is nil otherwise.
func Run(parent context.Context, o Options) (next *config.Config, err error) {
	cfg, log := o.Config, o.Log
	if cfg.Umask != nil {
		setUmask(*cfg.Umask)
	}
	log.Info("stackhand starting", zap.String("version", o.Version), zap.String("mode", cfg.Mode),
		zap.String("config", cfg.Path), zap.String("hooks_dir", cfg.HooksDir), zap.String("state_dir", cfg.StateDir))
	if _, err := os.Stat(cfg.HooksDir); !cfg.CfnHupOnly || err == nil {
		for _, p := range HooksDirProblems(cfg.HooksDir) {
			log.Warn(p)
		}
	}

	// 1. The state directory.
	if err := PrepareDirs(cfg); err != nil {
		return nil, err
	}
	lock, err := state.Acquire(cfg.StateDir)
	var locked *state.ErrLocked
	switch {
	case errors.As(err, &locked):
		return nil, err
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
	adoptCfnHup(cfg, st, store, log)
	// Event ids never repeat, even when the state was lost or went back to its last good
	// copy: the next one follows the highest found among the hook logs and payloads.
	st.SeqAtLeast(state.HighestSeq(filepath.Join(cfg.LogDir, "hooks"), filepath.Join(cfg.StateDir, "payloads")))
	reg := status.NewRegistry(cfg.StateDir, clk, log.Named("status"))
	// Once start-up is over (discovery, the first events), the code it ran is no longer
	// needed in memory: see trimCode.
	trim := clk.AfterFunc(trimAfter, func() {
		log.Debug("start-up code unmapped from the resident set", zap.Int64("bytes_advised", trimCode()))
	})
	defer trim.Stop()

	err = service.Run(parent, log, func(ctx context.Context) error {
		statusCtx, stopStatus := context.WithCancel(context.Background())
		statusDone := make(chan struct{})
		go func() { defer close(statusDone); reg.Run(statusCtx) }()
		defer func() { stopStatus(); <-statusDone }()

		// 2. Which instance this is.
		var found discovered
		if cfg.Mode == config.ModeLocal {
			found, err = discoverLocal(ctx, cfg, clk, reg, log)
		} else {
			found, err = discoverAWS(ctx, cfg, clk, reg, log)
		}
		if err != nil {
			if ctx.Err() != nil {
				log.Info("stopped before the instance was known; no event ran", zap.Error(context.Cause(ctx)))
				return nil
			}
			return err
		}

		// 3. The reporters, until the sources and the engine are done.
		terminated := ""
		if st.Lifecycle.ShutdownDone {
			terminated = st.Lifecycle.ShutdownFor
		}
		fv := buildFleet(cfg, found, clk, log)
		var onVerdict func(string)
		if fv != nil {
			onVerdict = fv.SetHealth
		}
		repCtx, stopReporters := context.WithCancel(context.Background())
		rep := startReporters(repCtx, reporterOptions{cfg: cfg, log: log, clk: clk, status: reg,
			instance: found.identity, extra: found.extra, env: found.env, terminated: terminated, onVerdict: onVerdict})
		defer func() { stopReporters(); rep.wait() }()

		// 4. What acts around a shutdown.
		var observers lifecycle.Observers
		if rep.heartbeat != nil {
			observers = append(observers, lifecycle.AlarmRemoval{Alarm: rep.heartbeat})
		}
		if found.env != nil {
			observers = append(observers, &lifecycle.Action{ASG: found.env.AutoScaling(), Group: found.identity.AutoScalingGroup,
				InstanceID: found.identity.InstanceID, HookName: cfg.Lifecycle.HookName, Abandon: cfg.Lifecycle.AbandonOnFailure,
				Clock: clk, Log: log.Named("lifecycle")})
		}

		// 5. The sources and the engine.
		sources, first, await, err := buildSources(cfg, clk, log, found)
		if err != nil {
			return err
		}
		if found.env != nil {
			// The AWS sources read at every pass: status calls one stale when its reads
			// stop (mode local's sources report changes only).
			for _, src := range sources {
				every := cfg.Interval.D()
				if src.Name() == "lifecycle" {
					every = cfg.Lifecycle.PollInterval.D()
				}
				reg.Expect(status.KindSource, src.Name(), every)
			}
		}
		spool := &source.Spool{StateDir: cfg.StateDir, Clock: clk, Interval: cfg.Interval.D(),
			OnInvalid: func(file string, err error) { log.Warn("request refused", zap.String("file", file), zap.Error(err)) }}
		sources = append(sources, spool)
		// What a hook left running when the agent last died is ended before any event runs,
		// so that an interrupted event runs again alone, not beside its previous run.
		// The built-in cfn-init reloads the agent (as SIGHUP does) when the cfn-hup files its
		// services entry for cfn-hup lists have changed; the reload waits for the event.
		selfReload := make(chan struct{}, 1)
		runner := hookRunner(cfg, log, func() error {
			select {
			case selfReload <- struct{}{}:
			default: // one is already asked for
			}
			return nil
		})
		if _, err := runner.EndLeftover(); err != nil {
			log.Error("cannot read what the last hook left running; it may still run", zap.Error(err))
		}
		// The CloudWatch agent's configuration kept in Parameter Store is read again when
		// its version changes, as on SIGHUP.
		paramChanged := make(chan string, 1)
		if cfg.CWAgentParameter != "" && found.env != nil {
			pw := &paramWatch{SSM: found.env.SSM(), Name: cfg.CWAgentParameter, Version: cfg.CWAgentVersion, Interval: cfg.Interval.D(),
				Clock: clk, Status: reg, Changed: func(reason string) {
					select {
					case paramChanged <- reason:
					default: // one is already asked for
					}
				}}
			reg.Expect(status.KindSource, cwParamSource, cfg.Interval.D())
			paramCtx, stopParam := context.WithCancel(context.Background())
			paramDone := make(chan struct{})
			go func() { defer close(paramDone); pw.run(paramCtx) }()
			defer func() { stopParam(); <-paramDone }()
		}
		var fleetGate engine.Fleet
		if fv != nil {
			fleetGate = fv
			sources = append(sources, fv)
			if found.env != nil {
				reg.Expect(status.KindSource, fv.Name(), cfg.Interval.D()) // it reports every interval
			}
		}
		var sig engine.Signaler
		if hasSignals(cfg) {
			sg := &signaler{ctx: parent, instance: found.identity.InstanceID, stack: found.identity.Stack, env: found.env, log: log.Named("signal")}
			defer sg.wait()
			sig = sg
		}
		eng, err := engine.New(engine.Options{Config: cfg, Store: store, State: st, Runner: runner,
			Apps: appDeployer(cfg, found, runner, log), Spool: spool, Notifier: rep.notifier,
			// The final flush is done before the lifecycle action is completed.
			Shutdown: lifecycle.Then{First: rep.finalFlush(reporterOptions{cfg: cfg, log: log, clk: clk, status: reg}), Rest: observers},
			Status:   reg, Clock: clk,
			Fleet: fleetGate, Signaler: sig, Logger: log.Named("engine"), Await: append([]string{"identity"}, await...)})
		if err != nil {
			return err
		}
		srcCtx, stopSources := context.WithCancel(context.Background())
		defer stopSources()
		engCtx, stopEngine := context.WithCancel(context.Background())
		defer stopEngine()
		engDone := make(chan error, 1)
		go func() { engDone <- eng.Run(engCtx) }()
		eng.Update(srcCtx, source.Update{Source: "identity", Identity: &found.identity})
		for _, u := range first {
			eng.Update(srcCtx, u)
		}
		var wg sync.WaitGroup
		for _, s := range sources {
			wg.Add(1)
			go func() {
				defer wg.Done()
				supervise(srcCtx, s, func(u source.Update) { eng.Update(srcCtx, u) }, clk, log)
			}()
		}

		// Until the service stops, a terminating shutdown is done, or a reloaded configuration
		// waits for the running event to finish; then in reverse.
		var runErr error
		hangups := o.Hangups
	wait:
		for {
			select {
			case runErr = <-engDone:
				break wait
			case <-ctx.Done():
				if errors.Is(context.Cause(ctx), service.ErrSystemShutdown) {
					eng.Shutdown("the operating system is shutting down", time.Time{})
				} else {
					stopEngine()
				}
				runErr = <-engDone
				break wait
			case <-hangups:
				if c := reload(o, reg, log); c != nil {
					next = c
					eng.Finish()
				}
			case reason := <-paramChanged:
				log.Info(reason)
				if c := reload(o, reg, log); c != nil {
					next = c
					eng.Finish()
				}
			case <-selfReload:
				log.Info("cfn-init changed the cfn-hup configuration: reloading, as on SIGHUP")
				if c := reload(o, reg, log); c != nil {
					next = c
					eng.Finish()
				}
			}
		}
		if eng.Terminated() || ctx.Err() != nil {
			next = nil // the agent ends: nothing to run again
		}
		stopSources()
		wg.Wait()
		return runErr
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}

// reload reads the configuration again for a SIGHUP. It returns the new configuration
// when it is valid; otherwise it logs why and shows it in status, and returns nil: the
// agent goes on with the configuration it has.
func reload(o Options, reg *status.Registry, log *zap.Logger) *config.Config {
	if o.Reload == nil {
		log.Warn("SIGHUP: this agent cannot reload its configuration; restart it to apply changes")
		return nil
	}
	log.Info("SIGHUP: reading the configuration again", zap.String("config", o.Config.Path))
	cfg, warnings, err := o.Reload()
	if err != nil {
		msg := fmt.Sprintf("reload refused, still running on the configuration loaded before: %v", err)
		log.Error("SIGHUP: the new configuration is invalid; going on with the one loaded before — fix it (stackhand validate) and send SIGHUP again",
			zap.String("config", o.Config.Path), zap.Error(err))
		reg.Source(configSource, msg, "")
		return nil
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	log.Info("SIGHUP: the new configuration is valid; restarting on it once the running event, if any, has finished",
		zap.String("config", cfg.Path))
	return cfg
}

// configSource is the name under which status shows a reload that was refused.
const configSource = "config"

// RunningHookFile, in the state directory, records the hook that runs (its cgroup, pid and
// start time) so that the next start can end what it left if the agent dies.
const RunningHookFile = "running-hook.json"

// PrepareDirs creates the state and log directories when they are missing (0700 and
// 0750, owned by the agent's user) and refuses them when another user owns them or group
// or others may write them, or any directory above them lets another user replace them:
// that user could point payloads, hook logs, the agent log or payload pruning at any file
// root can write. A state.json others can change is refused too. A directory that cannot
// be created is not an error here: the agent goes on and says so where it writes.
func PrepareDirs(cfg *config.Config) error {
	euid := os.Geteuid()
	for _, d := range []struct {
		dir, label string
		perm       os.FileMode
	}{{cfg.StateDir, "state directory", 0o700}, {cfg.LogDir, "log directory", 0o750}} {
		if d.dir == "" {
			continue
		}
		if _, err := trust.OwnDir(d.dir, d.label, d.perm, euid); errors.Is(err, trust.ErrUntrusted) {
			return err
		}
	}
	sf := filepath.Join(cfg.StateDir, state.FileName)
	if _, err := os.Lstat(sf); err == nil {
		if _, err := trust.Check(sf, "state file "+sf, trust.File, euid); errors.Is(err, trust.ErrUntrusted) {
			return err
		}
	}
	return nil
}

// appDeployer builds what runs the app releases of deploy events (nil without apps), and
// first removes what a killed deploy left (half-made releases, downloads): the deploy that
// was interrupted runs again, with STACKHAND_RETRY=1, as the engine re-runs any event.
func appDeployer(cfg *config.Config, found discovered, runner *hooks.Runner, log *zap.Logger) engine.Apps {
	if len(cfg.Apps) == 0 {
		return nil
	}
	log = log.Named("apps")
	m := &release.Manager{Log: log}
	if found.env != nil {
		m.Fetchers = map[string]release.Fetcher{"s3": release.S3Fetcher{Client: found.env.S3(), Retry: release.Retry{Log: log}}}
	}
	for _, a := range cfg.Apps {
		if err := m.Recover(a.ReleaseApp()); err != nil {
			log.Error("cannot clean up what an interrupted deploy left", zap.String("app", a.Name), zap.Error(err))
		}
	}
	return &appdeploy.Deployer{Manager: m, Runner: runner, Log: log}
}

// hookRunner is the runner of the lifecycle events' hooks. Payloads go to the state
// directory, or, for each one that cannot be written there, to a private temporary
// directory (see hooks.Runner.PayloadDir).
func hookRunner(cfg *config.Config, log *zap.Logger, reload func() error) *hooks.Runner {
	payloadDir, err := trust.Subdir(cfg.StateDir, "payloads", 0o700, os.Geteuid())
	if err != nil {
		payloadDir = filepath.Join(cfg.StateDir, "payloads")
		if tmp, terr := os.MkdirTemp("", "stackhand-payloads-"); terr == nil {
			log.Error("cannot write payloads into the state directory; using a private temporary directory until it is fixed",
				zap.Error(err), zap.String("payload_dir", tmp))
			payloadDir = tmp
		}
	}
	return &hooks.Runner{PayloadDir: payloadDir, LogDir: filepath.Join(cfg.LogDir, "hooks"),
		KillGrace: cfg.KillGrace.D(), Logger: log.Named("hooks"), RecordFile: filepath.Join(cfg.StateDir, RunningHookFile),
		Builtin: cfnInitBuiltin(cfg, log, reload)}
}

// discovered is what step 2 found: the instance, and in mode aws the AWS setup.
type discovered struct {
	identity event.Instance
	// extra is what discovery read beyond identity: the tags the configuration names
	// ({tag:KEY} in log names, ${aws:tag/KEY} in metric dimensions) and the AMI.
	extra awsenv.Extra
	env   *awsenv.Env // nil in mode local
}

// buildSources returns the sources of cfg.Mode for the instance found, the updates to hand
// the engine before they start (a watch that cannot work), and the names of the sources
// whose first report the engine waits for.
func buildSources(cfg *config.Config, clk clock.Clock, log *zap.Logger, found discovered) (srcs []source.Source, first []source.Update, await []string, err error) {
	if found.env == nil {
		srcs, err = localSources(cfg, clk)
	} else {
		srcs, first = awsSources(cfg, clk, log, found)
	}
	for _, s := range srcs {
		if s.Name() != "identity" {
			await = append(await, s.Name())
		}
	}
	for _, u := range first {
		await = append(await, u.Source)
	}
	return srcs, first, await, err
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
	srcs := []source.Source{
		localIdentity(cfg, l),
		source.LocalMetadata{Local: l, Rules: rules},
		source.LocalTags{Local: l},
		source.LocalPeers{Local: l},
		source.LocalLifecycle{Local: l},
	}
	if names := ssmNames(cfg); len(names) > 0 {
		srcs = append(srcs, source.LocalSSM{Local: l, Names: names})
	}
	return srcs, nil
}

func localIdentity(cfg *config.Config, l source.Local) source.LocalIdentity {
	return source.LocalIdentity{Local: l, Override: event.Instance{Stack: cfg.Stack, Region: cfg.Region, LogicalID: cfg.Resource}}
}

// HooksDirProblems says what is odd about hooks.d: missing, or holding a directory that
// is not an event (a typo like "deploi" would never run). The agent logs them at start;
// validate prints them.
func HooksDirProblems(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return []string{fmt.Sprintf("%s: hooks directory cannot be read (%v); events run no hooks until it exists", dir, errors.Unwrap(err))}
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := event.ParseKind(e.Name()); err != nil && e.Name() != string(event.Health) {
			out = append(out, fmt.Sprintf("%s: %v (and health); its hooks never run — rename the directory", filepath.Join(dir, e.Name()), err))
		}
	}
	return out
}
