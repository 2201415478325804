package awsfake

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// metadataJSON holds what tends to break a JSON string carried inside XML:
// "::" keys, non-ASCII text, XML's special characters, escaped newlines and
// tabs, and insignificant whitespace that must survive byte for byte.
const metadataJSON = `{"AWS::CloudFormation::Init": {"config": {"files": {"/etc/app.conf": ` +
	`{"content": "a < b && c > d\n\tquote \" apostrophe ' ]]> end"}}}},` + "\n" +
	`  "Ünïcödé": "日本語 — emoji 🚀", "empty": {}, "list": [1, 2.5, null, true]}`

func TestDescribeStackResourceRoundTrip(t *testing.T) {
	srv := Start(t)
	updated := time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	srv.PutStack("app", "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1111")
	srv.PutResource("app", Resource{
		LogicalID: "WebServer", PhysicalID: "i-0abc", Type: "AWS::EC2::Instance",
		Status: "UPDATE_COMPLETE", Metadata: metadataJSON, LastUpdated: updated,
	})
	c := newClients(srv, 3)

	out, err := c.cfn.DescribeStackResource(ctx(t), &cloudformation.DescribeStackResourceInput{
		StackName: aws.String("app"), LogicalResourceId: aws.String("WebServer"),
	})
	if err != nil {
		t.Fatal(err)
	}
	d := out.StackResourceDetail
	if got := aws.ToString(d.Metadata); got != metadataJSON {
		t.Errorf("metadata changed on the wire:\n got %q\nwant %q", got, metadataJSON)
	}
	if !json.Valid([]byte(aws.ToString(d.Metadata))) {
		t.Errorf("metadata is no longer JSON")
	}
	checks := map[string][2]string{
		"StackName":          {aws.ToString(d.StackName), "app"},
		"StackId":            {aws.ToString(d.StackId), "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1111"},
		"LogicalResourceId":  {aws.ToString(d.LogicalResourceId), "WebServer"},
		"PhysicalResourceId": {aws.ToString(d.PhysicalResourceId), "i-0abc"},
		"ResourceType":       {aws.ToString(d.ResourceType), "AWS::EC2::Instance"},
		"ResourceStatus":     {string(d.ResourceStatus), "UPDATE_COMPLETE"},
	}
	for field, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", field, v[0], v[1])
		}
	}
	if d.LastUpdatedTimestamp == nil || !d.LastUpdatedTimestamp.Equal(updated) {
		t.Errorf("LastUpdatedTimestamp = %v, want %v", d.LastUpdatedTimestamp, updated)
	}
	if d.DriftInformation == nil || d.DriftInformation.StackResourceDriftStatus != types.StackResourceDriftStatusNotChecked {
		t.Errorf("DriftInformation = %+v", d.DriftInformation)
	}

	// Lookup by stack id works too, as in CloudFormation.
	if _, err := c.cfn.DescribeStackResource(ctx(t), &cloudformation.DescribeStackResourceInput{
		StackName: aws.String("arn:aws:cloudformation:us-east-1:123456789012:stack/app/1111"), LogicalResourceId: aws.String("WebServer"),
	}); err != nil {
		t.Errorf("by stack id: %v", err)
	}

	log := srv.CallLog()
	if len(log) != 2 || srv.Calls("cloudformation", "DescribeStackResource") != 2 {
		t.Fatalf("call log %+v", log)
	}
	first := log[0]
	if first.Service != "cloudformation" || first.Auth != AuthSigV4 || first.Region != "us-east-1" ||
		first.AccessKeyID != "AKIDSTANDIN" || first.Attempt != 1 || first.Status != 200 ||
		first.Params.Get("LogicalResourceId") != "WebServer" || first.Params.Get("Version") != "2010-05-15" {
		t.Errorf("recorded call %+v", first)
	}
}

