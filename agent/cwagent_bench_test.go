//go:build linux

package main

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
	"golang.org/x/sys/unix"

	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

// BenchmarkCWAgentColdStart runs the Amazon CloudWatch agent and stackhand's release
// build side by side on the same cold-start work as BenchmarkLogsColdStart (1,000,000
// 200-byte lines, application and random-hex access lines), interleaved: CloudWatch
// agent, stackhand, three times each. Each run ships to its own stand-in in this
// process; the CloudWatch agent gets a JSON config (turned into its TOML and YAML by its
// config-translator) with logs.endpoint_override at the stand-in, static keys in the
// environment, force_flush_interval 1 s, and an empty state folder of its own, so it reads
// the file from its start (the translator's from_beginning defaults to true).
//
// It reports for each agent: CPU-seconds per million lines (utime+stime of the process
// and its descendants, from /proc, when the stand-in holds every line), peak RSS (VmHWM)
// and the wall time until then; and the compression floor, measured in the same run:
// the thread CPU time (getrusage RUSAGE_THREAD, on a locked thread) of compressing the
// same PutLogEvents JSON bodies alone — the events the stand-in stored, cut into the
// batches that agent sent — with (a) stackhand's compressor, klauspost gzip level 1, and
// (b) the CloudWatch agent's, the standard library's gzip.NewWriter (default level, 6).
// Each agent's CPU is reported over the floor with its own compressor and batches.
//
// It needs a CloudWatch agent build: CWAGENT_BIN names its amazon-cloudwatch-agent
// binary and CWAGENT_TRANSLATOR its config-translator (see the README, `make
// bench-cwagent`); without them it is skipped.
func BenchmarkCWAgentColdStart(b *testing.B) {
	cw := cwAgent{bin: os.Getenv("CWAGENT_BIN"), translator: os.Getenv("CWAGENT_TRANSLATOR")}
	if cw.bin == "" || cw.translator == "" {
		b.Skip("needs a CloudWatch agent build: set CWAGENT_BIN to its amazon-cloudwatch-agent binary and CWAGENT_TRANSLATOR to its config-translator (README, make bench-cwagent)")
	}
	for _, kind := range []struct {
		name string
		line func(r *rand.Rand, seq int, stamp string) string
	}{{"app", appLine}, {"access", accessLine}} {
		b.Run("lines="+kind.name, func(b *testing.B) { benchCWAgentColdStart(b, cw, kind.name, kind.line) })
	}
}

// cwAgent is a CloudWatch agent build.
type cwAgent struct{ bin, translator string }

// coldRun is one agent's run: its CPU-seconds per million lines, peak RSS (MiB), wall
// time (s), and the compression floor over its batches with each compressor (CPU-s per
// million lines).
type coldRun struct {
	cpu, rss, wall         float64
	floorK1, floorStd      float64
	calls, gzipped, nprocs int
	wireRatio              float64
}

