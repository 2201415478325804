package metrics

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// procDir makes a procfs look-alike in a temporary directory from fixture files:
// meminfo, stat and mountinfo name files under testdata/ ("" leaves the file out).
func procDir(t testing.TB, meminfo, stat, mountinfo string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	for dst, src := range map[string]string{"meminfo": meminfo, "stat": stat, "self/mountinfo": mountinfo} {
		if src != "" {
			copyFixture(t, src, filepath.Join(dir, dst))
		}
	}
	return dir
}

func copyFixture(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", src))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeFS answers Statfs from a table; a path not in it has vanished.
type fakeFS map[string]FSStats

func (f fakeFS) statfs(path string) (FSStats, error) {
	if st, ok := f[path]; ok {
		return st, nil
	}
	return FSStats{}, &fs.PathError{Op: "statfs", Path: path, Err: syscall.ENOENT}
}

// ec2FS is the file systems of testdata/ec2/self/mountinfo but /mnt/scratch disk, which
// vanished between the listing and statfs.
var ec2FS = fakeFS{
	"/":              {BlockSize: 4096, Blocks: 2618880, BlocksFree: 1309440, BlocksAvail: 1309440, Files: 5242368, FilesFree: 5100000},
	"/data":          {BlockSize: 4096, Blocks: 25600000, BlocksFree: 12800000, BlocksAvail: 11520000, Files: 6400000, FilesFree: 6399000},
	"/boot/efi":      {BlockSize: 512, Blocks: 20462, BlocksFree: 17000, BlocksAvail: 17000},
	"/dev/shm":       {BlockSize: 4096, Blocks: 992635, BlocksFree: 992635, BlocksAvail: 992635, Files: 992635, FilesFree: 992634},
	"/run":           {BlockSize: 4096, Blocks: 397054, BlocksFree: 396900, BlocksAvail: 396900, Files: 819200, FilesFree: 818500},
	"/tmp":           {BlockSize: 4096, Blocks: 992635, BlocksFree: 992635, BlocksAvail: 992635, Files: 1048576, FilesFree: 1048570},
	"/run/user/1000": {BlockSize: 4096, Blocks: 198526, BlocksFree: 198526, BlocksAvail: 198526, Files: 198526, FilesFree: 198520},
}

func one(t *testing.T, samples []Sample, name, dim, value string) Sample {
	t.Helper()
	got := find(samples, name, dim, value)
	if len(got) != 1 {
		t.Fatalf("%s{%s=%q}: %d samples, want 1 (all: %v)", name, dim, value, len(got), samples)
	}
	return got[0]
}

func wantValue(t *testing.T, samples []Sample, name, dim, value string, unit string, want float64) {
	t.Helper()
	s := one(t, samples, name, dim, value)
	if !near(s.Value, want) || s.Unit != unit {
		t.Errorf("%s{%s=%q} = %v %s, want %v %s", name, dim, value, s.Value, s.Unit, want, unit)
	}
}

func TestCollectEC2Fixture(t *testing.T) {
	dir := procDir(t, "ec2/meminfo", "ec2/stat", "ec2/self/mountinfo")
	c := New(Options{ProcRoot: dir, Statfs: ec2FS.statfs})

	first, err := c.Collect(nil)
	// The one expected problem: the vanished mount, named with its unescaped path.
	if err == nil || !strings.Contains(err.Error(), "/mnt/scratch disk (ext4 on /dev/mapper/vg0-scratch)") ||
		!errors.Is(err, syscall.ENOENT) || strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("first Collect error = %v, want only the vanished /mnt/scratch disk", err)
	}
	if got := find(first, CPUUsageActive, "", ""); len(got) != 0 {
		t.Errorf("first Collect has cpu samples %v, want none (no previous reading)", got)
	}

	// Memory: used = MemTotal - MemFree - Buffers - Cached - SReclaimable
	// = 7941084 - 512340 - 102400 - 4321000 - 250000 = 2755344 kB.
	wantValue(t, first, MemTotal, "", "", UnitBytes, 7941084*1024)
	wantValue(t, first, MemUsed, "", "", UnitBytes, 2755344*1024)
	wantValue(t, first, MemUsedPercent, "", "", UnitPercent, 34.69732847555825)
	wantValue(t, first, MemAvailablePercent, "", "", UnitPercent, 64.5183453543622) // 5123456 / 7941084
	wantValue(t, first, SwapUsedPercent, "", "", UnitPercent, 25.00004768380677)    // (2097148-1572860) / 2097148
	for _, name := range []string{MemTotal, MemUsed, MemUsedPercent, MemAvailablePercent, SwapUsedPercent} {
		if d := one(t, first, name, "", "").Dims; len(d) != 0 {
			t.Errorf("%s has dimensions %v, want none", name, d)
		}
	}

	// Disks: one set per mount point, pseudo file systems, overlay, squashfs, autofs and nsfs
	// skipped, /data reported as the ext4 mounted over the xfs.
	var paths []string
	for _, s := range find(first, DiskUsedPercent, "", "") {
		paths = append(paths, s.Dims[2].Value)
	}
	wantPaths := []string{"/dev/shm", "/run", "/", "/tmp", "/boot/efi", "/data", "/run/user/1000"}
	if !slices.Equal(paths, wantPaths) {
		t.Errorf("disk paths = %q, want %q", paths, wantPaths)
	}
	root := one(t, first, DiskUsedPercent, "path", "/")
	if want := []Dim{{"device", "nvme0n1p1"}, {"fstype", "xfs"}, {"path", "/"}}; !slices.Equal(root.Dims, want) {
		t.Errorf("/ dims = %v, want %v", root.Dims, want)
	}
	data := one(t, first, DiskUsedPercent, "path", "/data")
	if want := []Dim{{"device", "nvme2n1"}, {"fstype", "ext4"}, {"path", "/data"}}; !slices.Equal(data.Dims, want) {
		t.Errorf("/data dims = %v, want %v", data.Dims, want)
	}
	if shm := one(t, first, DiskUsedPercent, "path", "/dev/shm"); shm.Dims[0] != (Dim{"device", "tmpfs"}) {
		t.Errorf("/dev/shm device = %v, want tmpfs", shm.Dims[0])
	}
	wantValue(t, first, DiskUsedPercent, "path", "/", UnitPercent, 50)
	wantValue(t, first, DiskFree, "path", "/", UnitBytes, 1309440*4096)
	wantValue(t, first, DiskInodesFree, "path", "/", UnitCount, 5100000)
	// Reserved blocks count as neither used nor free: 12800000 / (12800000 + 11520000).
	wantValue(t, first, DiskUsedPercent, "path", "/data", UnitPercent, 52.63157894736842)
	wantValue(t, first, DiskFree, "path", "/data", UnitBytes, 11520000*4096)
	wantValue(t, first, DiskInodesFree, "path", "/data", UnitCount, 6399000)
	wantValue(t, first, DiskUsedPercent, "path", "/boot/efi", UnitPercent, 16.919167236829246)
	wantValue(t, first, DiskFree, "path", "/boot/efi", UnitBytes, 17000*512)
	wantValue(t, first, DiskInodesFree, "path", "/boot/efi", UnitCount, 0)
	wantValue(t, first, DiskUsedPercent, "path", "/run", UnitPercent, 0.03878565635908466)
	if got := len(first); got != 5+3*7 {
		t.Errorf("first Collect: %d samples, want %d", got, 5+3*7)
	}

	// Second reading: Δuser 600 (300 of it guest), Δsystem 200, Δidle 1000, Δiowait 100,
	// Δsoftirq 50, Δsteal 50: total 2000 without guest, active 1000 with iowait.
	copyFixture(t, "ec2/stat.2", filepath.Join(dir, "stat"))
	second, err := c.Collect(first[:0])
	if err == nil || !strings.Contains(err.Error(), "/mnt/scratch disk") {
		t.Errorf("second Collect error = %v, want the vanished mount again", err)
	}
	cpu := one(t, second, CPUUsageActive, "cpu", "cpu-total")
	if cpu.Value != 50 || cpu.Unit != UnitPercent || len(cpu.Dims) != 1 {
		t.Errorf("cpu_usage_active = %+v, want 50 Percent with cpu=cpu-total only", cpu)
	}
	if got := len(second); got != 5+3*7+1 {
		t.Errorf("second Collect: %d samples, want %d", got, 5+3*7+1)
	}
	// The same counters again: no time passed, no figure.
	third, _ := c.Collect(nil)
	if got := find(third, CPUUsageActive, "", ""); len(got) != 0 {
		t.Errorf("Collect with unchanged /proc/stat has cpu samples %v, want none", got)
	}
}

