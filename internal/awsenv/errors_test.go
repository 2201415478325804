package awsenv

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// TestExplainRealErrors drives the real CloudFormation client against a server that
// answers with AWS's query-protocol error documents, and checks the line a person reads.
func TestExplainRealErrors(t *testing.T) {
	m := imdsmock.Start(t, imdsmock.Config{})
	isolate(t, m.URL)
	tests := []struct {
		name, code, msg string
		status          int
		check           func(error) bool
		want            string
	}{
		{"access denied", "AccessDenied", "User: arn:aws:sts::123456789012:assumed-role/web-role/i-0abc is not authorized to perform: cloudformation:DescribeStackResource on resource: arn:aws:cloudformation:us-east-1:123456789012:stack/web-prod/*",
			403, IsAccessDenied, "cloudformation:DescribeStackResource denied for role web-role: add it to the instance profile (AccessDenied)"},
		{"throttled", "Throttling", "Rate exceeded", 400, IsThrottle,
			"cloudformation:DescribeStackResource throttled by AWS (Throttling): backing off"},
		{"stack gone", "ValidationError", "Stack 'web-prod' does not exist", 400, IsNotFound,
			"cloudformation:DescribeStackResource: not found: Stack 'web-prod' does not exist"},
		{"bad key", "InvalidClientTokenId", "The security token included in the request is invalid.", 403, IsInvalidCredentials,
			"cloudformation:DescribeStackResource: AWS rejected the credentials (InvalidClientTokenId: The security token included in the request is invalid.): check the instance profile or credential-file"},
		// A 5xx is an answer, not an endpoint out of reach; it is still retried (IsUnreachable).
		{"server error", "ServiceUnavailable", "Service is unavailable", 503, IsUnreachable,
			"cloudformation:DescribeStackResource: AWS answered HTTP 503 (a server error; retrying): ServiceUnavailable: Service is unavailable"},
		{"internal failure", "InternalFailure", "An internal error occurred", 500, IsUnreachable,
			"cloudformation:DescribeStackResource: AWS answered HTTP 500 (a server error; retrying): InternalFailure: An internal error occurred"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(tc.status)
				io.WriteString(w, `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>`+
					tc.code+`</Code><Message>`+tc.msg+`</Message></Error><RequestId>4af0b9f2-example</RequestId></ErrorResponse>`)
			}))
			defer srv.Close()
			env, err := Load(context.Background(), Options{Region: "us-east-1", CloudFormationURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			_, err = env.CloudFormation().DescribeStackResource(context.Background(), &cloudformation.DescribeStackResourceInput{
				StackName: aws.String("web-prod"), LogicalResourceId: aws.String("WebLaunchTemplate"),
			}, func(o *cloudformation.Options) { o.Retryer = aws.NopRetryer{} })
			if err == nil {
				t.Fatal("no error")
			}
			if !tc.check(err) {
				t.Errorf("classification failed for %v", err)
			}
			if got := Explain(err, "cloudformation:DescribeStackResource"); got != tc.want {
				t.Errorf("Explain =\n %q\nwant\n %q", got, tc.want)
			}
		})
	}
}

func TestRegionOfAZ(t *testing.T) {
	for az, want := range map[string]string{"us-east-1a": "us-east-1", "eu-central-2c": "eu-central-2", "us-west-2-lax-1a": "us-west-2", "": ""} {
		if got := regionOfAZ(az); got != want {
			t.Errorf("regionOfAZ(%q) = %q, want %q", az, got, want)
		}
	}
}

func FuzzParseCredentialFile(f *testing.F) {
	f.Add([]byte("AWSAccessKeyId=A\nAWSSecretKey=B\n"))
	f.Add([]byte("\ufeff# c\nAWSAccessKeyId = A \r\nAWSSecretKey=B=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseCredentialFile("f", data)
		if err == nil && (c.AccessKeyID == "" || c.SecretAccessKey == "") {
			t.Errorf("accepted a file without both keys: %+v", c)
		}
	})
}
