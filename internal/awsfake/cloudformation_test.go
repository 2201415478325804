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
