package cli

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

// runAs calls Main as the program argv0 would be run.
func runAs(argv0 string, args ...string) result {
	var stdout, stderr bytes.Buffer
	code := Main(Env{Stdout: &stdout, Stderr: &stderr, Args: append([]string{argv0}, args...)})
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// Invoked through a link named like an aws-cfn-bootstrap script, the binary is that
// script: /opt/aws/bin/cfn-init --help answers as stackhand's cfn-init.
func TestDropInDispatch(t *testing.T) {
	tests := []struct {
		argv0, usage, about string
	}{
		{"/opt/aws/bin/cfn-init", "Usage: cfn-init --stack STACK", "stackhand's cfn-init"},
		{"cfn-init", "Usage: cfn-init --stack STACK", "stackhand's cfn-init"},
		{"/usr/local/bin/cfn-signal", "Usage: cfn-signal [--success", "stackhand's cfn-signal"},
		{"/opt/aws/bin/cfn-get-metadata", "Usage: cfn-get-metadata --stack", "stackhand's cfn-get-metadata"},
		{`C:\Program Files\stackhand\cfn-init.exe`, "Usage: cfn-init --stack", "stackhand's cfn-init"},
		{`C:\cfn\bin\CFN-SIGNAL.EXE`, "Usage: cfn-signal", "stackhand's cfn-signal"},
	}
	for _, tc := range tests {
		for _, h := range []string{"--help", "-h"} {
			r := runAs(tc.argv0, h)
			r.check(t, ExitOK, []string{tc.usage, tc.about, "Exit codes:"}, nil)
			if r.stderr != "" {
				t.Errorf("%s %s wrote on stderr: %s", tc.argv0, h, r.stderr)
			}
		}
	}
	// Not a drop-in name: stackhand's own command line.
	runAs("/usr/bin/stackhand", "cfn-init", "--help").check(t, ExitOK, []string{"Usage: stackhand cfn-init --stack"}, nil)
	runAs("/usr/bin/cfn-init-old", "--help").check(t, ExitOK, []string{"Usage: stackhand COMMAND"}, nil)
	// The top-level help lists the commands.
	run(t, "help").check(t, ExitOK, []string{"cfn-init", "cfn-signal", "cfn-get-metadata", "/opt/aws/bin/cfn-init"}, nil)
}

func TestDropInUsageErrors(t *testing.T) {
	runAs("/opt/aws/bin/cfn-init", "--stack", "app").check(t, ExitUsage, nil,
		[]string{"cfn-init: give --stack and --resource", "Run 'cfn-init --help'"})
	runAs("/opt/aws/bin/cfn-init", "--bogus").check(t, ExitUsage, nil, []string{"no such option: --bogus"})
	run(t, "cfn-signal").check(t, ExitUsage, nil, []string{"stackhand cfn-signal: nothing to signal"})
	runAs("cfn-get-metadata", "-s", "app").check(t, ExitUsage, nil, []string{"give both --stack and --resource"})
}

func TestCfnGetMetadataCommand(t *testing.T) {
	srv := awsfake.Start(t)
	srv.PutResource("app", awsfake.Resource{LogicalID: "Web", Metadata: `{"release": "v7", "n": {"a": 1}}`})
	aws := []string{"--region", "us-east-1", "-u", srv.URL, "--access-key", "AKIDTEST", "--secret-key", "secretTEST"}
	runAs("/opt/aws/bin/cfn-get-metadata", append([]string{"-s", "app", "-r", "Web", "-k", "release"}, aws...)...).
		check(t, ExitOK, []string{"v7\n"}, nil)
	runAs("/opt/aws/bin/cfn-get-metadata", append([]string{"-s", "app", "-r", "Web"}, aws...)...).
		check(t, ExitOK, []string{"{\n    \"release\": \"v7\",\n    \"n\": {\n        \"a\": 1\n    }\n}\n"}, nil)
	r := runAs("/opt/aws/bin/cfn-get-metadata", append([]string{"-s", "app", "-r", "Web", "-k", "nope"}, aws...)...)
	r.check(t, ExitFailed, nil, []string{"cfn-get-metadata: nope is not present in the metadata for Web"})
	if r.stdout != "" {
		t.Errorf("printed %q on an error", r.stdout)
	}
}

func TestCfnSignalCommand(t *testing.T) {
	var got []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method)
		if strings.Contains(r.URL.Path, "expired") {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer ts.Close()
	runAs("/opt/aws/bin/cfn-signal", "-e", "0", "-i", "web-1", ts.URL+"/handle").
		check(t, ExitOK, []string{"CloudFormation signaled successfully with SUCCESS."}, nil)
	runAs("/opt/aws/bin/cfn-signal", "-e", "0", "-i", "web-1", ts.URL+"/expired").
		check(t, ExitFailed, nil, []string{"cfn-signal: PUT", "HTTP 403"})
	if len(got) != 2 || got[0] != http.MethodPut {
		t.Errorf("requests %v, want two PUTs", got)
	}
}