func benchCWAgentColdStart(b *testing.B, cw cwAgent, kind string, line func(r *rand.Rand, seq int, stamp string) string) {
	src := filepath.Join(b.TempDir(), "app.log")
	writeBenchLog(b, src, line)
	const runs = 3
	var cwRuns, shRuns []coldRun
	for run := 1; run <= runs; run++ {
		r := cw.coldStart(b, src)
		b.Logf("run %d, CloudWatch agent: %s", run, r)
		cwRuns = append(cwRuns, r)
		r = stackhandColdStart(b, src)
		b.Logf("run %d, stackhand: %s", run, r)
		shRuns = append(shRuns, r)
	}
	pick := func(rs []coldRun, f func(coldRun) float64) float64 {
		var v []float64
		for _, r := range rs {
			v = append(v, f(r))
		}
		return median(v)
	}
	cpu := func(r coldRun) float64 { return r.cpu }
	cwCPU, shCPU := pick(cwRuns, cpu), pick(shRuns, cpu)
	// Each agent over the floor of its own compressor and batches, run by run.
	cwRatio := pick(cwRuns, func(r coldRun) float64 { return r.cpu / r.floorStd })
	shRatio := pick(shRuns, func(r coldRun) float64 { return r.cpu / r.floorK1 })
	cwOverK1 := pick(cwRuns, func(r coldRun) float64 { return r.cpu / r.floorK1 })
	var adv []float64
	for i := range cwRuns {
		adv = append(adv, cwRuns[i].cpu/shRuns[i].cpu)
	}
	b.ReportMetric(cwCPU, "cw-CPU-s/Mlines")
	b.ReportMetric(shCPU, "sh-CPU-s/Mlines")
	b.ReportMetric(pick(cwRuns, func(r coldRun) float64 { return r.floorStd }), "cw-floor-gzip6-CPU-s/Mlines")
	b.ReportMetric(pick(shRuns, func(r coldRun) float64 { return r.floorK1 }), "sh-floor-kgzip1-CPU-s/Mlines")
	b.ReportMetric(cwRatio, "cw/floor")
	b.ReportMetric(shRatio, "sh/floor")
	b.ReportMetric(median(adv), "cw/sh")
	b.ReportMetric(pick(cwRuns, func(r coldRun) float64 { return r.rss }), "cw-peak-RSS-MiB")
	b.ReportMetric(pick(shRuns, func(r coldRun) float64 { return r.rss }), "sh-peak-RSS-MiB")
	b.ReportMetric(pick(cwRuns, func(r coldRun) float64 { return r.wall }), "cw-wall-s")
	b.ReportMetric(pick(shRuns, func(r coldRun) float64 { return r.wall }), "sh-wall-s")
	b.ReportMetric(0, "ns/op")
	fmt.Printf("cold start, %d %s lines of %d bytes, medians of %d interleaved runs:\n"+
		"  CloudWatch agent: %.2f CPU-s per million lines, %.2f× its floor (std gzip level 6 over its batches: %.2f CPU-s; %.2f× the klauspost level-1 floor), peak RSS %.1f MiB, wall %.2f s\n"+
		"  stackhand:        %.2f CPU-s per million lines, %.2f× its floor (klauspost gzip level 1 over its batches: %.2f CPU-s), peak RSS %.1f MiB, wall %.2f s\n"+
		"  stackhand's advantage (CloudWatch agent CPU / stackhand CPU): %.1f× (runs %s)\n",
		benchLogLines, kind, benchLineLen, runs,
		cwCPU, cwRatio, pick(cwRuns, func(r coldRun) float64 { return r.floorStd }), cwOverK1,
		pick(cwRuns, func(r coldRun) float64 { return r.rss }), pick(cwRuns, func(r coldRun) float64 { return r.wall }),
		shCPU, shRatio, pick(shRuns, func(r coldRun) float64 { return r.floorK1 }),
		pick(shRuns, func(r coldRun) float64 { return r.rss }), pick(shRuns, func(r coldRun) float64 { return r.wall }),
		median(adv), fmtFloats(adv))
}

func (r coldRun) String() string {
	return fmt.Sprintf("%.2f CPU-s per million lines, peak RSS %.1f MiB, wall %.2f s, %d process(es); %d PutLogEvents, %d gzipped, wire/plain %.3f; floor over its batches: klauspost gzip 1 %.2f CPU-s, std gzip 6 %.2f CPU-s (CPU/floor %.2f, %.2f)",
		r.cpu, r.rss, r.wall, r.nprocs, r.calls, r.gzipped, r.wireRatio, r.floorK1, r.floorStd, r.cpu/r.floorK1, r.cpu/r.floorStd)
}

const benchStream = awsInstance + "/app.log"

// stackhandColdStart ships src with stackhand's release build, as BenchmarkLogsColdStart.
func stackhandColdStart(b *testing.B, src string) coldRun {
	w := newAWSBenchWorld(b, fmt.Sprintf(benchLogsConfig, src))
	t0 := time.Now()
	a := startReleaseAWS(b, w)
	return finishColdRun(b, w, a, t0)
}

