package cfnboot

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stackhand/stackhand/internal/testenv/awsfake"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// isolate clears what the SDK reads of the environment and points IMDS at endpoint.
func isolate(t *testing.T, endpoint string) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_EC2_METADATA_DISABLED",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDFORMATION", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
	} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint)
}

// On an instance without a role, cfn-signal and cfn-init need no flag for credentials:
// their calls carry the instance identity document (CFN_V1), the region comes from IMDS,
// and cfn-signal's default id is the instance id — as aws-cfn-bootstrap's do.
func TestNoCredentialsUsesTheInstanceIdentity(t *testing.T) {
	m := imdsmock.Start(t, imdsmock.Config{NoRole: true, InstanceID: "i-0norole0000000000"})
	isolate(t, m.URL)
	srv := awsfake.Start(t)
	srv.PutResource("app", awsfake.Resource{LogicalID: "Web", Metadata: emptyInit})
	env, _, _ := testEnv(t)
	env.InstanceID = nil // from IMDS

	opts, err := ParseSignalArgs([]string{"-e", "0", "--stack", "app", "--resource", "Web", "--url", srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := Signal(testCtx(t), opts, env); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	if got := srv.Signals(); len(got) != 1 || got[0].UniqueID != "i-0norole0000000000" || got[0].Status != "SUCCESS" {
		t.Errorf("signals %+v, want one SUCCESS from i-0norole0000000000", got)
	}

	iopts, err := ParseInitArgs([]string{"-s", "app", "-r", "Web", "-u", srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RunInit(testCtx(t), iopts, env); err != nil {
		t.Fatalf("RunInit: %v", err)
	}
	for _, c := range srv.CallLog() {
		if c.Auth != awsfake.AuthCFNV1 {
			t.Errorf("%s carried %q, want %s", c.Action, c.Auth, awsfake.AuthCFNV1)
		}
		if c.Region != "" && c.Region != "us-east-1" {
			t.Errorf("%s in region %q", c.Action, c.Region)
		}
	}
	if n := len(srv.CallLog()); n != 2 {
		t.Errorf("%d calls, want SignalResource and DescribeStackResource", n)
	}
}
