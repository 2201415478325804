package awsenv

import (
	"context"
	"encoding/base64"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// isolate clears every setting the SDK would read from the machine running the tests,
// and points IMDS at endpoint.
func isolate(t *testing.T, endpoint string) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_EC2_METADATA_DISABLED",
		"AWS_EC2_METADATA_V1_DISABLED", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDFORMATION",
		"AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_AUTO_SCALING", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
		"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SSM",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
	} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint)
}

func observed() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zap.DebugLevel)
	return zap.New(core), logs
}

func TestDiscoverFromMetadataMock(t *testing.T) {
	launch := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	m := imdsmock.Start(t, imdsmock.Config{
		InstanceID:       "i-0abc1234def567890",
		AvailabilityZone: "eu-west-1b",
		Region:           "eu-west-1",
		LocalIPv4:        "10.1.2.3",
		PublicIPv4:       "198.51.100.9",
		InstanceType:     "c6g.large",
		PendingTime:      launch,
		Tags: map[string]string{
			TagStackName: "web-prod",
			TagLogicalID: "WebLaunchTemplate",
		},
	})
	isolate(t, m.URL)
	ctx := context.Background()

	log, logs := observed()
	env, err := Load(ctx, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if env.Region() != "eu-west-1" {
		t.Errorf("region from IMDS = %q, want eu-west-1", env.Region())
	}
	if logs.FilterMessage("region from IMDS").Len() != 1 {
		t.Errorf("no log line saying the region came from IMDS")
	}

	inst, extra, err := DiscoverExtra(ctx, env, nil, nil, DiscoverOptions{Tags: []string{TagLogicalID, "Missing"}})
	tags := extra.Tags
	if err != nil {
		t.Fatal(err)
	}
	want := struct{ id, region, az, priv, pub, typ, host, stack, lid, asg string }{
		"i-0abc1234def567890", "eu-west-1", "eu-west-1b", "10.1.2.3", "198.51.100.9", "c6g.large",
		"ip-10-1-2-3.ec2.internal", "web-prod", "WebLaunchTemplate", "",
	}
	got := struct{ id, region, az, priv, pub, typ, host, stack, lid, asg string }{
		inst.InstanceID, inst.Region, inst.AvailabilityZone, inst.PrivateIP, inst.PublicIP, inst.InstanceType,
		inst.Hostname, inst.Stack, inst.LogicalID, inst.AutoScalingGroup,
	}
	if got != want {
		t.Errorf("Discover =\n %+v\nwant\n %+v", got, want)
	}
	// The tags log names ask for, from IMDS: those the instance has.
	if !maps.Equal(tags, map[string]string{TagLogicalID: "WebLaunchTemplate"}) {
		t.Errorf("tags = %v, want the logical id tag alone", tags)
	}
	if !inst.LaunchTime.Equal(launch) {
		t.Errorf("launch time = %v, want %v", inst.LaunchTime, launch)
	}

	// Configured values win over discovery.
	inst, err = Discover(ctx, env, nil, nil, DiscoverOptions{Stack: "configured-stack", Resource: "ConfiguredLT", Region: "ap-south-1"})
	if err != nil {
		t.Fatal(err)
	}
	if inst.Stack != "configured-stack" || inst.LogicalID != "ConfiguredLT" || inst.Region != "ap-south-1" {
		t.Errorf("config overrides lost: stack %q logical id %q region %q", inst.Stack, inst.LogicalID, inst.Region)
	}
}

func TestRegionPrecedence(t *testing.T) {
	m := imdsmock.Start(t, imdsmock.Config{Region: "eu-west-1", AvailabilityZone: "eu-west-1a"})
	isolate(t, m.URL)
	ctx := context.Background()

	t.Setenv("AWS_REGION", "us-west-2")
	env, err := Load(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if env.Region() != "us-west-2" {
		t.Errorf("AWS_REGION lost to IMDS: region %q", env.Region())
	}
	env, err = Load(ctx, Options{Region: "ca-central-1"})
	if err != nil {
		t.Fatal(err)
	}
	if env.Region() != "ca-central-1" {
		t.Errorf("configured region lost: %q", env.Region())
	}
}

func TestDiscoverTagsFromDescribeTags(t *testing.T) {
	m := imdsmock.Start(t, imdsmock.Config{InstanceID: "i-0tagsfromec2000000", NoPublicIPv4: true}) // no tags in metadata
	isolate(t, m.URL)
	var form url.Values
	var auth string
	ec2srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		form, auth = r.PostForm, r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<DescribeTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
<requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>
<tagSet>
 <item><resourceId>i-0tagsfromec2000000</resourceId><resourceType>instance</resourceType><key>aws:autoscaling:groupName</key><value>web-asg</value></item>
 <item><resourceId>i-0tagsfromec2000000</resourceId><resourceType>instance</resourceType><key>aws:cloudformation:stack-name</key><value>web-prod</value></item>
 <item><resourceId>i-0tagsfromec2000000</resourceId><resourceType>instance</resourceType><key>Env</key><value>prod</value></item>
</tagSet></DescribeTagsResponse>`)
	}))
	defer ec2srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_EC2", ec2srv.URL)

	ctx := context.Background()
	env, err := Load(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	inst, extra, err := DiscoverExtra(ctx, env, nil, nil, DiscoverOptions{Tags: []string{"Env", "Missing"}})
	tags := extra.Tags
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(tags, map[string]string{"Env": "prod"}) {
		t.Errorf("tags = %v, want Env alone", tags)
	}
	if keys := form["Filter.2.Value.4"]; form.Get("Filter.2.Name") != "key" || len(keys) != 1 || keys[0] != "Env" {
		t.Errorf("DescribeTags filter on keys = %v", form)
	}
	if inst.AutoScalingGroup != "web-asg" || inst.Stack != "web-prod" || inst.LogicalID != "" {
		t.Errorf("tags: asg %q stack %q logical id %q", inst.AutoScalingGroup, inst.Stack, inst.LogicalID)
	}
	if inst.PublicIP != "" {
		t.Errorf("public ip %q, want none", inst.PublicIP)
	}
	if form.Get("Action") != "DescribeTags" || form.Get("Filter.1.Name") != "resource-id" || form.Get("Filter.1.Value.1") != "i-0tagsfromec2000000" {
		t.Errorf("DescribeTags request = %v", form)
	}
	if !strings.Contains(auth, "Credential=ASIAIMDSMOCKEXAMPLE/") {
		t.Errorf("DescribeTags not signed with the instance role from IMDS: %q", auth)
	}
}

// v1OnlyIMDS answers like an IMDS that knows nothing of IMDSv2 session tokens.
func v1OnlyIMDS(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		gets.Add(1)
		switch r.URL.Path {
		case "/latest/meta-data/instance-id":
			io.WriteString(w, "i-0v1only")
		case "/latest/meta-data/iam/security-credentials/":
			io.WriteString(w, "some-role")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &gets
}

func TestIMDSv1OnlyIsRefused(t *testing.T) {
	srv, gets := v1OnlyIMDS(t)
	isolate(t, srv.URL)
	ctx := context.Background()
	env, err := Load(ctx, Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Discover(ctx, env, nil, nil, DiscoverOptions{Sleep: func(context.Context, time.Duration) error {
		t.Fatal("Discover waited: a refused token is not an unreachable IMDS")
		return nil
	}})
	if err == nil || !strings.Contains(err.Error(), "IMDSv2 only") {
		t.Fatalf("Discover against an IMDSv1-only endpoint: err = %v, want a refusal naming IMDSv2", err)
	}
	if _, err := env.Config.Credentials.Retrieve(ctx); err == nil {
		t.Errorf("credentials were read from an IMDSv1-only endpoint")
	} else if IsNoCredentials(err) {
		t.Errorf("a refused token was taken for \"no credentials\": %v", err)
	}
	if n := gets.Load(); n != 0 {
		t.Errorf("%d GETs without a token reached the IMDSv1-only endpoint: fell back to IMDSv1", n)
	}
}

// An IMDS that answers HTTP 503 was reached: the retry says so instead of "unreachable",
// and is retried all the same.
func TestIMDSServerErrorIsRetriedAndNamed(t *testing.T) {
	m := imdsmock.Start(t, imdsmock.Config{InstanceID: "i-0busy000000000000", Tags: map[string]string{TagStackName: "busy"}})
	target, _ := url.Parse(m.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var up atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	isolate(t, srv.URL)

	md := imds.New(imds.Options{Endpoint: srv.URL, EnableFallback: aws.FalseTernary, Retryer: aws.NopRetryer{}})
	log, logs := observed()
	sleep := func(ctx context.Context, d time.Duration) error {
		up.Store(true)
		return nil
	}
	inst, err := Discover(context.Background(), nil, md, nil, DiscoverOptions{Logger: log, Sleep: sleep, MaxBackoff: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if inst.InstanceID != "i-0busy000000000000" {
		t.Errorf("instance id %q", inst.InstanceID)
	}
	msg := "IMDS at " + srv.URL + " answered HTTP 503 (a server error), retrying in 1s"
	if logs.FilterMessage(msg).Len() != 1 {
		t.Errorf("no log line %q; got %v", msg, logs.All())
	}
	if n := logs.FilterMessageSnippet("unreachable").Len(); n != 0 {
		t.Errorf("%d log lines say unreachable for an endpoint that answered: %v", n, logs.All())
	}
}

func TestIMDSUnreachableThenReachable(t *testing.T) {
	m := imdsmock.Start(t, imdsmock.Config{InstanceID: "i-0late000000000000", Tags: map[string]string{TagStackName: "late"}})
	target, _ := url.Parse(m.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var up atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			// Drop the connection, as an IMDS that is not there yet does.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	isolate(t, srv.URL)

	md := imds.New(imds.Options{Endpoint: srv.URL, EnableFallback: aws.FalseTernary, Retryer: aws.NopRetryer{}})
	log, logs := observed()
	var mu sync.Mutex
	var waits []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		if len(waits) == 4 {
			up.Store(true)
		}
		return nil
	}
	inst, err := Discover(context.Background(), nil, md, nil, DiscoverOptions{Logger: log, Sleep: sleep, MaxBackoff: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if inst.InstanceID != "i-0late000000000000" {
		t.Errorf("instance id %q", inst.InstanceID)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	if len(waits) != len(want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Errorf("waits %v, want %v (doubling, capped)", waits, want)
			break
		}
	}
	msg := "IMDS unreachable at " + srv.URL + ", retrying in 2s"
	if logs.FilterMessage(msg).Len() != 1 {
		t.Errorf("no log line %q; got %v", msg, logs.All())
	}

	// A context that ends stops the wait.
	up.Store(false)
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Discover(ctx, nil, md, nil, DiscoverOptions{Sleep: func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}})
	if err == nil || !strings.Contains(err.Error(), "IMDS unreachable at") {
		t.Errorf("Discover after cancel: err = %v", err)
	}
}

func TestCredentialFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "# cfn-hup credentials\nAWSAccessKeyId=AKIAEXAMPLE\n\nAWSSecretKey=wJalr/EXAMPLEKEY=\n", 0o600)
	creds, err := ReadCredentialFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "AKIAEXAMPLE" || creds.SecretAccessKey != "wJalr/EXAMPLEKEY=" {
		t.Errorf("creds = %+v", creds)
	}

	tests := []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"group-readable", "AWSAccessKeyId=A\nAWSSecretKey=B\n", 0o640, "has mode 0640"},
		{"others-readable", "AWSAccessKeyId=A\nAWSSecretKey=B\n", 0o604, "chmod 600"},
		{"malformed", "AWSAccessKeyId=A\nthis line has no equals sign\nAWSSecretKey=B\n", 0o600, "malformed:2: expected key=value"},
		{"no-secret", "AWSAccessKeyId=A\n", 0o600, "AWSSecretKey= is missing"},
		{"empty", "\n# nothing\n", 0o600, "no AWSAccessKeyId= and AWSSecretKey= lines"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCredentialFile(write(tc.name, tc.content, tc.mode))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}

	// Through Load: the file's keys sign requests.
	m := imdsmock.Start(t, imdsmock.Config{})
	isolate(t, m.URL)
	env, err := Load(context.Background(), Options{Region: "us-east-1", CredentialFile: good})
	if err != nil {
		t.Fatal(err)
	}
	got, err := env.Config.Credentials.Retrieve(context.Background())
	if err != nil || got.AccessKeyID != "AKIAEXAMPLE" {
		t.Errorf("Load with credential-file: creds %q, err %v", got.AccessKeyID, err)
	}
	if _, err := Load(context.Background(), Options{Region: "us-east-1", CredentialFile: filepath.Join(dir, "group-readable")}); err == nil {
		t.Errorf("Load accepted a group-readable credential-file")
	}
}

const describeStackResourceXML = `<DescribeStackResourceResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
<DescribeStackResourceResult><StackResourceDetail>
<StackName>web-prod</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/web-prod/1</StackId>
<LogicalResourceId>WebLaunchTemplate</LogicalResourceId><PhysicalResourceId>lt-0123</PhysicalResourceId>
<ResourceType>AWS::EC2::LaunchTemplate</ResourceType><LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp>
<ResourceStatus>CREATE_COMPLETE</ResourceStatus><Metadata>{"release":"42"}</Metadata>
</StackResourceDetail></DescribeStackResourceResult>
<ResponseMetadata><RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId></ResponseMetadata>
</DescribeStackResourceResponse>`

// cfnServer records the requests it gets and answers DescribeStackResource.
type cfnServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	form []url.Values
}

func newCFNServer(t *testing.T) *cfnServer {
	s := &cfnServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		s.mu.Lock()
		s.reqs = append(s.reqs, r)
		s.form = append(s.form, r.PostForm)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, describeStackResourceXML)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *cfnServer) last(t *testing.T) (*http.Request, url.Values) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		t.Fatal("no request reached the CloudFormation endpoint")
	}
	return s.reqs[len(s.reqs)-1], s.form[len(s.form)-1]
}

func describe(ctx context.Context, env *Env) (*cloudformation.DescribeStackResourceOutput, error) {
	return env.CloudFormation().DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{
		StackName: aws.String("web-prod"), LogicalResourceId: aws.String("WebLaunchTemplate"),
	})
}

func TestCloudFormationEndpointFromEnvironment(t *testing.T) {
	m := imdsmock.Start(t, imdsmock.Config{})
	isolate(t, m.URL)
	srv := newCFNServer(t)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", srv.URL)
	ctx := context.Background()
	log, logs := observed()
	env, err := Load(ctx, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	out, err := describe(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.StackResourceDetail.Metadata); got != `{"release":"42"}` {
		t.Errorf("metadata %q", got)
	}
	r, form := srv.last(t)
	if form.Get("Action") != "DescribeStackResource" || form.Get("StackName") != "web-prod" {
		t.Errorf("request form %v", form)
	}
	if a := r.Header.Get("Authorization"); !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=ASIAIMDSMOCKEXAMPLE/") {
		t.Errorf("Authorization %q: not SigV4 with the role's key", a)
	}
	if r.Header.Get("X-Amz-Security-Token") != "imdsmock-session-token" {
		t.Errorf("session token not sent")
	}
	if logs.FilterMessage("CloudFormation requests are signed with SigV4").Len() != 1 {
		t.Errorf("signing scheme not logged once: %v", logs.All())
	}
	if _, err := describe(ctx, env); err != nil {
		t.Fatal(err)
	}
	if n := logs.FilterMessage("CloudFormation requests are signed with SigV4").Len(); n != 1 {
		t.Errorf("signing scheme logged %d times, want once", n)
	}

	// cfn-hup's url wins over the environment.
	other := newCFNServer(t)
	env, err = Load(ctx, Options{CloudFormationURL: other.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := describe(ctx, env); err != nil {
		t.Fatal(err)
	}
	other.last(t)
}

func TestCFNV1WhenNoCredentials(t *testing.T) {
	m := imdsmock.Start(t, imdsmock.Config{NoRole: true, InstanceID: "i-0norole0000000000"})
	isolate(t, m.URL)
	srv := newCFNServer(t)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", srv.URL)
	ctx := context.Background()
	log, logs := observed()
	env, err := Load(ctx, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	_, credErr := env.Config.Credentials.Retrieve(ctx)
	if !IsNoCredentials(credErr) {
		t.Fatalf("IsNoCredentials(%v) = false for an instance without a role", credErr)
	}
	for range 2 {
		if _, err := describe(ctx, env); err != nil {
			t.Fatal(err)
		}
	}

	// The expected header, from what the mock serves (read here with the SDK's client).
	read := func(path string) string {
		out, err := env.IMDS().GetDynamicData(ctx, &imds.GetDynamicDataInput{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		defer out.Content.Close()
		b, _ := io.ReadAll(out.Content)
		return strings.TrimRight(string(b), "\n")
	}
	doc, sig := read("instance-identity/document"), read("instance-identity/signature")
	if !strings.Contains(sig, "\n") {
		t.Logf("note: the mock's signature has no newline to strip")
	}
	want := "CFN_V1 " + base64.StdEncoding.EncodeToString([]byte(doc)) + ":" + strings.ReplaceAll(sig, "\n", "")
	r, _ := srv.last(t)
	if got := r.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization\n got %q\nwant %q", got, want)
	}
	if r.Header.Get("X-Amz-Security-Token") != "" || strings.Contains(r.Header.Get("Authorization"), "AWS4-HMAC") {
		t.Errorf("request was also SigV4-signed: %v", r.Header)
	}
	decoded, err := base64.StdEncoding.DecodeString(strings.SplitN(strings.TrimPrefix(r.Header.Get("Authorization"), "CFN_V1 "), ":", 2)[0])
	if err != nil || !strings.Contains(string(decoded), `"instanceId" : "i-0norole0000000000"`) && !strings.Contains(string(decoded), `"instanceId": "i-0norole0000000000"`) {
		t.Errorf("document in the header is not this instance's: %s (%v)", decoded, err)
	}
	if n := logs.FilterMessageSnippet("(CFN_V1)").Len(); n != 1 {
		t.Errorf("CFN_V1 scheme logged %d times, want once", n)
	}
}

func TestNoCFNV1WhenIMDSUnreachable(t *testing.T) {
	// A port nothing listens on: IMDS is down, which is not "no credentials".
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	isolate(t, deadURL)
	srv := newCFNServer(t)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", srv.URL)
	ctx := context.Background()
	env, err := Load(ctx, Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.CloudFormation().DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{
		StackName: aws.String("web-prod"), LogicalResourceId: aws.String("WebLaunchTemplate"),
	}, func(o *cloudformation.Options) { o.Retryer = aws.NopRetryer{} })
	if err == nil {
		t.Fatal("DescribeStackResource succeeded with no credentials and no IMDS")
	}
	if IsNoCredentials(err) {
		t.Errorf("IMDS down was taken for no credentials: %v", err)
	}
	srv.mu.Lock()
	n := len(srv.reqs)
	srv.mu.Unlock()
	if n != 0 {
		t.Errorf("%d requests reached CloudFormation while IMDS was down", n)
	}
}

func TestCFNV1Header(t *testing.T) {
	got := CFNV1Authorization([]byte("{\n  \"a\" : 1\n}"), "abc\ndef\n")
	if want := "CFN_V1 ewogICJhIiA6IDEKfQ==:abcdef"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
