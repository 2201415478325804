package source

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/stackhand/stackhand/internal/awsfake"
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
	s := AWSMetadata{CFN: newAWSTestClients(srv.URL).cfn, Stack: "app", Rules: rules}
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
	s := AWSMetadata{CFN: newAWSTestClients(srv.URL).cfn, Stack: "app", Rules: metaRules(t, "release", "Resources.Web.Metadata.release")}
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
			errHas:   []string{"cloudformation:DescribeStackResource is denied", "add cloudformation:DescribeStackResource to the instance profile's role"},
			wantCode: "AccessDenied",
		},
		{
			name: "throttled",
			setup: func(t *testing.T, srv *awsfake.Server) string {
				srv.SetFaults(awsfake.Faults{ThrottleRate: 1})
				return srv.URL
			},
			wantThrottled: true,
			errHas:        []string{"cloudformation:DescribeStackResource", "Throttling", "Rate exceeded"},
			wantCode:      "Throttling",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.Start(t)
			srv.PutResource("app", awsfake.Resource{LogicalID: "Web", Metadata: `{"release": "v1"}`})
			srv.PutResource("app", awsfake.Resource{LogicalID: "Db", Metadata: `{"release": "v1"}`})
			endpoint := tt.setup(t, srv)
			s := AWSMetadata{CFN: newAWSTestClients(endpoint).cfn, Stack: "app",
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
	s := AWSMetadata{CFN: newAWSTestClients(srv.URL).cfn, Stack: "app",
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
	s := AWSMetadata{CFN: newAWSTestClients(srv.URL).cfn, Stack: "app", Clock: clk, Interval: time.Minute,
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
