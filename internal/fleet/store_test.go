//go:build unix

package fleet

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func fleetDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

var _ Store = (*LocalStore)(nil)

func TestLocalStorePublishRead(t *testing.T) {
	ctx := context.Background()
	dir := fleetDir(t)
	a := &LocalStore{Dir: dir}
	b := &LocalStore{Dir: dir}
	tagsA := State{Applied: map[string]string{"release": "v2"}, Health: "healthy"}.Tags()
	tagsB := State{Failed: map[string]Failure{"release": {Fingerprint: "v2", Reason: "broke"}}}.Tags()
	if err := a.Publish(ctx, "i-a", tagsA); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "i-b", tagsB); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"i-a", "i-b"} {
		fi, err := os.Stat(filepath.Join(dir, id+".json"))
		if err != nil {
			t.Fatalf("%s.json: %v", id, err)
		}
		if fi.Mode().Perm()&0o022 != 0 {
			t.Errorf("%s.json has mode %v: writable by others", id, fi.Mode())
		}
	}
	// A malformed file, one naming another instance, one missing, an id that is no file name.
	if err := os.WriteFile(filepath.Join(dir, "i-bad.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "i-other.json"), []byte(`{"instance_id":"i-a","tags":{"stackhand:health":"healthy"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := a.Read(ctx, []string{"i-a", "i-b", "i-bad", "i-other", "i-missing", "../x"})
	want := map[string]map[string]string{"i-a": tagsA, "i-b": tagsB}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read = %v, want %v", got, want)
	}
	var re ReadErrors
	if !errors.As(err, &re) {
		t.Fatalf("Read error %v (%T), want ReadErrors", err, err)
	}
	if len(re) != 4 {
		t.Errorf("ReadErrors = %v, want i-bad, i-other, i-missing and ../x", re)
	}
	if why := re["i-missing"]; !strings.Contains(why, "nothing published") {
		t.Errorf("i-missing: %q", why)
	}
	if why := re["i-bad"]; !strings.Contains(why, "i-bad.json") || !strings.Contains(why, "not a published state") {
		t.Errorf("i-bad: %q", why)
	}
	if why := re["i-other"]; !strings.Contains(why, "not a published state") || strings.Contains(why, "<nil>") || !strings.Contains(why, "i-a") {
		t.Errorf("i-other: %q", why)
	}
	if why := re["../x"]; why == "" {
		t.Errorf("../x not reported")
	}
	for _, id := range []string{"i-bad", "i-missing"} {
		if !strings.Contains(err.Error(), id) {
			t.Errorf("error %q does not name %s", err, id)
		}
	}
	if !strings.HasPrefix(err.Error(), "4 peers unreadable") {
		t.Errorf("error = %q", err)
	}
	// All readable: no error.
	got, err = b.Read(ctx, []string{"i-a", "i-b"})
	if err != nil || len(got) != 2 {
		t.Errorf("Read of two published = %v, %v", got, err)
	}
	if got, err := b.Read(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("Read(nil) = %v, %v", got, err)
	}
}

