//go:build unix

package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/stackhand/stackhand/internal/awsenv"
)

// gitRepo makes a bare repository with one commit tagged v1 whose tree holds VERSION.
func gitRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	work, bare := filepath.Join(dir, "work"), filepath.Join(dir, "repo.git")
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	run("init", "-q", "-b", "main", work)
	os.WriteFile(filepath.Join(work, "VERSION"), []byte("git-v1\n"), 0o644)
	os.MkdirAll(filepath.Join(work, "bin"), 0o755)
	os.WriteFile(filepath.Join(work, "bin", "run"), []byte("#!/bin/sh\n"), 0o755)
	run("-C", work, "add", ".")
	run("-C", work, "commit", "-q", "-m", "v1")
	run("-C", work, "tag", "v1")
	run("clone", "-q", "--bare", work, bare)
	return bare
}

func TestGitSource(t *testing.T) {
	bare := gitRepo(t)
	m := newManager()
	app := newApp(t)
	r := deploy(t, m, app, "v1", "git+file://"+bare+"#v1")
	if got := currentVersion(t, app); got != "git-v1" {
		t.Fatalf("current %q", got)
	}
	fi, err := os.Stat(filepath.Join(r.Dir, "bin", "run"))
	if err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Fatalf("bin/run: %v %v (mode kept?)", fi, err)
	}
	if l := leftovers(t, app); len(l) > 0 {
		t.Fatalf("left behind (the scratch repository?): %v", l)
	}
	_, err = m.Prepare(t.Context(), app, Deploy{Revision: "nope", Source: "git+file://" + bare + "#nope"})
	if err == nil || !strings.Contains(err.Error(), `git ref "nope" not found`) || !errors.Is(err, ErrPermanent) {
		t.Fatalf("missing ref: %v", err)
	}
	if l := leftovers(t, app); len(l) > 0 {
		t.Fatalf("left behind: %v", l)
	}
}

func TestGitMissing(t *testing.T) {
	m := newManager()
	m.Fetchers = map[string]Fetcher{"git": GitFetcher{Git: "/nonexistent/git"}}
	_, err := m.Prepare(t.Context(), newApp(t), Deploy{Revision: "v1", Source: "git+https://example.com/r.git#v1"})
	if !errors.Is(err, ErrNoGit) || !strings.Contains(err.Error(), "apt-get install git / dnf install git") {
		t.Fatalf("err = %v", err)
	}
}

// fakeS3 serves one object, failing as told: a cut body on the first call, an error.
type fakeS3 struct {
	body   []byte
	etag   string
	cut    bool
	err    error
	inputs []*awsenv.GetObjectInput
}

type cutReader struct{ r io.Reader }

func (c *cutReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func (f *fakeS3) GetObject(_ context.Context, in *awsenv.GetObjectInput) (*awsenv.GetObjectOutput, error) {
	f.inputs = append(f.inputs, in)
	if f.err != nil {
		return nil, f.err
	}
	body := f.body
	out := &awsenv.GetObjectOutput{ETag: aws.String(f.etag)}
	if in.Range != nil {
		var start int64
		if _, err := fmtSscanf(*in.Range, &start); err != nil {
			return nil, err
		}
		body = body[start:]
		out.ContentRange = aws.String("bytes " + itoa(start) + "-" + itoa(int64(len(f.body))-1) + "/" + itoa(int64(len(f.body))))
	}
	out.ContentLength = aws.Int64(int64(len(body)))
	if f.cut {
		f.cut = false
		out.Body = io.NopCloser(&cutReader{bytes.NewReader(body[:len(body)/2])})
		return out, nil
	}
	out.Body = io.NopCloser(bytes.NewReader(body))
	return out, nil
}

func TestS3Source(t *testing.T) {
	body, _ := os.ReadFile(version(t, t.TempDir(), "v1", map[string]string{"pad": strings.Repeat("p", 50000)}))
	fake := &fakeS3{body: body, etag: `"abc"`, cut: true}
	m := newManager()
	m.Fetchers["s3"] = S3Fetcher{Client: fake, Retry: fastRetry}
	app := newApp(t)
	deploy(t, m, app, "v1", "s3://bucket/web/v1.tar.gz?versionId=ver%2B1")
	if currentVersion(t, app) != "v1" {
		t.Fatal("not switched")
	}
	if len(fake.inputs) != 2 {
		t.Fatalf("%d calls, want 2 (cut, resumed)", len(fake.inputs))
	}
	first, second := fake.inputs[0], fake.inputs[1]
	if aws.ToString(first.Bucket) != "bucket" || aws.ToString(first.Key) != "web/v1.tar.gz" || aws.ToString(first.VersionId) != "ver+1" || first.Range != nil {
		t.Fatalf("first call %+v", first)
	}
	if aws.ToString(second.Range) != "bytes="+itoa(int64(len(body)/2))+"-" || aws.ToString(second.IfMatch) != `"abc"` {
		t.Fatalf("resume call Range %q IfMatch %q", aws.ToString(second.Range), aws.ToString(second.IfMatch))
	}

	fake = &fakeS3{err: &smithy.GenericAPIError{Code: "NoSuchKey", Message: "The specified key does not exist."}}
	m.Fetchers["s3"] = S3Fetcher{Client: fake, Retry: fastRetry}
	_, err := m.Prepare(t.Context(), app, Deploy{Revision: "v2", Source: "s3://bucket/web/v2.tar.gz"})
	if err == nil || !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "s3://bucket/web/v2.tar.gz") || len(fake.inputs) != 1 {
		t.Fatalf("NoSuchKey: %v after %d calls", err, len(fake.inputs))
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@h/x.tar.gz?X-Amz-Signature=s": "https://h/x.tar.gz",
		"s3://b/k?versionId=v1&x=y":                "s3://b/k?versionId=v1",
		"git+https://tok@github.com/o/r.git#v1":    "git+https://github.com/o/r.git#v1",
		"/srv/x.tar.gz":                            "/srv/x.tar.gz",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func fmtSscanf(rng string, start *int64) (int, error) { return fmt.Sscanf(rng, "bytes=%d-", start) }

// A download that cannot be written (a full disk) is not retried.
func TestSinkWriteErrorNotRetried(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(strings.Repeat("x", 1000)))
	}))
	defer srv.Close()
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0) // every write: ENOSPC
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	err = HTTPFetcher{Retry: fastRetry}.Fetch(t.Context(), srv.URL, newSink(f, nil))
	if err == nil || !errors.Is(err, ErrPermanent) || !isNoSpace(err) || hits.Load() != 1 {
		t.Fatalf("err = %v after %d tries", err, hits.Load())
	}
}
