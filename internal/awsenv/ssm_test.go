package awsenv

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// TestSSMClientWireFormat: the hand-made GetParameter is the awsJson1_1 call the SDK
// makes — POST /, the target header, the JSON body never asking decryption — signed with
// SigV4 for the ssm service in the region; its errors read as the SDK's (code, throttle,
// access denied), and a 5xx is tried again while a 4xx is not.
func TestSSMClientWireFormat(t *testing.T) {
	var calls atomic.Int32
	var answer atomic.Value // func(w http.ResponseWriter)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		var in map[string]any
		if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameter" ||
			r.Header.Get("Content-Type") != "application/x-amz-json-1.1" || json.Unmarshal(body, &in) != nil ||
			in["Name"] != "/web/release" || in["WithDecryption"] != false {
			t.Errorf("request %s %s %v body %s", r.Method, r.URL.Path, r.Header, body)
		}
		if a := r.Header.Get("Authorization"); !strings.Contains(a, "Credential=AKIDTEST/") || !strings.Contains(a, "/eu-west-1/ssm/aws4_request") {
			t.Errorf("Authorization %q: want SigV4 for ssm in eu-west-1", a)
		}
		answer.Load().(func(http.ResponseWriter))(w)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}
	c := NewSSMClient(cfg, time.Second)
	c.c.sleep = func(context.Context, time.Duration) error { return nil }
	reply := func(status int, body string) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) { w.WriteHeader(status); io.WriteString(w, body) }
	}

	answer.Store(reply(200, `{"Parameter":{"Name":"/web/release","Type":"String","Value":"v42","Version":7}}`))
	p, err := c.GetParameter(context.Background(), "/web/release")
	if err != nil || p != (SSMParameter{Value: "v42", Version: 7}) {
		t.Fatalf("GetParameter = %+v, %v", p, err)
	}

	for _, tc := range []struct {
		status     int
		body, code string
		calls      int32
		check      func(error) bool
	}{
		{400, `{"__type":"ParameterNotFound","message":""}`, "ParameterNotFound", 1, nil},
		{400, `{"__type":"com.amazonaws.ssm#ThrottlingException","message":"Rate exceeded"}`, "ThrottlingException", ssmAttempts, IsThrottle},
		{400, `{"__type":"AccessDeniedException","Message":"User: arn:aws:sts::1:assumed-role/web/i-1 is not authorized"}`, "AccessDeniedException", 1, IsAccessDenied},
		{500, `{"__type":"InternalServerError","message":"oops"}`, "InternalServerError", ssmAttempts, nil},
	} {
		calls.Store(0)
		answer.Store(reply(tc.status, tc.body))
		_, err := c.GetParameter(context.Background(), "/web/release")
		if ErrorCode(err) != tc.code || calls.Load() != tc.calls || (tc.check != nil && !tc.check(err)) {
			t.Errorf("%d %s: error %v (code %q) after %d calls; want %s after %d", tc.status, tc.body, err, ErrorCode(err), calls.Load(), tc.code, tc.calls)
		}
	}
}
