package source

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// metaRules parses name → cfn-hup path pairs into rules, in order.
func metaRules(t *testing.T, pairs ...string) []MetadataRule {
	t.Helper()
	var rules []MetadataRule
	for i := 0; i+1 < len(pairs); i += 2 {
		rules = append(rules, MetadataRule{Name: pairs[i], Path: mustParse(t, pairs[i+1])})
	}
	return rules
}

const webMetadata = `{"AWS::CloudFormation::Init": {"config": {"files": {"/etc/app.conf": {"content": "v1", "mode": "000644"}}}},
 "release": "v1", "empty": "", "count": 0}`

func TestAWSMetadataRead(t *testing.T) {
	srv := awsfake.Start(t)
	updated := time.Date(2026, 11, 21, 9, 30, 15, 250_000_000, time.UTC)
	srv.PutResource("app", awsfake.Resource{LogicalID: "Web", PhysicalID: "i-0web", Metadata: webMetadata,
		Status: "UPDATE_COMPLETE", LastUpdated: updated})
	srv.PutResource("app", awsfake.Resource{LogicalID: "Db", Metadata: `{"release": "v9"}`, Status: "UPDATE_IN_PROGRESS"})
	srv.PutResource("app", awsfake.Resource{LogicalID: "Gone", PhysicalID: "i-0gone", Status: "DELETE_COMPLETE"})
	srv.PutResource("app", awsfake.Resource{LogicalID: "Bad", Metadata: `{"release": "v1",`})
	srv.PutResource("app", awsfake.Resource{LogicalID: "Str", Metadata: `{"release": "v1"}`})

	rules := metaRules(t,
		"init", "Resources.Web.Metadata.AWS::CloudFormation::Init.config",
		"release", "Resources.Web.Metadata.release",
		"whole", "Resources.Web.Metadata",
		"phys", "Resources.Web.PhysicalResourceId",
		"updated", "Resources.Web",
		"missing", "Resources.Web.Metadata.nothing",
		"emptystr", "Resources.Web.Metadata.empty",
		"zero", "Resources.Web.Metadata.count",
		"db", "Resources.Db.Metadata.release",
		"dbphys", "Resources.Db.PhysicalResourceId",
		"gonephys", "Resources.Gone.PhysicalResourceId",
		"bad", "Resources.Bad.Metadata.release",
		"through", "Resources.Str.Metadata.release.x",
	)
	s := &AWSMetadata{CFN: newAWSTestClients(srv.URL).cfn, Stack: "app", Rules: rules}
	got, throttled, err := s.Read(awsTestCtx(t))
	if err != nil || throttled {
		t.Fatalf("Read: throttled %v, err %v", throttled, err)
	}

	// One DescribeStackResource per logical id, however many rules read it.
	if n := srv.Calls("cloudformation", "DescribeStackResource"); n != 5 {
		t.Errorf("%d DescribeStackResource calls for 5 logical ids, want 5", n)
	}
	perID := map[string]int{}
	for _, c := range srv.CallLog() {
		perID[c.Params.Get("LogicalResourceId")]++
		if c.Params.Get("StackName") != "app" {
			t.Errorf("call for stack %q, want app", c.Params.Get("StackName"))
		}
	}
	for id, n := range perID {
		if n != 1 {
			t.Errorf("%s read %d times in one pass, want 1", id, n)
		}
	}

	tests := []struct {
		rule    string
		absent  bool // not in the map: the engine keeps the rule as it was
		present bool
		value   string
		errHas  []string
	}{
		{rule: "init", present: true, value: `{"files":{"/etc/app.conf":{"content":"v1","mode":"000644"}}}`},
		{rule: "release", present: true, value: `"v1"`},
		{rule: "whole", present: true, value: `{"AWS::CloudFormation::Init":{"config":{"files":{"/etc/app.conf":{"content":"v1","mode":"000644"}}}},"count":0,"empty":"","release":"v1"}`},
		{rule: "phys", present: true, value: `"i-0web"`},
		// The stand-in answers milliseconds, as CloudFormation does.
		{rule: "updated", present: true, value: `"2026-11-21T09:30:15.25Z"`},
		{rule: "missing"},
		{rule: "emptystr"},
		{rule: "zero", present: true, value: `0`},
		{rule: "db", absent: true},
		{rule: "dbphys", absent: true},
		{rule: "gonephys"},
		{rule: "bad", errHas: []string{"rule bad", "resource Bad", "not valid JSON"}},
		{rule: "through", errHas: []string{"rule through", "resource Str", "Metadata.release is a string"}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			o, ok := got[tt.rule]
			if tt.absent {
				if ok {
					t.Fatalf("rule %s is in the map (%+v); a resource *_IN_PROGRESS must be skipped", tt.rule, o)
				}
				return
			}
			if !ok {
				t.Fatalf("rule %s missing from the map %v", tt.rule, got)
			}
			checkErr(t, o.Err, tt.errHas)
			if o.Present != tt.present || string(o.Value) != tt.value {
				t.Errorf("got present %v value %s, want present %v value %s", o.Present, o.Value, tt.present, tt.value)
			}
		})
	}
	if len(got) != len(tests)-2 {
		t.Errorf("map has %d rules, want %d: %v", len(got), len(tests)-2, got)
	}
}

