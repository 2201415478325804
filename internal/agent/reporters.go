package agent

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/lifecycle"
	"github.com/stackhand/stackhand/internal/logship"
	"github.com/stackhand/stackhand/internal/metrics"
	"github.com/stackhand/stackhand/internal/report"
	"github.com/stackhand/stackhand/internal/status"
)

// healthKeep is how many health-script runs keep their payload and log.
const healthKeep = 10

// reporterOptions are what the reporters need: the instance, and in mode aws its AWS
// setup (nil in mode local: they write local.dir's files).
type reporterOptions struct {
	cfg      *config.Config
	log      *zap.Logger
	clk      clock.Clock
	status   *status.Registry
	instance event.Instance
	extra    awsenv.Extra // the instance's tags the configuration names, its AMI
	env      *awsenv.Env
	// terminated is the instance whose termination's shutdown hooks already ran (from the
	// state at start): an agent restarted there keeps no heartbeat alarm.
	terminated string
	// onVerdict, when set, is told each change of the health verdict (the fleet view).
	onVerdict func(string)
}

// reporters are the running reporters: the notifier the engine tells each result, and
// the heartbeat whose alarm goes when the instance terminates (nil when off).
type reporters struct {
	notifier  *report.Notifier
	heartbeat *report.Heartbeat
	// shipper and metrics are the log shipping and the metrics, nil when off: the final
	// flush of a terminating instance asks them for what they have left.
	shipper *logship.Shipper
	metrics *report.Metrics
	wg      sync.WaitGroup
}

// startReporters starts the notifier's publishing, the heartbeat, the health checks, the
// metrics and the log shipping for the instance, until ctx ends. Mode aws and mode local
// start the same reporters; only their sink differs.
func startReporters(ctx context.Context, o reporterOptions) *reporters {
	cfg, in := o.cfg, o.instance
	tell := report.StatusFunc(func(name string, c status.Component) { o.status.Reporter(name, c) })
	r := &reporters{notifier: report.NewNotifier(o.clk, o.log.Named("notify"), tell)}
	sink := reporterSink(cfg, o.env)
	run := func(f func(context.Context)) {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			f(ctx)
		}()
	}
	run(func(ctx context.Context) { r.notifier.Run(ctx, sink) })
	if cfg.HeartbeatEnabled() && in.InstanceID == o.terminated {
		o.log.Info("no heartbeat: this instance is terminating and its shutdown hooks already ran")
	} else if cfg.HeartbeatEnabled() {
		r.heartbeat = &report.Heartbeat{Sink: sink, Notifier: r.notifier, Clock: o.clk, Log: o.log.Named("heartbeat"), Status: tell,
			Instance: in, Namespace: cfg.Heartbeat.Namespace, Interval: cfg.Heartbeat.Interval.D(),
			Periods: cfg.Heartbeat.Alarm.Periods, Action: cfg.Heartbeat.Alarm.Action}
		o.status.Expect(status.KindReporter, "heartbeat", cfg.Heartbeat.Interval.D())
		run(r.heartbeat.Run)
	}
	// Health runs even with nothing to check yet: a script dropped into hooks.d/health
	// later is picked up at the next round.
	runner := &hooks.Runner{PayloadDir: filepath.Join(cfg.StateDir, "health"), LogDir: filepath.Join(cfg.LogDir, "health"),
		KillGrace: cfg.KillGrace.D(), Logger: o.log.Named("health").WithOptions(zap.IncreaseLevel(zap.WarnLevel)), Keep: healthKeep}
	h := &report.Health{Sink: sink, Notifier: r.notifier, Clock: o.clk, Log: o.log.Named("health"), Status: tell,
		Instance: in, Interval: cfg.Health.Interval.D(), Timeout: cfg.Health.Timeout.D(), Failures: cfg.Health.Failures,
		Checks: cfg.Health.Checks, ScriptsDir: filepath.Join(cfg.HooksDir, string(event.Health)), Runner: runner,
		OnVerdict: o.onVerdict}
	run(h.Run)
	if len(cfg.Logs.Files) > 0 || len(cfg.Logs.Journald) > 0 || len(cfg.Logs.WindowsEvents) > 0 {
		r.shipper = startLogs(o, tell, run)
	}
	if cfg.MetricsEnabled() {
		dims, missing := appendDims(cfg, in, o.extra)
		if len(missing) > 0 {
			o.log.Warn("metrics.append_dimensions: no value on this instance, so these dimensions are left out", zap.Strings("dimensions", missing))
		}
		m := &report.Metrics{Sink: sink, Clock: o.clk, Log: o.log.Named("metrics"), Status: tell, Instance: in, AppendDims: dims, Aggregate: cfg.Metrics.AggregationDimensions,
			Namespace: cfg.Metrics.Namespace, Interval: cfg.Metrics.Interval.D(), HighResolution: cfg.Metrics.HighResolution,
			Collector: metrics.New(cfg.Metrics.CollectorOptions())}
		o.status.Expect(status.KindReporter, "metrics", cfg.Metrics.Interval.D())
		r.metrics = m
		run(m.Run)
	}
	// Everything that runs from now on is built: start-up's code (the SDK's service
	// descriptions above all) can leave the resident set.
	o.log.Debug("start-up code unmapped from the resident set", zap.Int64("bytes_advised", trimCode()))
	return r
}

