package config

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stackhand/stackhand/internal/metrics"
)

// TestCollectorOptions: each metrics family key becomes the collector's option, with the
// CloudWatch agent's defaults: totalcpu true, cpu per core only with resources ["*"],
// diskio and net on every device (net but lo) without resources.
func TestCollectorOptions(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got := c.Metrics.CollectorOptions()
	want := metrics.Options{
		IgnoreFSTypes: []string{"tmpfs", "overlay"},
		CPU:           &metrics.CPUOptions{PerCore: true, TotalCPU: false, Measurements: []metrics.Measurement{{Name: "usage_idle"}, {Name: "cpu_usage_iowait", Rename: "IOWAIT", Unit: "Percent"}}},
		DiskIO:        &metrics.DiskIOOptions{Devices: []string{"nvme0n1"}, Measurements: []metrics.Measurement{{Name: "reads"}, {Name: "writes"}, {Name: "io_time"}}},
		Net:           &metrics.NetOptions{Measurements: []metrics.Measurement{{Name: "bytes_sent"}, {Name: "bytes_recv"}}},
		Netstat:       &metrics.NetstatOptions{Measurements: []metrics.Measurement{{Name: "tcp_established"}, {Name: "tcp_time_wait"}}},
		Processes:     &metrics.ProcessesOptions{},
		Procstat: []metrics.ProcstatOptions{
			{Exe: "^nginx$", Measurements: []metrics.Measurement{{Name: "cpu_usage"}, {Name: "memory_rss"}, {Name: "pid_count"}}},
			{Pattern: `java .*app\.jar`}, {PidFile: "/run/app.pid"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("options\n%+v\nwant\n%+v", got, want)
	}

	c, err = Parse([]byte("metrics:\n  enabled: true\n  cpu: {}\n"), "stackhand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Metrics.CollectorOptions(); o.CPU == nil || o.CPU.PerCore || !o.CPU.TotalCPU || o.DiskIO != nil || o.Net != nil || o.Netstat != nil || o.Processes != nil || o.Procstat != nil {
		t.Errorf("cpu: {} = %+v, want total only and no other family", o)
	}
	c, err = Parse([]byte("metrics:\n  enabled: true\n"), "stackhand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Metrics.CollectorOptions(); !reflect.DeepEqual(o, metrics.Options{}) {
		t.Errorf("no family = %+v, want the default set only", o)
	}
}