func TestCollectLiveFixture(t *testing.T) {
	dir := procDir(t, "live/meminfo", "live/stat", "live/self/mountinfo")
	fsys := fakeFS{
		"/":              {BlockSize: 4096, Blocks: 1000, BlocksFree: 250, BlocksAvail: 250, Files: 100, FilesFree: 40},
		"/dev/shm":       {BlockSize: 4096, Blocks: 1000, BlocksFree: 1000, BlocksAvail: 1000},
		"/mnt/tools":     {BlockSize: 4096, Blocks: 1, BlocksFree: 1, BlocksAvail: 1},
		"/sys/fs/cgroup": {BlockSize: 4096, Blocks: 10, BlocksFree: 10, BlocksAvail: 10},
	}
	c := New(Options{ProcRoot: dir, Statfs: fsys.statfs})
	if _, err := c.Collect(nil); err != nil {
		t.Fatal(err)
	}
	copyFixture(t, "live/stat.2", filepath.Join(dir, "stat"))
	got, err := c.Collect(nil)
	if err != nil {
		t.Fatal(err)
	}
	wantValue(t, got, MemTotal, "", "", UnitBytes, 24684084*1024)
	wantValue(t, got, MemUsed, "", "", UnitBytes, 147980*1024)
	wantValue(t, got, MemUsedPercent, "", "", UnitPercent, 0.599495610207776)
	wantValue(t, got, MemAvailablePercent, "", "", UnitPercent, 98.08448229231435)
	wantValue(t, got, SwapUsedPercent, "", "", UnitPercent, 0) // no swap: 0, as the CloudWatch agent reports
	wantValue(t, got, CPUUsageActive, "cpu", "cpu-total", UnitPercent, 1.0025062656641603)
	wantValue(t, got, DiskUsedPercent, "path", "/", UnitPercent, 75)
	one(t, got, DiskUsedPercent, "device", "vda")
	// /dev/shm and /dev/pts are each mounted twice: one set for /dev/shm, none for devpts;
	// the cgroup tmpfs is a tmpfs like any other.
	one(t, got, DiskUsedPercent, "path", "/dev/shm")
	one(t, got, DiskUsedPercent, "path", "/sys/fs/cgroup")
	if n := len(find(got, DiskUsedPercent, "", "")); n != 4 {
		t.Errorf("%d disk_used_percent samples, want 4 (/, /dev/shm, /mnt/tools, /sys/fs/cgroup)", n)
	}
}

