package cfnboot

import (
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

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
// proxy, when not nil, is --http-proxy/--https-proxy: cfn-init sends its downloads
// through them too (cfnbootstrap/util.py get_proxyinfo, used for every request).
func newFetcher(log *zap.Logger, proxy func(*http.Request) (*url.URL, error)) cfninit.Fetcher {
	o := imds.Options{EnableFallback: aws.FalseTernary}
	if ep := os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"); ep != "" {
		o.Endpoint = ep
	}
	md := imds.New(o)
	f := &cfninit.HTTPFetcher{
		RoleCredentials: aws.NewCredentialsCache(ec2rolecreds.New(func(ro *ec2rolecreds.Options) { ro.Client = md })),
		Log:             log,
	}
	if proxy != nil {
		// HTTPFetcher's own transport, with the proxies given: the same deadlines.
		f.Transport = &http.Transport{
			Proxy:                 proxy,
			DialContext:           (&net.Dialer{Timeout: cfninit.DefaultConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   cfninit.DefaultConnectTimeout,
			ResponseHeaderTimeout: cfninit.DefaultHeaderTimeout,
			MaxIdleConns:          4,
			IdleConnTimeout:       30 * time.Second,
		}
	}
	return f
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
