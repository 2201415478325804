package metrics

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// famDir makes a procfs look-alike from fixture files: dst (under the procfs) -> src
// (under testdata/). procs copies testdata/procs' process directories into it too.
func famDir(t testing.TB, files map[string]string, procs bool) string {
	t.Helper()
	dir := t.TempDir()
	for dst, src := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, dst)), 0o755); err != nil {
			t.Fatal(err)
		}
		copyFixture(t, src, filepath.Join(dir, dst))
	}
	if procs {
		if err := os.CopyFS(dir, os.DirFS("testdata/procs")); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCollectCPUPerCore: every usage_* figure per core and in total, from /proc/stat
// deltas, with the agent's cpu dimension values, and cpu_usage_active still named so.
func TestCollectCPUPerCore(t *testing.T) {
	dir := famDir(t, map[string]string{"stat": "ec2/stat"}, false)
	c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs, CPU: &CPUOptions{PerCore: true, TotalCPU: true}})
	first, _ := c.Collect(nil)
	if got := find(first, CPUUsageActive, "", ""); len(got) != 0 {
		t.Fatalf("first Collect: %v, want no cpu sample yet", got)
	}
	// cpu0 as ec2/stat.2's total (user 600 of which guest 300, system 200, idle 1000,
	// iowait 100, softirq 50, steal 50: 2000 ticks); cpu1 idle all the time.
	copyFixture(t, "ec2/stat.2", filepath.Join(dir, "stat"))
	data, _ := os.ReadFile(filepath.Join(dir, "stat"))
	s := strings.Replace(string(data), "cpu0 500300 1000 150100 4000500 25050 0 5025 2525 50150 0", "cpu0 500600 1000 150200 4001000 25100 0 5050 2550 50300 0", 1)
	s = strings.Replace(s, "cpu1 500300 1000 150100 4000500 25050 0 5025 2525 50150 0", "cpu1 500000 1000 150000 4001000 25000 0 5000 2500 50000 0", 1)
	writeFile(t, filepath.Join(dir, "stat"), s)
	got, err := c.Collect(nil)
	if err != nil && !strings.Contains(err.Error(), "mountinfo") {
		t.Fatal(err)
	}
	want := map[string]float64{
		"cpu_usage_active": 50, "cpu_usage_idle": 50, "cpu_usage_iowait": 5, "cpu_usage_system": 10,
		"cpu_usage_user": 15, "cpu_usage_nice": 0, "cpu_usage_irq": 0, "cpu_usage_softirq": 2.5,
		"cpu_usage_steal": 2.5, "cpu_usage_guest": 15, "cpu_usage_guest_nice": 0,
	}
	for name, v := range want {
		wantValue(t, got, name, "cpu", "cpu0", UnitPercent, v)
		wantValue(t, got, name, "cpu", "cpu-total", UnitPercent, want2(name, "total"))
		wantValue(t, got, name, "cpu", "cpu1", UnitPercent, want2(name, "idle"))
	}
	if n := len(find(got, "", "", "")); n != 0 {
		t.Errorf("a sample without a name: %v", got)
	}
	if n := len(got); n != 33 {
		t.Errorf("%d samples, want 3 CPUs x 11", n)
	}
}

// want2 is the figure of cpu-total (cpu0's 2000 ticks and cpu1's 1000 idle ones, over
// the whole machine as the fixture's total line says: ec2/stat.2's) and of an idle cpu1.
func want2(name, which string) float64 {
	if which == "idle" {
		if name == "cpu_usage_idle" {
			return 100
		}
		return 0
	}
	return map[string]float64{
		"cpu_usage_active": 50, "cpu_usage_idle": 50, "cpu_usage_iowait": 5, "cpu_usage_system": 10,
		"cpu_usage_user": 15, "cpu_usage_nice": 0, "cpu_usage_irq": 0, "cpu_usage_softirq": 2.5,
		"cpu_usage_steal": 2.5, "cpu_usage_guest": 15, "cpu_usage_guest_nice": 0,
	}[name]
}