func TestCollectOddMeminfo(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fixture string
		want    map[string]float64 // metric -> value; metrics not here must be absent
		errs    []string           // substrings of the error; none means no error
	}{{
		name:    "kernel 3.10 without MemAvailable",
		fixture: "odd/meminfo-kernel3.10",
		want: map[string]float64{
			MemTotal: 3882456 * 1024, MemUsed: 1306716 * 1024,
			MemUsedPercent: 33.65694292478781, MemAvailablePercent: 66.34305707521219,
			SwapUsedPercent: 0,
		},
	}, {
		name:    "garbage numbers",
		fixture: "odd/meminfo-garbage",
		want:    map[string]float64{MemTotal: 7941084 * 1024, MemAvailablePercent: 64.5183453543622},
		errs: []string{
			"MemFree is not a number", "SwapFree is not a number",
			"no MemFree: mem_used and mem_used_percent skipped", "no SwapFree: swap_used_percent skipped",
		},
	}, {
		name:    "truncated",
		fixture: "odd/meminfo-truncated",
		want:    map[string]float64{MemTotal: 7941084 * 1024},
		errs: []string{
			"no Buffers, Cached: mem_used and mem_used_percent skipped",
			"no MemAvailable, nor MemFree, Buffers and Cached to estimate it from: mem_available_percent skipped",
			"no SwapTotal, SwapFree: swap_used_percent skipped",
		},
	}, {
		name:    "missing",
		fixture: "",
		want:    map[string]float64{},
		errs:    []string{"memory: open ", "meminfo: no such file or directory: memory and swap metrics skipped"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := procDir(t, tc.fixture, "ec2/stat", "odd/mountinfo")
			c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs, IgnoreFSTypes: []string{"proc", "xfs", "ext4"}})
			got, err := c.Collect(nil)
			for _, want := range tc.errs {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error = %v, want it to say %q", err, want)
				}
			}
			if err != nil && strings.Contains(err.Error(), "memory") && len(tc.errs) == 0 {
				t.Errorf("error = %v, want no memory error", err)
			}
			for _, s := range got {
				if strings.HasPrefix(s.Name, "disk_") || s.Name == CPUUsageActive {
					continue
				}
				want, ok := tc.want[s.Name]
				if !ok {
					t.Errorf("unexpected sample %s = %v", s.Name, s.Value)
				} else if !near(s.Value, want) {
					t.Errorf("%s = %v, want %v", s.Name, s.Value, want)
				}
				delete(tc.want, s.Name)
			}
			for name := range tc.want {
				t.Errorf("no %s sample", name)
			}
		})
	}
}

