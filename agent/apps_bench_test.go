//go:build linux

package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/testenv"
)

// BenchmarkAppDeploy200MB measures an app release through the agent: a 200 MB tar.gz
// revision from a local HTTP server, timed from the write of the new revision to
// metadata.json until `current` names the new release, with the agent's peak RSS over that
// deploy (VmHWM, reset before each through /proc/<pid>/clear_refs) and `tar xzf` of the
// same file in the same run. Three deploys; medians reported.
func BenchmarkAppDeploy200MB(b *testing.B) {
	dir := b.TempDir()
	arch := filepath.Join(dir, "release.tar.gz")
	raw, err := testenv.WriteReleaseArchive(arch, 200<<20, "big")
	if err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(arch)
	small := releaseArchive("v0")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v0.tar.gz" {
			w.Write(small)
			return
		}
		http.ServeFile(w, r, arch)
	}))
	defer srv.Close()
	w := newWorld(b, "")
	deployTo := filepath.Join(w.dir, "srv", "web")
	w.writeFile(w.cfg, baseConfig+fmt.Sprintf(`apps:
  - name: web
    revision: {metadata: web_release}
    source: %s/{revision}.tar.gz
    deploy_to: %s
    keep_releases: 1
`, srv.URL, deployTo))
	w.writeLocal("metadata.json", `{"web_release": "v0"}`)
	a := startRelease(b, w)
	pid := a.cmd.Process.Pid
	current := func() string { l, _ := os.Readlink(filepath.Join(deployTo, "current")); return l }
	w.until("v0 current", a, func() bool { return strings.HasSuffix(current(), "-v0") })

	const n = 3
	var secs, rss, tars []float64
	for i := 1; i <= n; i++ {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
			b.Fatalf("reset the peak RSS: %v", err)
		}
		rev := fmt.Sprintf("b%d", i)
		t0 := time.Now()
		w.writeLocal("metadata.json", fmt.Sprintf(`{"web_release": %q}`, rev))
		for !strings.HasSuffix(current(), "-"+rev) {
			if time.Since(t0) > 5*time.Minute {
				b.Fatalf("%s never became current\n%s", rev, a.output())
			}
			time.Sleep(5 * time.Millisecond)
		}
		secs = append(secs, time.Since(t0).Seconds())
		rss = append(rss, statusMiB(b, pid, "VmHWM:"))

		tarDir := filepath.Join(dir, "tar")
		os.Mkdir(tarDir, 0o755)
		t1 := time.Now()
		if out, err := exec.Command("tar", "xzf", arch, "-C", tarDir).CombinedOutput(); err != nil {
			b.Fatalf("tar: %v: %s", err, out)
		}
		tars = append(tars, time.Since(t1).Seconds())
		os.RemoveAll(tarDir)
	}
	a.stop()
	b.ReportMetric(median(secs), "s-change-to-switch")
	b.ReportMetric(median(tars), "s-tar-xzf")
	b.ReportMetric(median(secs)/median(tars), "switch/tar")
	b.ReportMetric(median(rss), "MiB-peak-rss")
	b.ReportMetric(0, "ns/op")
	fmt.Printf("app deploy of a %.0f MiB tar.gz (%.0f MiB unpacked) through the agent, over %d deploys: revision change -> switch median %.2f s (%s), tar xzf of the same file %.2f s (ratio %.2f), agent peak RSS median %.1f MiB (%s)\n",
		float64(fi.Size())/(1<<20), float64(raw)/(1<<20), n, median(secs), fmtFloats(secs), median(tars), median(secs)/median(tars), median(rss), fmtFloats(rss))
}
