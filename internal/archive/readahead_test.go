package archive

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadahead(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 200000) // several buffers
	// The source's own error comes after all its data, unchanged.
	src := io.MultiReader(iotest.HalfReader(bytes.NewReader(data)), iotest.ErrReader(io.ErrUnexpectedEOF))
	r := newReadahead(src)
	got, err := io.ReadAll(r)
	if !bytes.Equal(got, data) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read %d bytes (equal: %v), err %v; want all %d and io.ErrUnexpectedEOF", len(got), bytes.Equal(got, data), err, len(data))
	}
	r.close()

	// A clean end reads as io.EOF.
	r = newReadahead(bytes.NewReader(data))
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll = %d bytes, %v", len(got), err)
	}
	r.close()

	// Closed half-way, it stops its goroutine (the race detector and the leak of a
	// blocked send would show here) and close is idempotent.
	r = newReadahead(bytes.NewReader(data))
	io.ReadFull(r, make([]byte, 1000))
	r.close()
	r.close()
}

// TestTruncatedAfterScan cuts the archive between the scan and the unpacking: the
// unpacking pass, which reads through the readahead, must still say truncated.
func TestTruncatedAfterScan(t *testing.T) {
	ms := []member{{name: "a", body: "1"}, {name: "b", body: strings.Repeat("x", 3<<20)}, {name: "c", body: "3"}}
	for _, f := range []Format{TarGzip, TarZstd} {
		t.Run(f.String(), func(t *testing.T) {
			data := build(t, f, ms)
			p := writeTemp(t, "a."+f.String(), data)
			old := afterScan
			t.Cleanup(func() { afterScan = old })
			afterScan = func(string) {
				if err := os.Truncate(p, int64(len(data)/2)); err != nil {
					t.Fatal(err)
				}
			}
			s := newSandbox(t)
			_, err := Extract(context.Background(), p, s.dest, Options{UID: -1, GID: -1})
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("err = %v, want ErrTruncated", err)
			}
			for _, l := range listing(t, s.dest) {
				if l != "f a" {
					t.Errorf("dest holds %q after a truncated unpacking", l)
				}
			}
		})
	}
}
