package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/cfnpath"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/omitempty"
	"github.com/stackhand/stackhand/internal/state"
)

// run is the event in progress.
type run struct {
	p         state.Pending
	rule      *config.WatchRule // the command rule, nil for hooks.d
	changes   []change
	peers     []event.Instance
	withPeers bool
	dk, fp    string
	cancel    context.CancelFunc
	// cancelled is set when the engine ended the event (shutdown grace or stop).
	cancelled bool
	graceAt   time.Time
	// shutdown marks the shutdown event that ends the agent.
	shutdown bool
}

type finished struct {
	r    *run
	res  hooks.Result
	apps []AppResult
}

func (r *run) covers(c change) bool {
	for _, x := range r.changes {
		if x.key == c.key && bytes.Equal(x.value, c.value) {
			return true
		}
	}
	return false
}

func (r *run) coversPeers(peers []event.Instance) bool {
	return r.withPeers && peerFingerprint(r.peers) == peerFingerprint(peers)
}

// startNext starts the first queued event that still has something to do.
func (e *Engine) startNext() {
	if e.running != nil || e.exit || e.drained || (e.finishing && !e.terminating) {
		return
	}
	// A shutdown does not wait for the sources: the instance may be going away before
	// they have all reported.
	if e.terminating {
		e.startShutdown()
		return
	}
	if e.identity == nil || len(e.awaiting) > 0 {
		return
	}
	dropped := false
	defer func() {
		if dropped && e.running == nil {
			e.save() // launch saves when it starts one
		}
	}()
	for len(e.st.Queue) > 0 {
		p := e.st.Queue[0]
		e.st.Queue = e.st.Queue[1:]
		r := &run{p: p, dk: dedupeKey(p.Kind, p.Rule)}
		if p.Rollback != nil {
			r.dk = dedupeKey(p.Kind, "rollback:"+p.Rollback.App)
			if e.apps == nil || e.cfg.AppByName(p.Rollback.App) == nil {
				e.drop(p, state.Dropped, "app "+p.Rollback.App+" is not in the configuration")
				dropped = true
				continue
			}
			e.launch(r, time.Time{})
			return
		}
		if p.Rule != "" {
			for i := range e.cfg.Watch {
				if e.cfg.Watch[i].Name == p.Rule && e.cfg.Watch[i].Command != "" {
					r.rule = &e.cfg.Watch[i]
				}
			}
			if r.rule == nil {
				e.drop(p, state.Superseded, "watch rule "+p.Rule+" is no longer in the configuration")
				dropped = true
				continue
			}
		}
		for _, c := range e.changes(!p.Explicit) {
			if c.rule.EventFor(c.kind) != p.Kind {
				continue
			}
			if (r.rule == nil && c.rule.Command == "") || (r.rule != nil && c.rule.Name == r.rule.Name) {
				r.changes = append(r.changes, c)
			}
		}
		var fp []string
		for _, c := range r.changes {
			fp = append(fp, c.key+"="+string(c.value))
		}
		if p.Kind == event.Configure && r.rule == nil {
			r.withPeers = true
			r.peers = append([]event.Instance{}, e.peers...)
			if e.peersRead && e.peersChanged() {
				fp = append(fp, "peers="+peerFingerprint(r.peers))
			}
		}
		if p.Kind == event.Setup {
			fp = append(fp, "setup")
		}
		r.fp = strings.Join(fp, "\n")
		if !p.Explicit && r.fp == "" {
			e.drop(p, state.Superseded, "nothing left to do: the change that queued it was undone")
			dropped = true
			continue
		}
		e.launch(r, time.Time{})
		return
	}
}

// drop records a queued event that will not run; the caller saves the state.
func (e *Engine) drop(p state.Pending, result, why string) {
	o := state.Outcome{ID: p.ID, Kind: p.Kind, Rule: p.Rule, Reason: joinReasons(p.Reasons), Trigger: p.Trigger,
		Result: result, End: e.clk.Now().UTC(), Error: why}
	e.log.Info("event not run", zap.String("event", string(p.Kind)), zap.String("event_id", p.ID),
		zap.String("result", result), zap.String("why", why))
	e.st.Record(o)
	e.answer(p.Trigger.Requests, o)
}

func (e *Engine) startShutdown() {
	if e.exit {
		return
	}
	p := state.Pending{ID: e.nextID(event.Shutdown), Kind: event.Shutdown, Reasons: []string{e.shutdownWhy},
		Trigger: event.Trigger{Type: event.TriggerLifecycle, Detail: e.st.Lifecycle.State}, Explicit: true, Queued: e.clk.Now().UTC()}
	if e.shutdownFor == "" {
		p.Trigger = event.Trigger{Type: event.TriggerSystem, Detail: "operating system shutdown"}
	}
	r := &run{p: p, dk: dedupeKey(event.Shutdown, ""), withPeers: true, peers: e.peers, shutdown: true}
	e.launch(r, e.shutdownUntil)
}