// coldStart ships src with the CloudWatch agent, from an empty state folder.
func (cw cwAgent) coldStart(b *testing.B, src string) coldRun {
	w := newAWSBenchWorld(b, "")
	dir := filepath.Join(w.dir, "cwagent")
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o755); err != nil {
		b.Fatal(err)
	}
	cfg := map[string]any{
		"agent": map[string]any{
			"region":        "us-east-1",
			"logfile":       filepath.Join(dir, "amazon-cloudwatch-agent.log"),
			"omit_hostname": true,
		},
		"logs": map[string]any{
			"endpoint_override":    w.aws.URL,
			"force_flush_interval": 1,
			"logs_collected": map[string]any{"files": map[string]any{"collect_list": []any{map[string]any{
				"file_path":       src,
				"log_group_name":  "/bench/app",
				"log_stream_name": benchStream,
			}}}},
		},
	}
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	jsonPath, tomlPath := filepath.Join(dir, "config.json"), filepath.Join(dir, "config.toml")
	yamlPath := filepath.Join(dir, "amazon-cloudwatch-agent.yaml") // the translator's name for it, beside the output
	w.writeFile(jsonPath, string(js))
	tr := exec.Command(cw.translator, "-input", jsonPath, "-output", tomlPath, "-mode", "onPrem", "-os", "linux")
	tr.Dir, tr.Env = dir, w.env()
	if out, err := tr.CombinedOutput(); err != nil {
		b.Fatalf("config-translator: %v\n%s", err, out)
	}
	// In onPrem mode the agent takes its keys from the profile AmazonCloudWatchAgent of the
	// user's shared credentials file, and keeps its state in an installed agent's folder;
	// this run has its own of both.
	creds := filepath.Join(dir, "credentials")
	w.writeFile(creds, "[AmazonCloudWatchAgent]\naws_access_key_id = AKIDSTACKHANDTEST\naws_secret_access_key = stackhand-test-secret\n")
	credsRE := regexp.MustCompile(`(shared_credential_file\s*[=:]\s*"?)[^"\n]*`)
	for _, p := range []string{tomlPath, yamlPath} {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		s := credsRE.ReplaceAllString(string(data), "${1}"+creds)
		if p == tomlPath {
			const installed = "/opt/aws/amazon-cloudwatch-agent/logs/state"
			if !strings.Contains(s, installed) || !strings.Contains(s, "from_beginning = true") {
				b.Fatalf("no %s or from_beginning = true in the translated config:\n%s", installed, s)
			}
			s = strings.ReplaceAll(s, installed, state)
		}
		w.writeFile(p, s)
	}
	args := []string{"-config", tomlPath, "-otelconfig", yamlPath}
	cmd := exec.Command(cw.bin, args...)
	cmd.Dir, cmd.Env = dir, w.env()
	t0 := time.Now()
	a := w.launch(cmd)
	r := finishColdRun(b, w, a, t0)
	if b.Failed() {
		log, _ := os.ReadFile(filepath.Join(dir, "amazon-cloudwatch-agent.log"))
		b.Logf("CloudWatch agent's log:\n%s", log)
	}
	return r
}

// finishColdRun waits until the stand-in holds every line, takes the agent's figures,
// stops it, and measures the compression floor over the batches it sent.
func finishColdRun(b *testing.B, w *awsWorld, a *agent, t0 time.Time) coldRun {
	b.Helper()
	pid := a.cmd.Process.Pid
	w.within(10*time.Minute, "every line at the stand-in", a, func() bool {
		return w.aws.LogEventCount("/bench/app", benchStream) >= benchLogLines
	})
	var r coldRun
	r.wall = time.Since(t0).Seconds()
	var cpu float64
	cpu, r.nprocs = treeCPU(b, pid)
	r.cpu = cpu / benchLogLines * 1e6
	r.rss = vmHWM(b, pid)
	a.stop()
	if n := w.aws.LogEventCount("/bench/app", benchStream); n != benchLogLines {
		b.Errorf("%d events at the stand-in, want %d", n, benchLogLines)
	}
	r.calls, r.gzipped, r.wireRatio = gzipFigures(w.aws)
	if r.gzipped != r.calls {
		b.Errorf("%d of %d PutLogEvents gzipped", r.gzipped, r.calls)
	}
	// Only the bench stream's calls: stackhand may ship its own log to another.
	k1, std := compressionFloor(b, w.aws.LogEvents("/bench/app", benchStream), streamCounts(w, benchStream))
	r.floorK1, r.floorStd = k1/benchLogLines*1e6, std/benchLogLines*1e6
	return r
}

