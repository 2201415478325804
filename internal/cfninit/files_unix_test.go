//go:build unix

package cfninit

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const nobody = 65534

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: sets files' owners")
	}
}

func sp(s string) *string { return &s }

// applyFilesOnce runs the files section alone for fs.
func applyFilesOnce(t *testing.T, r *Runner, fs ...File) (*Changes, *Result, error) {
	t.Helper()
	ch, res := newChanges(), &Result{}
	err := r.applyFiles(context.Background(), &Config{Name: "c", Files: fs}, ch, res)
	return ch, res, err
}

func mustApplyFiles(t *testing.T, r *Runner, fs ...File) (*Changes, *Result) {
	t.Helper()
	ch, res, err := applyFilesOnce(t, r, fs...)
	if err != nil {
		t.Fatal(err)
	}
	return ch, res
}

func statT(t *testing.T, path string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t)
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFilesContentModeOwnerAndDefaults(t *testing.T) {
	needRoot(t)
	r, _ := testRunner(t)
	dir := t.TempDir()
	withMode := filepath.Join(dir, "new/sub/app.conf")
	plain := filepath.Join(dir, "plain.txt")
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	ch, res := mustApplyFiles(t, r,
		File{Path: withMode, Content: sp("a=1\n"), Mode: "000640", Owner: "65534", Group: "65534"},
		File{Path: plain, Content: sp("plain")},
	)
	if got := readString(t, withMode); got != "a=1\n" {
		t.Errorf("content = %q", got)
	}
	st := statT(t, withMode)
	if st.Mode&0o7777 != 0o640 || st.Uid != nobody || st.Gid != nobody {
		t.Errorf("mode %04o owner %d:%d, want 0640 65534:65534", st.Mode&0o7777, st.Uid, st.Gid)
	}
	// Without mode or owner: 0644, owned by the writer, as cfn-init leaves a new file.
	st = statT(t, plain)
	if st.Mode&0o7777 != 0o644 || int(st.Uid) != os.Geteuid() || int(st.Gid) != os.Getegid() {
		t.Errorf("default mode %04o owner %d:%d", st.Mode&0o7777, st.Uid, st.Gid)
	}
	// Parent directories made as os.makedirs does under umask 022: 0755, root's.
	for _, d := range []string{filepath.Join(dir, "new"), filepath.Join(dir, "new/sub")} {
		st := statT(t, d)
		if st.Mode&0o7777 != 0o755 || st.Uid != 0 {
			t.Errorf("%s: mode %04o owner %d, want 0755 root", d, st.Mode&0o7777, st.Uid)
		}
	}
	if !ch.Files[withMode] || !ch.Files[plain] || len(res.Changed) != 2 {
		t.Errorf("changes %v %v", ch.Files, res.Changed)
	}
	// No temporary file left beside them.
	ents, _ := os.ReadDir(filepath.Join(dir, "new/sub"))
	if len(ents) != 1 {
		t.Errorf("left in the directory: %v", ents)
	}
}

func TestFilesSecretNeverReadableByOthers(t *testing.T) {
	needRoot(t)
	r, _ := testRunner(t)
	path := filepath.Join(t.TempDir(), "secret.key")
	stages := map[string]bool{}
	testHookTemp = func(stage, tmp string) {
		st := statT(t, tmp)
		stages[stage] = true
		if st.Mode&0o077 != 0 {
			t.Errorf("%s: temporary file %s has mode %04o, readable by others", stage, tmp, st.Mode&0o7777)
		}
		switch stage {
		case "created":
			if st.Mode&0o7777 != 0o600 || int(st.Uid) != os.Geteuid() {
				t.Errorf("created: mode %04o uid %d, want 0600 root", st.Mode&0o7777, st.Uid)
			}
		case "rename": // owner and mode are final before the file has its name
			if st.Mode&0o7777 != 0o400 || st.Uid != nobody {
				t.Errorf("before rename: mode %04o uid %d, want 0400 65534", st.Mode&0o7777, st.Uid)
			}
		}
		if _, err := os.Lstat(path); err == nil && stage == "created" {
			t.Errorf("the final name exists before the content is written")
		}
	}
	defer func() { testHookTemp = nil }()
	mustApplyFiles(t, r, File{Path: path, Content: sp("s3cr3t"), Mode: "000400", Owner: "65534"})
	if !stages["created"] || !stages["rename"] {
		t.Fatalf("hook stages seen: %v", stages)
	}
	if got := readString(t, path); got != "s3cr3t" {
		t.Errorf("content %q", got)
	}
}

