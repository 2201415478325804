package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/engine"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/fleet"
	"github.com/stackhand/stackhand/internal/hooks"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

// simRunner is a simulated agent's hooks: it records when each deploy of a value ran and
// fails the values in fail.
type simRunner struct {
	mu      sync.Mutex
	applied map[string]time.Time // value → when its deploy ran
	fail    map[string]bool
}

func (r *simRunner) Run(_ context.Context, s hooks.Spec) hooks.Result {
	if s.Event != event.Deploy {
		return hooks.Result{OK: true}
	}
	var p event.Payload
	json.Unmarshal(s.Payload, &p)
	v := ""
	for _, m := range p.Metadata {
		if m.Rule == "release" {
			json.Unmarshal(m.New, &v)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.applied[v]; !ok {
		r.applied[v] = time.Now()
	}
	if r.fail[v] {
		return hooks.Result{Failed: "10-app", Err: "simulated failure", Hooks: []hooks.HookResult{{Name: "10-app", ExitCode: 1}}}
	}
	return hooks.Result{OK: true}
}

func (r *simRunner) ran(v string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.applied[v]
	return t, ok
}

// simAgent is one agent of the simulated fleet: the real engine, the real peers source and
// the real fleet view over the real tags store, against the stand-in; only its hooks and
// its metadata source are simulated.
type simAgent struct {
	id     string
	eng    *engine.Engine
	runner *simRunner
}

// BenchmarkFleetRollout100 rolls a release out to 100 simulated agents (three AZs) against
// one stand-in that throttles above 100 calls a second, waves [1, 10%, 50%, 100%], bake one
// interval (2 s): the time until every agent applied it, in intervals (target ≤ waves ×
// (bake + 2 intervals) = 12), the calls per instance-hour during the rollout and after
// it; then the same with one wave-2 agent failing the release: how many agents of waves
// 3 and 4 changed (target 0) within the same time.
func BenchmarkFleetRollout100(b *testing.B) {
	const n = 100
	const interval = 2 * time.Second
	srv := awsfake.Start(b)
	for _, k := range []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_AUTO_SCALING"} {
		b.Setenv(k, "")
	}
	dir := b.TempDir()
	b.Setenv("AWS_ENDPOINT_URL", srv.URL)
	b.Setenv("AWS_ACCESS_KEY_ID", "AKIDSTACKHANDTEST")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "stackhand-test-secret")
	b.Setenv("AWS_REGION", "us-east-1")
	b.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	b.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	b.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	env, err := awsenv.Load(context.Background(), awsenv.Options{Region: "us-east-1"})
	if err != nil {
		b.Fatal(err)
	}
	waves := []fleet.Step{{Count: 1}, {Percent: 10}, {Percent: 50}, {Percent: 100}}
	for _, failing := range []bool{false, true} {
		name := "all-succeed"
		if failing {
			name = "wave-2-agent-fails"
		}
		b.Run(name, func(b *testing.B) {
			var ids []string
			var peers []event.Instance
			for i := range n {
				id := fmt.Sprintf("i-%017x", 0xf1ee7000+i)
				az := fmt.Sprintf("us-east-1%c", 'a'+i%3)
				srv.PutInstance(awsfake.Instance{ID: id, AZ: az, PrivateIP: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)})
				srv.SetTags(id, map[string]string{})
				ids = append(ids, id)
				peers = append(peers, event.Instance{InstanceID: id, AvailabilityZone: az})
			}
			srv.PutGroup(awsfake.Group{Name: "fleet", Instances: awsfake.InService(ids...)})
			order := fleet.Order(peers)
			sizes := fleet.Sizes(waves, n)
			waveOf := map[string]int{}
			for i, p := range order {
				for w, s := range sizes {
					if i < s {
						waveOf[p.InstanceID] = w + 1
						break
					}
				}
			}
			bad := order[sizes[0]].InstanceID // the first of wave 2

			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var agents []*simAgent
			for i, id := range ids {
				a := startSimAgent(b, ctx, &wg, env, id, peers[i], interval, waves, failing && id == bad)
				agents = append(agents, a)
			}
			allRan := func(v string, who func(*simAgent) bool) bool {
				for _, a := range agents {
					if _, ok := a.runner.ran(v); who(a) && !ok {
						return false
					}
				}
				return true
			}
			everyone := func(*simAgent) bool { return true }
			waitFor(b, 5*time.Minute, "setup everywhere", func() bool { return allRan("v1", everyone) })
			// Let the published v1 settle, then roll v2 out.
			settle := time.Now().Add(2 * interval)
			for time.Now().Before(settle) {
				time.Sleep(100 * time.Millisecond)
			}
			srv.SetFaults(awsfake.Faults{ThrottleAbove: 100})
			calls0, t0 := len(srv.CallLog()), time.Now()
			for _, a := range agents {
				a.eng.Update(ctx, source.Update{Source: "metadata", Metadata: map[string]source.Observed{"release": {Present: true, Value: json.RawMessage(`"v2"`)}}})
			}
			limit := time.Duration(len(waves)) * (interval + 2*interval)
			if !failing {
				waitFor(b, 10*limit, "every agent to apply v2", func() bool { return allRan("v2", everyone) })
				var last time.Time
				for _, a := range agents {
					if t, _ := a.runner.ran("v2"); t.After(last) {
						last = t
					}
				}
				took := last.Sub(t0)
				during := len(srv.CallLog()) - calls0
				calls1, t1 := len(srv.CallLog()), time.Now()
				quiet := time.Now().Add(5 * interval)
				for time.Now().Before(quiet) {
					time.Sleep(100 * time.Millisecond)
				}
				after := len(srv.CallLog()) - calls1
				// Per instance and pass (an interval), so that the figure holds at any interval:
				// at the default 60 s, an instance-hour is 60 passes.
				perPass := func(calls int, d time.Duration) float64 {
					return float64(calls) / n / (d.Seconds() / interval.Seconds())
				}
				perHour := func(calls int, d time.Duration) float64 { return perPass(calls, d) * 60 }
				b.ReportMetric(took.Seconds()/interval.Seconds(), "intervals-to-all")
				b.ReportMetric(perPass(during, took), "calls/instance/pass-during")
				b.ReportMetric(perPass(after, time.Since(t1)), "calls/instance/pass-after")
				throttled := 0
				for _, c := range srv.CallLog()[calls0:] {
					if c.Fault != "" {
						throttled++
					}
				}
				b.ReportMetric(float64(throttled), "throttled")
				fmt.Printf("fleet of %d, waves %v, bake 1 interval (%s): every agent applied the release in %.1f intervals (target <= %.0f); calls per instance and pass (peers source and fleet): %.2f during the rollout, %.2f after, i.e. %.0f and %.0f per instance-hour at interval 60s (%d calls throttled)\n",
					n, waves, interval, took.Seconds()/interval.Seconds(), limit.Seconds()/interval.Seconds(), perPass(during, took), perPass(after, time.Since(t1)),
					perHour(during, took), perHour(after, time.Since(t1)), throttled)
			} else {
				deadline := time.Now().Add(limit)
				waitFor(b, 10*limit, "the wave-2 failure", func() bool { _, ok := agentByID(agents, bad).runner.ran("v2"); return ok })
				for time.Now().Before(deadline) {
					time.Sleep(100 * time.Millisecond)
				}
				changed := 0
				for _, a := range agents {
					if _, ok := a.runner.ran("v2"); ok && waveOf[a.id] >= 3 {
						changed++
					}
				}
				b.ReportMetric(float64(changed), "wave-3-4-agents-changed")
				fmt.Printf("fleet of %d with %s (wave 2) failing the release: %d agents of waves 3 and 4 changed within %.0f intervals (target 0)\n", n, bad, changed, limit.Seconds()/interval.Seconds())
			}
			b.ReportMetric(0, "ns/op")
			cancel()
			wg.Wait()
			srv.SetFaults(awsfake.Faults{})
			for _, id := range ids {
				srv.RemoveInstance(id)
			}
			srv.DeleteGroup("fleet")
		})
	}
}

