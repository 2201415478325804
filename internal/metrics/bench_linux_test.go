package metrics

import (
	"syscall"
	"testing"
)

// cpuTime is the CPU time (user + system) this process has used, in nanoseconds.
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func benchCollect(b *testing.B, c *Collector) {
	dst, _ := c.Collect(nil)
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		dst, _ = c.Collect(dst[:0])
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(len(find(dst, DiskFree, "", ""))), "mounts")
}

// BenchmarkCollect is one cycle on this machine: its /proc and its file systems.
func BenchmarkCollect(b *testing.B) {
	benchCollect(b, New(Options{}))
}

// BenchmarkCollectFixture is one cycle of the EC2 fixture (8 reported mounts out of 27
// lines): real reads of its files and a real statfs(2) of / for each mount.
func BenchmarkCollectFixture(b *testing.B) {
	dir := procDir(b, "ec2/meminfo", "ec2/stat", "ec2/self/mountinfo")
	benchCollect(b, New(Options{ProcRoot: dir, Statfs: func(string) (FSStats, error) { return statfs("/") }}))
}

// allFamilies turns every family on, with two procstat entries (one exe, one pattern) as a
// typical agent config has, both finding this test binary (a pattern that finds nothing
// costs an error a cycle, which is not what is measured here).
func allFamilies(o Options) Options {
	o.CPU = &CPUOptions{PerCore: true, TotalCPU: true}
	o.DiskIO = &DiskIOOptions{}
	o.Net = &NetOptions{}
	o.Netstat = &NetstatOptions{}
	o.Processes = &ProcessesOptions{}
	o.Procstat = []ProcstatOptions{{Exe: `^metrics\.test$`}, {Pattern: `test\.bench`}}
	return o
}

// BenchmarkCollectAll is one cycle on this machine with every family on: its /proc (every
// process's stat, sockets of /proc/net/tcp*) and its file systems.
func BenchmarkCollectAll(b *testing.B) {
	benchCollect(b, New(allFamilies(Options{})))
}

// BenchmarkCollectFamily is one cycle on this machine of the default set plus one family,
// to see what each costs.
func BenchmarkCollectFamily(b *testing.B) {
	all := allFamilies(Options{})
	for _, f := range []struct {
		name string
		o    Options
	}{
		{"cpu", Options{CPU: all.CPU}}, {"diskio", Options{DiskIO: all.DiskIO}}, {"net", Options{Net: all.Net}},
		{"netstat", Options{Netstat: all.Netstat}}, {"processes", Options{Processes: all.Processes}},
		{"procstat", Options{Procstat: all.Procstat}},
	} {
		b.Run(f.name, func(b *testing.B) { benchCollect(b, New(f.o)) })
	}
}
