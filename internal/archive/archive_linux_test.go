package archive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestDiskFillsWhileWriting unpacks onto a 1 MiB tmpfs while FreeBytes pretends there is
// room: the write itself meets ENOSPC and Extract says so.
func TestDiskFillsWhileWriting(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs root on Linux to mount a small tmpfs")
	}
	dest := t.TempDir()
	if err := syscall.Mount("tmpfs", dest, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dest, syscall.MNT_DETACH) })
	old := freeBytes
	t.Cleanup(func() { freeBytes = old })
	freeBytes = func(string) (int64, error) { return 1 << 40, nil }
	ms := []member{{name: "a", body: strings.Repeat("a", 600<<10)}, {name: "b", body: strings.Repeat("b", 600<<10)}}
	p := writeTemp(t, "a.tar.zst", build(t, TarZstd, ms))
	_, err := Extract(context.Background(), p, dest, Options{UID: -1, GID: -1})
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "filled up") || !strings.Contains(err.Error(), `entry "b"`) {
		t.Fatalf("err = %v, want ErrNoSpace naming entry b", err)
	}
	// The half-written temporary file is gone; a is complete, b absent.
	if got, want := listing(t, dest), []string{"f a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("dest holds %q, want %q", got, want)
	}
	// And FreeBytes sees the small file system for what it is.
	freeBytes = old
	os.Remove(filepath.Join(dest, "a"))
	_, err = Extract(context.Background(), p, dest, Options{UID: -1, GID: -1})
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "needs 1.2 MiB") {
		t.Fatalf("err = %v, want the space check to refuse before writing", err)
	}
}