func TestCollectOddStat(t *testing.T) {
	for _, tc := range []struct{ fixture, err string }{
		{"odd/stat-garbage", `cpu column 3 is "x300", not a number`},
		{"odd/stat-short", "cpu line has 3 columns, want at least 4"},
		{"odd/stat-nototal", `first line does not start with "cpu "`},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			dir := procDir(t, "ec2/meminfo", "ec2/stat", "")
			c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs})
			if _, err := c.Collect(nil); err == nil || !strings.Contains(err.Error(), "mountinfo") {
				t.Fatalf("error = %v, want the missing mountinfo", err)
			}
			copyFixture(t, tc.fixture, filepath.Join(dir, "stat"))
			got, err := c.Collect(nil)
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "cpu_usage_active skipped") {
				t.Errorf("error = %v, want %q", err, tc.err)
			}
			if len(find(got, CPUUsageActive, "", "")) != 0 || len(find(got, MemTotal, "", "")) != 1 {
				t.Errorf("samples = %v, want memory but no cpu", got)
			}
			// A good reading after a bad one is measured from the last good one.
			copyFixture(t, "ec2/stat.2", filepath.Join(dir, "stat"))
			got, _ = c.Collect(nil)
			wantValue(t, got, CPUUsageActive, "cpu", "cpu-total", UnitPercent, 50)
		})
	}
}

func TestCollectCPUBackwards(t *testing.T) {
	dir := procDir(t, "", "ec2/stat.2", "")
	c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs})
	c.Collect(nil)
	copyFixture(t, "ec2/stat", filepath.Join(dir, "stat"))
	got, err := c.Collect(nil)
	if err == nil || !strings.Contains(err.Error(), "cpu: total CPU time went backwards (9369000 -> 9367000)") || len(find(got, CPUUsageActive, "", "")) != 0 {
		t.Fatalf("samples %v, error %v: want no cpu sample and a backwards error", got, err)
	}
	copyFixture(t, "ec2/stat.2", filepath.Join(dir, "stat"))
	got, _ = c.Collect(nil)
	wantValue(t, got, CPUUsageActive, "cpu", "cpu-total", UnitPercent, 50)
}

func TestCollectOddMountinfo(t *testing.T) {
	dir := procDir(t, "ec2/meminfo", "ec2/stat", "odd/mountinfo")
	fsys := fakeFS{
		"/":                        {BlockSize: 4096, Blocks: 100, BlocksFree: 50, BlocksAvail: 50},
		"/srv/tab\tand\\backslash": {BlockSize: 4096, Blocks: 100, BlocksFree: 100, BlocksAvail: 100},
	}
	c := New(Options{ProcRoot: dir, Statfs: fsys.statfs})
	for range 2 { // the cached mount table reports its problems every cycle too
		got, err := c.Collect(nil)
		for _, want := range []string{
			"mountinfo line 2: 5 fields, want at least 10: line skipped",
			`mountinfo line 3: no " - " separator before the file system type: line skipped`,
			`mountinfo line 6: no file system type and mount source after " - ": line skipped`,
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error = %v, want it to say %q", err, want)
			}
		}
		if n := strings.Count(err.Error(), "\n") + 1; n != 3 {
			t.Errorf("error has %d lines, want 3: %v", n, err)
		}
		one(t, got, DiskUsedPercent, "path", "/")
		s := one(t, got, DiskUsedPercent, "path", "/srv/tab\tand\\backslash")
		if s.Dims[0].Value != "nvme3n1" {
			t.Errorf("device = %q, want nvme3n1", s.Dims[0].Value)
		}
	}
}

