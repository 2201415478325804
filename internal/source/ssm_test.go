package source

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

func ssmTestClient(endpoint string) *awsenv.SSMClient {
	cfg := awsTestConfig(endpoint)
	cfg.BaseEndpoint = &endpoint
	return awsenv.NewSSMClient(cfg, 0)
}

// param reads what the source observed of one parameter, failing unless it is present.
func param(t *testing.T, u Update, name string) (string, int64) {
	t.Helper()
	o, ok := u.Params[name]
	if !ok || !o.Present || o.Err != nil {
		t.Fatalf("parameter %s: %+v (in %+v)", name, o, u)
	}
	v, ver, ok := SSMValue(o.Value)
	if !ok {
		t.Fatalf("parameter %s: value %s is not an ssm value", name, o.Value)
	}
	return v, ver
}

// One GetParameter per distinct name per pass; a new value, and a new version of the same
// value, each change what is observed; a deleted parameter reads as absent.
func TestAWSSSMValueVersionAndRemoval(t *testing.T) {
	srv := awsfake.Start(t)
	srv.PutParameter("/web/release", "v1")
	srv.PutParameter("/db/release", "d1")
	clk := awsTestClock()
	s := AWSSSM{SSM: ssmTestClient(srv.URL), Names: SSMNames([]string{"/web/release", "/db/release", "/web/release"}),
		Clock: clk, Interval: time.Minute, Jitter: fixedJitter(0.5)}
	r := start(t, s)

	u := r.next(t)
	if u.Source != "ssm" || u.Err != nil {
		t.Fatalf("first pass %+v", u)
	}
	first := u.Params["/web/release"].Value
	if v, ver := param(t, u, "/web/release"); v != "v1" || ver != 1 {
		t.Errorf("first pass: %q version %d", v, ver)
	}
	if n := srv.Calls("ssm", "GetParameter"); n != 2 {
		t.Errorf("%d GetParameter calls for two distinct names, want 2", n)
	}

	srv.PutParameter("/web/release", "v1") // the same value again: version 2
	waitPending(t, clk, 1)
	clk.Advance(time.Minute)
	u = r.next(t)
	if v, ver := param(t, u, "/web/release"); v != "v1" || ver != 2 {
		t.Errorf("re-put: %q version %d", v, ver)
	}
	if string(u.Params["/web/release"].Value) == string(first) {
		t.Error("a new version with the same value is observed as unchanged; the engine would miss it")
	}

	srv.PutParameter("/web/release", "v2")
	srv.DeleteParameter("/db/release")
	waitPending(t, clk, 1)
	clk.Advance(time.Minute)
	u = r.next(t)
	if v, ver := param(t, u, "/web/release"); v != "v2" || ver != 3 {
		t.Errorf("new value: %q version %d", v, ver)
	}
	if o, ok := u.Params["/db/release"]; !ok || o.Present || o.Err != nil || u.Err != nil {
		t.Errorf("deleted parameter: %+v, %v; want observed absent with no error", o, u.Err)
	}
	for _, c := range srv.CallLog() {
		if c.Input["WithDecryption"] != false {
			t.Errorf("GetParameter input %v: want WithDecryption false", c.Input)
		}
	}
}

// A parameter the role may not read is left out (its rules stay as they were), with the
// IAM action named; the others are read.
func TestAWSSSMAccessDenied(t *testing.T) {
	srv := awsfake.Start(t)
	srv.PutParameter("/web/release", "v1")
	srv.PutParameter("/secret", "x")
	srv.DenyParameter("/secret", true)
	s := AWSSSM{SSM: ssmTestClient(srv.URL), Names: []string{"/secret", "/web/release"}}
	vals, throttled, err := s.Read(awsTestCtx(t))
	if err == nil || !strings.Contains(err.Error(), "ssm:GetParameter denied for role stackhand-test") ||
		!strings.Contains(err.Error(), "/secret") || !awsenv.IsAccessDenied(err) || throttled {
		t.Errorf("error %v (throttled %v)", err, throttled)
	}
	if _, ok := vals["/secret"]; ok {
		t.Errorf("a denied parameter is observed: %+v; it must be left out so nothing undeploys", vals["/secret"])
	}
	if o := vals["/web/release"]; !o.Present {
		t.Errorf("the readable parameter: %+v", o)
	}
}

