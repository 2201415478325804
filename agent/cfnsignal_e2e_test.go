package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/stackhand/stackhand/internal/testenv/awsfake"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// cfn-signal and cfn-get-metadata through the binary, against the AWS stand-in: the SDK
// finds it through AWS_ENDPOINT_URL, the instance id through the metadata mock.

// bootCmd runs the binary with args in w's AWS environment.
func bootCmd(t *testing.T, w *awsWorld, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = w.env()
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestCfnSignalResourceThroughTheBinary(t *testing.T) {
	w := newAWSWorld(t, "", imdsmock.Config{})
	out, errOut, code := bootCmd(t, w, "cfn-signal", "-e", "0", "--stack", awsStack, "--resource", "WebServer", "--region", "us-east-1")
	if code != 0 {
		t.Fatalf("cfn-signal exit %d\n%s%s", code, out, errOut)
	}
	want := awsfake.Signal{Stack: awsStack, LogicalID: "WebServer", UniqueID: awsInstance, Status: "SUCCESS"}
	if got := w.aws.Signals(); len(got) != 1 || got[0] != want {
		t.Errorf("signals %+v, want [%+v]", got, want)
	}
	// A non-zero exit code is a FAILURE.
	bootCmd(t, w, "cfn-signal", "-e", "3", "-i", "other-id", "--stack", awsStack, "--resource", "WebServer", "--region", "us-east-1")
	if got := w.aws.Signals(); len(got) != 2 || got[1].Status != "FAILURE" || got[1].UniqueID != "other-id" {
		t.Errorf("after -e 3: signals %+v", got)
	}
}

// TestCfnSignalWaitConditionRetriesThroughTheBinary: the handle answers 500 once, the
// binary tries again and the second PUT carries the JSON document the docs define.
func TestCfnSignalWaitConditionRetriesThroughTheBinary(t *testing.T) {
	w := newAWSWorld(t, "", imdsmock.Config{})
	var mu sync.Mutex
	var methods []string
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		methods = append(methods, r.Method)
		bodies = append(bodies, string(b))
		if len(methods) == 1 {
			http.Error(rw, "try again", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	handle := srv.URL + "/cloudformation-waitcondition-us-east-1/arn%3Aaws%3Acloudformation?X-Amz-Signature=abc"
	out, errOut, code := bootCmd(t, w, "cfn-signal", "-e", "0", "-i", "web-1", "-r", "configured", "-d", "build 42", handle)
	if code != 0 {
		t.Fatalf("cfn-signal exit %d\n%s%s", code, out, errOut)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(methods) != 2 || methods[0] != http.MethodPut || methods[1] != http.MethodPut {
		t.Fatalf("requests %v, want two PUTs (a 500, then the retry)", methods)
	}
	var doc map[string]string
	if err := json.Unmarshal([]byte(bodies[1]), &doc); err != nil {
		t.Fatalf("the body is not JSON: %v\n%s", err, bodies[1])
	}
	want := map[string]string{"Status": "SUCCESS", "Reason": "configured", "UniqueId": "web-1", "Data": "build 42"}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %q, want %q (body %s)", k, doc[k], v, bodies[1])
		}
	}
}

func TestCfnGetMetadataThroughTheBinary(t *testing.T) {
	w := newAWSWorld(t, "", imdsmock.Config{})
	md := `{"AWS::CloudFormation::Init": {"config": {"files": {"/etc/motd": {"content": "hi"}}}}, "release": "v7"}`
	w.aws.PutResource(awsStack, awsfake.Resource{LogicalID: "LaunchConfig", Type: "AWS::AutoScaling::LaunchConfiguration", Metadata: md})
	out, errOut, code := bootCmd(t, w, "cfn-get-metadata", "-s", awsStack, "-r", "LaunchConfig", "--region", "us-east-1")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var got, want any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	json.Unmarshal([]byte(md), &want)
	if gj, _ := json.Marshal(got); string(gj) != mustJSON(t, want) {
		t.Errorf("printed %s, want %s", out, md)
	}
	out, errOut, code = bootCmd(t, w, "cfn-get-metadata", "-s", awsStack, "-r", "LaunchConfig", "--region", "us-east-1",
		"-k", "AWS::CloudFormation::Init.config.files./etc/motd")
	if code != 0 || strings.Join(strings.Fields(out), "") != `{"content":"hi"}` {
		t.Errorf("-k a nested key: exit %d, printed %q\n%s", code, out, errOut)
	}
	out, errOut, code = bootCmd(t, w, "cfn-get-metadata", "-s", awsStack, "-r", "LaunchConfig", "--region", "us-east-1", "-k", "nope")
	if code == 0 || !strings.Contains(errOut, "nope") {
		t.Errorf("-k a missing key: exit %d\n%s%s", code, out, errOut)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