func agentByID(as []*simAgent, id string) *simAgent {
	for _, a := range as {
		if a.id == id {
			return a
		}
	}
	return nil
}

// waitFor polls cond until it holds, failing after limit.
func waitFor(tb testing.TB, limit time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startSimAgent(b *testing.B, ctx context.Context, wg *sync.WaitGroup, env *awsenv.Env, id string, self event.Instance, interval time.Duration, waves []fleet.Step, fail bool) *simAgent {
	dir := filepath.Join(b.TempDir(), id)
	os.MkdirAll(dir, 0o755)
	cfg := config.Default()
	cfg.Mode = config.ModeAWS
	cfg.Interval = config.Duration(interval)
	cfg.HooksDir = filepath.Join(dir, "hooks.d")
	cfg.StateDir = dir
	cfg.Watch = []config.WatchRule{{Name: "release", Metadata: "release",
		Rollout: &config.Rollout{Steps: waves, Bake: config.Duration(interval)}}}
	st, store, _, err := state.Open(dir, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	log := zap.NewNop()
	r := &simRunner{applied: map[string]time.Time{}, fail: map[string]bool{"v2": fail}}
	fv := newFleetView(&fleet.AWSStore{EC2: env.EC2(), ASG: env.AutoScaling()}, id, interval, clock.Real{}, log)
	eng, err := engine.New(engine.Options{Config: cfg, Store: store, State: st, Runner: r, Fleet: fv, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	self.Region, self.AutoScalingGroup = "us-east-1", "fleet"
	peers := &source.AWSPeers{ASG: env.AutoScaling(), EC2: env.EC2(), Group: "fleet", Region: "us-east-1", Clock: clock.Real{}, Interval: interval}
	wg.Add(3)
	go func() { defer wg.Done(); eng.Run(ctx) }()
	go func() { defer wg.Done(); peers.Run(ctx, func(u source.Update) { eng.Update(ctx, u) }) }()
	go func() { defer wg.Done(); fv.Run(ctx, func(u source.Update) { eng.Update(ctx, u) }) }()
	eng.Update(ctx, source.Update{Source: "identity", Identity: &self})
	eng.Update(ctx, source.Update{Source: "metadata", Metadata: map[string]source.Observed{"release": {Present: true, Value: json.RawMessage(`"v1"`)}}})
	return &simAgent{id: id, eng: eng, runner: r}
}