func TestDescribeStackResourceUpdates(t *testing.T) {
	srv := Start(t)
	srv.SetMetadata("app", "Config", `{"v":1}`)
	c := newClients(srv, 1)
	get := func() *types.StackResourceDetail {
		t.Helper()
		out, err := c.cfn.DescribeStackResource(ctx(t), &cloudformation.DescribeStackResourceInput{
			StackName: aws.String("app"), LogicalResourceId: aws.String("Config"),
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.StackResourceDetail
	}
	before := get()
	srv.SetResourceStatus("app", "Config", "UPDATE_IN_PROGRESS")
	srv.SetMetadata("app", "Config", `{"v":2}`)
	after := get()
	if aws.ToString(after.Metadata) != `{"v":2}` || after.ResourceStatus != types.ResourceStatusUpdateInProgress {
		t.Errorf("after update: metadata %q status %q", aws.ToString(after.Metadata), after.ResourceStatus)
	}
	if after.LastUpdatedTimestamp.Before(*before.LastUpdatedTimestamp) {
		t.Errorf("LastUpdatedTimestamp went back: %v then %v", before.LastUpdatedTimestamp, after.LastUpdatedTimestamp)
	}

	// A resource without metadata has no Metadata element.
	srv.PutResource("app", Resource{LogicalID: "Bare"})
	out, err := c.cfn.DescribeStackResource(ctx(t), &cloudformation.DescribeStackResourceInput{
		StackName: aws.String("app"), LogicalResourceId: aws.String("Bare"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.StackResourceDetail.Metadata != nil {
		t.Errorf("Metadata = %q, want none", *out.StackResourceDetail.Metadata)
	}
}

func TestDescribeStackResourceErrors(t *testing.T) {
	srv := Start(t)
	srv.SetMetadata("app", "Config", `{}`)
	srv.PutStack("gone", "")
	srv.DeleteStack("gone")
	c := newClients(srv, 3)
	tests := []struct {
		stack, logical string
		code, message  string
	}{
		{"nope", "Config", "ValidationError", "Stack with id nope does not exist"},
		{"gone", "Config", "ValidationError", "Stack with id gone does not exist"},
		{"app", "Missing", "ValidationError", "Resource Missing does not exist for stack app"},
	}
	for _, tt := range tests {
		_, err := c.cfn.DescribeStackResource(ctx(t), &cloudformation.DescribeStackResourceInput{
			StackName: aws.String(tt.stack), LogicalResourceId: aws.String(tt.logical),
		})
		code, msg := apiCode(t, err)
		if code != tt.code || msg != tt.message {
			t.Errorf("%s/%s: got %s %q, want %s %q", tt.stack, tt.logical, code, msg, tt.code, tt.message)
		}
	}
	// A ValidationError is not retried.
	if n := srv.Calls("cloudformation", "DescribeStackResource"); n != len(tests) {
		t.Errorf("calls = %d, want %d (no retries)", n, len(tests))
	}
}

// cfnV1Header is an Authorization header as cfn-hup builds it from the
// instance identity document and its signature.
func cfnV1Header() string {
	doc := base64.StdEncoding.EncodeToString([]byte(`{"instanceId":"i-0abc","region":"us-east-1"}`))
	sig := base64.StdEncoding.EncodeToString([]byte("signature-bytes"))
	return "CFN_V1 " + doc + ":" + sig
}

func TestCFNV1Authorization(t *testing.T) {
	srv := Start(t)
	srv.SetMetadata("app", "Config", metadataJSON)
	form := url.Values{
		"Action": {"DescribeStackResource"}, "Version": {"2010-05-15"},
		"StackName": {"app"}, "LogicalResourceId": {"Config"},
	}

	t.Run("xml", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, srv.URL+"/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", cfnV1Header())
		status, body := do(t, req)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		var resp struct {
			Metadata  string `xml:"DescribeStackResourceResult>StackResourceDetail>Metadata"`
			RequestID string `xml:"ResponseMetadata>RequestId"`
		}
		if err := xml.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Metadata != metadataJSON || resp.RequestID == "" {
			t.Errorf("reply %+v", resp)
		}
	})

	t.Run("json", func(t *testing.T) {
		// cfn-hup's own client asks for JSON with ContentType=JSON.
		q := url.Values{"ContentType": {"JSON"}}
		for k, v := range form {
			q[k] = v
		}
		req, _ := http.NewRequestWithContext(ctx(t), http.MethodGet, srv.URL+"/?"+q.Encode(), nil)
		req.Header.Set("Authorization", cfnV1Header())
		req.Header.Set("Accept", "application/json")
		status, body := do(t, req)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		var resp struct {
			DescribeStackResourceResponse struct {
				DescribeStackResourceResult struct {
					StackResourceDetail struct {
						Metadata             string
						LastUpdatedTimestamp float64
					}
				}
			}
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		d := resp.DescribeStackResourceResponse.DescribeStackResourceResult.StackResourceDetail
		if d.Metadata != metadataJSON || d.LastUpdatedTimestamp < 1e9 {
			t.Errorf("reply %s", body)
		}
	})

	t.Run("no auth", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, srv.URL+"/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		status, body := do(t, req)
		if status != http.StatusForbidden || !strings.Contains(string(body), "<Code>MissingAuthenticationToken</Code>") {
			t.Errorf("status %d: %s", status, body)
		}
	})

	var schemes []string
	for _, c := range srv.CallLog() {
		if c.Service != "cloudformation" || c.Action != "DescribeStackResource" {
			t.Errorf("routed to %s/%s", c.Service, c.Action)
		}
		schemes = append(schemes, c.Auth)
	}
	if strings.Join(schemes, ",") != "CFN_V1,CFN_V1,none" {
		t.Errorf("auth schemes recorded: %v", schemes)
	}
}

func do(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestDescribeStacks(t *testing.T) {
	srv := Start(t)
	srv.PutStack("fresh", "arn:aws:cloudformation:us-east-1:123456789012:stack/fresh/2222")
	srv.SetMetadata("app", "Config", `{"v":1}`)
	c := newClients(srv, 1)
	describe := func(name string) types.Stack {
		t.Helper()
		out, err := c.cfn.DescribeStacks(ctx(t), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Stacks) != 1 {
			t.Fatalf("DescribeStacks %s: %d stacks", name, len(out.Stacks))
		}
		return out.Stacks[0]
	}

	// A stack never updated has no LastUpdatedTime, as in CloudFormation.
	fresh := describe("fresh")
	if aws.ToString(fresh.StackName) != "fresh" || aws.ToString(fresh.StackId) != "arn:aws:cloudformation:us-east-1:123456789012:stack/fresh/2222" ||
		fresh.StackStatus != types.StackStatusCreateComplete || fresh.CreationTime == nil || fresh.LastUpdatedTime != nil {
		t.Errorf("fresh stack: name %q id %q status %q created %v updated %v", aws.ToString(fresh.StackName),
			aws.ToString(fresh.StackId), fresh.StackStatus, fresh.CreationTime, fresh.LastUpdatedTime)
	}
	if fresh.DriftInformation == nil || fresh.DriftInformation.StackDriftStatus != types.StackDriftStatusNotChecked {
		t.Errorf("DriftInformation = %+v", fresh.DriftInformation)
	}
	if d := describe(aws.ToString(fresh.StackId)); aws.ToString(d.StackName) != "fresh" {
		t.Errorf("by stack id: %q", aws.ToString(d.StackName))
	}

	// Each change of a resource stands for a stack update: LastUpdatedTime moves on,
	// every time, however quickly the changes come.
	last := describe("app")
	if last.LastUpdatedTime == nil || last.LastUpdatedTime.Before(*last.CreationTime) {
		t.Fatalf("app: created %v updated %v", last.CreationTime, last.LastUpdatedTime)
	}
	changes := map[string]func(){
		"SetMetadata":       func() { srv.SetMetadata("app", "Config", `{"v":2}`) },
		"SetResourceStatus": func() { srv.SetResourceStatus("app", "Config", "UPDATE_COMPLETE") },
		"PutResource":       func() { srv.PutResource("app", Resource{LogicalID: "Other"}) },
	}
	for _, name := range []string{"SetMetadata", "SetResourceStatus", "PutResource", "SetMetadata"} {
		changes[name]()
		now := describe("app")
		if now.LastUpdatedTime == nil || !now.LastUpdatedTime.After(*last.LastUpdatedTime) {
			t.Errorf("after %s: LastUpdatedTime %v, want after %v", name, now.LastUpdatedTime, last.LastUpdatedTime)
		}
		last = now
	}

	// SetStackStatus changes the status only.
	srv.SetStackStatus("app", "UPDATE_IN_PROGRESS")
	if now := describe("app"); now.StackStatus != types.StackStatusUpdateInProgress || !now.LastUpdatedTime.Equal(*last.LastUpdatedTime) {
		t.Errorf("after SetStackStatus: status %q updated %v (was %v)", now.StackStatus, now.LastUpdatedTime, last.LastUpdatedTime)
	}

	// No StackName: every stack, by name.
	all, err := c.cfn.DescribeStacks(ctx(t), &cloudformation.DescribeStacksInput{})
	if err != nil || len(all.Stacks) != 2 || aws.ToString(all.Stacks[0].StackName) != "app" || aws.ToString(all.Stacks[1].StackName) != "fresh" {
		t.Errorf("all stacks: %+v, %v", all, err)
	}

	// Unknown or deleted stacks.
	srv.DeleteStack("fresh")
	for _, name := range []string{"nope", "fresh"} {
		_, err := c.cfn.DescribeStacks(ctx(t), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if code, msg := apiCode(t, err); code != "ValidationError" || msg != "Stack with id "+name+" does not exist" {
			t.Errorf("%s: %s %q", name, code, msg)
		}
	}
	if n := srv.Calls("cloudformation", "DescribeStacks"); n != 11 {
		t.Errorf("%d DescribeStacks calls, want 11", n)
	}
}

// CFN_V1 is accepted for DescribeStackResource only.
func TestCFNV1RefusedForDescribeStacks(t *testing.T) {
	srv := Start(t)
	srv.SetMetadata("app", "Config", `{}`)
	form := url.Values{"Action": {"DescribeStacks"}, "Version": {"2010-05-15"}, "StackName": {"app"}}
	req, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, srv.URL+"/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", cfnV1Header())
	status, body := do(t, req)
	if status != http.StatusForbidden || !strings.Contains(string(body), "<Code>AccessDenied</Code>") {
		t.Errorf("status %d: %s", status, body)
	}
	if log := srv.CallLog(); len(log) != 1 || log[0].Action != "DescribeStacks" || log[0].Auth != AuthCFNV1 || log[0].ErrorCode != "AccessDenied" {
		t.Errorf("call log %+v", log)
	}
}

func TestLoadStateStackStatus(t *testing.T) {
	srv := Start(t)
	if err := srv.LoadState(strings.NewReader(`{"stacks": [{"name": "app", "status": "UPDATE_ROLLBACK_COMPLETE"}]}`)); err != nil {
		t.Fatal(err)
	}
	out, err := newClients(srv, 1).cfn.DescribeStacks(ctx(t), &cloudformation.DescribeStacksInput{StackName: aws.String("app")})
	if err != nil || len(out.Stacks) != 1 || out.Stacks[0].StackStatus != types.StackStatusUpdateRollbackComplete {
		t.Errorf("DescribeStacks: %+v, %v", out, err)
	}
}

func TestSignalResource(t *testing.T) {
	srv := Start(t)
	srv.PutResource("app", Resource{LogicalID: "Web"})
	c := newClients(srv, 1)
	signal := func(stack, id, status string) error {
		_, err := c.cfn.SignalResource(ctx(t), &cloudformation.SignalResourceInput{
			StackName: aws.String(stack), LogicalResourceId: aws.String(id),
			UniqueId: aws.String("i-0abc"), Status: types.ResourceSignalStatus(status),
		})
		return err
	}
	if err := signal("app", "Web", "SUCCESS"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ stack, id, status, want string }{
		{"nope", "Web", "SUCCESS", "Stack with id nope does not exist"},
		{"app", "Nope", "FAILURE", "Resource Nope does not exist for stack app"},
		{"app", "Web", "MAYBE", "Member must satisfy enum value set"},
	} {
		err := signal(tc.stack, tc.id, tc.status)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "ValidationError") {
			t.Errorf("signal %s/%s %s: err %v, want a ValidationError saying %q", tc.stack, tc.id, tc.status, err, tc.want)
		}
	}
	got := srv.Signals()
	if len(got) != 1 || got[0] != (Signal{Stack: "app", LogicalID: "Web", UniqueID: "i-0abc", Status: "SUCCESS"}) {
		t.Errorf("signals %+v, want the one accepted", got)
	}
}