func init() {
	coldStartFloor = func(b *testing.B, w *awsWorld, stream string) float64 {
		k1, _ := compressionFloor(b, w.aws.LogEvents("/bench/app", stream), streamCounts(w, stream))
		return k1
	}
}

// streamCounts returns the event counts of the PutLogEvents calls to stream that the
// stand-in took, in order: how the agent cut its batches.
func streamCounts(w *awsWorld, stream string) []int {
	var counts []int
	for _, c := range w.aws.CallLog() {
		if c.Action == "PutLogEvents" && c.Status == 200 && c.Input["logGroupName"] == "/bench/app" && c.Input["logStreamName"] == stream {
			ev, _ := c.Input["logEvents"].(map[string]any)
			n, _ := ev["count"].(int)
			counts = append(counts, n)
		}
	}
	return counts
}

// treeCPU returns the user+system CPU-seconds of pid and its live descendants, with the
// children pid has reaped, and how many processes that is.
func treeCPU(b *testing.B, pid int) (float64, int) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	type proc struct {
		ppid int
		cpu  float64
	}
	procs := map[int]proc{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue // gone meanwhile
		}
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		// After the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
		ppid, _ := strconv.Atoi(f[1])
		var t float64
		for _, i := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseFloat(f[i], 64)
			t += v
		}
		procs[p] = proc{ppid, t / 100} // USER_HZ is 100 on Linux
	}
	if _, ok := procs[pid]; !ok {
		b.Fatalf("process %d is gone", pid)
	}
	in := func(p int) bool {
		for ; p > 1; p = procs[p].ppid {
			if p == pid {
				return true
			}
			if _, ok := procs[p]; !ok {
				return false
			}
		}
		return false
	}
	var total float64
	n := 0
	for p, pr := range procs {
		if in(p) {
			total += pr.cpu
			n++
		}
	}
	return total, n
}

// threadCPU is the calling thread's user+system CPU time.
func threadCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// compressionFloor returns the CPU-seconds that compressing the PutLogEvents bodies of
// events, cut into batches of counts, costs with klauspost gzip level 1 (stackhand's) and
// with the standard library's gzip.NewWriter (the CloudWatch agent's: default level),
// one reused writer each. Only the compression is timed, on this locked thread; the
// bodies are encoded between, untimed.
func compressionFloor(b *testing.B, events []awsfake.LogEvent, counts []int) (k1, std float64) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	kw, err := kgzip.NewWriterLevel(nil, kgzip.BestSpeed)
	if err != nil {
		b.Fatal(err)
	}
	sw := stdgzip.NewWriter(nil)
	var body, out bytes.Buffer
	var tk, ts time.Duration
	compress := func(reset func(), write func([]byte) (int, error), close func() error) time.Duration {
		out.Reset()
		t0 := threadCPU(b)
		reset()
		if _, err := write(body.Bytes()); err != nil {
			b.Fatal(err)
		}
		if err := close(); err != nil {
			b.Fatal(err)
		}
		return threadCPU(b) - t0
	}
	runtime.GC()
	off := 0
	for _, n := range counts {
		if off+n > len(events) {
			b.Fatalf("the calls carried more events than the stream holds (%d)", len(events))
		}
		encodeBody(&body, events[off:off+n])
		off += n
		tk += compress(func() { kw.Reset(&out) }, kw.Write, kw.Close)
		ts += compress(func() { sw.Reset(&out) }, sw.Write, sw.Close)
	}
	return tk.Seconds(), ts.Seconds()
}

// encodeBody writes the PutLogEvents JSON body of events to body, members in the order
// both agents' encoders write them.
func encodeBody(body *bytes.Buffer, events []awsfake.LogEvent) {
	body.Reset()
	body.WriteString(`{"logEvents":[`)
	for i, e := range events {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`{"message":`)
		m, _ := json.Marshal(e.Message)
		body.Write(m)
		body.WriteString(`,"timestamp":`)
		body.WriteString(strconv.FormatInt(e.Timestamp, 10))
		body.WriteByte('}')
	}
	body.WriteString(`],"logGroupName":"/bench/app","logStreamName":"` + benchStream + `"}`)
}