// Throttled calls (after the SDK's own retries) leave the parameter out and lengthen the
// wait before the next pass, as the other AWS sources do.
func TestAWSSSMThrottled(t *testing.T) {
	srv := awsfake.Start(t)
	srv.PutParameter("/web/release", "v1")
	srv.SetFaults(awsfake.Faults{ThrottleRate: 1})
	clk := awsTestClock()
	s := AWSSSM{SSM: ssmTestClient(srv.URL), Names: []string{"/web/release"}, Clock: clk, Interval: time.Minute, Jitter: fixedJitter(0.5)}
	r := start(t, s)
	u := r.next(t)
	if _, ok := u.Params["/web/release"]; ok || u.Err == nil || !awsenv.IsThrottle(u.Err) ||
		!strings.Contains(u.Err.Error(), "ssm:GetParameter throttled") {
		t.Fatalf("throttled pass: %+v", u)
	}
	waitPending(t, clk, 1)
	// The steady wait at jitter 0.5 is the interval; a throttled one is more.
	clk.Advance(time.Minute)
	r.none(t)
	if n := srv.Calls("ssm", "GetParameter"); n != 3 {
		t.Errorf("%d calls: want the SDK's 3 attempts and no pass after one interval", n)
	}
	srv.SetFaults(awsfake.Faults{})
	clk.Advance(time.Minute)
	u = r.next(t)
	if v, _ := param(t, u, "/web/release"); v != "v1" || u.Err != nil {
		t.Errorf("after the throttling: %+v", u)
	}
}

func TestLocalSSM(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	s := LocalSSM{Local: Local{Dir: dir, Clock: clk, Interval: time.Hour}, Names: []string{"/web/release", "/other"}}

	// No file: nothing is set, every watched parameter is absent.
	vals, err := s.Read()
	if err != nil || vals["/web/release"].Present || len(vals) != 2 {
		t.Fatalf("no file: %+v %v", vals, err)
	}

	replaceFile(t, dir, SSMFile, `{"/web/release": "v1", "/unwatched": "x"}`)
	r := start(t, s)
	u := r.next(t)
	if v, ver := param(t, u, "/web/release"); v != "v1" || ver != 0 || u.Params["/other"].Present || len(u.Params) != 2 {
		t.Fatalf("first read: %+v", u)
	}
	first := u.Params["/web/release"].Value
	// change rewrites the file and lets the watcher's settle delay pass.
	change := func(content string) Update {
		t.Helper()
		waitPending(t, clk, 1) // the interval
		replaceFile(t, dir, SSMFile, content)
		waitPending(t, clk, 2) // and the settle timer
		clk.Advance(settle)
		return r.next(t)
	}

	u = change(`{"/web/release": "v2"}`)
	if v, _ := param(t, u, "/web/release"); v != "v2" || string(u.Params["/web/release"].Value) == string(first) {
		t.Errorf("after the change: %+v", u)
	}

	u = change("{\n  \"/web/release\": 3\n}")
	if u.Err == nil || !strings.Contains(u.Err.Error(), SSMFile+":2:") || u.Params != nil {
		t.Errorf("a number for a value: %+v", u)
	}
}

func TestSSMValue(t *testing.T) {
	o := observeParameter(`a "quoted" value`, 7)
	var m map[string]any
	if err := json.Unmarshal(o.Value, &m); err != nil || m["value"] != `a "quoted" value` || m["version"] != 7.0 {
		t.Errorf("observed %s", o.Value)
	}
	if _, _, ok := SSMValue(json.RawMessage(`"v1"`)); ok {
		t.Error("a bare string read as an ssm value")
	}
}

// A context that ends mid-pass stops the pass: no further calls.
func TestAWSSSMStopsWithItsContext(t *testing.T) {
	srv := awsfake.Start(t)
	srv.SetFaults(awsfake.Faults{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s := AWSSSM{SSM: ssmTestClient(srv.URL), Names: []string{"/a", "/b", "/c"}}
	_, _, err := s.Read(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v", err)
	}
	if n := srv.Hung(); n != 1 {
		t.Errorf("%d calls made, want 1: none after the context ended", n)
	}
}
