package logship

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
)

// BenchmarkTail reads 1,000,000 lines of 200 bytes from a file into a Put that discards
// them, and reports lines per second and allocations per run.
func BenchmarkTail(b *testing.B) {
	const lines, width = 1_000_000, 200
	p := filepath.Join(b.TempDir(), "bench.log")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	line := make([]byte, width)
	for i := range line {
		line[i] = 'a' + byte(i%26)
	}
	line[width-1] = '\n'
	for i := range lines {
		copy(line, strconv.Itoa(1_000_000+i))
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	tr := true
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		var n atomic.Int64
		ctx, cancel := context.WithCancel(context.Background())
		tl, err := NewTailer(TailerOptions{
			File:   config.LogFile{FilePath: p, FromBeginning: &tr},
			Stream: func(string) StreamKey { return StreamKey{Group: "g", Stream: "s"} },
			Put: func(_ context.Context, _ StreamKey, ev Event) error {
				if n.Add(1) == lines {
					cancel()
				}
				return nil
			},
			Clock: clock.Real{},
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := tl.Run(ctx); err != nil {
			b.Fatal(err)
		}
		cancel()
		if n.Load() != lines {
			b.Fatalf("%d lines", n.Load())
		}
	}
	b.ReportMetric(float64(lines*b.N)/time.Since(start).Seconds(), "lines/s")
}