// reporterSink returns where the reporters write: local.dir's files, or AWS through env.
func reporterSink(cfg *config.Config, env *awsenv.Env) report.Sink {
	if env == nil {
		return &report.LocalSink{Dir: cfg.Local.Dir}
	}
	s := &report.AWSSink{CloudWatch: env.CloudWatch(), AutoScaling: env.AutoScaling(), EventBus: cfg.Notifications.EventBus}
	if cfg.Notifications.EventBridge {
		s.EventBridge = env.EventBridge()
	}
	return s
}

// startLogs ships the configured files, and the agent's and hooks' logs with them: to
// CloudWatch Logs in mode aws, to local.dir/logs/<group>/<stream>.jsonl in mode local.
func startLogs(o reporterOptions, tell report.StatusFunc, run func(func(context.Context))) *logship.Shipper {
	var client logship.LogsClient = &logship.LocalLogs{Dir: filepath.Join(o.cfg.Local.Dir, "logs")}
	if o.env != nil {
		client = o.env.CloudWatchLogs()
	}
	sh, err := logship.NewShipper(logship.ShipperOptions{Config: o.cfg, Instance: o.instance, Tags: o.extra.Tags, Client: client, Clock: o.clk,
		Log: o.log.Named("logs"), Status: func(c status.Component) { tell("logs", c) }})
	if err != nil {
		o.log.Error("log shipping cannot start; fix logs in the config", zap.Error(err))
		tell("logs", status.Component{LastError: err.Error(), ErrorAt: o.clk.Now().UTC()})
		return nil
	}
	run(func(ctx context.Context) {
		if err := sh.Run(ctx); err != nil {
			o.log.Error("log shipping stopped with an error", zap.Error(err))
		}
	})
	return sh
}

// finalFlush is the observer that ships what the reporters have left once a terminating
// instance's shutdown hooks are done, before the lifecycle action is completed.
func (r *reporters) finalFlush(o reporterOptions) *lifecycle.Flush {
	f := &lifecycle.Flush{Timeout: o.cfg.Lifecycle.FlushTimeout.D(), Clock: o.clk, Log: o.log.Named("lifecycle"),
		Status: func(name string, c status.Component) { o.status.Reporter(name, c) }}
	if r.shipper != nil {
		f.Logs = r.shipper.Flush
	}
	if r.metrics != nil {
		f.Metrics = r.metrics.FlushNow
	}
	return f
}

// wait returns when every reporter started has stopped.
func (r *reporters) wait() { r.wg.Wait() }

// appendDims resolves metrics.append_dimensions for the instance, in name order; nil when
// the section is unset (InstanceId alone). A dimension whose value the instance does not
// have (no Auto Scaling group, a missing tag, a host without an AMI) is left out, since
// CloudWatch takes no empty value, and named in missing.
func appendDims(cfg *config.Config, in event.Instance, ex awsenv.Extra) (dims []report.Dim, missing []string) {
	set := cfg.Metrics.AppendDimensions
	if set == nil {
		return nil, nil
	}
	dims = []report.Dim{}
	for _, name := range slices.Sorted(maps.Keys(set)) {
		var v string
		switch ref := set[name]; ref {
		case "${aws:InstanceId}":
			v = in.InstanceID
		case "${aws:InstanceType}":
			v = in.InstanceType
		case "${aws:ImageId}":
			v = ex.ImageID
		case "${aws:AutoScalingGroupName}":
			v = in.AutoScalingGroup
		default:
			if k, ok := strings.CutPrefix(ref, config.DimTagPrefix); ok {
				v = ex.Tags[strings.TrimSuffix(k, "}")]
			}
		}
		if v == "" {
			missing = append(missing, name)
			continue
		}
		dims = append(dims, report.Dim{Name: name, Value: v})
	}
	return dims, missing
}