// TestCollectCPUMeasurements: a measurement list selects, renames and re-units; without
// totalcpu there is no cpu-total series; an unknown name is an error every cycle.
func TestCollectCPUMeasurements(t *testing.T) {
	dir := famDir(t, map[string]string{"stat": "ec2/stat"}, false)
	c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs, CPU: &CPUOptions{PerCore: true, Measurements: []Measurement{
		{Name: "usage_idle", Rename: "CPU_IDLE", Unit: "None"}, {Name: "cpu_usage_iowait"}, {Name: "usage_bogus"},
	}}})
	_, err := c.Collect(nil)
	if err == nil || !strings.Contains(err.Error(), `cpu: unknown measurement "usage_bogus"`) {
		t.Fatalf("error = %v, want the unknown measurement", err)
	}
	copyFixture(t, "ec2/stat.2", filepath.Join(dir, "stat"))
	got, err := c.Collect(nil)
	if err == nil || !strings.Contains(err.Error(), "usage_bogus") {
		t.Errorf("second Collect error = %v, want the unknown measurement again", err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.Name+"/"+s.Dims[0].Value)
	}
	if want := []string{"CPU_IDLE/cpu0", "cpu_usage_iowait/cpu0", "CPU_IDLE/cpu1", "cpu_usage_iowait/cpu1"}; !slices.Equal(names, want) {
		t.Errorf("samples %q, want %q", names, want)
	}
	wantValue(t, got, "CPU_IDLE", "cpu", "cpu0", "None", 50)
}

// TestCollectCPUCoreBackwards: a core whose time went backwards (offline and back) has no
// figures that cycle and an error; the others still do.
func TestCollectCPUCoreBackwards(t *testing.T) {
	dir := famDir(t, map[string]string{"stat": "ec2/stat.2"}, false)
	c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs, CPU: &CPUOptions{PerCore: true}})
	c.Collect(nil)
	data, _ := os.ReadFile(filepath.Join(dir, "stat"))
	s := strings.Replace(string(data), "cpu0 500300 1000 150100 4000500", "cpu0 300 0 100 500", 1)
	s = strings.Replace(s, "cpu1 500300 1000 150100 4000500 25050", "cpu1 500400 1000 150100 4000600 25050", 1)
	writeFile(t, filepath.Join(dir, "stat"), s)
	got, err := c.Collect(nil)
	if err == nil || !strings.Contains(err.Error(), "cpu: cpu0 CPU time went backwards") {
		t.Errorf("error = %v, want cpu0 backwards", err)
	}
	if n := len(find(got, "cpu_usage_idle", "cpu", "cpu0")); n != 0 {
		t.Errorf("cpu0 has %d samples, want none", n)
	}
	wantValue(t, got, "cpu_usage_idle", "cpu", "cpu1", UnitPercent, 50)
}

