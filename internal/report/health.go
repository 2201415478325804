package report

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/status"
)

// ScriptsCheck is the name of the check made of the executables in hooks.d/health/.
const ScriptsCheck = "hooks.d/health"

// Verdict statuses.
const (
	Healthy         = "healthy"
	Failing         = "failing"
	Unhealthy       = "unhealthy"
	MarkedUnhealthy = "marked-unhealthy"
)

// Health runs the health checks every interval. After Failures failed rounds in a row
// the instance is unhealthy: in an Auto Scaling group it marks itself Unhealthy there
// (once, respecting the group's grace period), so the group replaces it; outside a group
// it only reports. Every change of verdict is logged, kept in the state for `stackhand
// status` and notified.
type Health struct {
	Sink     Sink
	Notifier *Notifier // may be nil
	Clock    clock.Clock
	Log      *zap.Logger
	Status   StatusFunc // may be nil
	Instance event.Instance
	Interval time.Duration
	Timeout  time.Duration
	Failures int
	Checks   []config.HealthCheck
	// ScriptsDir is hooks.d/health; its executables run one after the other, each bounded
	// by Timeout, through Runner (ownership and mode checked as for every hook).
	ScriptsDir string
	Runner     *hooks.Runner
	// HTTPClient makes the HTTP checks; a client that follows no redirect when nil.
	HTTPClient *http.Client
	// OnVerdict, when set, is told each change of verdict (the fleet publishes it).
	OnVerdict func(status string)

	seq      int
	failures int
	verdict  string
	marked   bool
	checks   map[string]*status.Check
	health   status.Component
	markErr  string
	initOnce sync.Once
}

func (h *Health) init() {
	h.initOnce.Do(func() {
		h.checks = map[string]*status.Check{}
		if h.HTTPClient == nil {
			h.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		}
	})
}

// Run checks every Interval, the first round at once, until ctx ends.
func (h *Health) Run(ctx context.Context) {
	h.init()
	for {
		h.Round(ctx)
		if !clock.Sleep(ctx, h.Clock, h.Interval) {
			return
		}
	}
}

// result is one check's outcome in a round.
type result struct {
	name string
	err  error
}

// Round runs every check once, concurrently, and acts on the verdict.
func (h *Health) Round(ctx context.Context) {
	h.init()
	var results []result
	var mu sync.Mutex
	var wg sync.WaitGroup
	add := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f(ctx)
			mu.Lock()
			results = append(results, result{name, err})
			mu.Unlock()
		}()
	}
	for _, c := range h.Checks {
		switch {
		case c.HTTP != "":
			add(c.Name, func(ctx context.Context) error { return h.httpCheck(ctx, c.HTTP) })
		case c.TCP != "":
			add(c.Name, func(ctx context.Context) error { return h.tcpCheck(ctx, c.TCP) })
		}
	}
	if h.ScriptsDir != "" && h.Runner != nil && h.hasScripts() {
		h.seq++
		id := fmt.Sprintf("health-%06d", h.seq%1000000)
		add(ScriptsCheck, func(ctx context.Context) error { return h.scripts(ctx, id) })
	}
	wg.Wait()
	if ctx.Err() != nil || len(results) == 0 {
		return
	}
	h.judge(ctx, results)
}

func (h *Health) hasScripts() bool {
	hs, _, err := hooks.List(h.ScriptsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return true // let the runner report what is wrong with the directory
	}
	return len(hs) > 0
}

func (h *Health) httpCheck(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "stackhand-health")
	resp, err := h.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("GET %s: no answer within %s", url, h.Timeout)
		}
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return nil
}

