package cfnboot

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

func TestSignalResource(t *testing.T) {
	srv := awsfake.Start(t)
	srv.PutResource("app", awsfake.Resource{LogicalID: "Web"})
	env, _, _ := testEnv(t)

	opts, err := ParseSignalArgs(append([]string{"-e", "0", "--stack", "app", "--resource", "Web"}, awsArgs(srv.URL)...))
	if err != nil {
		t.Fatal(err)
	}
	if err := Signal(testCtx(t), opts, env); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	opts, _ = ParseSignalArgs(append([]string{"-e", "2", "-i", "custom", "--stack", "app", "--resource", "Web"}, awsArgs(srv.URL)...))
	if err := Signal(testCtx(t), opts, env); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	want := []awsfake.Signal{
		{Stack: "app", LogicalID: "Web", UniqueID: "i-0test", Status: "SUCCESS"},
		{Stack: "app", LogicalID: "Web", UniqueID: "custom", Status: "FAILURE"},
	}
	if got := srv.Signals(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("signals %+v\nwant %+v", got, want)
	}
	// The call was SigV4-signed with the keys given.
	for _, c := range srv.CallLog() {
		if c.Action == "SignalResource" && c.AccessKeyID != "AKIDTEST" {
			t.Errorf("SignalResource signed with %q, want AKIDTEST", c.AccessKeyID)
		}
	}
}

func TestSignalResourceRetries5xx(t *testing.T) {
	srv := awsfake.Start(t)
	srv.PutResource("app", awsfake.Resource{LogicalID: "Web"})
	front, seen := failFirst(t, srv, 2)
	env, _, _ := testEnv(t)
	opts, _ := ParseSignalArgs(append([]string{"--stack", "app", "--resource", "Web"}, awsArgs(front)...))
	if err := Signal(testCtx(t), opts, env); err != nil {
		t.Fatalf("Signal after two 500s: %v", err)
	}
	if n := seen.Load(); n != 3 {
		t.Errorf("%d requests, want 3 (two 500s, then the accepted one)", n)
	}
	if got := srv.Signals(); len(got) != 1 || got[0].Status != "SUCCESS" {
		t.Errorf("signals %+v, want one SUCCESS", got)
	}

	// cfn-signal tries 5 times, then gives up.
	front, seen = failFirst(t, srv, 100)
	opts, _ = ParseSignalArgs(append([]string{"--stack", "app", "--resource", "Web"}, awsArgs(front)...))
	err := Signal(testCtx(t), opts, env)
	if err == nil || !strings.Contains(err.Error(), "InternalFailure") {
		t.Errorf("Signal against a failing endpoint: err %v, want InternalFailure", err)
	}
	if n := seen.Load(); n != 5 {
		t.Errorf("%d attempts, want 5", n)
	}
}

func TestSignalResourceUnknown(t *testing.T) {
	srv := awsfake.Start(t)
	srv.PutResource("app", awsfake.Resource{LogicalID: "Web"})
	env, _, _ := testEnv(t)
	for _, tc := range []struct{ stack, res string }{{"nope", "Web"}, {"app", "Nope"}} {
		opts, _ := ParseSignalArgs(append([]string{"--stack", tc.stack, "--resource", tc.res}, awsArgs(srv.URL)...))
		err := Signal(testCtx(t), opts, env)
		if err == nil || !strings.Contains(err.Error(), "does not exist (check --stack, --resource and --region)") {
			t.Errorf("%s/%s: err %v, want it to say the stack or resource does not exist", tc.stack, tc.res, err)
		}
		if strings.Contains(err.Error(), "secretTEST") {
			t.Errorf("the error holds the secret key: %v", err)
		}
	}
	if n := srv.Calls("cloudformation", "SignalResource"); n != 2 {
		t.Errorf("%d calls, want 2: a ValidationError is not retried", n)
	}
}

// handleServer records the PUTs a WaitConditionHandle gets and answers each with the
// next status of codes (200 once they run out).
type handleServer struct {
	mu    sync.Mutex
	codes []int
	reqs  []handleReq
}

type handleReq struct {
	method, path, query string
	header              http.Header
	body                []byte
}

func (h *handleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.reqs = append(h.reqs, handleReq{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
	code := http.StatusOK
	if len(h.codes) > 0 {
		code, h.codes = h.codes[0], h.codes[1:]
	}
	h.mu.Unlock()
	w.WriteHeader(code)
}

func (h *handleServer) requests() []handleReq {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]handleReq(nil), h.reqs...)
}

