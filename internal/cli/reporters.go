package cli

import (
	"context"
	"path/filepath"
	"sync"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/logship"
	"github.com/stackhand/stackhand/internal/report"
	"github.com/stackhand/stackhand/internal/state"
)

// healthKeep is how many health-script runs keep their payload and log.
const healthKeep = 10

// reporters starts the heartbeat, health checks, metrics and the notifier's publishing
// once the instance's identity is known (and, in mode aws, the AWS setup with it). The
// notifier queues the engine's results from the start.
type reporters struct {
	cfg      *config.Config
	log      *zap.Logger
	clk      clock.Clock
	notifier *report.Notifier
	status   report.StatusFunc
	observer *lazyObserver
	// terminated is the instance whose termination's shutdown hooks already ran (from the
	// state at start): an agent restarted there keeps no heartbeat alarm.
	terminated string

	once sync.Once
	wg   sync.WaitGroup
}

func newReporters(cfg *config.Config, log *zap.Logger, clk clock.Clock, observer *lazyObserver, status report.StatusFunc) *reporters {
	return &reporters{cfg: cfg, log: log, clk: clk, observer: observer, status: status,
		notifier: report.NewNotifier(clk, log.Named("notify"), status)}
}

// sink returns where the reporters write: local.dir's files, or AWS through env.
func (r *reporters) sink(env *awsenv.Env) report.Sink {
	if r.cfg.Mode == config.ModeLocal || env == nil {
		return &report.LocalSink{Dir: r.cfg.Local.Dir}
	}
	s := &report.AWSSink{CloudWatch: env.CloudWatch(), AutoScaling: env.AutoScaling(), EventBus: r.cfg.Notifications.EventBus}
	if r.cfg.Notifications.EventBridge {
		s.EventBridge = env.EventBridge()
	}
	return s
}

// start runs the reporters for this instance until ctx ends; only the first call does.
func (r *reporters) start(ctx context.Context, in event.Instance, env *awsenv.Env) {
	r.once.Do(func() {
		sink := r.sink(env)
		cfg := r.cfg
		run := func(f func(context.Context)) {
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				f(ctx)
			}()
		}
		run(func(ctx context.Context) { r.notifier.Run(ctx, sink) })
		if cfg.HeartbeatEnabled() && in.InstanceID == r.terminated {
			r.log.Info("no heartbeat: this instance is terminating and its shutdown hooks already ran")
		} else if cfg.HeartbeatEnabled() {
			hb := &report.Heartbeat{Sink: sink, Notifier: r.notifier, Clock: r.clk, Log: r.log.Named("heartbeat"), Status: r.status,
				Instance: in, Namespace: cfg.Heartbeat.Namespace, Interval: cfg.Heartbeat.Interval.D(),
				Periods: cfg.Heartbeat.Alarm.Periods, Action: cfg.Heartbeat.Alarm.Action}
			r.observer.add(hb)
			run(hb.Run)
		}
		// Health runs even with nothing to check yet: a script dropped into hooks.d/health
		// later is picked up at the next round.
		{
			scripts := filepath.Join(cfg.HooksDir, "health")
			runner := &hooks.Runner{PayloadDir: filepath.Join(cfg.StateDir, "health"), LogDir: filepath.Join(cfg.LogDir, "health"),
				KillGrace: cfg.KillGrace.D(), Logger: r.log.Named("health").WithOptions(zap.IncreaseLevel(zap.WarnLevel)), Keep: healthKeep}
			h := &report.Health{Sink: sink, Notifier: r.notifier, Clock: r.clk, Log: r.log.Named("health"), Status: r.status,
				Instance: in, Interval: cfg.Health.Interval.D(), Timeout: cfg.Health.Timeout.D(), Failures: cfg.Health.Failures,
				Checks: cfg.Health.Checks, ScriptsDir: scripts, Runner: runner}
			run(h.Run)
		}
		if len(cfg.Logs.Files) > 0 {
			r.startLogs(ctx, in, env, run)
		}
		defer func() {
			// Everything that runs from now on is built: start-up's code (the SDK's
			// service descriptions above all) can leave the resident set.
			r.log.Debug("start-up code unmapped from the resident set", zap.Int64("bytes_advised", trimCode()))
		}()
		if cfg.MetricsEnabled() {
			m := &report.Metrics{Sink: sink, Clock: r.clk, Log: r.log.Named("metrics"), Status: r.status, Instance: in,
				Namespace: cfg.Metrics.Namespace, Interval: cfg.Metrics.Interval.D(), HighResolution: cfg.Metrics.HighResolution,
				IgnoreFSTypes: cfg.Metrics.IgnoreFileSystems}
			run(m.Run)
		}
	})
}

// startLogs ships the configured files, and the agent's and hooks' logs with them: to
// CloudWatch Logs in mode aws, to local.dir/logs/<group>/<stream>.jsonl in mode local.
func (r *reporters) startLogs(ctx context.Context, in event.Instance, env *awsenv.Env, run func(func(context.Context))) {
	var client logship.LogsClient = &logship.LocalLogs{Dir: filepath.Join(r.cfg.Local.Dir, "logs")}
	if r.cfg.Mode != config.ModeLocal && env != nil {
		client = env.CloudWatchLogs()
	}
	sh, err := logship.NewShipper(logship.ShipperOptions{Config: r.cfg, Instance: in, Client: client, Clock: r.clk,
		Log: r.log.Named("logs"), Status: func(h state.Health) { r.status("logs", h) }})
	if err != nil {
		r.log.Error("log shipping cannot start; fix logs in the config", zap.Error(err))
		r.status("logs", state.Health{LastError: err.Error(), ErrorAt: r.clk.Now().UTC()})
		return
	}
	run(func(ctx context.Context) {
		if err := sh.Run(ctx); err != nil {
			r.log.Error("log shipping stopped with an error", zap.Error(err))
		}
	})
}

// wait returns when every reporter started has stopped.
func (r *reporters) wait() { r.wg.Wait() }

// reporterStatus turns a reporter's status into an engine update.
func reporterStatus(update func(name string, h *state.Health)) report.StatusFunc {
	return func(name string, h state.Health) { update(name, &h) }
}
