package cfninit

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/stackhand/stackhand/internal/backoff"
)

// toServer is a transport that dials srv whatever the URL's host, so that requests to
// S3 host names reach the test server with their Host header intact.
func toServer(srv *httptest.Server) http.RoundTripper {
	addr := srv.Listener.Addr().String()
	return &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{Timeout: time.Second}).DialContext(ctx, network, addr)
	}}
}

func fastFetcher(srv *httptest.Server) *HTTPFetcher {
	return &HTTPFetcher{Transport: toServer(srv), Backoff: backoff.Policy{Base: time.Millisecond}}
}

func readURL(t *testing.T, f *HTTPFetcher, u string, auth *Auth) (string, error) {
	t.Helper()
	body, err := f.Open(context.Background(), u, auth)
	if err != nil {
		return "", err
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	return string(b), err
}

var signTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestFetchS3SignedWithSigV4(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		got = q.Clone(context.Background())
		io.WriteString(w, "object")
	}))
	defer srv.Close()
	f := fastFetcher(srv)
	f.Now = func() time.Time { return signTime }
	keys := &Auth{Name: "s3keys", Type: "S3", AccessKeyID: "AKIDEXAMPLE", SecretKey: "wJalrXUtnFEMI"}
	role := &Auth{Name: "s3role", Type: "S3", RoleName: "app-role"}
	f.RoleCredentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "ASIAROLE", SecretAccessKey: "rolesecret", SessionToken: "tok", CanExpire: true, Expires: signTime.Add(time.Hour)}, nil
	})
	for _, tc := range []struct {
		url, region, keyID string
		auth               *Auth
	}{
		{"http://my-bucket.s3.us-west-2.amazonaws.com/dir/app.conf", "us-west-2", "AKIDEXAMPLE", keys},
		{"http://my-bucket.s3.amazonaws.com/app.conf", "us-east-1", "AKIDEXAMPLE", keys},
		{"http://s3.eu-central-1.amazonaws.com/my-bucket/app.conf", "eu-central-1", "AKIDEXAMPLE", keys},
		{"http://my-bucket.s3-ap-southeast-2.amazonaws.com/app.conf", "ap-southeast-2", "ASIAROLE", role},
	} {
		body, err := readURL(t, f, tc.url, tc.auth)
		if err != nil || body != "object" {
			t.Fatalf("%s: %q, %v", tc.url, body, err)
		}
		authz := got.Header.Get("Authorization")
		scope := "Credential=" + tc.keyID + "/20260102/" + tc.region + "/s3/aws4_request"
		if !strings.HasPrefix(authz, "AWS4-HMAC-SHA256 ") || !strings.Contains(authz, scope) {
			t.Errorf("%s: Authorization %q lacks %q", tc.url, authz, scope)
		}
		if got.Header.Get("X-Amz-Content-Sha256") == "" || got.Header.Get("X-Amz-Date") != "20260102T030405Z" {
			t.Errorf("%s: headers %v", tc.url, got.Header)
		}
		if (tc.auth == role) != (got.Header.Get("X-Amz-Security-Token") == "tok") {
			t.Errorf("%s: session token header %q", tc.url, got.Header.Get("X-Amz-Security-Token"))
		}
		// The signature is the one S3 would compute: sign the same request again.
		u, _ := url.Parse(tc.url)
		again, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		again.Host = u.Host
		again.Header.Set("X-Amz-Content-Sha256", got.Header.Get("X-Amz-Content-Sha256"))
		if tok := got.Header.Get("X-Amz-Security-Token"); tok != "" {
			again.Header.Set("X-Amz-Security-Token", tok)
		}
		creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI"}
		if tc.auth == role {
			creds = aws.Credentials{AccessKeyID: "ASIAROLE", SecretAccessKey: "rolesecret", SessionToken: "tok"}
		}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, got.Header.Get("X-Amz-Content-Sha256"), "s3", tc.region, signTime); err != nil {
			t.Fatal(err)
		}
		if again.Header.Get("Authorization") != authz {
			t.Errorf("%s: signature differs from a fresh signing:\n got %s\nwant %s", tc.url, authz, again.Header.Get("Authorization"))
		}
	}
	// No Auth: unsigned, as a public object.
	if _, err := readURL(t, f, "http://pub.s3.amazonaws.com/x", nil); err != nil || got.Header.Get("Authorization") != "" {
		t.Errorf("unsigned: %v, Authorization %q", err, got.Header.Get("Authorization"))
	}
	// An S3 Auth for a URL that is not S3's, or a role without credentials: errors.
	if _, err := readURL(t, f, srv.URL+"/x", keys); err == nil || !strings.Contains(err.Error(), "not an S3 URL") {
		t.Errorf("S3 auth on a non-S3 URL: %v", err)
	}
	f2 := fastFetcher(srv)
	if _, err := readURL(t, f2, "http://b.s3.amazonaws.com/x", role); err == nil || !strings.Contains(err.Error(), "app-role") {
		t.Errorf("role without credentials: %v", err)
	}
}

