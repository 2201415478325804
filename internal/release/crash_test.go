//go:build unix

package release

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stackhand/stackhand/internal/testenv"
)

// The crash helper: the test binary run again with these variables set makes one release
// and blocks at the phase named, after saying so through a file, until the test SIGKILLs
// it.
const (
	envPhase  = "STACKHAND_RELEASE_CRASH_PHASE"
	envDeploy = "STACKHAND_RELEASE_CRASH_DEPLOY_TO"
	envSource = "STACKHAND_RELEASE_CRASH_SOURCE"
	envReady  = "STACKHAND_RELEASE_CRASH_READY"
)

func TestMain(m *testing.M) {
	if phase := os.Getenv(envPhase); phase != "" {
		os.Exit(crashHelper(phase))
	}
	if os.Getenv(envBenchDeploy) != "" {
		os.Exit(benchChild())
	}
	os.Exit(m.Run())
}

func crashHelper(phase string) int {
	m := &Manager{Reserve: 1 << 20, at: func(p string) {
		if p == phase {
			os.WriteFile(os.Getenv(envReady), []byte(p), 0o644)
			select {} // until SIGKILL
		}
	}}
	app := App{Name: "web", DeployTo: os.Getenv(envDeploy)}
	r, err := m.Prepare(context.Background(), app, Deploy{Revision: "v2", Source: os.Getenv(envSource)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if _, err := m.Switch(app, r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 3 // the phase was never reached
}

func TestCrashSafety(t *testing.T) {
	for _, phase := range []string{"fetch", "unpack", "switch"} {
		t.Run(phase, func(t *testing.T) {
			m := newManager()
			app := newApp(t)
			src := t.TempDir()
			deploy(t, m, app, "v1", version(t, src, "v1", nil))
			// v2 large enough that the fetch is caught with only part of it written.
			v2 := version(t, src, "v2", map[string]string{"big.bin": strings.Repeat("z", 4<<20)})
			ready := filepath.Join(t.TempDir(), "ready")
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), envPhase+"="+phase, envDeploy+"="+app.DeployTo, envSource+"="+v2, envReady+"="+ready)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			testenv.WaitFor(t, "the helper to reach "+phase, func() bool {
				select {
				case err := <-exited:
					t.Fatalf("helper exited before %s: %v: %s", phase, err, stderr.String())
				default:
				}
				_, err := os.Stat(ready)
				return err == nil
			})
			// What the phase leaves half-made is there when the process dies.
			want := map[string]string{"fetch": ".stackhand/fetch-v2.partial", "unpack": "releases/*-v2.partial", "switch": "current.tmp-*"}[phase]
			if got, _ := filepath.Glob(filepath.Join(app.DeployTo, want)); len(got) != 1 {
				t.Fatalf("at %s, %s: %v", phase, want, got)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-exited
			// current names a complete release: the old one.
			if got := currentVersion(t, app); got != "v1" {
				t.Fatalf("after SIGKILL at %s current is %q", phase, got)
			}
			rs, err := m.List(app)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if _, err := os.Stat(filepath.Join(r.Dir, "VERSION")); err != nil {
					t.Errorf("release %s listed but incomplete: %v", r.Name, err)
				}
			}
			// The next deploy cleans up and succeeds.
			deploy(t, m, app, "v2", v2)
			if got := currentVersion(t, app); got != "v2" {
				t.Fatalf("redeploy: current %q", got)
			}
			if l := leftovers(t, app); len(l) > 0 {
				t.Fatalf("left behind after the next Prepare: %v", l)
			}
		})
	}
}

// A reader of current/VERSION never finds it missing while releases are switched.
func TestSwitchNeverMissing(t *testing.T) {
	m := newManager()
	app := newApp(t)
	src := t.TempDir()
	r1 := deploy(t, m, app, "v1", version(t, src, "v1", nil))
	r2 := deploy(t, m, app, "v2", version(t, src, "v2", nil))
	var stop atomic.Bool
	var reads, misses atomic.Int64
	var firstMiss atomic.Value
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := filepath.Join(app.DeployTo, "current", "VERSION")
			for !stop.Load() {
				b, err := os.ReadFile(p)
				reads.Add(1)
				if err != nil || (string(b) != "v1\n" && string(b) != "v2\n") {
					misses.Add(1)
					firstMiss.CompareAndSwap(nil, fmt.Sprintf("%q %v", b, err))
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		r := r1
		if i%2 == 1 {
			r = r2
		}
		if _, err := m.Switch(app, r); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if misses.Load() != 0 {
		t.Fatalf("%d of %d reads failed, first: %v", misses.Load(), reads.Load(), firstMiss.Load())
	}
	if reads.Load() == 0 {
		t.Fatal("the readers never read")
	}
	if l := leftovers(t, app); len(l) > 0 {
		t.Fatalf("left behind: %v", l)
	}
}
