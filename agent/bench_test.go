package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The benchmarks run the agent as `make build` builds it (no race detector) and print
// figures with b.ReportMetric; they never fail on a number. Run them with `make bench`.

var (
	releaseBinOnce sync.Once
	releaseBin     string
	releaseBinErr  error
)

func buildRelease(b *testing.B) string {
	b.Helper()
	releaseBinOnce.Do(func() {
		releaseBin = filepath.Join(filepath.Dir(binPath), "stackhand-release")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", releaseBin, ".")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		releaseBinErr = cmd.Run()
	})
	if releaseBinErr != nil {
		b.Fatal(releaseBinErr)
	}
	return releaseBin
}

// startRelease starts the release build of the agent on w (or the build
// STACKHAND_BENCH_BINARY names, as startReleaseAWS).
func startRelease(b *testing.B, w *world) *agent {
	bin := os.Getenv("STACKHAND_BENCH_BINARY")
	if bin == "" {
		bin = buildRelease(b)
	}
	return w.startCmd(exec.Command(bin, "run", "--config", w.cfg))
}

// BenchmarkIdle measures the agent's resident memory and CPU while nothing happens, in
// local mode with three watch rules, over 60 s (six 10 s windows; medians reported).
func BenchmarkIdle(b *testing.B) {
	w := newWorld(b, watchRelease+`  - name: role
    tag: Role
  - name: init
    metadata: AWS::CloudFormation::Init
`)
	w.recordHooks("setup", "deploy", "configure")
	w.writeLocal("metadata.json", `{"release": "v1"}`)
	a := startRelease(b, w)
	w.until("the start-up events", a, func() bool { return len(w.records()) >= 3 })
	rss, peak, cpu := measureIdle(b, a)
	a.stop()
	b.ReportMetric(rss, "idle-RSS-MiB")
	b.ReportMetric(peak, "peak-RSS-MiB")
	b.ReportMetric(cpu, "idle-CPU-%")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkIdleCWAgentStandard measures the agent idle as BenchmarkIdle does, in local
// mode, on the CloudWatch agent's "standard" wizard preset (--cwagent-config): cpu per
// core, disk, diskio, mem and swap collected every 60 s.
func BenchmarkIdleCWAgentStandard(b *testing.B) {
	w := newWorld(b, "")
	preset, err := os.ReadFile(filepath.Join("..", "internal", "cwagent", "testdata", "standard.json"))
	if err != nil {
		b.Fatal(err)
	}
	cw := filepath.Join(w.dir, "amazon-cloudwatch-agent.json")
	if err := os.WriteFile(cw, preset, 0o644); err != nil {
		b.Fatal(err)
	}
	bin := os.Getenv("STACKHAND_BENCH_BINARY")
	if bin == "" {
		bin = buildRelease(b)
	}
	a := w.startCmd(exec.Command(bin, "run", "--config", w.cfg, "--cwagent-config", cw))
	w.until("the metrics reporter in status", a, func() bool {
		st, _ := os.ReadFile(filepath.Join(w.state, "status.json"))
		return strings.Contains(string(st), `"metrics"`)
	})
	rss, peak, cpu := measureIdle(b, a)
	a.stop()
	if m, _ := os.ReadFile(filepath.Join(w.local, "metrics.jsonl")); !strings.Contains(string(m), `"cpu_usage_idle"`) {
		b.Fatalf("no cpu_usage_idle in local.dir/metrics.jsonl after a minute: the preset was not run\n%s", a.output())
	}
	b.ReportMetric(rss, "idle-RSS-MiB")
	b.ReportMetric(peak, "peak-RSS-MiB")
	b.ReportMetric(cpu, "idle-CPU-%")
	b.ReportMetric(0, "ns/op")
}

// measureIdle samples the agent's resident set every second and its CPU over six 10 s
// windows, prints them, and returns the medians and the peak.
func measureIdle(b *testing.B, a *agent) (rssMedian, peak, cpuMedian float64) {
	pid := a.cmd.Process.Pid
	const windows, window = 6, 10 * time.Second
	var cpu []float64
	var rss []float64
	for range windows {
		t0, c0 := time.Now(), cpuSeconds(b, pid)
		for range int(window / time.Second) {
			time.Sleep(time.Second)
			r := rssMiB(b, pid)
			rss = append(rss, r)
			peak = max(peak, r)
		}
		cpu = append(cpu, 100*(cpuSeconds(b, pid)-c0)/time.Since(t0).Seconds())
	}
	fmt.Printf("idle over %s: RSS median %.1f MiB (peak %.1f), CPU median %.4f %% of a core (windows: %s)\n",
		windows*window, median(rss), peak, median(cpu), fmtFloats(cpu))
	return median(rss), peak, median(cpu)
}

// BenchmarkReaction measures the time from writing metadata.json to the start of the
// first deploy hook, over 20 changes (median and max reported).
func BenchmarkReaction(b *testing.B) {
	w := newWorld(b, watchRelease)
	starts := filepath.Join(w.dir, "starts")
	w.hook("deploy", "10-start", fmt.Sprintf(`date +%%s.%%N >> %q`, starts))
	w.writeLocal("metadata.json", `{"release": "v0"}`)
	a := startRelease(b, w)
	lines := func() int {
		b, _ := os.ReadFile(starts)
		return strings.Count(string(b), "\n")
	}
	w.until("the first deploy", a, func() bool { return lines() >= 1 })
	const n = 20
	var ms []float64
	for i := 1; i <= n; i++ {
		before := lines()
		t0 := time.Now()
		w.writeLocal("metadata.json", fmt.Sprintf(`{"release": "v%d"}`, i))
		w.until("the deploy", a, func() bool { return lines() > before })
		data, _ := os.ReadFile(starts)
		all := strings.Split(strings.TrimSpace(string(data)), "\n")
		f, err := strconv.ParseFloat(all[len(all)-1], 64)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Unix(0, int64(f*1e9))
		ms = append(ms, float64(start.Sub(t0).Microseconds())/1000)
	}
	a.stop()
	sort.Float64s(ms)
	b.ReportMetric(median(ms), "reaction-median-ms")
	b.ReportMetric(ms[len(ms)-1], "reaction-max-ms")
	b.ReportMetric(0, "ns/op")
	fmt.Printf("metadata write -> first deploy hook start over %d changes: median %.1f ms, max %.1f ms\n", n, median(ms), ms[len(ms)-1])
}

func cpuSeconds(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// After the command: state(0) ... utime is field 14 of stat, index 11 here; stime 12.
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

func rssMiB(b *testing.B, pid int) float64 { return statusMiB(b, pid, "VmRSS:") }

// statusMiB reads a kB field of /proc/<pid>/status (VmRSS:, VmHWM: …) in MiB.
func statusMiB(b *testing.B, pid int, field string) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field) {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtFloats(v []float64) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, strconv.FormatFloat(x, 'f', 4, 64))
	}
	return strings.Join(parts, " ")
}
