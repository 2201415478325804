package source

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/event"
)

// waitLimit bounds every wait for something another goroutine does; it is never reached
// when the code works.
const waitLimit = 10 * time.Second

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// running is a source started by start: its updates and the end of its Run.
type running struct {
	updates chan Update
	done    chan struct{} // closed when Run has returned
	err     error         // what Run returned, once done is closed
	cancel  context.CancelFunc
}

func start(t *testing.T, s Source) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{updates: make(chan Update, 64), done: make(chan struct{}), cancel: cancel}
	go func() {
		r.err = s.Run(ctx, func(u Update) { r.updates <- u })
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(waitLimit):
			t.Errorf("%s: Run did not return after its context ended", s.Name())
		}
	})
	return r
}

func (r *running) next(t *testing.T) Update {
	t.Helper()
	select {
	case u := <-r.updates:
		return u
	case <-time.After(waitLimit):
		t.Fatalf("no update within %s", waitLimit)
		return Update{}
	}
}

// none fails if an update is already waiting.
func (r *running) none(t *testing.T) {
	t.Helper()
	select {
	case u := <-r.updates:
		t.Fatalf("unexpected update %+v", u)
	default:
	}
}

// waitPending waits until clk has n timers waiting: the watcher has armed what it arms.
func waitPending(t *testing.T, clk *clock.Fake, n int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for clk.Pending() != n {
		if time.Now().After(deadline) {
			t.Fatalf("fake clock has %d timers waiting, want %d", clk.Pending(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// replaceFile writes content to dir/name the way editors and WriteFileAtomic do: a
// temporary file renamed over the old one, so the watcher sees one event for name.
func replaceFile(t *testing.T, dir, name, content string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func TestLocalRunReadsAtStartOnChangeAndEveryInterval(t *testing.T) {
	dir := t.TempDir()
	replaceFile(t, dir, TagsFile, `{"Role": "web"}`)
	clk := clock.NewFake(t0)
	r := start(t, LocalTags{Local{Dir: dir, Clock: clk, Interval: time.Minute}})

	u := r.next(t)
	if u.Source != "tags" || u.Err != nil || u.Tags["Role"] != "web" {
		t.Fatalf("first update = %+v, want tags Role=web", u)
	}
	waitPending(t, clk, 1) // the interval timer

	// A change: read once the settle time has passed, not before.
	replaceFile(t, dir, TagsFile, `{"Role": "db"}`)
	waitPending(t, clk, 2) // the interval and the settle timer
	r.none(t)
	clk.Advance(settle - time.Millisecond)
	r.none(t)
	clk.Advance(time.Millisecond)
	u = r.next(t)
	if u.Err != nil || u.Tags["Role"] != "db" {
		t.Fatalf("update after the change = %+v, want tags Role=db", u)
	}

	// No change: the interval reads again all the same.
	waitPending(t, clk, 1)
	clk.Advance(time.Minute)
	u = r.next(t)
	if u.Err != nil || u.Tags["Role"] != "db" {
		t.Fatalf("update after an interval = %+v, want tags Role=db", u)
	}

	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Errorf("Run returned %v after cancel, want nil", r.err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestLocalRunInPlaceWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LifecycleFile)
	clk := clock.NewFake(t0)
	r := start(t, LocalLifecycle{Local{Dir: dir, Clock: clk, Interval: time.Hour}})
	if u := r.next(t); u.Lifecycle == nil || u.Lifecycle.State != InService {
		t.Fatalf("first update = %+v, want InService", u)
	}
	waitPending(t, clk, 1)
	// os.WriteFile may be seen as one or several events (create, truncate, write); each
	// arms the settle timer again, and some read sees the new content.
	if err := os.WriteFile(path, []byte("Terminated\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitPending(t, clk, 2)
	clk.Advance(settle)
	for {
		u := r.next(t)
		if u.Err != nil {
			t.Fatalf("update with error %v", u.Err)
		}
		if u.Lifecycle.State == Terminated {
			break
		}
		waitPending(t, clk, 2)
		clk.Advance(settle)
	}
}

func TestLocalRunMissingDirectoryIsPolled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "local")
	clk := clock.NewFake(t0)
	r := start(t, LocalPeers{Local{Dir: dir, Clock: clk, Interval: time.Minute}})
	u := r.next(t)
	if u.Err != nil || !u.PeersRead || len(u.Peers) != 0 {
		t.Fatalf("first update = %+v, want no peers", u)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	replaceFile(t, dir, PeersFile, `[{"instance_id": "i-b"}, {"instance_id": "i-a"}]`)
	waitPending(t, clk, 1)
	clk.Advance(time.Minute)
	u = r.next(t)
	if u.Err != nil || len(u.Peers) != 2 || u.Peers[0].InstanceID != "i-a" {
		t.Fatalf("update after an interval = %+v, want peers i-a, i-b", u)
	}
	// The poll watched the directory again: a change is now seen without waiting an interval.
	waitPending(t, clk, 1)
	replaceFile(t, dir, PeersFile, `[{"instance_id": "i-c"}]`)
	waitPending(t, clk, 2)
	clk.Advance(settle)
	if u = r.next(t); len(u.Peers) != 1 || u.Peers[0].InstanceID != "i-c" {
		t.Fatalf("update after the change = %+v, want peer i-c", u)
	}
}

func TestLocalRunFirstUpdateOfEachSource(t *testing.T) {
	dir := t.TempDir()
	replaceFile(t, dir, InstanceFile, `{"instance_id": "i-0abc"}`)
	replaceFile(t, dir, MetadataFile, `{"release": "v1"}`)
	replaceFile(t, dir, TagsFile, `{"Role": "web"}`)
	replaceFile(t, dir, PeersFile, `[{"instance_id": "i-peer"}]`)
	replaceFile(t, dir, LifecycleFile, "spot")
	l := Local{Dir: dir, Clock: clock.NewFake(t0), Interval: time.Minute}
	tests := []struct {
		src   Source
		check func(u Update) bool
	}{
		{LocalIdentity{Local: l}, func(u Update) bool { return u.Identity != nil && u.Identity.InstanceID == "i-0abc" }},
		{LocalMetadata{Local: l, Rules: []MetadataRule{subRule(t, "release", "release")}}, func(u Update) bool {
			return string(u.Metadata["release"].Value) == `"v1"`
		}},
		{LocalTags{l}, func(u Update) bool { return u.Tags["Role"] == "web" }},
		{LocalPeers{l}, func(u Update) bool { return u.PeersRead && len(u.Peers) == 1 && u.Peers[0].InstanceID == "i-peer" }},
		{LocalLifecycle{l}, func(u Update) bool {
			return u.Lifecycle != nil && u.Lifecycle.Spot && u.Lifecycle.Deadline.Equal(t0.Add(SpotNotice))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.src.Name(), func(t *testing.T) {
			u := start(t, tt.src).next(t)
			if u.Source != tt.src.Name() || u.Err != nil || !tt.check(u) {
				t.Errorf("first update = %+v", u)
			}
		})
	}
}

// A broken instance.json must not be reported as the default identity: its instance id
// differs, and the engine would take the state for another instance's and run setup again.
func TestLocalIdentityRunErrorCarriesNoIdentity(t *testing.T) {
	dir := t.TempDir()
	replaceFile(t, dir, InstanceFile, `{"instance_id": "i-0abc"}`)
	clk := clock.NewFake(t0)
	r := start(t, LocalIdentity{Local: Local{Dir: dir, Clock: clk, Interval: time.Minute}, Override: event.Instance{Stack: "demo"}})
	if u := r.next(t); u.Identity == nil || u.Identity.InstanceID != "i-0abc" || u.Identity.Stack != "demo" {
		t.Fatalf("first update = %+v", u)
	}
	waitPending(t, clk, 1)
	replaceFile(t, dir, InstanceFile, "{\"instance_id\": \"i-0abc\",}")
	waitPending(t, clk, 2)
	clk.Advance(settle)
	u := r.next(t)
	if u.Err == nil || u.Identity != nil {
		t.Fatalf("update for a broken instance.json = %+v, want an error and no identity", u)
	}
}
