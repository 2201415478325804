package source_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/cfnpath"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// The benchmarks here count what the AWS sources cost AWS: API calls per instance-hour
// (BenchmarkAWSCallsPerHour, on a fake clock) and a fleet of agents against one throttling
// stand-in (BenchmarkAWSFleet, on the real clock). They build their clients the way the
// agent does (awsenv.Load: standard retry mode, endpoints from AWS_ENDPOINT_URL and
// AWS_EC2_METADATA_SERVICE_ENDPOINT), print figures with b.ReportMetric and fmt.Printf,
// and never fail on a number. Run them with `make bench`.

const benchInstance = "i-0123456789abcdef0" // the metadata mock's default instance id

// benchEnv points the SDK at the stand-in and IMDS at imdsURL, with static credentials
// from the environment and nothing read from the machine, and loads the agent's AWS setup.
func benchEnv(b *testing.B, awsURL, imdsURL string) *awsenv.Env {
	b.Helper()
	dir := b.TempDir()
	for _, k := range []string{
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_EC2_METADATA_DISABLED",
		"AWS_ENDPOINT_URL_CLOUDFORMATION", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_AUTO_SCALING",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
		"AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_NEW_RETRIES_2026", "AWS_CA_BUNDLE",
	} {
		b.Setenv(k, "")
		os.Unsetenv(k)
	}
	b.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	b.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	b.Setenv("AWS_ACCESS_KEY_ID", "AKIDBENCH")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	b.Setenv("AWS_ENDPOINT_URL", awsURL)
	b.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imdsURL)
	env, err := awsenv.Load(context.Background(), awsenv.Options{Region: "us-east-1"})
	if err != nil {
		b.Fatalf("load the AWS setup: %v", err)
	}
	return env
}

// imdsCounts returns the requests the metadata mock was asked so far, by "METHOD /path".
func imdsCounts(m *imdsmock.Mock) map[string]int {
	out := map[string]int{}
	for _, r := range m.Requests() {
		out[r.Method+" "+r.Path]++
	}
	return out
}

