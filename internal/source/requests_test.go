package source

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
)

func request(id string, kind event.Kind) Request {
	return Request{ID: id, Event: kind, Reason: "test " + id, User: "alice", Time: t0}
}

func submit(t *testing.T, stateDir string, req Request) {
	t.Helper()
	if err := Submit(stateDir, req); err != nil {
		t.Fatalf("Submit: %v", err)
	}
}

// requestOf returns the request id of u, failing if u is not a request.
func requestOf(t *testing.T, u Update) string {
	t.Helper()
	if u.Source != "requests" || u.Err != nil || u.Request == nil {
		t.Fatalf("update = %+v, want a request", u)
	}
	return u.Request.ID
}

// settleAndInterval fires both the settle and the interval timer of a watcher, and
// returns once a scan has completed after them: with both fired nothing is pending until
// the watcher arms the interval again, which it does after its scan.
func settleAndInterval(t *testing.T, clk *clock.Fake) {
	t.Helper()
	clk.Advance(time.Minute)
	waitPending(t, clk, 1)
}

func TestSubmitWritesAPrivateRequestFile(t *testing.T) {
	dir := t.TempDir()
	req := request("req-1", event.Deploy)
	if Pending(dir, req.ID) {
		t.Fatal("Pending before Submit")
	}
	submit(t, dir, req)
	if !Pending(dir, req.ID) {
		t.Error("not Pending after Submit")
	}
	info, err := os.Stat(filepath.Join(dir, RequestsDir, "req-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("request file mode %04o, want 0600", info.Mode().Perm())
	}
	dinfo, err := os.Stat(filepath.Join(dir, RequestsDir))
	if err != nil {
		t.Fatal(err)
	}
	if dinfo.Mode().Perm() != 0o700 {
		t.Errorf("spool mode %04o, want 0700", dinfo.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Join(dir, RequestsDir))
	if len(entries) != 1 {
		t.Errorf("spool holds %v, want the request file only", entries)
	}
}

func TestNewRequestID(t *testing.T) {
	id := NewRequestID(time.Date(2026, 11, 21, 11, 0, 5, 0, time.FixedZone("CET", 3600)))
	if !regexp.MustCompile(`^req-20261121T100005-[0-9a-f]{8}$`).MatchString(id) {
		t.Errorf("NewRequestID = %q, want req-20261121T100005-<8 hex digits> (UTC)", id)
	}
	if other := NewRequestID(t0); other == NewRequestID(t0) {
		t.Errorf("two ids for the same second are equal: %s", other)
	}
}

func TestAnswerReadResultRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadResult(dir, "req-1"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadResult before Answer: %v, want fs.ErrNotExist", err)
	}
	s := &Spool{StateDir: dir}
	o := state.Outcome{ID: "deploy-000007", Kind: event.Deploy, Reason: "requested", Result: state.Failed,
		Start: t0, End: t0.Add(2 * time.Second), Duration: state.Duration(2 * time.Second),
		Failed: "10-app", Error: "hook 10-app exited with status 3", Tail: "line 1\nline 2\n"}
	if err := s.Answer("req-1", o); err != nil {
		t.Fatal(err)
	}
	got, err := ReadResult(dir, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Request != "req-1" || got.Outcome.ID != o.ID || got.Outcome.Kind != o.Kind || got.Outcome.Result != o.Result ||
		got.Outcome.Duration != o.Duration || got.Outcome.Error != o.Error || got.Outcome.Tail != o.Tail ||
		!got.Outcome.End.Equal(o.End) || got.Outcome.Failed != o.Failed {
		t.Errorf("ReadResult = %+v, want %+v", got, o)
	}
	info, err := os.Stat(filepath.Join(dir, ResultsDir, "req-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("result file mode %04o, want 0600", info.Mode().Perm())
	}
}

func TestSpoolRunEmitsEachRequestOnce(t *testing.T) {
	dir := t.TempDir()
	first := request("req-1", event.Deploy)
	submit(t, dir, first)
	clk := clock.NewFake(t0)
	s := &Spool{StateDir: dir, Clock: clk, Interval: time.Minute,
		OnInvalid: func(file string, err error) { t.Errorf("OnInvalid(%s, %v)", file, err) }}
	r := start(t, s)

	u := r.next(t)
	if requestOf(t, u) != "req-1" {
		t.Fatalf("first request = %s, want req-1", u.Request.ID)
	}
	if got := *u.Request; got.Event != first.Event || got.Reason != first.Reason || got.User != first.User || !got.Time.Equal(first.Time) {
		t.Errorf("request = %+v, want %+v", got, first)
	}
	if _, err := os.Stat(filepath.Join(dir, ResultsDir)); err != nil {
		t.Errorf("results directory not created: %v", err)
	}

	// A new request is read once its file has settled; req-1 is still there and is not
	// emitted again.
	waitPending(t, clk, 1)
	submit(t, dir, request("req-2", event.Configure))
	waitPending(t, clk, 2)
	clk.Advance(settle)
	if id := requestOf(t, r.next(t)); id != "req-2" {
		t.Fatalf("second request = %s, want req-2", id)
	}

	// The interval's scan sees both files and emits nothing. The interval timer is armed
	// again only after that scan, so once it is, the scan's updates are in the channel.
	waitPending(t, clk, 1)
	clk.Advance(time.Minute)
	waitPending(t, clk, 1)
	r.none(t)

	// Once the engine removed a request, the same id may be used again.
	s.Remove("req-1")
	waitPending(t, clk, 2) // the removal arms the settle timer too
	settleAndInterval(t, clk)
	r.none(t)
	submit(t, dir, request("req-1", event.Setup))
	waitPending(t, clk, 2)
	clk.Advance(settle)
	u = r.next(t)
	if requestOf(t, u) != "req-1" || u.Request.Event != event.Setup {
		t.Fatalf("update = %+v, want the new req-1 (setup)", u.Request)
	}
}

func TestSpoolRefusesInvalidRequests(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		content string
		prepare func(t *testing.T, path string)
		wantErr []string
	}{
		{name: "bad JSON", id: "req-bad", content: `{"id": "req-bad", "event": `,
			wantErr: []string{"req-bad.json is not a valid request"}},
		{name: "unknown event", id: "req-typo", content: `{"id": "req-typo", "event": "deploi"}`,
			wantErr: []string{`unknown event "deploi"`, "setup, configure, deploy, undeploy, shutdown"}},
		{name: "id mismatch", id: "req-a", content: `{"id": "req-b", "event": "deploy"}`,
			wantErr: []string{`req-a.json holds request id "req-b", not "req-a"`}},
		{name: "owned by another user", id: "req-nobody", content: `{"id": "req-nobody", "event": "deploy"}`,
			prepare: func(t *testing.T, path string) {
				if os.Geteuid() != 0 {
					t.Skip("changing a file's owner needs root")
				}
				if err := os.Chown(path, 65534, 65534); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: []string{"req-nobody.json is owned by uid 65534", "request refused"}},
		{name: "a symlink", id: "req-link", content: `{"id": "req-link", "event": "deploy"}`,
			prepare: func(t *testing.T, path string) {
				target := filepath.Join(t.TempDir(), "elsewhere.json")
				if err := os.Rename(path, target); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, path); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: []string{"req-link.json is not a regular file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			spool := filepath.Join(dir, RequestsDir)
			if err := os.Mkdir(spool, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(spool, tt.id+".json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.prepare != nil {
				tt.prepare(t, path)
			}
			// Files the spool never reads.
			for _, name := range []string{".req-x.json.tmp-1", "README", ".hidden.json"} {
				if err := os.WriteFile(filepath.Join(spool, name), []byte("junk"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			type invalid struct {
				file string
				err  error
			}
			invalids := make(chan invalid, 4)
			clk := clock.NewFake(t0)
			r := start(t, &Spool{StateDir: dir, Clock: clk, Interval: time.Minute,
				OnInvalid: func(file string, err error) { invalids <- invalid{file, err} }})

			var got invalid
			select {
			case got = <-invalids:
			case <-time.After(waitLimit):
				t.Fatal("OnInvalid was not called")
			}
			if got.file != tt.id+".json" {
				t.Errorf("OnInvalid file = %q, want %q", got.file, tt.id+".json")
			}
			checkErr(t, got.err, tt.wantErr)

			res, err := ReadResult(dir, tt.id)
			if err != nil {
				t.Fatalf("no result for the invalid request: %v", err)
			}
			if res.Request != tt.id || res.Outcome.Result != state.Failed || res.Outcome.Error != got.err.Error() {
				t.Errorf("result = %+v, want failed with %q", res, got.err)
			}
			if Pending(dir, tt.id) {
				t.Error("the invalid request is still in the spool")
			}
			if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("request file not removed: %v", err)
			}
			for _, name := range []string{".req-x.json.tmp-1", "README", ".hidden.json"} {
				if _, err := os.Stat(filepath.Join(spool, name)); err != nil {
					t.Errorf("%s: %v (files that are not requests are left alone)", name, err)
				}
			}
			// Removing the file is a change of the spool; the scan it causes finds nothing.
			waitPending(t, clk, 2)
			settleAndInterval(t, clk)
			r.none(t)
		})
	}
}

func TestSpoolRunRefusesAnOpenSpool(t *testing.T) {
	for _, mode := range []os.FileMode{0o777, 0o770, 0o702} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			spool := filepath.Join(dir, RequestsDir)
			if err := os.Mkdir(spool, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(spool, mode); err != nil {
				t.Fatal(err)
			}
			s := &Spool{StateDir: dir, Clock: clock.NewFake(t0)}
			err := s.Run(t.Context(), func(u Update) { t.Errorf("update %+v from a refused spool", u) })
			checkErr(t, err, []string{spool, "writable by group or others", "chmod 0700 " + spool})
		})
	}
}

func TestSpoolRunCreatesTheSpool(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	clk := clock.NewFake(t0)
	r := start(t, &Spool{StateDir: dir, Clock: clk})
	waitPending(t, clk, 1)
	r.none(t)
	for _, sub := range []string{RequestsDir, ResultsDir} {
		info, err := os.Stat(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o700 {
			t.Errorf("%s mode %04o, want 0700", sub, info.Mode().Perm())
		}
	}
	if !strings.HasSuffix((&Spool{}).Name(), "requests") {
		t.Errorf("Name() = %q", (&Spool{}).Name())
	}
}