// A resource back from *_IN_PROGRESS is read again on the next pass.
func TestAWSMetadataReadInProgressThenComplete(t *testing.T) {
	srv := awsfake.Start(t)
	srv.PutResource("app", awsfake.Resource{LogicalID: "Web", Metadata: `{"release": "v1"}`, Status: "UPDATE_IN_PROGRESS"})
	s := &AWSMetadata{CFN: newAWSTestClients(srv.URL).cfn, Stack: "app", Rules: metaRules(t, "release", "Resources.Web.Metadata.release")}
	ctx := awsTestCtx(t)
	got, _, err := s.Read(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("in progress: got %v, %v; want an empty map and no error", got, err)
	}
	srv.SetMetadata("app", "Web", `{"release": "v2"}`)
	srv.SetResourceStatus("app", "Web", "UPDATE_COMPLETE")
	got, _, err = s.Read(ctx)
	if err != nil || string(got["release"].Value) != `"v2"` {
		t.Fatalf("complete: got %v, %v; want release v2", got, err)
	}
}

func TestAWSMetadataReadErrors(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares the stand-in and returns the endpoint to use.
		setup         func(t *testing.T, srv *awsfake.Server) string
		wantThrottled bool
		errHas        []string
		wantCode      string // the AWS error code still reachable with errors.As
	}{
		{
			name: "deleted stack",
			setup: func(t *testing.T, srv *awsfake.Server) string {
				srv.DeleteStack("app")
				return srv.URL
			},
			errHas:   []string{"stack app", "does not exist", "watched values stay as they were"},
			wantCode: "ValidationError",
		},
		{
			name: "access denied",
			setup: func(t *testing.T, srv *awsfake.Server) string {
				u, _ := denyAction(t, srv.URL, "DescribeStackResource")
				return u
			},
			errHas:   []string{"cloudformation:DescribeStackResource denied", "add it to the instance profile"},
			wantCode: "AccessDenied",
		},
		{
			name: "throttled",
			setup: func(t *testing.T, srv *awsfake.Server) string {
				srv.SetFaults(awsfake.Faults{ThrottleRate: 1})
				return srv.URL
			},
			wantThrottled: true,
			errHas:        []string{"cloudformation:DescribeStackResource", "throttled", "Throttling"},
			wantCode:      "Throttling",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.Start(t)
			srv.PutResource("app", awsfake.Resource{LogicalID: "Web", Metadata: `{"release": "v1"}`})
			srv.PutResource("app", awsfake.Resource{LogicalID: "Db", Metadata: `{"release": "v1"}`})
			endpoint := tt.setup(t, srv)
			s := &AWSMetadata{CFN: newAWSTestClients(endpoint).cfn, Stack: "app",
				Rules: metaRules(t, "web", "Resources.Web.Metadata.release", "db", "Resources.Db.Metadata.release")}
			got, throttled, err := s.Read(awsTestCtx(t))
			if len(got) != 0 {
				t.Errorf("map %v, want it empty: the engine keeps every rule as it was", got)
			}
			if throttled != tt.wantThrottled {
				t.Errorf("throttled = %v, want %v", throttled, tt.wantThrottled)
			}
			checkErr(t, err, tt.errHas)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode {
				t.Errorf("error %v does not unwrap to the AWS error %s", err, tt.wantCode)
			}
			// One error per pass, the first one's: not one per resource or rule.
			if err != nil && strings.Contains(err.Error(), "Db") {
				t.Errorf("error names the second resource too: %v", err)
			}
		})
	}
}