// TestCollectDiskIO: per-device differences since the previous cycle with the agent's names
// and units; iops_in_progress as read; a device whose counters went backwards (detached and
// re-attached) has no difference samples that cycle, never a negative or huge one.
func TestCollectDiskIO(t *testing.T) {
	dir := famDir(t, map[string]string{"diskstats": "ec2/diskstats"}, false)
	c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs, DiskIO: &DiskIOOptions{}})
	first, _ := c.Collect(nil)
	if got := find(first, "diskio_reads", "", ""); len(got) != 0 {
		t.Errorf("first Collect: %v, want no differences yet", got)
	}
	wantValue(t, first, "diskio_iops_in_progress", "name", "nvme1n1", UnitCount, 2)
	copyFixture(t, "ec2/diskstats.2", filepath.Join(dir, "diskstats"))
	got, _ := c.Collect(nil)
	for _, w := range []struct {
		name, unit string
		v          float64
	}{
		{"diskio_reads", UnitCount, 100}, {"diskio_writes", UnitCount, 50},
		{"diskio_read_bytes", UnitBytes, 800 * 512}, {"diskio_write_bytes", UnitBytes, 4000 * 512},
		{"diskio_read_time", UnitMilliseconds, 30}, {"diskio_write_time", UnitMilliseconds, 70},
		{"diskio_io_time", UnitMilliseconds, 60}, {"diskio_iops_in_progress", UnitCount, 3},
	} {
		wantValue(t, got, w.name, "name", "nvme0n1", w.unit, w.v)
	}
	wantValue(t, got, "diskio_reads", "name", "loop0", UnitCount, 0)
	// nvme1n1 went backwards: only the gauge.
	for _, s := range got {
		if s.Dims[0].Value == "nvme1n1" && s.Name != "diskio_iops_in_progress" {
			t.Errorf("nvme1n1 %s = %v after its counters went backwards, want no sample", s.Name, s.Value)
		}
		if s.Value < 0 || s.Value > 1e15 {
			t.Errorf("%s%v = %v", s.Name, s.Dims, s.Value)
		}
	}
	// The next cycle measures nvme1n1 from its new counters.
	data, _ := os.ReadFile(filepath.Join(dir, "diskstats"))
	writeFile(t, filepath.Join(dir, "diskstats"), strings.Replace(string(data), "nvme1n1 10 0 80", "nvme1n1 15 0 120", 1))
	got, _ = c.Collect(nil)
	wantValue(t, got, "diskio_reads", "name", "nvme1n1", UnitCount, 5)
	wantValue(t, got, "diskio_read_bytes", "name", "nvme1n1", UnitBytes, 40*512)
	if got := find(got, "diskio_reads", "name", "nvme0n1"); len(got) != 1 || got[0].Value != 0 {
		t.Errorf("nvme0n1 unchanged: %v, want 0", got)
	}
}

// TestCollectDiskIODevices: resources name the devices reported; a device that vanishes
// is forgotten and starts afresh when it returns.
func TestCollectDiskIODevices(t *testing.T) {
	dir := famDir(t, map[string]string{"diskstats": "ec2/diskstats"}, false)
	c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs, DiskIO: &DiskIOOptions{Devices: []string{"nvme0n1"}, Measurements: []Measurement{{Name: "reads"}}}})
	c.Collect(nil)
	copyFixture(t, "ec2/diskstats.2", filepath.Join(dir, "diskstats"))
	got, _ := c.Collect(nil)
	if len(got) != 1 || got[0].Name != "diskio_reads" || got[0].Value != 100 || got[0].Dims[0] != (Dim{"name", "nvme0n1"}) {
		t.Errorf("samples %v, want diskio_reads{name=nvme0n1} = 100 only", got)
	}
	writeFile(t, filepath.Join(dir, "diskstats"), "")
	c.Collect(nil)
	if len(c.diskio.list) != 0 {
		t.Errorf("series %v kept after the device vanished", c.diskio.list)
	}
	copyFixture(t, "ec2/diskstats.2", filepath.Join(dir, "diskstats"))
	if got, _ := c.Collect(nil); len(got) != 0 {
		t.Errorf("returning device: %v, want no difference on its first cycle back", got)
	}
}

// TestCollectNet: per-interface differences, lo left out, a re-created interface
// (counters backwards) without samples that cycle.
func TestCollectNet(t *testing.T) {
	dir := famDir(t, map[string]string{"net/dev": "ec2/net/dev"}, false)
	c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs, Net: &NetOptions{}})
	if got, _ := c.Collect(nil); len(got) != 0 {
		t.Errorf("first Collect: %v, want nothing yet", got)
	}
	copyFixture(t, "ec2/net/dev.2", filepath.Join(dir, "net/dev"))
	got, _ := c.Collect(nil)
	for _, w := range []struct {
		name, unit string
		v          float64
	}{
		{"net_bytes_recv", UnitBytes, 1000000}, {"net_bytes_sent", UnitBytes, 200000},
		{"net_packets_recv", UnitCount, 1000}, {"net_packets_sent", UnitCount, 800},
		{"net_err_in", UnitCount, 1}, {"net_err_out", UnitCount, 0},
		{"net_drop_in", UnitCount, 0}, {"net_drop_out", UnitCount, 2},
	} {
		wantValue(t, got, w.name, "interface", "ens5", w.unit, w.v)
	}
	if len(got) != 8 {
		t.Errorf("%d samples, want ens5's 8 only (lo left out, docker0 went backwards): %v", len(got), got)
	}
}

