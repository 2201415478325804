//go:build unix

package release

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/testenv"
)

const (
	envBenchDeploy = "STACKHAND_RELEASE_BENCH_DEPLOY_TO"
	envBenchURL    = "STACKHAND_RELEASE_BENCH_URL"
)

// benchChild runs in a child process (so its peak RSS is the deploy's alone): one
// Prepare and Switch from the URL, its timings as JSON on stdout.
func benchChild() int {
	var fetched, unpacked time.Time
	m := &Manager{at: func(p string) {
		switch p {
		case "fetched":
			fetched = time.Now()
		case "unpack":
			unpacked = time.Now()
		}
	}}
	app := App{Name: "bench", DeployTo: os.Getenv(envBenchDeploy)}
	start := time.Now()
	r, err := m.Prepare(context.Background(), app, Deploy{Revision: "v1", Source: os.Getenv(envBenchURL)})
	if err == nil {
		_, err = m.Switch(app, r)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	end := time.Now()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "child: heap sys %.1f MiB, heap inuse %.1f MiB, total alloc %.1f MiB, sys %.1f MiB, gc %d\n", float64(ms.HeapSys)/(1<<20), float64(ms.HeapInuse)/(1<<20), float64(ms.TotalAlloc)/(1<<20), float64(ms.Sys)/(1<<20), ms.NumGC)
	json.NewEncoder(os.Stdout).Encode(map[string]float64{
		"total": end.Sub(start).Seconds(), "fetch": fetched.Sub(start).Seconds(), "unpack": unpacked.Sub(fetched).Seconds(),
	})
	return 0
}

// BenchmarkPrepare200MB deploys a 200 MB tar.gz from a local HTTP server in a child
// process and reports the time from Prepare to a switched `current`, the child's peak
// RSS, and the unpack time against `tar xzf` of the same file in the same run.
func BenchmarkPrepare200MB(b *testing.B) {
	dir := b.TempDir()
	arch := filepath.Join(dir, "release.tar.gz")
	raw, err := testenv.WriteReleaseArchive(arch, 200<<20, "v1")
	if err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(arch)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, arch) }))
	defer srv.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		deployTo := filepath.Join(dir, fmt.Sprintf("srv%d", i))
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envBenchDeploy+"="+deployTo, envBenchURL+"="+srv.URL+"/release.tar.gz")
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			b.Fatal(err)
		}
		var t map[string]float64
		if err := json.Unmarshal(out, &t); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux

		tarDir := filepath.Join(dir, fmt.Sprintf("tar%d", i))
		os.Mkdir(tarDir, 0o755)
		tarCmd := exec.Command("tar", "xzf", arch, "-C", tarDir)
		tarStart := time.Now()
		if out, err := tarCmd.CombinedOutput(); err != nil {
			b.Fatalf("tar: %v: %s", err, out)
		}
		tarSecs := time.Since(tarStart).Seconds()
		os.RemoveAll(tarDir)
		os.RemoveAll(deployTo)

		b.ReportMetric(t["total"], "s-prepare-to-switch")
		b.ReportMetric(t["fetch"], "s-fetch")
		b.ReportMetric(t["unpack"], "s-unpack")
		b.ReportMetric(tarSecs, "s-tar-xzf")
		b.ReportMetric(t["unpack"]/tarSecs, "unpack/tar")
		b.ReportMetric(float64(rss)/1024, "MiB-peak-rss")
		b.Logf("archive %.0f MiB (%.0f MiB unpacked): prepare→switch %.2fs (fetch %.2fs, unpack %.2fs), tar xzf %.2fs, ratio %.2f, peak RSS %.1f MiB",
			float64(fi.Size())/(1<<20), float64(raw)/(1<<20), t["total"], t["fetch"], t["unpack"], tarSecs, t["unpack"]/tarSecs, float64(rss)/1024)
	}
}