// launch starts r's hooks in their own goroutine; the result comes back on e.done. A
// deadline (a shutdown's) bounds them, see shutdownContext; the payload carries it as given.
func (e *Engine) launch(r *run, deadline time.Time) {
	now := e.clk.Now().UTC()
	r.p.Started = now
	if r.fp != "" {
		r.p.Fingerprint = r.fp // a re-run that started before its change was seen keeps its own
	}
	running := r.p
	e.st.Running = &running
	e.save()

	ctx, cancel := e.shutdownContext(deadline)
	r.cancel = cancel
	e.running = r

	payload := e.payload(r, deadline)
	body, err := json.MarshalIndent(payload, "", "  ")
	if err != nil {
		body = []byte("{}")
		e.log.Error("cannot encode the payload", zap.Error(err))
	}
	spec := hooks.Spec{
		Event: r.p.Kind, EventID: r.p.ID, Reason: payload.Reason,
		InstanceID: payload.Instance.InstanceID, Stack: payload.Stack, Region: payload.Region,
		Retry:   r.p.Retry,
		Dir:     filepath.Join(e.cfg.HooksDir, string(r.p.Kind)),
		Env:     e.hookEnv(r),
		Payload: body,
		Timeout: e.cfg.TimeoutFor(r.p.Kind),

		QuietMissingDir: e.cfg.CfnHupOnly,
	}
	if r.rule != nil {
		spec.Command = r.rule.Command
		spec.Name = r.rule.Name
		spec.RunAs = r.rule.RunAs
		if r.rule.Timeout > 0 {
			spec.Timeout = r.rule.Timeout.D()
		}
	}
	e.log.Info("event started", zap.String("event", string(r.p.Kind)), zap.String("event_id", r.p.ID),
		zap.String("reason", payload.Reason), omitempty.Bool("retry", r.p.Retry))
	work := e.appWork(r)
	runner, apps, obs := e.runner, e.apps, e.obs
	if !r.shutdown {
		obs = nil
	}
	cause := event.CauseSystem
	if e.shutdownFor != "" {
		cause = event.ShutdownCause(e.st.Lifecycle.State)
	}
	go func() {
		if obs != nil {
			obs.ShutdownStarted(string(cause), deadline)
		}
		if rb := r.p.Rollback; rb != nil {
			res, result := apps.Rollback(ctx, spec, *e.cfg.AppByName(rb.App), rb.To)
			e.done <- finished{r: r, res: res, apps: []AppResult{result}}
			return
		}
		if len(work) > 0 {
			res, results := apps.Run(ctx, spec, work)
			e.done <- finished{r: r, res: res, apps: results}
			return
		}
		res := runner.Run(ctx, spec)
		if obs != nil {
			obs.ShutdownFinished(res.OK)
		}
		e.done <- finished{r: r, res: res}
	}()
}

// hookEnv is hook_env from the config plus, for a cfn-hup action, CFN_OLD_<FIELD> and
// CFN_NEW_<FIELD> as cfn-hup sets them (a JSON string is given unquoted, anything else as JSON).
func (e *Engine) hookEnv(r *run) []string {
	var env []string
	for k, v := range e.cfg.HookEnv {
		env = append(env, k+"="+v)
	}
	if r.rule == nil || r.rule.Path == "" {
		return env
	}
	p, err := cfnpath.Parse(r.rule.Path)
	if err != nil {
		return env
	}
	suffix := p.Field.EnvSuffix()
	old := e.st.Applied[ruleKey(*r.rule)]
	var cur []byte
	if o, ok := e.observed[r.rule.Name]; ok && o.Present {
		cur = o.Value
	}
	for _, c := range r.changes {
		cur = c.value
	}
	return append(env, "CFN_OLD_"+suffix+"="+cfnEnvValue(old), "CFN_NEW_"+suffix+"="+cfnEnvValue(cur))
}