func TestFilesSymlink(t *testing.T) {
	r, _ := testRunner(t)
	dir := t.TempDir()
	link := filepath.Join(dir, "current")
	ch, _ := mustApplyFiles(t, r, File{Path: link, Content: sp("/etc/hostname"), Mode: "120777"})
	if got, err := os.Readlink(link); err != nil || got != "/etc/hostname" {
		t.Fatalf("readlink = %q, %v", got, err)
	}
	if !ch.Files[link] {
		t.Error("a new link is a change")
	}
	ch, res := mustApplyFiles(t, r, File{Path: link, Content: sp("/etc/hostname"), Mode: "120777"})
	if len(ch.Files) != 0 || len(res.Changed) != 0 {
		t.Errorf("same link again is no change: %v", res.Changed)
	}
	ch, _ = mustApplyFiles(t, r, File{Path: link, Content: sp("/etc/passwd"), Mode: "120777"})
	if got, _ := os.Readlink(link); got != "/etc/passwd" || !ch.Files[link] {
		t.Errorf("retargeted link = %q, changed %v", got, ch.Files)
	}
	if got, _ := os.Readlink(link + ".bak"); got != "/etc/hostname" {
		t.Errorf(".bak = %q, want the previous link", got)
	}
	if _, _, err := applyFilesOnce(t, r, File{Path: filepath.Join(dir, "l2"), Mode: "120777"}); err == nil ||
		!strings.Contains(err.Error(), "target") {
		t.Errorf("a link without a target: %v", err)
	}
}

func TestFilesBase64JSONAndContext(t *testing.T) {
	r, _ := testRunner(t)
	dir := t.TempDir()
	b64 := filepath.Join(dir, "bin.dat")
	js := filepath.Join(dir, "conf.json")
	tpl := filepath.Join(dir, "hello.txt")
	mustApplyFiles(t, r,
		File{Path: b64, Content: sp(" AAEC\n/w== \n"), Encoding: "base64"},
		File{Path: js, Content: sp(`{"a": "{{x}}"}`), ContentIsJSON: true, Context: map[string]any{"x": "no"}},
		File{Path: tpl, Content: sp("hello {{name}}, {{#l}}{{.}};{{/l}}"), Context: map[string]any{"name": "web", "l": []any{"a", "b"}}},
	)
	if got := readString(t, b64); got != "\x00\x01\x02\xff" {
		t.Errorf("base64 = %q", got)
	}
	if got := readString(t, js); got != `{"a": "{{x}}"}` {
		t.Errorf("JSON content is written as given, never rendered: %q", got)
	}
	if got := readString(t, tpl); got != "hello web, a;b;" {
		t.Errorf("rendered = %q", got)
	}
	if _, _, err := applyFilesOnce(t, r, File{Path: filepath.Join(dir, "bad"), Content: sp("!!"), Encoding: "base64"}); err == nil ||
		!strings.Contains(err.Error(), "base64") {
		t.Errorf("bad base64: %v", err)
	}
}

func TestFilesUnchangedRerunRecordsNothing(t *testing.T) {
	needRoot(t)
	r, _ := testRunner(t)
	path := filepath.Join(t.TempDir(), "app.conf")
	f := File{Path: path, Content: sp("v1"), Mode: "000600", Owner: "root"}
	mustApplyFiles(t, r, f)
	ino := statT(t, path).Ino
	ch, res := mustApplyFiles(t, r, f)
	if len(ch.Files) != 0 || len(res.Changed) != 0 {
		t.Errorf("unchanged re-run recorded %v", res.Changed)
	}
	if statT(t, path).Ino != ino {
		t.Error("an unchanged file was rewritten")
	}
	if _, err := os.Lstat(path + ".bak"); err == nil {
		t.Error("an unchanged file left a .bak")
	}
	// Mode alone is a change.
	f.Mode = "000640"
	if ch, _ := mustApplyFiles(t, r, f); !ch.Files[path] {
		t.Error("a mode change is not recorded")
	}
	// Owner alone is a change.
	f.Owner = "65534"
	if ch, _ := mustApplyFiles(t, r, f); !ch.Files[path] {
		t.Error("an owner change is not recorded")
	}
	// Content: changed, the previous file kept as .bak as cfn-init does.
	f.Content = sp("v2")
	if ch, _ := mustApplyFiles(t, r, f); !ch.Files[path] {
		t.Error("a content change is not recorded")
	}
	if got := readString(t, path); got != "v2" {
		t.Errorf("content %q", got)
	}
	if got := readString(t, path+".bak"); got != "v1" {
		t.Errorf(".bak = %q, want v1", got)
	}
}