// TestCollectNetLoopback: naming lo reports it.
func TestCollectNetLoopback(t *testing.T) {
	dir := famDir(t, map[string]string{"net/dev": "ec2/net/dev"}, false)
	c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs, Net: &NetOptions{Interfaces: []string{"lo"}, Measurements: []Measurement{{Name: "net_bytes_recv"}}}})
	c.Collect(nil)
	copyFixture(t, "ec2/net/dev.2", filepath.Join(dir, "net/dev"))
	got, _ := c.Collect(nil)
	if len(got) != 1 {
		t.Fatalf("samples %v, want lo's bytes_recv", got)
	}
	wantValue(t, got, "net_bytes_recv", "interface", "lo", UnitBytes, 100000)
}

// TestCollectOddCounters: garbage and truncated diskstats and net/dev lines are reported
// with their line numbers and skipped; the good lines still count.
func TestCollectOddCounters(t *testing.T) {
	dir := famDir(t, map[string]string{"diskstats": "odd/diskstats-garbage", "net/dev": "odd/net-dev-truncated"}, false)
	c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs, DiskIO: &DiskIOOptions{}, Net: &NetOptions{}})
	got, err := c.Collect(nil)
	for _, want := range []string{
		"diskstats line 2: counter 2 is \"x\", not a number", "diskstats line 3: 3 counters, want at least 10",
		"diskstats line 5: fewer than 3 fields", "net/dev line 3: 3 counters, want 16",
		"net/dev line 5: counter 3 is \"x\", not a number", "net/dev line 6: no interface name", "net/dev line 7: 3 counters",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
	wantValue(t, got, "diskio_iops_in_progress", "name", "nvme1n1", UnitCount, 0)
	if n := len(find(got, "diskio_iops_in_progress", "", "")); n != 2 {
		t.Errorf("%d diskio series, want loop0 and nvme1n1", n)
	}
	if _, err := c.Collect(nil); err == nil {
		t.Error("second Collect: no error, want the same problems again")
	}
	if n := len(c.net.list); n != 1 || c.net.list[0].name != "eth1" {
		t.Errorf("net series %v, want eth1 only", c.net.list)
	}
}