func TestSignalWaitConditionHandle(t *testing.T) {
	h := &handleServer{}
	ts := httptest.NewServer(h)
	defer ts.Close()
	env, out, _ := testEnv(t)
	handle := ts.URL + "/arn%3Aaws%3Acloudformation/WaitHandle?AWSAccessKeyId=AKIA&Expires=1&Signature=sig%3D"

	opts, err := ParseSignalArgs([]string{"-e", "0", "-r", "Setup done", "-d", "v1.2", handle})
	if err != nil {
		t.Fatal(err)
	}
	if err := Signal(testCtx(t), opts, env); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	reqs := h.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPut {
		t.Errorf("method %s, want PUT", r.method)
	}
	if r.query != "AWSAccessKeyId=AKIA&Expires=1&Signature=sig%3D" {
		t.Errorf("query %q: the presigned URL's query must reach the server unchanged", r.query)
	}
	if ct, ok := r.header["Content-Type"]; !ok || len(ct) != 1 || ct[0] != "" {
		t.Errorf("Content-Type %q (present %v), want present and empty, as AWS's page requires", ct, ok)
	}
	var doc map[string]string
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	want := map[string]string{"Status": "SUCCESS", "Reason": "Setup done", "UniqueId": "i-0test", "Data": "v1.2"}
	if len(doc) != len(want) {
		t.Errorf("body %v, want exactly %v", doc, want)
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("body %s = %q, want %q", k, doc[k], v)
		}
	}
	if got := out.String(); got != "CloudFormation signaled successfully with SUCCESS.\n" {
		t.Errorf("stdout %q", got)
	}

	// A failure without a reason gets cfn-signal's default one.
	opts, _ = ParseSignalArgs([]string{"-e", "1", "-i", "web-1", handle})
	if err := Signal(testCtx(t), opts, env); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(h.requests()[1].body, &doc)
	if doc["Status"] != "FAILURE" || doc["Reason"] != "Configuration failed." || doc["UniqueId"] != "web-1" {
		t.Errorf("failure body %v", doc)
	}
}

func TestSignalWaitConditionHandleRetries(t *testing.T) {
	env, _, _ := testEnv(t)
	var slept []time.Duration
	env.Sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }

	// 500, 503, then success: retried.
	h := &handleServer{codes: []int{500, 503}}
	ts := httptest.NewServer(h)
	defer ts.Close()
	opts, _ := ParseSignalArgs([]string{ts.URL + "/h"})
	if err := Signal(testCtx(t), opts, env); err != nil {
		t.Fatalf("Signal after 500 and 503: %v", err)
	}
	if n := len(h.requests()); n != 3 {
		t.Errorf("%d PUTs, want 3", n)
	}
	if len(slept) != 2 || slept[0] >= time.Second || slept[1] >= 3*time.Second {
		t.Errorf("waits %v, want two, under 1 s then under 3 s (cfn-signal's backoff)", slept)
	}

	// 403 (an expired handle) is final, and says why.
	h = &handleServer{codes: []int{403}}
	ts2 := httptest.NewServer(h)
	defer ts2.Close()
	opts, _ = ParseSignalArgs([]string{ts2.URL + "/h?Signature=SECRETSIG"})
	err := Signal(testCtx(t), opts, env)
	if err == nil || !strings.Contains(err.Error(), "HTTP 403") || !strings.Contains(err.Error(), "expires") {
		t.Errorf("403: err %v, want HTTP 403 explained", err)
	}
	if strings.Contains(err.Error(), "SECRETSIG") {
		t.Errorf("the error holds the URL's signature: %v", err)
	}
	if n := len(h.requests()); n != 1 {
		t.Errorf("%d PUTs after a 403, want 1", n)
	}

	// Always 500: 5 attempts, then an error.
	h = &handleServer{codes: []int{500, 500, 500, 500, 500, 500, 500}}
	ts3 := httptest.NewServer(h)
	defer ts3.Close()
	opts, _ = ParseSignalArgs([]string{ts3.URL + "/h"})
	if err := Signal(testCtx(t), opts, env); err == nil || !strings.Contains(err.Error(), "gave up after 5 attempts") {
		t.Errorf("always 500: err %v", err)
	}
	if n := len(h.requests()); n != 5 {
		t.Errorf("%d PUTs, want 5", n)
	}
}

// A handle that accepts the connection and never answers costs one attempt's deadline,
// not forever: the context given bounds the whole signal.
func TestSignalWaitConditionHandleDeadline(t *testing.T) {
	block := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer ts.Close()
	defer close(block)
	env, _, _ := testEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	opts, _ := ParseSignalArgs([]string{ts.URL + "/h"})
	start := time.Now()
	err := Signal(ctx, opts, env)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Errorf("err %v after %v, want a deadline error soon", err, time.Since(start))
	}
}
