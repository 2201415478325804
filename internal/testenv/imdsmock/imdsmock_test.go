package imdsmock

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// get fetches an IMDS path with an IMDSv2 token, or without one when token is "".
func get(t *testing.T, m *Mock, token, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, m.URL+path, nil)
	if token != "" {
		req.Header.Set("X-aws-ec2-metadata-token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func token(t *testing.T, m *Mock) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, m.URL+"/latest/api/token", nil)
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "300")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

func TestMockServesConfiguredInstance(t *testing.T) {
	m := Start(t, Config{
		InstanceID: "i-0aaaabbbbccccdddd",
		Tags:       map[string]string{"aws:cloudformation:stack-name": "web", "aws:autoscaling:groupName": "web-asg"},
	})
	tok := token(t, m)
	cases := []struct{ path, want string }{
		{"/latest/meta-data/instance-id", "i-0aaaabbbbccccdddd"},
		{"/latest/meta-data/placement/availability-zone", "us-east-1a"},
		{"/latest/meta-data/placement/region", "us-east-1"},
		{"/latest/meta-data/local-ipv4", "10.0.1.23"},
		{"/latest/meta-data/public-ipv4", "203.0.113.7"},
		{"/latest/meta-data/instance-type", "m5.large"},
		{"/latest/meta-data/tags/instance", "aws:autoscaling:groupName\naws:cloudformation:stack-name"},
		{"/latest/meta-data/tags/instance/aws:cloudformation:stack-name", "web"},
		{"/latest/meta-data/tags/instance/aws:autoscaling:groupName", "web-asg"},
		{"/latest/meta-data/iam/security-credentials", "stackhand-test-role"},
		{"/latest/meta-data/autoscaling/target-lifecycle-state", "InService"},
	}
	for _, c := range cases {
		code, body := get(t, m, tok, c.path)
		if code != 200 || body != c.want {
			t.Errorf("GET %s = %d %q, want 200 %q", c.path, code, body, c.want)
		}
	}
	for _, p := range []string{"/latest/meta-data/spot/instance-action", "/latest/meta-data/events/recommendations/rebalance"} {
		if code, body := get(t, m, tok, p); code != 404 {
			t.Errorf("GET %s = %d %q, want 404 (event not due)", p, code, body)
		}
	}
	code, doc := get(t, m, tok, "/latest/dynamic/instance-identity/document")
	if code != 200 || !strings.Contains(doc, `"instanceId": "i-0aaaabbbbccccdddd"`) || !strings.Contains(doc, `"pendingTime": "2026-01-02T03:04:05Z"`) {
		t.Errorf("identity document = %d %s", code, doc)
	}
	for _, p := range []string{"/latest/dynamic/instance-identity/pkcs7", "/latest/dynamic/instance-identity/signature"} {
		if code, body := get(t, m, tok, p); code != 200 || body == "" {
			t.Errorf("GET %s = %d %q", p, code, body)
		}
	}
	// IMDSv2 only: no token, no answer.
	if code, _ := get(t, m, "", "/latest/meta-data/instance-id"); code != 401 {
		t.Errorf("GET without token = %d, want 401", code)
	}
}

func TestMockWithoutTagsRoleOrPublicIP(t *testing.T) {
	m := Start(t, Config{NoRole: true, NoPublicIPv4: true})
	tok := token(t, m)
	for _, p := range []string{"/latest/meta-data/tags/instance", "/latest/meta-data/public-ipv4", "/latest/meta-data/iam/security-credentials/"} {
		if code, body := get(t, m, tok, p); code != 404 {
			t.Errorf("GET %s = %d %q, want 404", p, code, body)
		}
	}
}

func TestMockEvents(t *testing.T) {
	m := Start(t, Config{ASGTerminationAfter: time.Second, SpotInterruptionAfter: time.Second, RebalanceAfter: time.Second})
	tok := token(t, m)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, state := get(t, m, tok, "/latest/meta-data/autoscaling/target-lifecycle-state")
		if state == "Terminated" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("target-lifecycle-state still %q", state)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := get(t, m, tok, "/latest/meta-data/spot/instance-action"); code != 200 || !strings.Contains(body, `"action": "terminate"`) {
		t.Errorf("spot/instance-action = %d %s", code, body)
	}
	if code, body := get(t, m, tok, "/latest/meta-data/events/recommendations/rebalance"); code != 200 || !strings.Contains(body, "noticeTime") {
		t.Errorf("rebalance = %d %s", code, body)
	}
}

// TestMockCountsRequestsAndConnections: the counting proxy in front of the mock sees each
// request with its method and path, and tells a reused connection from new ones.
func TestMockCountsRequestsAndConnections(t *testing.T) {
	m := Start(t, Config{})
	if n := len(m.Requests()); n != 0 {
		t.Fatalf("%d requests counted before any was made (the readiness probes must not count)", n)
	}
	tok := token(t, m)
	get(t, m, tok, "/latest/meta-data/instance-id")
	get(t, m, tok, "/latest/meta-data/instance-type")
	reqs := m.Requests()
	var got []string
	for _, r := range reqs {
		got = append(got, r.Method+" "+r.Path)
	}
	want := []string{"PUT /latest/api/token", "GET /latest/meta-data/instance-id", "GET /latest/meta-data/instance-type"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("requests %q, want %q", got, want)
	}
	// http.DefaultClient keeps the connection alive between the three requests.
	if n := m.Conns(); n != 1 {
		t.Errorf("%d connections for three requests on a keep-alive client, want 1", n)
	}
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest(http.MethodGet, m.URL+"/latest/meta-data/instance-id", nil)
	req.Header.Set("X-aws-ec2-metadata-token", tok)
	resp, err := fresh.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := m.Conns(); n != 2 {
		t.Errorf("%d connections after one more request without keep-alive, want 2", n)
	}
}
