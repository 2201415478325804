//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// idleAWSConfig is everything of mode aws that runs while nothing happens: one metadata
// watch rule (the sources' 60 s interval), one followed log file, the heartbeat (on by
// default in mode aws), the metrics (default set) and the lifecycle poll (always on in
// mode aws, every 5 s by default).
const idleAWSConfig = watchRelease + `metrics:
  enabled: true
logs:
  files:
    - file_path: %s
      log_group_name: /bench/idle
`

// BenchmarkIdleAWS measures what the agent costs while nothing happens in mode aws, with
// everything that runs while idle on (idleAWSConfig): after a settle period, over
// windows of STACKHAND_BENCH_IDLE_WINDOW (20 s) × STACKHAND_BENCH_IDLE_WINDOWS (3), it
// reports the agent's CPU as % of one core (from the kernel's run time of each of its
// threads, /proc/<pid>/task/*/schedstat, and from utime+stime, which count in 10 ms
// ticks), its wake-ups per minute (context switches, voluntary and not, of all its
// threads), and the IMDS requests, TCP connections to IMDS and AWS calls (by action) per
// hour, scaled from the whole measurement. Target: ≤ 0.05 % of a core.
func BenchmarkIdleAWS(b *testing.B) {
	window := 20 * time.Second
	windows := 3
	if v := os.Getenv("STACKHAND_BENCH_IDLE_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		window = d
	}
	if v := os.Getenv("STACKHAND_BENCH_IDLE_WINDOWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		windows = n
	}
	const settle = 15 * time.Second

	logPath := filepath.Join(b.TempDir(), "quiet.log")
	if err := os.WriteFile(logPath, []byte("one line before the agent starts\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	w := newAWSBenchWorld(b, fmt.Sprintf(idleAWSConfig, logPath))
	a := startReleaseAWS(b, w)
	pid := a.cmd.Process.Pid
	w.within(time.Minute, "the quiet file's line at the stand-in", a, func() bool {
		return w.aws.LogEventCount("/bench/idle", awsInstance) >= 1
	})
	time.Sleep(settle)

	type sample struct {
		at        time.Time
		runNS     int64
		ticks     float64
		switches  int64
		imdsReqs  int
		imdsConns int
		calls     int
	}
	take := func() sample {
		run, sw := taskTotals(b, pid)
		return sample{at: time.Now(), runNS: run, ticks: cpuSeconds(b, pid), switches: sw,
			imdsReqs: len(w.imds.Requests()), imdsConns: w.imds.Conns(), calls: len(w.aws.CallLog())}
	}
	var cpu, cpuTicks, wakes []float64
	first := take()
	prev := first
	for range windows {
		time.Sleep(window)
		s := take()
		secs := s.at.Sub(prev.at).Seconds()
		cpu = append(cpu, 100*float64(s.runNS-prev.runNS)/1e9/secs)
		cpuTicks = append(cpuTicks, 100*(s.ticks-prev.ticks)/secs)
		wakes = append(wakes, float64(s.switches-prev.switches)*60/secs)
		prev = s
	}
	last := prev
	span := last.at.Sub(first.at)
	perHour := func(n int) float64 { return float64(n) * float64(time.Hour) / float64(span) }

	// What was asked of IMDS and AWS during the measurement, by kind.
	imdsBy := map[string]int{}
	for _, r := range w.imds.Requests() {
		if r.Time.Before(first.at) || r.Time.After(last.at) {
			continue
		}
		imdsBy[imdsKind(r)]++
	}
	awsBy := map[string]int{}
	for _, c := range w.aws.CallLog() {
		if c.Time.Before(first.at) || c.Time.After(last.at) {
			continue
		}
		k := c.Service + ":" + c.Action
		if ns, ok := c.Input["Namespace"].(string); ok {
			k += "(" + ns + ")"
		}
		awsBy[k]++
	}
	rss := rssMiB(b, pid)
	a.stop()

	totalCPU := 100 * float64(last.runNS-first.runNS) / 1e9 / span.Seconds()
	totalWakes := float64(last.switches-first.switches) * 60 / span.Seconds()
	b.ReportMetric(totalCPU, "idle-CPU-%")
	b.ReportMetric(median(cpu), "idle-CPU-median-%")
	b.ReportMetric(100*(last.ticks-first.ticks)/span.Seconds(), "idle-CPU-ticks-%")
	b.ReportMetric(totalWakes, "wakeups/min")
	b.ReportMetric(perHour(last.imdsReqs-first.imdsReqs), "IMDS-req/h")
	b.ReportMetric(perHour(last.imdsConns-first.imdsConns), "IMDS-conns/h")
	b.ReportMetric(perHour(last.calls-first.calls), "AWS-calls/h")
	b.ReportMetric(rss, "idle-RSS-MiB")
	b.ReportMetric(0, "ns/op")
	fmt.Printf("idle in mode aws over %s (%d windows of %s, after %s settling): CPU %.4f %% of a core (%.1f ms a minute; windows %s; from ticks %s), wake-ups %.0f a minute (windows %s), RSS %.1f MiB\n",
		span.Round(time.Second), windows, window, settle, totalCPU, totalCPU*600, fmtFloats(cpu), fmtFloats(cpuTicks), totalWakes, fmtFloats(wakes), rss)
	fmt.Printf("  per hour: IMDS %.0f requests over %.0f new connections (%s); AWS %.0f calls (%s)\n",
		perHour(last.imdsReqs-first.imdsReqs), perHour(last.imdsConns-first.imdsConns), fmtPerHour(imdsBy, perHour),
		perHour(last.calls-first.calls), fmtPerHour(awsBy, perHour))
}

// imdsKind names what an IMDS request was for.
func imdsKind(r imdsmock.Request) string {
	p := strings.TrimPrefix(r.Path, "/latest/")
	switch {
	case p == "api/token":
		return "token"
	case strings.HasPrefix(p, "meta-data/autoscaling/"), strings.HasPrefix(p, "meta-data/spot/"),
		strings.HasPrefix(p, "meta-data/events/"):
		return "lifecycle"
	case strings.HasPrefix(p, "meta-data/tags/"):
		return "tags"
	case strings.HasPrefix(p, "meta-data/iam/"):
		return "credentials"
	}
	return p
}

func fmtPerHour(by map[string]int, perHour func(int) float64) string {
	var keys []string
	for k := range by {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, perHour(by[k])))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// taskTotals sums over pid's threads the time they ran (ns, /proc/<pid>/task/*/schedstat)
// and their context switches, voluntary and not (each is a wake-up or a preemption).
func taskTotals(b *testing.B, pid int) (runNS, switches int64) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		if data, err := os.ReadFile(filepath.Join(dir, e.Name(), "schedstat")); err == nil {
			if f := strings.Fields(string(data)); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				runNS += n
			}
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name(), "status"))
		if err != nil {
			continue // the thread ended meanwhile
		}
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "_ctxt_switches") {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				switches += n
			}
		}
	}
	return runNS, switches
}