func TestAWSMetadataReadLargeMetadata(t *testing.T) {
	srv := awsfake.Start(t)
	blob := strings.Repeat("0123456789abcdef", 10<<20/16) // 10 MiB
	meta, err := json.Marshal(map[string]any{"blob": blob, "config": map[string]int{"v": 1}})
	if err != nil {
		t.Fatal(err)
	}
	srv.PutResource("app", awsfake.Resource{LogicalID: "Web", Metadata: string(meta)})
	s := &AWSMetadata{CFN: newAWSTestClients(srv.URL).cfn, Stack: "app",
		Rules: metaRules(t, "config", "Resources.Web.Metadata.config", "blob", "Resources.Web.Metadata.blob")}
	began := time.Now()
	got, _, err := s.Read(awsTestCtx(t))
	t.Logf("read %d MiB of metadata in %s", len(meta)>>20, time.Since(began)) // a figure, not a test
	if err != nil {
		t.Fatal(err)
	}
	if o := got["config"]; !o.Present || string(o.Value) != `{"v":1}` || o.Err != nil {
		t.Errorf("config = %+v, want {\"v\":1}", o)
	}
	if o := got["blob"]; !o.Present || len(o.Value) != len(blob)+2 || o.Err != nil {
		t.Errorf("blob: present %v, %d bytes, err %v; want %d bytes", o.Present, len(o.Value), o.Err, len(blob)+2)
	}
	if n := srv.Calls("cloudformation", "DescribeStackResource"); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

// Run reports each pass as an Update of the metadata source, errors included.
func TestAWSMetadataRunEmitsEachPass(t *testing.T) {
	srv := awsfake.Start(t)
	srv.PutResource("app", awsfake.Resource{LogicalID: "Web", Metadata: `{"release": "v1"}`})
	clk := awsTestClock()
	s := &AWSMetadata{CFN: newAWSTestClients(srv.URL).cfn, Stack: "app", Clock: clk, Interval: time.Minute,
		Jitter: fixedJitter(0.5), Rules: metaRules(t, "release", "Resources.Web.Metadata.release")}
	r := start(t, s)
	u := r.next(t)
	if u.Source != "metadata" || u.Err != nil || string(u.Metadata["release"].Value) != `"v1"` {
		t.Fatalf("first update %+v", u)
	}
	waitPending(t, clk, 1)
	srv.SetMetadata("app", "Web", `{"release": "v2"}`)
	clk.Advance(time.Minute)
	u = r.next(t)
	if u.Err != nil || string(u.Metadata["release"].Value) != `"v2"` {
		t.Fatalf("second update %+v", u)
	}
	waitPending(t, clk, 1)
	srv.DeleteStack("app")
	clk.Advance(time.Minute)
	u = r.next(t)
	if u.Err == nil || !strings.Contains(u.Err.Error(), "does not exist") || len(u.Metadata) != 0 {
		t.Fatalf("update after the stack was deleted: %+v", u)
	}
	r.none(t)
}

// metaPass is what one Read did: its values and error, and the CloudFormation calls it
// made, counted by the stand-in.
type metaPass struct {
	got         map[string]Observed
	err         error
	stacks, res int // DescribeStacks, DescribeStackResource
}

// readPass makes one pass of s and counts its calls on srv.
func readPass(t *testing.T, srv *awsfake.Server, s *AWSMetadata) metaPass {
	t.Helper()
	srv.ResetCalls()
	got, _, err := s.Read(awsTestCtx(t))
	return metaPass{got: got, err: err,
		stacks: srv.Calls("cloudformation", "DescribeStacks"), res: srv.Calls("cloudformation", "DescribeStackResource")}
}

// values renders the values of a pass as "rule=value" lines, sorted by rule.
func (p metaPass) values() string {
	var out []string
	for name, o := range p.got {
		out = append(out, name+"="+string(o.Value))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// twoResources puts resources Web and Db on stack app and returns rules reading both.
func twoResources(t *testing.T, srv *awsfake.Server) []MetadataRule {
	srv.PutResource("app", awsfake.Resource{LogicalID: "Web", Metadata: `{"release": "v1", "config": {"port": 80}}`})
	srv.PutResource("app", awsfake.Resource{LogicalID: "Db", Metadata: `{"schema": "3"}`})
	return metaRules(t, "release", "Resources.Web.Metadata.release", "config", "Resources.Web.Metadata.config",
		"schema", "Resources.Db.Metadata.schema")
}

func observedLog() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return zap.New(core), logs
}

// With several resources watched, a pass asks DescribeStacks first and reads the
// resources only when the stack changed since the last pass that read them all.
func TestAWSMetadataStackPreCheck(t *testing.T) {
	srv := awsfake.Start(t)
	log, logs := observedLog()
	s := &AWSMetadata{CFN: newAWSTestClients(srv.URL).cfn, Stack: "app", Rules: twoResources(t, srv), Log: log}
	const v1 = `config={"port":80} release="v1" schema="3"`

	check := func(what string, p metaPass, stacks, res int, values string) {
		t.Helper()
		if p.err != nil || p.stacks != stacks || p.res != res || p.values() != values {
			t.Errorf("%s: %d DescribeStacks + %d DescribeStackResource, values %s, err %v; want %d + %d, values %s",
				what, p.stacks, p.res, p.values(), p.err, stacks, res, values)
		}
	}
	check("first pass", readPass(t, srv, s), 1, 2, v1)
	for range 3 {
		check("stack unchanged", readPass(t, srv, s), 1, 0, v1)
	}

	// A stack update (here a metadata change) is seen on the next pass.
	srv.SetMetadata("app", "Web", `{"release": "v2", "config": {"port": 80}}`)
	const v2 = `config={"port":80} release="v2" schema="3"`
	check("after a metadata change", readPass(t, srv, s), 1, 2, v2)
	check("unchanged again", readPass(t, srv, s), 1, 0, v2)

	// While the stack is in progress every pass reads the resources, and a resource
	// still in progress is skipped, as before.
	srv.SetStackStatus("app", "UPDATE_IN_PROGRESS")
	check("stack in progress", readPass(t, srv, s), 1, 2, v2)
	srv.SetResourceStatus("app", "Db", "UPDATE_IN_PROGRESS")
	srv.SetMetadata("app", "Db", `{"schema": "4"}`)
	const v2noDb = `config={"port":80} release="v2"`
	check("stack and Db in progress", readPass(t, srv, s), 1, 2, v2noDb)
	check("still in progress", readPass(t, srv, s), 1, 2, v2noDb)
	srv.SetResourceStatus("app", "Db", "UPDATE_COMPLETE")
	const v3 = `config={"port":80} release="v2" schema="4"`
	check("Db complete, stack in progress", readPass(t, srv, s), 1, 2, v3)
	srv.SetStackStatus("app", "UPDATE_COMPLETE")
	check("stack complete", readPass(t, srv, s), 1, 2, v3)
	check("settled", readPass(t, srv, s), 1, 0, v3)

	// A failed pass (throttled to the end) leaves the remembered pass in place, and a
	// failing DescribeStacks does not turn the pre-check off.
	srv.SetFaults(awsfake.Faults{ThrottleRate: 1})
	if p := readPass(t, srv, s); p.err == nil || len(p.got) != 0 {
		t.Errorf("throttled pass: values %s, err %v; want none and an error", p.values(), p.err)
	}
	srv.SetFaults(awsfake.Faults{})
	check("after throttling", readPass(t, srv, s), 1, 0, v3)

	// The returned map is the caller's: changing it does not change later passes.
	p := readPass(t, srv, s)
	delete(p.got, "release")
	check("after the caller changed a map", readPass(t, srv, s), 1, 0, v3)
	if logs.Len() != 0 {
		t.Errorf("logged %v", logs.All())
	}
}

// A deleted stack: DescribeStacks fails, the pass reads the resources and reports why
// they cannot be read, as without the pre-check.
func TestAWSMetadataStackPreCheckDeletedStack(t *testing.T) {
	srv := awsfake.Start(t)
	s := &AWSMetadata{CFN: newAWSTestClients(srv.URL).cfn, Stack: "app", Rules: twoResources(t, srv)}
	readPass(t, srv, s)
	srv.DeleteStack("app")
	p := readPass(t, srv, s)
	if p.stacks != 1 || p.res != 2 || len(p.got) != 0 || p.err == nil || !strings.Contains(p.err.Error(), "does not exist") {
		t.Errorf("deleted stack: %d + %d calls, values %s, err %v", p.stacks, p.res, p.values(), p.err)
	}
	twoResources(t, srv)
	if p := readPass(t, srv, s); p.stacks != 1 || p.res != 2 || p.err != nil || len(p.got) != 3 {
		t.Errorf("stack back: %d + %d calls, values %s, err %v", p.stacks, p.res, p.values(), p.err)
	}
}

// A role without cloudformation:DescribeStacks: every pass reads every resource, the
// pre-check is tried once, and one line says what would save the calls.
func TestAWSMetadataStackPreCheckDenied(t *testing.T) {
	srv := awsfake.Start(t)
	endpoint, denied := denyAction(t, srv.URL, "DescribeStacks")
	log, logs := observedLog()
	s := &AWSMetadata{CFN: newAWSTestClients(endpoint).cfn, Stack: "app", Rules: twoResources(t, srv), Log: log}
	for n := range 4 {
		if n == 2 {
			srv.SetMetadata("app", "Web", `{"release": "v2"}`)
		}
		p := readPass(t, srv, s)
		want := `config={"port":80} release="v1" schema="3"`
		if n >= 2 {
			want = `config= release="v2" schema="3"` // config removed
		}
		if p.err != nil || p.res != 2 || p.values() != want {
			t.Errorf("pass %d: %d DescribeStackResource, values %s, err %v; want 2, %s", n+1, p.res, p.values(), p.err, want)
		}
	}
	if n := denied(); n != 1 {
		t.Errorf("DescribeStacks tried %d times, want once", n)
	}
	entries := logs.All()
	if len(entries) != 1 || entries[0].Level != zapcore.InfoLevel ||
		!strings.Contains(entries[0].Message, "cloudformation:DescribeStacks") || entries[0].ContextMap()["code"] != "AccessDenied" {
		t.Errorf("logged %+v, want one Info line naming cloudformation:DescribeStacks", entries)
	}
}

// One resource: the pre-check would save nothing, so there is none.
func TestAWSMetadataOneResourceNoPreCheck(t *testing.T) {
	srv := awsfake.Start(t)
	twoResources(t, srv)
	s := &AWSMetadata{CFN: newAWSTestClients(srv.URL).cfn, Stack: "app",
		Rules: metaRules(t, "release", "Resources.Web.Metadata.release", "config", "Resources.Web.Metadata.config")}
	for range 3 {
		if p := readPass(t, srv, s); p.stacks != 0 || p.res != 1 || p.err != nil || len(p.got) != 2 {
			t.Errorf("%d DescribeStacks + %d DescribeStackResource, values %s, err %v; want 0 + 1", p.stacks, p.res, p.values(), p.err)
		}
	}
}

// An instance without credentials signs its CloudFormation calls with cfn-hup's CFN_V1
// scheme, which only DescribeStackResource accepts: the pre-check is refused once, then
// every pass reads the resources, through the real AWS setup (awsenv).
func TestAWSMetadataStackPreCheckCFNV1(t *testing.T) {
	srv := awsfake.Start(t)
	m := imdsmock.Start(t, imdsmock.Config{NoRole: true})
	dir := t.TempDir()
	for _, k := range []string{
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_EC2_METADATA_DISABLED", "AWS_ENDPOINT_URL_CLOUDFORMATION",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS",
	} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", m.URL)
	env, err := awsenv.Load(context.Background(), awsenv.Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	log, logs := observedLog()
	s := &AWSMetadata{CFN: env.CloudFormation(), Stack: "app", Rules: twoResources(t, srv), Log: log}
	var stacks int
	for n := range 3 {
		p := readPass(t, srv, s)
		stacks += p.stacks
		if p.err != nil || p.res != 2 || len(p.got) != 3 {
			t.Errorf("pass %d: %d DescribeStackResource, values %s, err %v; want 2 and 3 values", n+1, p.res, p.values(), p.err)
		}
	}
	if stacks != 1 {
		t.Errorf("DescribeStacks tried %d times, want once", stacks)
	}
	for _, c := range srv.CallLog() {
		if c.Auth != awsfake.AuthCFNV1 {
			t.Errorf("%s signed with %s, want CFN_V1", c.Action, c.Auth)
		}
	}
	if logs.Len() != 1 {
		t.Errorf("logged %+v, want one line", logs.All())
	}
}
