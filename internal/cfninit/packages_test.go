package cfninit

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

func TestDebVersionMatches(t *testing.T) {
	for _, c := range []struct {
		have, want string
		ok         bool
	}{
		{"1.2-3", "1.2-3", true},
		{"1.2-3ubuntu1", "1.2", true},
		{"1.2+dfsg-1", "1.2", true},
		{"1.20-1", "1.2", false},
		{"1.2-3", "1.3", false},
		{"1:1.2-3", "1.2", false},
	} {
		if got := debVersionMatches(c.have, c.want); got != c.ok {
			t.Errorf("debVersionMatches(%q, %q) = %t", c.have, c.want, got)
		}
	}
}

func TestMSICommandLineAndOutcome(t *testing.T) {
	got := strings.Join(msiArgs(`C:\cfn\app.msi`), " ")
	if want := `/i C:\cfn\app.msi /qn REBOOT=ReallySuppress ALLUSERS=1`; got != want {
		t.Errorf("msiArgs = %q, want %q", got, want)
	}
	for _, c := range []struct {
		code                     int
		installed, reboot, again bool
	}{{0, true, false, false}, {3010, true, true, false}, {1638, false, false, true}, {1603, false, false, false}} {
		i, rb, a := msiOutcome(c.code)
		if i != c.installed || rb != c.reboot || a != c.again {
			t.Errorf("msiOutcome(%d) = %t %t %t", c.code, i, rb, a)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.10", "1.9", 1},
		{"1.0", "1.0.1", -1},
		{"2.4.57-1", "2.4.57-2", -1},
		{"2.4.57", "2.4.6", 1},
		{"1.0a", "1.0", 1},
		{"1.0", "1.a", 1}, // digits are newer than letters
		{"1.01", "1.1", 0},
		{"8.2.0", "8.1.2", 1},
	} {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if got := maxVersion([]string{"1.9", "1.10", "1.2"}); got != "1.10" {
		t.Errorf("maxVersion = %q", got)
	}
}

type fakeFetcher map[string]string

func (f fakeFetcher) Open(ctx context.Context, url string, auth *Auth) (io.ReadCloser, error) {
	body, ok := f[url]
	if !ok {
		return nil, errors.New("GET " + url + ": 404 Not Found")
	}
	return io.NopCloser(strings.NewReader(body)), nil
}

// TestMSIDownloadedFirst: a URL location is fetched to a temporary .msi for msiexec and
// removed after; a path is used as it is.
func TestMSIDownloadedFirst(t *testing.T) {
	r := &Runner{Fetch: fakeFetcher{"https://example.com/app.msi": "MSI-BYTES"}}
	p, cleanup, err := r.msiLocal(context.Background(), "https://example.com/app.msi")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "MSI-BYTES" || !strings.HasSuffix(p, ".msi") {
		t.Errorf("download at %s: %q %v", p, b, err)
	}
	cleanup()
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("the download stayed after cleanup: %v", err)
	}
	if p, _, err := r.msiLocal(context.Background(), `C:\cfn\app.msi`); err != nil || p != `C:\cfn\app.msi` {
		t.Errorf("a path: %q %v", p, err)
	}
	if _, _, err := r.msiLocal(context.Background(), "https://example.com/missing.msi"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a missing download: %v", err)
	}
}