func TestFilesRefuseHostileParents(t *testing.T) {
	needRoot(t)
	r, _ := testRunner(t)
	base := t.TempDir()
	os.Chmod(base, 0o755)
	mk := func(name string, uid int, mode os.FileMode) string {
		d := filepath.Join(base, name)
		if err := os.Mkdir(d, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, mode)
		os.Chown(d, uid, uid)
		return d
	}
	worldWritable := mk("ww", nobody, 0o777)
	othersDir := mk("others", nobody, 0o755)
	groupWritable := mk("gw", 0, 0o775)
	sticky := mk("sticky", 0, os.ModeSticky|0o777)
	elsewhere := mk("elsewhere", 0, 0o755)
	plantedLink := filepath.Join(sticky, "link")
	os.Symlink(elsewhere, plantedLink)
	os.Lchown(plantedLink, nobody, nobody)

	for _, tc := range []struct{ name, path, owner, want string }{
		{"world-writable dir owned by nobody", filepath.Join(worldWritable, "sub/x.conf"), "", "owned by uid 65534"},
		{"dir owned by another user", filepath.Join(othersDir, "x.conf"), "", "owned by uid 65534"},
		{"group-writable dir", filepath.Join(groupWritable, "x.conf"), "", "writable by group or others"},
		{"symlink planted by another user", filepath.Join(plantedLink, "x.conf"), "", "symlink"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := applyFilesOnce(t, r, File{Path: tc.path, Content: sp("x"), Owner: tc.owner})
			if err == nil || !strings.Contains(err.Error(), "refusing") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a refusal saying %q", err, tc.want)
			}
		})
	}
	for _, d := range []string{worldWritable, elsewhere} {
		if ents, _ := os.ReadDir(d); len(ents) != 0 {
			t.Errorf("%s got %v written into it", d, ents)
		}
	}
	// Allowed: a sticky root directory (as /tmp), a directory of the file's own owner,
	// and a root-owned symlink in a root directory.
	goodLink := filepath.Join(base, "good-link")
	os.Symlink(elsewhere, goodLink)
	for _, f := range []File{
		{Path: filepath.Join(sticky, "y.conf"), Content: sp("y")},
		{Path: filepath.Join(othersDir, "mine.conf"), Content: sp("y"), Owner: "65534"},
		{Path: filepath.Join(goodLink, "via-link.conf"), Content: sp("y")},
	} {
		if _, _, err := applyFilesOnce(t, r, f); err != nil {
			t.Errorf("%s: %v", f.Path, err)
		}
	}
	if got := readString(t, filepath.Join(elsewhere, "via-link.conf")); got != "y" {
		t.Errorf("through a root link: %q", got)
	}
}

func TestFilesBadEntries(t *testing.T) {
	r, _ := testRunner(t)
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "adir"), 0o755)
	os.WriteFile(filepath.Join(dir, "afile"), nil, 0o644)
	for _, tc := range []struct {
		f    File
		want string
	}{
		{File{Path: "relative/x", Content: sp("x")}, "absolute"},
		{File{Path: filepath.Join(dir, "m"), Content: sp("x"), Mode: "644"}, "six octal digits"},
		{File{Path: filepath.Join(dir, "m"), Content: sp("x"), Mode: "000948"}, "six octal digits"},
		{File{Path: filepath.Join(dir, "o"), Content: sp("x"), Owner: "no-such-user-xyz"}, `owner "no-such-user-xyz"`},
		{File{Path: filepath.Join(dir, "g"), Content: sp("x"), Group: "no-such-group-xyz"}, `group "no-such-group-xyz"`},
		{File{Path: filepath.Join(dir, "adir"), Content: sp("x")}, "directory is in the way"},
		{File{Path: filepath.Join(dir, "afile/x"), Content: sp("x")}, "not a directory"},
		{File{Path: filepath.Join(dir, "none")}, "neither content nor source"},
	} {
		_, _, err := applyFilesOnce(t, r, tc.f)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.f.Path) {
			t.Errorf("%+v: err = %v, want %q and the path", tc.f, err, tc.want)
		}
	}
}

func TestFilesFromSource(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		switch q.URL.Path {
		case "/plain":
			io.WriteString(w, "fetched")
		case "/tpl":
			io.WriteString(w, "port={{port}}")
		case "/private":
			if u, p, ok := q.BasicAuth(); !ok || u != "deploy" || p != "pw" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			io.WriteString(w, "private")
		default:
			http.NotFound(w, q)
		}
	}))
	defer srv.Close()
	r, _ := testRunner(t)
	r.Fetch = &HTTPFetcher{}
	r.Auth = map[string]*Auth{"web": {Name: "web", Type: "basic", Username: "deploy", Password: "pw"}}
	dir := t.TempDir()
	mustApplyFiles(t, r,
		File{Path: filepath.Join(dir, "a"), Source: srv.URL + "/plain"},
		File{Path: filepath.Join(dir, "b"), Source: srv.URL + "/tpl", Context: map[string]any{"port": 8080}},
		File{Path: filepath.Join(dir, "c"), Source: srv.URL + "/private", Auth: "web"},
	)
	for name, want := range map[string]string{"a": "fetched", "b": "port=8080", "c": "private"} {
		if got := readString(t, filepath.Join(dir, name)); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	u := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1) + "/missing?X-Amz-Signature=abcdef"
	_, _, err := applyFilesOnce(t, r, File{Path: filepath.Join(dir, "d"), Source: u})
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 404 || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v, want a 404", err)
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "abcdef") {
		t.Errorf("credentials in the error: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "d")); err == nil {
		t.Error("a failed download left a file")
	}
}
