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