func TestFetchBasicAuth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		if u, p, ok := q.BasicAuth(); !ok || u != "deploy" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="x"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	f := fastFetcher(srv)
	if body, err := readURL(t, f, srv.URL+"/f", &Auth{Type: "basic", Username: "deploy", Password: "s3cret"}); err != nil || body != "ok" {
		t.Errorf("with basic auth: %q %v", body, err)
	}
	_, err := readURL(t, f, srv.URL+"/f", &Auth{Type: "basic", Username: "deploy", Password: "wrong"})
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 401 || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong password: %v", err)
	}
}

func TestFetchStatusesAndRetries(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		n := calls.Add(1)
		switch q.URL.Path {
		case "/missing":
			http.NotFound(w, q)
		case "/denied":
			w.WriteHeader(http.StatusForbidden)
		case "/flaky":
			if n == 1 {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			io.WriteString(w, "second time")
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	f := fastFetcher(srv)
	f.Attempts = 3
	secret := strings.Replace(srv.URL, "http://", "http://user:pa55word@", 1)
	for _, tc := range []struct {
		path  string
		code  int
		calls int32
		hint  string
	}{
		{"/missing?X-Amz-Credential=AKIDX&X-Amz-Signature=feedface", 404, 1, "does not exist"},
		{"/denied", 403, 1, "access denied"},
		{"/down", 503, 3, "gave up after 3 attempts"},
	} {
		calls.Store(0)
		_, err := readURL(t, f, secret+tc.path, nil)
		var he *HTTPError
		if !errors.As(err, &he) || he.StatusCode != tc.code {
			t.Errorf("%s: err %v, want %d", tc.path, err, tc.code)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.hint) || !strings.Contains(msg, srv.Listener.Addr().String()) {
			t.Errorf("%s: message %q lacks %q or the URL", tc.path, msg, tc.hint)
		}
		for _, s := range []string{"pa55word", "AKIDX", "feedface"} {
			if strings.Contains(msg, s) {
				t.Errorf("%s: %q leaks %s", tc.path, msg, s)
			}
		}
		if calls.Load() != tc.calls {
			t.Errorf("%s: %d requests, want %d (4xx is final, 5xx retried)", tc.path, calls.Load(), tc.calls)
		}
	}
	calls.Store(0)
	if body, err := readURL(t, f, srv.URL+"/flaky", nil); err != nil || body != "second time" || calls.Load() != 2 {
		t.Errorf("500 then 200: %q %v after %d requests", body, err, calls.Load())
	}
	// A connection refused is retried and then reported.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	f2 := &HTTPFetcher{Attempts: 2, Backoff: backoff.Policy{Base: time.Millisecond}}
	if _, err := readURL(t, f2, "http://"+addr+"/x", nil); err == nil || !strings.Contains(err.Error(), "gave up after 2 attempts") {
		t.Errorf("refused: %v", err)
	}
}

func TestFetchStalledBodyErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		w.Header().Set("Content-Length", "1000")
		io.WriteString(w, "start")
		w.(http.Flusher).Flush()
		<-q.Context().Done() // then nothing, until the client gives up
	}))
	defer srv.Close()
	f := fastFetcher(srv)
	f.StallTimeout = 100 * time.Millisecond
	done := make(chan error, 1)
	go func() { _, err := readURL(t, f, srv.URL+"/slow", nil); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no data for 100ms") {
			t.Errorf("err = %v, want a stall error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a stalled body hung the read")
	}
}

func TestS3RegionAndRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://b.s3.amazonaws.com/k":                  "us-east-1",
		"https://b.c.s3.us-east-2.amazonaws.com/k":      "us-east-2",
		"https://s3-eu-west-1.amazonaws.com/b/k":        "eu-west-1",
		"https://s3.amazonaws.com/b/k":                  "us-east-1",
		"https://b.s3.cn-north-1.amazonaws.com.cn/k":    "cn-north-1",
		"https://s3.dualstack.us-west-2.amazonaws.com/": "us-west-2",
		"https://example.com/k":                         "",
		"https://s3.example.com/k":                      "",
		"https://amazonaws.com.evil.example/s3/k":       "",
	} {
		u, _ := url.Parse(in)
		got, ok := S3Region(u)
		if got != want || ok != (want != "") {
			t.Errorf("S3Region(%s) = %q %v, want %q", in, got, ok, want)
		}
	}
	for in, want := range map[string]string{
		"https://u:p@h/x": "https://REDACTED@h/x",
		"https://h/x?X-Amz-Signature=s&X-Amz-Credential=c&a=1": "https://h/x?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&a=1",
		"https://h/x": "https://h/x",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%s) = %s, want %s", in, got, want)
		}
	}
}