func (h *Health) tcpCheck(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: h.Timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

func (h *Health) scripts(ctx context.Context, id string) error {
	res := h.Runner.Run(ctx, hooks.Spec{Event: event.Health, EventID: id, Reason: "health check",
		InstanceID: h.Instance.InstanceID, Stack: h.Instance.Stack, Region: h.Instance.Region,
		Dir: h.ScriptsDir, Timeout: h.Timeout, Payload: []byte(`{"event":"health"}`)})
	if res.OK {
		return nil
	}
	if res.Err != "" {
		return errors.New(res.Err)
	}
	for _, hr := range res.Hooks {
		if hr.OK() {
			continue
		}
		var why string
		switch {
		case hr.TimedOut:
			why = fmt.Sprintf("timed out after %s and was killed", h.Timeout)
		case hr.Refused != "":
			why = "refused: " + hr.Refused
		case hr.Err != "":
			why = hr.Err
		case hr.Signal != "":
			why = "ended by signal " + hr.Signal
		default:
			why = fmt.Sprintf("exited %d", hr.ExitCode)
			if tail := lastLine(res.Tail); tail != "" {
				why += ": " + tail
			}
		}
		return fmt.Errorf("%s %s", hr.Name, why)
	}
	return fmt.Errorf("%s failed", res.Failed)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// judge folds a round's results into the verdict and acts on it.
func (h *Health) judge(ctx context.Context, results []result) {
	now := h.Clock.Now().UTC()
	var failed []string
	for _, r := range results {
		c := h.checks[r.name]
		if c == nil {
			c = &status.Check{Name: r.name}
			h.checks[r.name] = c
		}
		c.LastRun = now
		if r.err == nil {
			c.OK, c.Failures, c.LastError = true, 0, ""
			continue
		}
		c.OK, c.LastError = false, r.err.Error()
		c.Failures++
		failed = append(failed, r.name+": "+r.err.Error())
	}
	prev := h.verdict
	if len(failed) == 0 {
		h.failures = 0
		h.marked = false
		h.verdict = Healthy
	} else {
		h.failures++
		h.verdict = Failing
		if h.failures >= h.Failures {
			h.verdict = Unhealthy
		}
	}
	switch {
	case h.verdict == Healthy && prev != Healthy && prev != "":
		h.Log.Info("health checks pass again")
	case h.verdict == Failing:
		h.Log.Warn("health check failed", zap.Int("in_a_row", h.failures), zap.Int("unhealthy_at", h.Failures),
			zap.Strings("failed", failed))
	case h.verdict == Unhealthy && prev != Unhealthy:
		h.Log.Error("the instance is unhealthy: its health checks failed too many times in a row",
			zap.Int("in_a_row", h.failures), zap.Strings("failed", failed))
	}
	if h.verdict != prev {
		h.notify(h.verdict)
	}
	if h.verdict == Unhealthy && !h.marked {
		h.mark(ctx)
	}
	h.publish(now, failed)
}

// mark reports the instance Unhealthy to its Auto Scaling group, once; a failed call is
// tried again at the next failed round.
func (h *Health) mark(ctx context.Context) {
	if h.Instance.AutoScalingGroup == "" {
		h.marked = true
		h.Log.Warn("not in an Auto Scaling group: the unhealthy verdict is only reported")
		return
	}
	err := h.Sink.SetUnhealthy(ctx, h.Instance.InstanceID)
	if err != nil {
		// Logged once: within the grace period the refusal repeats every round, each
		// time with the instance's new age in it.
		if h.markErr == "" {
			h.Log.Error("cannot mark the instance Unhealthy in its Auto Scaling group; trying again at each round",
				zap.String("group", h.Instance.AutoScalingGroup), zap.Error(err))
		}
		h.markErr = err.Error()
		return
	}
	h.marked, h.markErr = true, ""
	h.Log.Error("marked the instance Unhealthy in its Auto Scaling group; the group will replace it",
		zap.String("group", h.Instance.AutoScalingGroup), zap.String("instance", h.Instance.InstanceID))
	h.notify(MarkedUnhealthy)
}

func (h *Health) sortedChecks() []status.Check {
	out := make([]status.Check, 0, len(h.checks))
	for _, c := range h.Checks {
		if s := h.checks[c.Name]; s != nil {
			out = append(out, *s)
		}
	}
	if s := h.checks[ScriptsCheck]; s != nil {
		out = append(out, *s)
	}
	return out
}

func (h *Health) notify(status string) {
	if h.OnVerdict != nil {
		h.OnVerdict(status)
	}
	if h.Notifier == nil {
		return
	}
	h.Notifier.Notify(Notification{Kind: KindHealth, Instance: h.Instance,
		Health: &Verdict{Status: status, Failures: h.failures, Checks: h.sortedChecks()}})
}

func (h *Health) publish(now time.Time, failed []string) {
	hs := status.Component{Checks: h.sortedChecks(), LastOK: h.health.LastOK, ErrorAt: h.health.ErrorAt}
	status := h.verdict
	if h.verdict == Unhealthy && h.marked && h.Instance.AutoScalingGroup != "" {
		status = MarkedUnhealthy
	}
	hs.Detail = fmt.Sprintf("%s; %d failed round(s) in a row, unhealthy at %d", status, h.failures, h.Failures)
	if len(failed) == 0 {
		hs.LastOK = now
	} else {
		hs.LastError, hs.ErrorAt = strings.Join(failed, "; "), now
	}
	if h.markErr != "" {
		hs.LastError += "; cannot mark Unhealthy: " + h.markErr
	}
	h.health = hs
	h.Status.tell("health", hs)
}

// Verdict returns the current verdict ("" before the first round).
func (h *Health) Verdict() string { return h.verdict }