func TestCollectIgnoreFSTypes(t *testing.T) {
	dir := procDir(t, "ec2/meminfo", "ec2/stat", "ec2/self/mountinfo")
	all := fakeFS{}
	for _, p := range []string{"/proc", "/sys", "/var/lib/docker/overlay2/3f2a9c/merged", "/proc/sys/fs/binfmt_misc", "/mnt/scratch disk"} {
		all[p] = FSStats{BlockSize: 4096, Blocks: 10, BlocksFree: 5, BlocksAvail: 5}
	}
	for p, st := range ec2FS {
		all[p] = st
	}
	c := New(Options{ProcRoot: dir, Statfs: all.statfs, IgnoreFSTypes: []string{"tmpfs"}})
	got, err := c.Collect(nil)
	var paths []string
	for _, s := range find(got, DiskUsedPercent, "", "") {
		paths = append(paths, s.Dims[2].Value)
	}
	slices.Sort(paths)
	// Everything but tmpfs and autofs (always skipped); the statfs errors are the pseudo file
	// systems fakeFS does not know, which a real statfs would answer with size 0.
	want := []string{"/", "/boot/efi", "/data", "/mnt/scratch disk", "/proc", "/sys", "/var/lib/docker/overlay2/3f2a9c/merged"}
	if !slices.Equal(paths, want) {
		t.Errorf("paths = %q, want %q (error %v)", paths, want, err)
	}
	if err != nil && strings.Contains(err.Error(), "binfmt_misc") {
		t.Errorf("autofs mount was statfs'd: %v", err)
	}
}