// diff returns after minus before, leaving out zeros.
func diff(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func fmtCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// hourStep is how far the fake clock moves at a time. The poll loop re-arms its timer
// after the pass, at the clock's reading then (the end of the step), so each pass can
// start up to one step late: at most 10 ms in a 54–66 s wait.
const hourStep = 10 * time.Millisecond

// hourRun is what one source did over simulated time.
type hourRun struct {
	passes [2]int            // passes started in hour 1 (with the start-up pass at t=0) and in hour 2
	errs   int               // passes whose Update carried an error
	calls  [2]map[string]int // stand-in calls per "service:Action", per hour
	imds   [2]map[string]int // IMDS requests per "METHOD /path", per hour
}

// simulateHours runs the source made by mk on a fake clock through two simulated hours,
// moving the clock only once the source has armed its next timer (so each pass finishes
// before time moves on), and counts its passes, stand-in calls and IMDS requests per hour.
func simulateHours(b *testing.B, srv *awsfake.Server, md *imdsmock.Mock, mk func(clock.Clock) source.Source) hourRun {
	b.Helper()
	fake := clock.NewFake(time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var passes, errs atomic.Int64
	done := make(chan struct{})
	var run hourRun
	c0, m0 := srv.CallCounts(), imdsCounts(md)
	go func() {
		defer close(done)
		_ = mk(fake).Run(ctx, func(u source.Update) {
			passes.Add(1)
			if u.Err != nil {
				errs.Add(1)
			}
		})
	}()
	armed := func() {
		deadline := time.Now().Add(30 * time.Second)
		for fake.Pending() == 0 {
			if time.Now().After(deadline) {
				b.Fatalf("the source armed no timer within 30 s of a pass")
			}
			time.Sleep(20 * time.Microsecond)
		}
	}
	var p0 int
	for h := range 2 {
		// Passes that start in [h, h+1) hours.
		for elapsed := time.Duration(0); elapsed+hourStep < time.Hour; elapsed += hourStep {
			armed()
			fake.Advance(hourStep)
		}
		armed()
		c1, m1 := srv.CallCounts(), imdsCounts(md)
		run.calls[h], run.imds[h] = diff(c0, c1), diff(m0, m1)
		run.passes[h] = int(passes.Load()) - p0
		c0, m0, p0 = c1, m1, int(passes.Load())
		if h == 0 {
			fake.Advance(hourStep) // the hour's last 10 ms
		}
	}
	cancel()
	<-done
	run.errs = int(errs.Load())
	return run
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtInts(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strings.Join(parts, " ")
}

// BenchmarkAWSCallsPerHour counts, with the stand-in's call counters, the AWS API calls
// each AWS source makes per instance-hour at the production interval of 60 s (±10 %
// jitter), and the IMDS requests of the sources that read IMDS. Each source runs alone on
// a fake clock through two simulated hours, for a few jitter seeds: hour 1 holds the
// start-up pass at t=0, hour 2 is a later, steady hour.
//
//   - metadata: three rules, two on resource Web (Metadata.release, Metadata.config) and
//     one on resource Db (Metadata.schema): DescribeStacks each pass, and one
//     DescribeStackResource per resource on the first pass and after a stack update.
//   - tags: the IMDS mode (instance tags in metadata: no API call) and the DescribeTags
//     fallback (tags not in metadata: IMDS answers 404 once, then DescribeTags each pass).
//   - peers: an Auto Scaling group of 5 InService instances that stays the same, and the
//     stack-tag mode (no group: 5 running instances with the stack's tag).
//   - lifecycle: IMDS only, at its own interval (lifecycle.poll_interval, default 5 s).
func BenchmarkAWSCallsPerHour(b *testing.B) {
	srv := awsfake.Start(b)
	srv.PutResource("app", awsfake.Resource{LogicalID: "Web", Metadata: `{"release":"v1","config":{"port":80}}`})
	srv.PutResource("app", awsfake.Resource{LogicalID: "Db", Metadata: `{"schema":"3"}`})
	peers := []string{"i-00000000000000001", "i-00000000000000002", "i-00000000000000003", "i-00000000000000004", "i-00000000000000005"}
	for n, id := range peers {
		srv.PutInstance(awsfake.Instance{ID: id, PrivateIP: fmt.Sprintf("10.0.1.%d", 10+n),
			Tags: map[string]string{"aws:cloudformation:stack-name": "app", "aws:autoscaling:groupName": "web"}})
	}
	srv.PutInstance(awsfake.Instance{ID: benchInstance, Tags: map[string]string{"Role": "web", "Release": "v1"}})
	srv.PutGroup(awsfake.Group{Name: "web", Instances: awsfake.InService(peers...)})

	withTags := imdsmock.Start(b, imdsmock.Config{Tags: map[string]string{"Role": "web", "Release": "v1"}})
	noTags := imdsmock.Start(b, imdsmock.Config{})
	envTags := benchEnv(b, srv.URL, withTags.URL)
	envNoTags := benchEnv(b, srv.URL, noTags.URL)

	rule := func(name, path string) source.MetadataRule {
		p, err := cfnpath.Parse(path)
		if err != nil {
			b.Fatal(err)
		}
		return source.MetadataRule{Name: name, Path: p}
	}
	rules := []source.MetadataRule{
		rule("release", "Resources.Web.Metadata.release"),
		rule("config", "Resources.Web.Metadata.config"),
		rule("schema", "Resources.Db.Metadata.schema"),
	}
	const interval = time.Minute
	seeds := []uint64{1, 2, 3, 4, 5}
	if s := os.Getenv("STACKHAND_BENCH_SEEDS"); s != "" {
		n, _ := strconv.Atoi(s)
		seeds = seeds[:max(1, min(n, len(seeds)))]
	}

	type scenario struct {
		name, metric string
		md           *imdsmock.Mock
		once         bool // no jitter: run once
		mk           func(clk clock.Clock, jitter func() float64) source.Source
	}
	scenarios := []scenario{
		{name: "metadata (3 rules on 2 resources: Web ×2, Db ×1)", metric: "metadata-calls/h", md: withTags,
			mk: func(clk clock.Clock, j func() float64) source.Source {
				return &source.AWSMetadata{CFN: envTags.CloudFormation(), Stack: "app", Rules: rules, Clock: clk, Interval: interval, Jitter: j}
			}},
		{name: "metadata (1 rule on 1 resource: Web)", metric: "metadata-1res-calls/h", md: withTags,
			mk: func(clk clock.Clock, j func() float64) source.Source {
				return &source.AWSMetadata{CFN: envTags.CloudFormation(), Stack: "app", Rules: rules[:1], Clock: clk, Interval: interval, Jitter: j}
			}},
		{name: "tags, IMDS mode (2 tags in metadata)", metric: "tags-imds-calls/h", md: withTags,
			mk: func(clk clock.Clock, j func() float64) source.Source {
				return source.AWSTags{IMDS: envTags.IMDS(), EC2: envTags.EC2(), InstanceID: benchInstance, Clock: clk, Interval: interval, Jitter: j}
			}},
		{name: "tags, DescribeTags fallback (tags not in metadata)", metric: "tags-ec2-calls/h", md: noTags,
			mk: func(clk clock.Clock, j func() float64) source.Source {
				return source.AWSTags{IMDS: envNoTags.IMDS(), EC2: envNoTags.EC2(), InstanceID: benchInstance, Clock: clk, Interval: interval, Jitter: j}
			}},
		{name: "peers, Auto Scaling group of 5, steady", metric: "peers-asg-calls/h", md: withTags,
			mk: func(clk clock.Clock, j func() float64) source.Source {
				return &source.AWSPeers{ASG: envTags.AutoScaling(), EC2: envTags.EC2(), Group: "web", Region: "us-east-1", Clock: clk, Interval: interval, Jitter: j}
			}},
		{name: "peers, by stack tag (no group), 5 running", metric: "peers-stack-calls/h", md: withTags,
			mk: func(clk clock.Clock, j func() float64) source.Source {
				return &source.AWSPeers{ASG: envTags.AutoScaling(), EC2: envTags.EC2(), Stack: "app", Region: "us-east-1", Clock: clk, Interval: interval, Jitter: j}
			}},
		{name: "lifecycle (IMDS, every 5 s, no jitter)", metric: "lifecycle-calls/h", md: withTags, once: true,
			mk: func(clk clock.Clock, _ func() float64) source.Source {
				return source.AWSLifecycle{IMDS: envTags.IMDS(), Clock: clk}
			}},
	}

	fmt.Printf("AWS API calls per instance-hour at interval %s ±10 %% (stand-in call counters; fake clock; seeds %v)\n", interval, seeds)
	for _, sc := range scenarios {
		var h1, h2, p1, p2, i1, i2 []float64
		var last hourRun
		runs := seeds
		if sc.once {
			runs = seeds[:1]
		}
		for _, seed := range runs {
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			run := simulateHours(b, srv, sc.md, func(clk clock.Clock) source.Source { return sc.mk(clk, rng.Float64) })
			if run.errs > 0 {
				fmt.Printf("  %s: seed %d: %d passes reported an error\n", sc.name, seed, run.errs)
			}
			h1 = append(h1, float64(total(run.calls[0])))
			h2 = append(h2, float64(total(run.calls[1])))
			p1 = append(p1, float64(run.passes[0]))
			p2 = append(p2, float64(run.passes[1]))
			i1 = append(i1, float64(total(run.imds[0])))
			i2 = append(i2, float64(total(run.imds[1])))
			last = run
		}
		b.ReportMetric(median(h1), sc.metric)
		fmt.Printf("  %-52s API calls/h: hour 1 median %g [%s], hour 2 median %g [%s]; passes/h %s | %s; IMDS requests/h %g | %g\n",
			sc.name, median(h1), fmtInts(h1), median(h2), fmtInts(h2), fmtInts(p1), fmtInts(p2), median(i1), median(i2))
		fmt.Printf("  %-52s   hour 1 (last seed): calls %s; IMDS %s\n", "", fmtCounts(last.calls[0]), fmtCounts(last.imds[0]))
		if sc.once {
			b.ReportMetric(median(i1), "lifecycle-imds-req/h")
		}
	}
	fmt.Printf("  the jitter: each wait is 60 s × U(0.9, 1.1), drawn independently; passes in [0, 1 h) = 1 (t=0) + the waits\n" +
		"  that fit: 55 if every wait were 66 s, 67 if every wait were 54 s, but 60 waits of mean 60 s sum to 1 h ± 27 s\n" +
		"  (one standard deviation), so hour 1 holds 60 or 61 passes and a later hour 60 ± 1.\n")
	b.ReportMetric(0, "ns/op")
}

// fleetAgent is one simulated agent of BenchmarkAWSFleet.
type fleetAgent struct {
	first  atomic.Int64    // ns from the start to the first pass that read the value; 0: none yet
	seen   [2]atomic.Int64 // per change: ns from the change to the first pass that read it; 0: not yet
	passes atomic.Int64
	thrPas atomic.Int64 // passes that ended throttled (every attempt of the SDK throttled)
}

// fleetChange is one metadata change of BenchmarkAWSFleet and what the fleet did after it.
type fleetChange struct {
	value string // the new value, as its canonical JSON
	at    atomic.Int64
	start time.Time
	end   time.Time
}

// fleetPhase is what the stand-in's call log holds for one stretch of the run.
type fleetPhase struct{ calls, throttled, retries int }

// BenchmarkAWSFleet runs a fleet of metadata sources (1,000 by default), each with its
// own SDK setup as each agent has one (awsenv.Load: its own CloudFormation client, its
// own standard retryer with its own client-side retry quota, its own HTTP transport and
// keep-alive connection), against one stand-in that throttles above 100 calls/s, on the
// real clock with the interval scaled down (20 s by default; 1,000 agents then average
// 50 calls/s, three times the load of the 60 s production interval). All agents start at
// once: a thundering herd.
//
// The watched metadata changes twice: after one interval (while the herd's throttled
// agents are still backing off) and again one interval after every agent has seen the
// first change (or 4 intervals passed): a settled fleet. For each change and agent it
// measures the time until one of the agent's Updates carries the new value, and moves on
// when every agent has seen it or 4 intervals have passed, so the run ends by itself
// within 10 intervals.
//
// STACKHAND_BENCH_AGENTS and STACKHAND_BENCH_INTERVAL change the size and the interval.
func BenchmarkAWSFleet(b *testing.B) {
	agents := 1000
	interval := 20 * time.Second
	if v, err := strconv.Atoi(os.Getenv("STACKHAND_BENCH_AGENTS")); err == nil && v > 0 {
		agents = v
	}
	if v, err := time.ParseDuration(os.Getenv("STACKHAND_BENCH_INTERVAL")); err == nil && v > 0 {
		interval = v
	}
	const limit = 100.0 // calls per second the stand-in answers before it throttles
	srv := awsfake.Start(b)
	srv.SetMetadata("app", "Web", `{"release":"v1"}`)
	srv.SetFaults(awsfake.Faults{ThrottleAbove: limit, Seed: 21})

	p, err := cfnpath.Parse("Resources.Web.Metadata.release")
	if err != nil {
		b.Fatal(err)
	}
	rules := []source.MetadataRule{{Name: "release", Path: p}}

	// One SDK setup per agent, as each agent process has its own. Nothing here calls IMDS
	// (region configured, credentials from the environment): it points at a closed port.
	loadStart := time.Now()
	sources := make([]*source.AWSMetadata, agents)
	for i := range sources {
		var env *awsenv.Env
		if i == 0 {
			env = benchEnv(b, srv.URL, "http://127.0.0.1:1")
		} else if env, err = awsenv.Load(context.Background(), awsenv.Options{Region: "us-east-1"}); err != nil {
			b.Fatal(err)
		}
		sources[i] = &source.AWSMetadata{CFN: env.CloudFormation(), Stack: "app", Rules: rules, Interval: interval}
	}
	loadTime := time.Since(loadStart)
	runtime.GC()

	isThrottle := retry.IsErrorThrottles(retry.DefaultThrottles)
	fleet := make([]fleetAgent, agents)
	changes := []*fleetChange{{value: `"v2"`}, {value: `"v3"`}}
	var otherErrs atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for i := range sources {
		a := &fleet[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = sources[i].Run(ctx, func(u source.Update) {
				now := time.Now()
				a.passes.Add(1)
				switch {
				case u.Err == nil:
				case isThrottle.IsErrorThrottle(u.Err) == aws.TrueTernary:
					a.thrPas.Add(1)
				default:
					if otherErrs.Add(1) == 1 {
						fmt.Printf("  agent %d: %v\n", i, u.Err)
					}
				}
				o, ok := u.Metadata["release"]
				if !ok || !o.Present {
					return
				}
				a.first.CompareAndSwap(0, int64(now.Sub(start)))
				for n, c := range changes {
					if at := c.at.Load(); at != 0 && string(o.Value) == c.value {
						a.seen[n].CompareAndSwap(0, max(1, now.UnixNano()-at))
					}
				}
			})
		}()
	}

	// Goroutines and heap are sampled while it runs.
	var peakG int
	var peakHeap uint64
	wait := func(d time.Duration, until func() bool) {
		end := time.Now().Add(d)
		for time.Now().Before(end) && (until == nil || !until()) {
			peakG = max(peakG, runtime.NumGoroutine())
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
			time.Sleep(250 * time.Millisecond)
		}
	}
	read := 0
	for n, c := range changes {
		wait(interval, nil)
		if n == 0 {
			for i := range fleet {
				if fleet[i].first.Load() != 0 {
					read++
				}
			}
		}
		c.start = time.Now()
		c.at.Store(c.start.UnixNano())
		srv.SetMetadata("app", "Web", `{"release":`+c.value+`}`)
		wait(4*interval, func() bool {
			for i := range fleet {
				if fleet[i].seen[n].Load() == 0 {
					return false
				}
			}
			return true
		})
		c.end = time.Now()
	}
	end := time.Now()
	cancel()
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		fmt.Printf("  some agents had not stopped 30 s after the end\n")
	}

	// The call log, in stretches: the start-up interval, each change until all saw it, the rest.
	log := srv.CallLog()
	phaseOf := func(from, to time.Time) fleetPhase {
		var ph fleetPhase
		for _, c := range log {
			if c.Time.Before(from) || !c.Time.Before(to) {
				continue
			}
			ph.calls++
			if c.ErrorCode != "" {
				ph.throttled++
			}
			if c.Attempt > 1 {
				ph.retries++
			}
		}
		return ph
	}
	perSecond := map[int64]int{}
	for _, c := range log {
		perSecond[int64(c.Time.Sub(start)/time.Second)]++
	}
	peak := 0
	for _, n := range perSecond {
		peak = max(peak, n)
	}
	all := phaseOf(start, end.Add(time.Minute))
	var passes, thrPasses int64
	for i := range fleet {
		passes += fleet[i].passes.Load()
		thrPasses += fleet[i].thrPas.Load()
	}

	fmt.Printf("fleet: %d metadata sources, interval %s ±10 %%, one stand-in throttling above %.0f calls/s, all started at once\n",
		agents, interval, limit)
	up := phaseOf(start, changes[0].start)
	fmt.Printf("  setup: %d awsenv.Load in %s; start-up interval: %d calls (%.2f per agent), %d throttled, %d SDK retries (attempt > 1), peak %d calls in one second; %d/%d agents had read the metadata\n",
		agents, loadTime.Round(time.Millisecond), up.calls, float64(up.calls)/float64(agents), up.throttled, up.retries, peak, read, agents)
	for n, c := range changes {
		var lat []float64 // in intervals; an agent that never saw the change counts as +Inf
		within := 0
		for i := range fleet {
			s := fleet[i].seen[n].Load()
			if s == 0 {
				lat = append(lat, math.Inf(1))
				continue
			}
			x := float64(s) / float64(interval)
			lat = append(lat, x)
			if x <= 3 {
				within++
			}
		}
		sort.Float64s(lat)
		pct := func(q float64) float64 { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
		share := 100 * float64(within) / float64(agents)
		ph := phaseOf(c.start, c.end)
		what := []string{"after 1 interval (herd still backing off)", "on the settled fleet"}[n]
		fmt.Printf("  change %d, %s: seen within 3 intervals by %d/%d = %.1f %%; time to see it in intervals: median %.2f, p90 %.2f, p99 %.2f, max %.2f; until all saw it (%s): %d calls (%.2f per agent per interval), %d throttled, %d SDK retries\n",
			n+1, what, within, agents, share, pct(0.5), pct(0.9), pct(0.99), lat[len(lat)-1],
			c.end.Sub(c.start).Round(100*time.Millisecond), ph.calls, float64(ph.calls)/float64(agents)/(float64(c.end.Sub(c.start))/float64(interval)),
			ph.throttled, ph.retries)
		suffix := []string{"", "-settled"}[n]
		b.ReportMetric(share, "%-within-3-intervals"+suffix)
		b.ReportMetric(pct(0.5), "median-intervals"+suffix)
		b.ReportMetric(pct(0.99), "p99-intervals"+suffix)
	}
	fmt.Printf("  whole run %s: %d calls, %d throttled, %d SDK retries; %d passes, %d of them throttled to the end (the source then waits 1–3 intervals)\n",
		end.Sub(start).Round(time.Second), all.calls, all.throttled, all.retries, passes, thrPasses)
	if n := otherErrs.Load(); n > 0 {
		fmt.Printf("  %d passes failed with an error other than throttling (the first is above)\n", n)
	}
	fmt.Printf("  peak goroutines %d, peak heap in use %.0f MiB\n", peakG, float64(peakHeap)/(1<<20))
	b.ReportMetric(float64(all.calls), "calls")
	b.ReportMetric(float64(all.throttled), "throttled-calls")
	b.ReportMetric(float64(all.retries), "sdk-retries")
	b.ReportMetric(float64(thrPasses), "throttled-passes")
	b.ReportMetric(0, "ns/op")
}
