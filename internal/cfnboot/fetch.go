package cfnboot

import (
	"net/url"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/cfninit"
)

// newFetcher returns the Fetcher of files' and sources' URLs. An S3 Authentication entry
// with a roleName and no keys signs with the instance profile's credentials, read over
// IMDSv2 only when such a URL is fetched (cfn-init reads them from the instance metadata
// service too: cfnbootstrap/util.py get_role_creds).
func newFetcher(log *zap.Logger) cfninit.Fetcher {
	o := imds.Options{EnableFallback: aws.FalseTernary}
	if ep := os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"); ep != "" {
		o.Endpoint = ep
	}
	md := imds.New(o)
	return &cfninit.HTTPFetcher{
		RoleCredentials: aws.NewCredentialsCache(ec2rolecreds.New(func(ro *ec2rolecreds.Options) { ro.Client = md })),
		Log:             log,
	}
}

// redactURL drops a URL's user information and query (a presigned URL's signature) for
// messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}