// TestCollectNetstat: TCP sockets of tcp and tcp6 by state, UDP sockets of udp and udp6;
// missing tcp6/udp6 (IPv6 off) is no error.
func TestCollectNetstat(t *testing.T) {
	dir := famDir(t, map[string]string{"net/tcp": "ec2/net/tcp", "net/tcp6": "ec2/net/tcp6", "net/udp": "ec2/net/udp", "net/udp6": "ec2/net/udp6"}, false)
	c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs, Netstat: &NetstatOptions{}})
	got, err := c.Collect(nil)
	if err != nil && strings.Contains(err.Error(), "netstat") {
		t.Fatal(err)
	}
	want := map[string]float64{
		"netstat_tcp_established": 3, "netstat_tcp_syn_sent": 1, "netstat_tcp_syn_recv": 0, "netstat_tcp_fin_wait1": 0,
		"netstat_tcp_fin_wait2": 0, "netstat_tcp_time_wait": 2, "netstat_tcp_close": 0, "netstat_tcp_close_wait": 1,
		"netstat_tcp_last_ack": 0, "netstat_tcp_listen": 3, "netstat_tcp_closing": 0, "netstat_tcp_none": 0,
		"netstat_udp_socket": 4,
	}
	if len(got) != len(want) {
		t.Errorf("%d samples, want %d", len(got), len(want))
	}
	for name, v := range want {
		wantValue(t, got, name, "", "", UnitCount, v)
	}
	os.Remove(filepath.Join(dir, "net/tcp6"))
	os.Remove(filepath.Join(dir, "net/udp6"))
	got, err = c.Collect(nil)
	if err != nil && strings.Contains(err.Error(), "netstat") {
		t.Errorf("without IPv6: %v", err)
	}
	wantValue(t, got, "netstat_tcp_listen", "", "", UnitCount, 2)
	wantValue(t, got, "netstat_udp_socket", "", "", UnitCount, 3)

	// No TCPv6 socket open: tcp6 is not read (its listener is not counted), and sockstat's
	// tw counts the TIME_WAIT sockets of both families.
	copyFixture(t, "ec2/net/tcp6", filepath.Join(dir, "net/tcp6"))
	writeFile(t, filepath.Join(dir, "net/sockstat6"), "TCP6: inuse 0\nUDP6: inuse 1\n")
	writeFile(t, filepath.Join(dir, "net/sockstat"), "sockets: used 40\nTCP: inuse 6 orphan 0 tw 5 alloc 8 mem 3\nUDP: inuse 3 mem 2\n")
	got, _ = c.Collect(nil)
	wantValue(t, got, "netstat_tcp_listen", "", "", UnitCount, 2)
	wantValue(t, got, "netstat_tcp_established", "", "", UnitCount, 2)
	wantValue(t, got, "netstat_tcp_time_wait", "", "", UnitCount, 5) // 2 IPv4 + 3 IPv6
	writeFile(t, filepath.Join(dir, "net/sockstat6"), "TCP6: inuse 2\n")
	got, _ = c.Collect(nil)
	wantValue(t, got, "netstat_tcp_listen", "", "", UnitCount, 3)
	wantValue(t, got, "netstat_tcp_time_wait", "", "", UnitCount, 2)
	os.Remove(filepath.Join(dir, "net/sockstat6"))

	copyFixture(t, "odd/net-tcp-garbage", filepath.Join(dir, "net/tcp"))
	got, err = c.Collect(nil)
	if err == nil || !strings.Contains(err.Error(), "2 lines without a hex state") {
		t.Errorf("garbage: error %v, want 2 bad lines", err)
	}
	wantValue(t, got, "netstat_tcp_listen", "", "", UnitCount, 2) // 1 + tcp6's
	wantValue(t, got, "netstat_tcp_none", "", "", UnitCount, 2)   // 0x0C and 0x0
}

// TestCollectProcesses: the processes of a /proc by state, threads summed, a cut stat
// file reported and not counted, non-process entries ignored.
func TestCollectProcesses(t *testing.T) {
	dir := famDir(t, nil, true)
	c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs, Processes: &ProcessesOptions{}})
	got, err := c.Collect(nil)
	if err == nil || !strings.Contains(err.Error(), "processes: 1 processes not counted, the first: "+dir+"/990/stat: 8 fields after comm") {
		t.Errorf("error %v, want the cut 990/stat", err)
	}
	want := map[string]float64{
		"processes_running": 1, "processes_sleeping": 4, "processes_blocked": 1, "processes_zombies": 1,
		"processes_stopped": 1, "processes_idle": 1, "processes_dead": 0, "processes_paging": 0,
		"processes_total": 9, "processes_total_threads": 1 + 1 + 1 + 1 + 1 + 42 + 2 + 1 + 1,
	}
	for name, v := range want {
		wantValue(t, got, name, "", "", UnitCount, v)
	}
}