func cfnEnvValue(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	var s string
	if v[0] == '"' && json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// payload builds what the hooks of r receive.
func (e *Engine) payload(r *run, deadline time.Time) event.Payload {
	var in event.Instance
	if e.identity != nil {
		in = *e.identity
	}
	p := event.Payload{
		Event: r.p.Kind, ID: r.p.ID, Reason: joinReasons(r.p.Reasons), Retry: r.p.Retry,
		Time: e.clk.Now().UTC(), Instance: in, Stack: in.Stack, Region: in.Region,
		Peers: e.peers, Tags: e.tags, Trigger: r.p.Trigger, Deadline: deadline,
		Metadata: []event.Watched{},
	}
	if p.Stack == "" {
		p.Stack = e.cfg.Stack
	}
	if p.Region == "" {
		p.Region = e.cfg.Region
	}
	if r.withPeers {
		p.Peers = r.peers
	}
	if p.Peers == nil {
		p.Peers = []event.Instance{}
	}
	if p.Tags == nil {
		p.Tags = map[string]string{}
	}
	changed := map[string]change{}
	for _, c := range r.changes {
		changed[c.key] = c
	}
	for _, rule := range e.cfg.Watch {
		key := ruleKey(rule)
		w := event.Watched{Rule: rule.Name, Source: "metadata", Path: rule.Path, Old: e.st.Applied[key]}
		switch {
		case rule.Tag != "":
			w.Source, w.Path = "tag", rule.Tag
		case rule.SSM != "":
			w.Source, w.Path = "ssm", rule.SSM
		case rule.Metadata != "":
			w.Path = rule.Metadata
		}
		if o, ok := e.observed[rule.Name]; ok && o.Err == nil && o.Present {
			w.New = o.Value
		} else if !ok {
			w.New = w.Old
		}
		if c, ok := changed[key]; ok {
			w.Change = c.kind
			w.New = c.value
		}
		p.Metadata = append(p.Metadata, w)
	}
	return p
}

// finish takes the result of the running event.
func (e *Engine) finish(f finished) {
	r, res := f.r, f.res
	r.cancel()
	e.running = nil
	e.st.Running = nil
	now := e.clk.Now().UTC()
	o := state.Outcome{ID: r.p.ID, Kind: r.p.Kind, Rule: r.p.Rule, Reason: joinReasons(r.p.Reasons),
		Trigger: r.p.Trigger, Retry: r.p.Retry, Start: r.p.Started, End: now,
		Duration: state.Duration(now.Sub(r.p.Started)), Failed: res.Failed, Tail: res.Tail, Warnings: res.Warnings}
	for _, h := range res.Hooks {
		o.Hooks = append(o.Hooks, state.HookOutcome{Name: h.Name, ExitCode: h.ExitCode, Duration: state.Duration(h.Duration),
			TimedOut: h.TimedOut, Refused: h.Refused, Error: h.Err, LogFile: h.LogFile,
			Builtin: h.Builtin, Changes: h.Changes})
	}
	switch {
	case res.OK:
		o.Result = state.Succeeded
	case r.cancelled:
		o.Result = state.Interrupted
		o.Error = "ended by the agent: " + e.shutdownWhy
	default:
		o.Result = state.Failed
		o.Error = failure(res)
	}
	fields := []zap.Field{zap.String("event", string(o.Kind)), zap.String("event_id", o.ID),
		zap.String("result", o.Result), zap.Duration("duration", now.Sub(r.p.Started))}
	e.appsDone(r, f.apps)
	if res.OK {
		for _, c := range r.changes {
			if c.value == nil {
				delete(e.st.Applied, c.key)
			} else {
				e.st.Applied[c.key] = c.value
			}
		}
		if r.withPeers && !r.shutdown {
			e.st.Peers = r.peers
			e.st.PeersApplied = true
		}
		delete(e.st.Retries, r.dk)
		e.log.Info("event finished", fields...)
	} else {
		fields = append(fields, omitempty.String("failed_hook", o.Failed), zap.String("error", o.Error), omitempty.String("output_tail", o.Tail))
		if !r.shutdown && !r.cancelled {
			automatic := !r.p.Explicit || len(r.changes) > 0 || r.p.Kind == event.Setup
			next := e.failed(r.dk, r.fp, o, automatic)
			if automatic {
				fields = append(fields, zap.Time("retry_after", next.UTC()))
			}
		}
		e.log.Error("event failed", fields...)
	}
	if !r.shutdown && !r.cancelled {
		appFailed := map[string]bool{}
		for _, ar := range f.apps {
			appFailed[ar.App] = !ar.OK
		}
		e.rolloutDone(r, res.OK, o.Error, appFailed)
		e.signal(r, res.OK, o.Error, appFailed)
	}
	e.st.Record(o)
	e.publish()
	e.answer(r.p.Trigger.Requests, o)
	if e.notify != nil {
		e.notify.EventDone(o, e.st.Identity)
	}
	switch {
	case r.shutdown:
		e.st.Lifecycle.ShutdownDone = e.shutdownFor != ""
		e.st.Lifecycle.ShutdownFor = e.shutdownFor
		e.exit = true
		if e.shutdownFor != "" {
			e.drain()
		}
	case r.p.Kind == event.Setup && res.OK:
		e.st.Setup = state.Setup{InstanceID: e.identity.InstanceID, Done: true, At: now, EventID: r.p.ID}
		// OpsWorks: setup includes deploy, and configure runs once the instance is online.
		e.enqueue(pendingSpec{kind: event.Configure, reason: "this instance finished setup and is online",
			explicit: true, trigger: event.Trigger{Type: event.TriggerSetup}}, true)
		e.enqueue(pendingSpec{kind: event.Deploy, reason: "setup is followed by deploy",
			explicit: true, trigger: event.Trigger{Type: event.TriggerSetup}}, true)
	}
	e.save()
}

func failure(res hooks.Result) string {
	for _, h := range res.Hooks {
		if h.Name != res.Failed {
			continue
		}
		switch {
		case h.Refused != "":
			return "hook " + h.Name + " refused: " + h.Refused
		case h.TimedOut:
			return "hook " + h.Name + " timed out and was killed with its process tree"
		case h.Err != "":
			return "hook " + h.Name + ": " + h.Err
		}
		return "hook " + h.Name + " exited with status " + strconv.Itoa(h.ExitCode)
	}
	if res.Err != "" {
		return res.Err
	}
	if res.Failed != "" {
		return "hook " + res.Failed + " failed"
	}
	return "the event failed"
}