// The mount list and its dimension slices survive cycles, and a changed mount table keeps
// the entries of the mounts that stayed.
func TestCollectReusesMounts(t *testing.T) {
	dir := procDir(t, "ec2/meminfo", "ec2/stat", "ec2/self/mountinfo")
	c := New(Options{ProcRoot: dir, Statfs: ec2FS.statfs})
	dimsOf := func(samples []Sample, path string) *Dim {
		return &one(t, samples, DiskFree, "path", path).Dims[0]
	}
	a, _ := c.Collect(nil)
	b, _ := c.Collect(nil)
	if dimsOf(a, "/") != dimsOf(b, "/") {
		t.Error("unchanged mount table: / got new dims")
	}
	mi, err := os.ReadFile(filepath.Join(dir, "self", "mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(mi), " /data rw,noatime shared:27 - ext4 /dev/nvme2n1", " /data rw,noatime shared:27 - ext4 /dev/nvme9n1", 1) +
		"48 98 259:9 / /new rw - ext4 /dev/nvme4n1 rw\n"
	if err := os.WriteFile(filepath.Join(dir, "self", "mountinfo"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	ec2 := fakeFS{"/new": {BlockSize: 1, Blocks: 4, BlocksFree: 1, BlocksAvail: 1}}
	for p, st := range ec2FS {
		ec2[p] = st
	}
	c.statfs = ec2.statfs
	d, _ := c.Collect(nil)
	if dimsOf(a, "/") != dimsOf(d, "/") {
		t.Error("changed mount table: / got new dims")
	}
	if got := one(t, d, DiskFree, "path", "/data").Dims[0].Value; got != "nvme9n1" {
		t.Errorf("/data device = %q after the remount, want nvme9n1", got)
	}
	wantValue(t, d, DiskUsedPercent, "path", "/new", UnitPercent, 75)
}

func TestCollectOtherProcRootMissing(t *testing.T) {
	c := New(Options{ProcRoot: filepath.Join(t.TempDir(), "nothing"), Statfs: fakeFS{}.statfs})
	got, err := c.Collect(nil)
	if len(got) != 0 || err == nil {
		t.Fatalf("got %v, %v: want no samples and an error", got, err)
	}
	for _, want := range []string{"memory:", "cpu:", "disk:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

// TestCollectLive runs against this machine's /proc and file systems.
func TestCollectLive(t *testing.T) {
	c := New(Options{})
	got, err := c.Collect(nil)
	checkLive(t, got, err)
	// /proc/stat's total grows with every clock tick, busy or idle: read until it has.
	deadline := time.Now().Add(5 * time.Second)
	for len(find(got, CPUUsageActive, "", "")) == 0 && time.Now().Before(deadline) {
		got, err = c.Collect(got[:0])
	}
	checkLive(t, got, err)
	one(t, got, CPUUsageActive, "cpu", "cpu-total")
}

func checkLive(t *testing.T, got []Sample, err error) {
	t.Helper()
	if err != nil {
		// A mount this user may not statfs is no failure of the collector.
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.HasPrefix(line, "disk: ") {
				t.Errorf("Collect: %s", line)
			} else {
				t.Logf("Collect: %s", line)
			}
		}
	}
	if s := one(t, got, MemTotal, "", ""); s.Value <= 0 {
		t.Errorf("mem_total = %v", s.Value)
	}
	if s := one(t, got, MemUsed, "", ""); s.Value <= 0 || s.Value > one(t, got, MemTotal, "", "").Value {
		t.Errorf("mem_used = %v", s.Value)
	}
	one(t, got, SwapUsedPercent, "", "")
	for _, s := range got {
		if s.Unit == UnitPercent && (s.Value < 0 || s.Value > 100 || !finite(s.Value)) {
			t.Errorf("%s%v = %v, not a percentage", s.Name, s.Dims, s.Value)
		}
		if s.Value < 0 {
			t.Errorf("%s%v = %v < 0", s.Name, s.Dims, s.Value)
		}
	}
	t.Logf("%d samples, %d mounts", len(got), len(find(got, DiskUsedPercent, "", "")))
}

// TestCollectAllocs holds the allocation budget: at most 50 per cycle with 8 mounts.
func TestCollectAllocs(t *testing.T) {
	dir := procDir(t, "ec2/meminfo", "ec2/stat", "ec2/self/mountinfo")
	fsys := maps(ec2FS, fakeFS{"/mnt/scratch disk": ec2FS["/"]})
	c := New(Options{ProcRoot: dir, Statfs: fsys.statfs})
	buf, err := c.Collect(nil)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() { buf, _ = c.Collect(buf[:0]) })
	t.Logf("%.0f allocations per Collect", allocs)
	if allocs > 50 {
		t.Errorf("%.0f allocations per Collect, budget 50", allocs)
	}
}

func maps(fss ...fakeFS) fakeFS {
	out := fakeFS{}
	for _, f := range fss {
		for k, v := range f {
			out[k] = v
		}
	}
	return out
}

func FuzzParseMeminfo(f *testing.F) {
	for _, p := range []string{"ec2/meminfo", "live/meminfo", "odd/meminfo-garbage", "odd/meminfo-truncated", "odd/meminfo-kernel3.10"} {
		b, _ := os.ReadFile(filepath.Join("testdata", p))
		f.Add(b)
	}
	c := New(Options{ProcRoot: "/nonexistent", Statfs: fakeFS{}.statfs})
	f.Fuzz(func(t *testing.T, data []byte) {
		got := c.appendMeminfo(nil, data)
		c.errs = c.errs[:0]
		for _, s := range got {
			if !finite(s.Value) || s.Value < 0 || (s.Unit == UnitPercent && s.Value > 100) {
				t.Errorf("%s = %v from %q", s.Name, s.Value, data)
			}
		}
	})
}

func FuzzParseStat(f *testing.F) {
	for _, p := range []string{"ec2/stat", "live/stat", "odd/stat-garbage", "odd/stat-short", "odd/stat-nototal"} {
		b, _ := os.ReadFile(filepath.Join("testdata", p))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ct, err := parseStat(data)
		if err == nil && ct.idle > ct.total {
			t.Errorf("idle %d > total %d from %q", ct.idle, ct.total, data)
		}
	})
}

func FuzzMountinfo(f *testing.F) {
	for _, p := range []string{"ec2/self/mountinfo", "live/self/mountinfo", "odd/mountinfo"} {
		b, _ := os.ReadFile(filepath.Join("testdata", p))
		f.Add(b)
	}
	c := New(Options{ProcRoot: "/nonexistent", Statfs: fakeFS{}.statfs})
	f.Fuzz(func(t *testing.T, data []byte) {
		c.refreshMounts(data)
		seen := map[string]bool{}
		for _, m := range c.mounts {
			if seen[m.path] {
				t.Errorf("mount point %q listed twice", m.path)
			}
			seen[m.path] = true
			if len(m.dims) != 3 || m.dims[2].Value != m.path || m.dims[1].Value != m.fstype {
				t.Errorf("mount %+v: dims %v do not match", m, m.dims)
			}
		}
	})
}