// TestCollectProcstat: exe, pattern and pid_file entries; cpu_usage from the CPU time
// between two cycles over the clock's time; process_name and the entry as dimensions;
// pid_count as procstat_lookup_pid_count.
func TestCollectProcstat(t *testing.T) {
	dir := famDir(t, nil, true)
	pidFile := filepath.Join(t.TempDir(), "java.pid")
	writeFile(t, pidFile, "950\n")
	now := time.Unix(1000, 0)
	c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs, Now: func() time.Time { return now }, Procstat: []ProcstatOptions{
		{Exe: "^nginx$"}, {Pattern: `app\.jar`}, {PidFile: pidFile, Measurements: []Measurement{{Name: "memory_rss"}, {Name: "cpu_usage"}}},
		{Pattern: "no-such-thing"},
	}})
	got, err := c.Collect(nil)
	if err == nil || !strings.Contains(err.Error(), `procstat pattern "no-such-thing" matches no process`) {
		t.Errorf("error %v, want the pattern matching nothing", err)
	}
	if n := len(find(got, "procstat_cpu_usage", "", "")); n != 0 {
		t.Errorf("first Collect has %d cpu_usage samples, want none", n)
	}
	nginx := []Dim{{"exe", "^nginx$"}, {"process_name", "nginx"}}
	rss := find(got, "procstat_memory_rss", "exe", "^nginx$")
	if len(rss) != 2 || !slices.Equal(rss[0].Dims, nginx) || rss[0].Value+rss[1].Value != float64(3500*os.Getpagesize()) {
		t.Errorf("nginx rss %v, want master and worker (1000 + 2500 pages) with dims %v", rss, nginx)
	}
	wantValue(t, got, "procstat_lookup_pid_count", "exe", "^nginx$", UnitCount, 2)
	if d := one(t, got, "procstat_lookup_pid_count", "exe", "^nginx$").Dims; !slices.Equal(d, []Dim{{"exe", "^nginx$"}, {"pid_finder", "native"}}) {
		t.Errorf("lookup dims %v", d)
	}
	wantValue(t, got, "procstat_lookup_pid_count", "pattern", "no-such-thing", UnitCount, 0)
	wantValue(t, got, "procstat_memory_vms", "pattern", `app\.jar`, UnitBytes, 4000000000)
	wantValue(t, got, "procstat_read_bytes", "pattern", `app\.jar`, UnitBytes, 1000000)
	wantValue(t, got, "procstat_write_bytes", "pattern", `app\.jar`, UnitBytes, 2000000)
	if d := one(t, got, "procstat_memory_rss", "pidfile", pidFile).Dims; !slices.Equal(d, []Dim{{"pidfile", pidFile}, {"process_name", "java"}}) {
		t.Errorf("pidfile dims %v", d)
	}
	if n := len(find(got, "procstat_memory_vms", "pidfile", pidFile)); n != 0 {
		t.Errorf("pidfile entry has memory_vms, not in its measurements")
	}

	// 10 s later java used 15 s of CPU (1500 ticks): 150 % of one core.
	now = now.Add(10 * time.Second)
	writeFile(t, filepath.Join(dir, "950/stat"), strings.Replace(readFile(t, filepath.Join(dir, "950/stat")), " 90000 10000 ", " 91000 10500 ", 1))
	got, _ = c.Collect(nil)
	wantValue(t, got, "procstat_cpu_usage", "pidfile", pidFile, UnitPercent, 150)
	wantValue(t, got, "procstat_cpu_usage", "pattern", `app\.jar`, UnitPercent, 150)
	if cpu := find(got, "procstat_cpu_usage", "exe", "^nginx$"); len(cpu) != 2 || cpu[0].Value != 0 || cpu[1].Value != 0 {
		t.Errorf("idle nginx cpu_usage %v, want two 0s", cpu)
	}

	// The pid is reused by another process: no cpu_usage from the old one's time.
	now = now.Add(10 * time.Second)
	writeFile(t, filepath.Join(dir, "950/stat"), strings.Replace(readFile(t, filepath.Join(dir, "950/stat")), " 42 0 3000 ", " 42 0 9000 ", 1))
	got, _ = c.Collect(nil)
	if n := len(find(got, "procstat_cpu_usage", "pidfile", pidFile)); n != 0 {
		t.Errorf("reused pid: %d cpu_usage samples, want none", n)
	}
}

// TestCollectProcstatPidFileProblems: a missing pid file, garbage in it, and a process
// that is gone each say what is wrong; pid_count is 0.
func TestCollectProcstatPidFileProblems(t *testing.T) {
	dir := famDir(t, nil, true)
	tmp := t.TempDir()
	for _, tc := range []struct{ content, want string }{
		{"", "no such file or directory"},
		{"nginx\n", `"nginx" is not a process id`},
		{"4242\n", "process 4242: no such file or directory"},
	} {
		path := filepath.Join(tmp, "app.pid")
		os.Remove(path)
		if tc.content != "" {
			writeFile(t, path, tc.content)
		}
		c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs, Procstat: []ProcstatOptions{{PidFile: path}}})
		got, err := c.Collect(nil)
		if err == nil || !strings.Contains(err.Error(), `procstat pidfile "`+path+`"`) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.content, err, tc.want)
		}
		wantValue(t, got, "procstat_lookup_pid_count", "pidfile", path, UnitCount, 0)
		if len(got) != 1 {
			t.Errorf("%q: samples %v, want pid_count only", tc.content, got)
		}
	}
}