func TestLocalStoreReadKeepsOnlyStackhandTags(t *testing.T) {
	ctx := context.Background()
	s := &LocalStore{Dir: fleetDir(t)}
	if err := s.Publish(ctx, "i-a", map[string]string{"Name": "web", KeyHealth: "healthy"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Read(ctx, []string{"i-a"})
	if err != nil || !reflect.DeepEqual(got["i-a"], map[string]string{KeyHealth: "healthy"}) {
		t.Errorf("Read = %v, %v; want the stackhand: tags alone", got, err)
	}
}

func TestLocalStorePublishWritesOnlyChanges(t *testing.T) {
	ctx := context.Background()
	dir := fleetDir(t)
	s := &LocalStore{Dir: dir}
	p := filepath.Join(dir, "i-a.json")
	tags := map[string]string{KeyApplied + "release": "v1"}
	if err := s.Publish(ctx, "i-a", tags); err != nil {
		t.Fatal(err)
	}
	ino := inode(t, p)
	// The caller's map changed after the call must not fool the comparison.
	tags[KeyApplied+"release"] = "v2"
	if err := s.Publish(ctx, "i-a", maps.Clone(tags)); err != nil {
		t.Fatal(err)
	}
	if inode(t, p) == ino {
		t.Fatalf("changed tags not written")
	}
	ino = inode(t, p)
	if err := s.Publish(ctx, "i-a", map[string]string{KeyApplied + "release": "v2"}); err != nil {
		t.Fatal(err)
	}
	if inode(t, p) != ino {
		t.Errorf("unchanged tags written again")
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, "i-a", map[string]string{KeyApplied + "release": "v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unchanged tags wrote the file again: %v", err)
	}
	got, err := s.Read(ctx, []string{"i-a"})
	if err == nil || len(got) != 0 {
		t.Errorf("Read after the file was removed = %v, %v", got, err)
	}
}

// The Store interface publishes by instance id: one store publishing the same tags for two
// instances writes both files.
func TestLocalStorePublishPerInstance(t *testing.T) {
	ctx := context.Background()
	dir := fleetDir(t)
	s := &LocalStore{Dir: dir}
	tags := map[string]string{KeyHealth: "healthy"}
	for _, id := range []string{"i-a", "i-b"} {
		if err := s.Publish(ctx, id, tags); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Read(ctx, []string{"i-a", "i-b"})
	if err != nil || len(got) != 2 {
		t.Errorf("Read after publishing the same tags for i-a and i-b = %v, %v", got, err)
	}
}

func TestLocalStoreHold(t *testing.T) {
	ctx := context.Background()
	dir := fleetDir(t)
	s := &LocalStore{Dir: dir}
	other := &LocalStore{Dir: dir} // another agent sharing the directory
	for _, step := range []struct {
		on   bool
		want bool
	}{{false, false}, {true, true}, {true, true}, {false, false}} {
		if err := s.SetHold(ctx, "ignored", step.on); err != nil {
			t.Fatalf("SetHold(%v): %v", step.on, err)
		}
		held, err := other.Held(ctx)
		if err != nil || held != step.want {
			t.Fatalf("after SetHold(%v): Held = %v, %v; want %v", step.on, held, err, step.want)
		}
	}
	if held, err := s.Held(ctx); err != nil || held {
		t.Errorf("Held = %v, %v at the end", held, err)
	}
}

func TestLocalStoreCreatesMissingDir(t *testing.T) {
	dir := filepath.Join(fleetDir(t), "fleet")
	s := &LocalStore{Dir: dir}
	if err := s.Publish(context.Background(), "i-a", map[string]string{KeyHealth: "healthy"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm()&0o022 != 0 {
		t.Errorf("created directory: %v, %v", fi, err)
	}
}

func TestLocalStoreRefusesDirWritableByOthers(t *testing.T) {
	ctx := context.Background()
	dir := fleetDir(t)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	s := &LocalStore{Dir: dir}
	calls := map[string]func() error{
		"Publish": func() error { return s.Publish(ctx, "i-a", map[string]string{KeyHealth: "healthy"}) },
		"Read":    func() error { _, err := s.Read(ctx, []string{"i-a"}); return err },
		"SetHold": func() error { return s.SetHold(ctx, "", true) },
		"Held":    func() error { _, err := s.Held(ctx); return err },
	}
	for name, call := range calls {
		err := call()
		if err == nil || !strings.Contains(err.Error(), "writable by") {
			t.Errorf("%s in a directory of mode 0777: %v, want an error saying it is writable by others", name, err)
		}
		var re ReadErrors
		if errors.As(err, &re) {
			t.Errorf("%s: %v is a ReadErrors, not a refusal of the directory", name, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("files written into a directory writable by others: %v", entries)
	}
}

func TestLocalStoreRefusesBadInstanceIDs(t *testing.T) {
	ctx := context.Background()
	parent := fleetDir(t)
	dir := filepath.Join(parent, "fleet")
	s := &LocalStore{Dir: dir}
	for _, id := range []string{"../x", "..", "", ".hidden", "a/b", "i-a b", "i-a\n", strings.Repeat("i", 65)} {
		if err := s.Publish(ctx, id, map[string]string{KeyHealth: "healthy"}); err == nil {
			t.Errorf("Publish(%q) accepted", id)
		}
	}
	if _, err := os.Stat(filepath.Join(parent, "x.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Publish(../x) wrote outside the fleet directory: %v", err)
	}
	for _, id := range []string{"i-0123456789abcdef0", "web-1", "a.b_c", strings.Repeat("i", 64)} {
		if err := s.Publish(ctx, id, map[string]string{KeyHealth: "healthy"}); err != nil {
			t.Errorf("Publish(%q): %v", id, err)
		}
	}
}
