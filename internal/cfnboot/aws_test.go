package cfnboot

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// awsArgs point a command at endpoint with static keys, so that no IMDS is asked.
func awsArgs(endpoint string) []string {
	return []string{"--region", "us-east-1", "--url", endpoint, "--access-key", "AKIDTEST", "--secret-key", "secretTEST"}
}

// testEnv is an Env whose AWS setup retries at once, with its output captured.
func testEnv(t *testing.T) (Env, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	dir := t.TempDir()
	return Env{
		Stdout: &out, Stderr: &errOut,
		InitLog: dir + "/cfn-init.log", CmdLog: dir + "/cfn-init-cmd.log",
		AWS: func(ctx context.Context, o awsenv.Options) (*awsenv.Env, error) {
			e, err := awsenv.Load(ctx, o)
			if err != nil {
				return nil, err
			}
			e.Config.Retryer = awsfake.ClientConfig("").Retryer
			return e, nil
		},
		Sleep:      func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		InstanceID: func(context.Context) (string, error) { return "i-0test", nil },
	}, &out, &errOut
}

// failFirst is a proxy in front of the stand-in that answers the first n requests with
// a 500 InternalFailure, as CloudFormation does, and forwards the rest.
func failFirst(t *testing.T, srv *awsfake.Server, n int32) (string, *atomic.Int32) {
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var seen atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) <= n {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>An internal error occurred.</Message></Error><RequestId>x</RequestId></ErrorResponse>`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return front.URL, &seen
}