// TestCollectBadOptions: a regexp that does not compile is an error every cycle, and the
// entry watches nothing.
func TestCollectBadOptions(t *testing.T) {
	dir := famDir(t, nil, true)
	c := New(Options{ProcRoot: dir, Statfs: fakeFS{}.statfs, Procstat: []ProcstatOptions{{Exe: "nginx("}, {}}})
	for range 2 {
		got, err := c.Collect(nil)
		if err == nil || !strings.Contains(err.Error(), `procstat exe "nginx(": error parsing regexp`) || !strings.Contains(err.Error(), "none of pid_file, exe or pattern") {
			t.Errorf("error %v, want the bad regexp and the empty entry", err)
		}
		if len(find(got, "procstat_lookup_pid_count", "", "")) != 0 {
			t.Errorf("samples %v", got)
		}
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCollectFamiliesLive: every family on this machine's /proc: plausible values.
func TestCollectFamiliesLive(t *testing.T) {
	c := New(Options{
		CPU: &CPUOptions{PerCore: true, TotalCPU: true}, DiskIO: &DiskIOOptions{}, Net: &NetOptions{},
		Netstat: &NetstatOptions{}, Processes: &ProcessesOptions{},
		Procstat: []ProcstatOptions{{Pattern: "."}, {Exe: "."}},
	})
	c.Collect(nil)
	got, err := c.Collect(nil)
	if err != nil {
		t.Logf("errors: %v", err)
	}
	for _, s := range got {
		if !finite(s.Value) || s.Value < 0 {
			t.Errorf("%s%v = %v", s.Name, s.Dims, s.Value)
		}
	}
	if n := one(t, got, "processes_total", "", "").Value; n < 2 {
		t.Errorf("processes_total = %v", n)
	}
	if n := len(c.cpu.cores); n < 1 || !c.cpu.cores[0].valid || !c.cpu.all.valid {
		t.Errorf("%d cores read, want at least one, and the total", n)
	}
	if n := len(find(got, "procstat_lookup_pid_count", "pattern", ".")); n != 1 {
		t.Errorf("pattern . : %d pid_count samples", n)
	}
}

// TestCollectAllFamiliesAllocs: with every family on, a cycle over the fixtures allocates
// nothing per process or device seen before.
func TestCollectAllFamiliesAllocs(t *testing.T) {
	dir := famDir(t, map[string]string{
		"meminfo": "ec2/meminfo", "stat": "ec2/stat", "self/mountinfo": "ec2/self/mountinfo", "diskstats": "ec2/diskstats",
		"net/dev": "ec2/net/dev", "net/tcp": "ec2/net/tcp", "net/tcp6": "ec2/net/tcp6", "net/udp": "ec2/net/udp", "net/udp6": "ec2/net/udp6",
	}, true)
	os.Remove(filepath.Join(dir, "990/stat"))
	fsys := maps(ec2FS, fakeFS{"/mnt/scratch disk": ec2FS["/"]})
	c := New(Options{ProcRoot: dir, Statfs: fsys.statfs, CPU: &CPUOptions{PerCore: true, TotalCPU: true}, DiskIO: &DiskIOOptions{}, Net: &NetOptions{},
		Netstat: &NetstatOptions{}, Processes: &ProcessesOptions{}, Procstat: []ProcstatOptions{{Exe: "nginx"}, {Pattern: "java"}}})
	buf, err := c.Collect(nil)
	if err != nil {
		t.Fatal(err)
	}
	buf, _ = c.Collect(buf[:0])
	allocs := testing.AllocsPerRun(20, func() { buf, _ = c.Collect(buf[:0]) })
	t.Logf("%.0f allocations per Collect, %d samples", allocs, len(buf))
	if allocs > 50 {
		t.Errorf("%.0f allocations per Collect, budget 50", allocs)
	}
}

func fuzzSeeds(f *testing.F, paths ...string) {
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join("testdata", p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseCPULines: any /proc/stat gives per-CPU percentages in [0, 100] or an error.
func FuzzParseCPULines(f *testing.F) {
	fuzzSeeds(f, "ec2/stat", "ec2/stat.2", "live/stat", "odd/stat-garbage", "odd/stat-short", "odd/stat-nototal")
	f.Fuzz(func(t *testing.T, data []byte) {
		var prev cpuRaw
		for len(data) > 0 {
			var line []byte
			line, data = cutLine(data)
			n, raw, isCPU, err := parseCPULine(line)
			if !isCPU || err != nil {
				continue
			}
			if n < -1 {
				t.Fatalf("cpu number %d from %q", n, line)
			}
			if pct, ok, _ := cpuPercents(&prev, &raw); ok {
				for i, v := range pct {
					if !finite(v) || v < 0 || v > 100+1e-9 {
						t.Errorf("%s = %v from %q", cpuFields[i].name, v, line)
					}
				}
			}
			prev = raw
		}
	})
}

// FuzzParseDiskstats: any diskstats line parses or says why, and byte counts are whole
// sectors.
func FuzzParseDiskstats(f *testing.F) {
	fuzzSeeds(f, "ec2/diskstats", "ec2/diskstats.2", "live/diskstats", "odd/diskstats-garbage")
	f.Fuzz(func(t *testing.T, data []byte) {
		for len(data) > 0 {
			var line []byte
			line, data = cutLine(data)
			name, v, why := parseDiskstatsLine(line)
			if why == "" && (len(name) == 0 || v[2]%512 != 0 || v[3]%512 != 0) {
				t.Errorf("%q: name %q, counters %v", line, name, v)
			}
		}
	})
}

// FuzzParseNetDev: any /proc/net/dev line parses or says why.
func FuzzParseNetDev(f *testing.F) {
	fuzzSeeds(f, "ec2/net/dev", "ec2/net/dev.2", "live/net/dev", "odd/net-dev-truncated")
	f.Fuzz(func(t *testing.T, data []byte) {
		for len(data) > 0 {
			var line []byte
			line, data = cutLine(data)
			name, _, isIface, why := parseNetDevLine(line)
			if why == "" && isIface && (len(name) == 0 || bytes.ContainsAny(name, " \t:")) {
				t.Errorf("%q: interface %q", line, name)
			}
		}
	})
}

// FuzzCountTCPStates: every line after the header is counted once, as a state or as bad.
func FuzzCountTCPStates(f *testing.F) {
	fuzzSeeds(f, "ec2/net/tcp", "ec2/net/tcp6", "live/net/tcp", "odd/net-tcp-garbage")
	f.Fuzz(func(t *testing.T, data []byte) {
		var counts [13]uint64
		bad := countTCPStates(data, &counts)
		var sum uint64
		for _, n := range counts {
			sum += n
		}
		_, rest := cutLine(data)
		var lines uint64
		for len(rest) > 0 {
			var line []byte
			line, rest = cutLine(rest)
			if f, _ := nextField(line); f != nil {
				lines++
			}
		}
		if sum+uint64(bad) != lines || counts[netstatUDP] != 0 {
			t.Errorf("%d counted + %d bad, want %d lines: %q", sum, bad, lines, data)
		}
	})
}

// FuzzParsePidStat: any stat file parses or says why; comm is what is between the first
// '(' and the last ')'.
func FuzzParsePidStat(f *testing.F) {
	fuzzSeeds(f, "procs/1/stat", "procs/14/stat", "procs/960/stat", "procs/970/stat", "procs/990/stat")
	f.Add([]byte("1 (a) b) R 0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, why := parsePidStat(data)
		if why == "" {
			open, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
			if !bytes.Equal(ps.comm, data[open+1:end]) || ps.state == 0 {
				t.Errorf("%q: comm %q state %q", data, ps.comm, ps.state)
			}
		}
		parsePidIO(data)
		parsePidFile(data)
		sockstatField(data, "TCP:", "tw")
	})
}
