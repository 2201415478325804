//go:build unix

package cfninit

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplyParsedMetadata runs a parsed Init block's sources, files and commands
// through Apply: the parser's output is what the sections take, an S3 file finds its
// Authentication entry by bucket, and a second run changes no file.
func TestApplyParsedMetadata(t *testing.T) {
	var signed bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		switch {
		case q.URL.Path == "/app.tgz":
			w.Write(tgz(t, [2]string{"index.html", "<h1>hi</h1>"}))
		case strings.HasSuffix(q.Host, ".amazonaws.com") && q.URL.Path == "/conf/db.ini":
			signed = strings.Contains(q.Header.Get("Authorization"), "Credential=AKIDBUCKET/")
			io.WriteString(w, "host={{host}}")
		default:
			http.NotFound(w, q)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	meta := `{
	  "AWS::CloudFormation::Authentication": {
	    "s3": {"type": "S3", "buckets": ["cfg-bucket"], "accessKeyId": "AKIDBUCKET", "secretKey": "sk"}
	  },
	  "AWS::CloudFormation::Init": {
	    "config": {
	      "sources": {"` + dir + `/www": "` + srv.URL + `/app.tgz"},
	      "files": {
	        "` + dir + `/etc/app.json": {"content": {"port": 8080, "name": "{{x}}"}, "mode": "000600"},
	        "` + dir + `/etc/db.ini": {"source": "http://cfg-bucket.s3.us-east-2.amazonaws.com/conf/db.ini",
	                                   "context": {"host": "db.internal"}},
	        "` + dir + `/etc/link": {"content": "` + dir + `/etc/db.ini", "mode": "120777"}
	      },
	      "commands": {
	        "b": {"command": "cat ` + dir + `/etc/db.ini >> ` + dir + `/log"},
	        "a": {"command": ["sh", "-c", "echo first >> ` + dir + `/log"]}
	      }
	    }
	  }
	}`
	in, err := Parse([]byte(meta))
	if err != nil {
		t.Fatal(err)
	}
	configs, err := in.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := cmdRunner(t)
	r.Auth = in.Auth
	r.Fetch = &HTTPFetcher{Transport: toServer(srv)}
	res, err := r.Apply(context.Background(), in, configs)
	if err != nil {
		t.Fatal(err)
	}
	if !signed {
		t.Error("the S3 file was not signed with the bucket's Authentication entry")
	}
	for path, want := range map[string]string{
		dir + "/www/index.html": "<h1>hi</h1>",
		dir + "/etc/db.ini":     "host=db.internal",
		dir + "/log":            "first\nhost=db.internal",
	} {
		if got := readString(t, path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if got := readString(t, dir+"/etc/app.json"); !strings.Contains(got, `"port": 8080`) || !strings.Contains(got, "{{x}}") {
		t.Errorf("JSON content = %q", got)
	}
	if fi, _ := os.Stat(dir + "/etc/app.json"); fi.Mode().Perm() != 0o600 {
		t.Errorf("app.json mode %v", fi.Mode().Perm())
	}
	if got, _ := os.Readlink(filepath.Join(dir, "etc/link")); got != dir+"/etc/db.ini" {
		t.Errorf("link = %q", got)
	}
	want := []string{"source " + dir + "/www", "file " + dir + "/etc/app.json", "file " + dir + "/etc/db.ini",
		"file " + dir + "/etc/link", "command a", "command b"}
	if strings.Join(res.Changed, "\n") != strings.Join(want, "\n") {
		t.Errorf("changed:\n%s\nwant:\n%s", strings.Join(res.Changed, "\n"), strings.Join(want, "\n"))
	}
	// Again: sources and commands run again as in cfn-init, files are unchanged.
	res, err = r.Apply(context.Background(), in, configs)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Changed {
		if strings.HasPrefix(c, "file ") {
			t.Errorf("second run changed %s", c)
		}
	}
}
