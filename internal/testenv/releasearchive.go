package testenv

import (
	"archive/tar"
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// WriteReleaseArchive writes a tar.gz of about size bytes for the release benchmarks: files
// that alternate between 256 KiB of random bytes (incompressible, as images and binaries
// are) and 1 MiB of log-like text (which compresses well), then VERSION holding version.
// It returns the bytes the archive unpacks to.
func WriteReleaseArchive(path string, size int64, version string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	gz, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 256<<10)
	var text strings.Builder
	for i := 0; text.Len() < 1<<20; i++ {
		fmt.Fprintf(&text, "%08d %s line of a log or a source file, value=%d\n", i, []string{"GET", "PUT", "POST"}[i%3], rng.IntN(1000000))
	}
	var raw int64
	for i := 0; ; i++ {
		fi, err := f.Stat()
		if err != nil {
			return 0, err
		}
		if fi.Size() >= size {
			break
		}
		var data []byte
		if i%2 == 0 {
			for j := range random {
				random[j] = byte(rng.Uint32())
			}
			data = random
		} else {
			data = []byte(text.String())
		}
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("app/dir%03d/file%05d", i/100, i), Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(1700000000, 0)}); err != nil {
			return 0, err
		}
		if _, err := tw.Write(data); err != nil {
			return 0, err
		}
		raw += int64(len(data))
		if i%64 == 0 { // let the file's size show how far it has come
			gz.Flush()
			bw.Flush()
		}
	}
	body := version + "\n"
	tw.WriteHeader(&tar.Header{Name: "VERSION", Mode: 0o644, Size: int64(len(body))})
	tw.Write([]byte(body))
	if err := tw.Close(); err != nil {
		return 0, err
	}
	if err := gz.Close(); err != nil {
		return 0, err
	}
	return raw + int64(len(body)), bw.Flush()
}
