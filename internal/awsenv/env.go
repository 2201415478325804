// Package awsenv sets up stackhand's AWS access: the SDK configuration (credentials,
// region, retries, endpoints), the instance metadata (IMDSv2) client, the service clients
// the sources use, and the instance's identity (Discover). It also turns AWS errors into
// the one line a person reads (Explain).
//
// Every endpoint can be overridden the SDK's standard way, which the SDK itself reads:
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (AWS_ENDPOINT_URL_CLOUDFORMATION,
// AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL_AUTO_SCALING, AWS_ENDPOINT_URL_CLOUDWATCH,
// AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, AWS_ENDPOINT_URL_EVENTBRIDGE, AWS_ENDPOINT_URL_S3,
// AWS_ENDPOINT_URL_SSM; see each service's
// resolveBaseEndpoint and config.EnvConfig.GetServiceBaseEndpoint in aws-sdk-go-v2), and
// AWS_EC2_METADATA_SERVICE_ENDPOINT for the instance metadata service.
package awsenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"go.uber.org/zap"
)

// DefaultIMDSEndpoint is where the instance metadata service answers on EC2 (IPv4).
const DefaultIMDSEndpoint = "http://169.254.169.254"

// Options are the configuration values Load needs (from stackhand.yaml or cfn-hup.conf).
type Options struct {
	// Region, when set, wins over AWS_REGION, the shared config and IMDS.
	Region string
	// CredentialFile is cfn-hup's credential-file: AWSAccessKeyId=/AWSSecretKey= lines in
	// a file only its owner may read. Ignored when Role is set, as cfn-hup ignores it.
	CredentialFile string
	// Role is cfn-hup's role: the instance profile role whose credentials are expected.
	// The default credential chain reads them from IMDS; the name is only logged.
	Role string
	// CloudFormationURL is cfn-hup's url: the CloudFormation endpoint. It wins over
	// AWS_ENDPOINT_URL_CLOUDFORMATION.
	CloudFormationURL string
	// Credentials, when set, are used instead of the default chain (cfn-init's and
	// cfn-signal's --access-key/--secret-key). CredentialFile and Role win over them.
	Credentials aws.CredentialsProvider
	// Proxy, when set, chooses the proxy of every AWS call (cfn-init's --http-proxy and
	// --https-proxy); nil keeps the environment's HTTP_PROXY/HTTPS_PROXY/NO_PROXY.
	Proxy func(*http.Request) (*url.URL, error)
	// NoIMDS turns the instance metadata service off for every client: a host that has
	// none (on premises, another cloud) never waits for it. Region must then be set, and
	// credentials come from the environment, the shared files or CredentialFile.
	NoIMDS bool
	// Logger receives what Load decided and the retries while IMDS is unreachable.
	Logger *zap.Logger
	// Sleep waits between attempts to reach IMDS for the region; nil means a timer.
	// Tests inject one so that they do not sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry, when set, is told of each wait for IMDS: the error and how long until the
	// next attempt (the agent shows it in status).
	OnRetry func(err error, wait time.Duration)
	// CallTimeout is how long one attempt of an AWS call waits for the answer to start
	// once the request is sent; each operation, retries included, gets OperationTimeout
	// of it. Zero means DefaultCallTimeout. See deadline.go.
	CallTimeout time.Duration
}

// Env is the AWS setup every AWS source and reporter shares. Every client it makes
// gives each call a deadline (deadline.go).
type Env struct {
	// Config is the SDK configuration: credentials, region, standard retries.
	Config aws.Config

	imds         *imds.Client
	imdsEndpoint string
	opts         Options
	log          *zap.Logger
	cfn          *cfnV1Auth

	cfnOnce   sync.Once
	cfnClient *cloudformation.Client
}

// Load builds the SDK configuration with the default credential chain (environment,
// shared files, container, then the EC2 instance role over IMDSv2), standard retry mode
// (exponential backoff with jitter) and the region from Options, else from the
// environment or shared config, else from IMDS. It waits for IMDS, retrying with capped
// backoff, only when the region has to come from there; it returns when ctx ends.
func Load(ctx context.Context, opts Options) (*Env, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	callTimeout := opts.CallTimeout
	if callTimeout <= 0 {
		callTimeout = DefaultCallTimeout
	}
	base := []func(*config.LoadOptions) error{
		config.WithRetryMode(aws.RetryModeStandard),
		config.WithHTTPClient(httpClient(callTimeout, opts.Proxy)),
	}
	if opts.Region != "" {
		base = append(base, config.WithRegion(opts.Region))
	}
	if opts.NoIMDS {
		if opts.Region == "" {
			return nil, errors.New("no region: a host without IMDS needs its region configured (identity.region or region)")
		}
		base = append(base, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	switch {
	case opts.Role != "":
		if opts.CredentialFile != "" {
			log.Info("role takes precedence over credential-file, as in cfn-hup",
				zap.String("role", opts.Role), zap.String("credential_file", opts.CredentialFile))
		}
		log.Info("expecting the instance profile role's credentials from IMDS", zap.String("role", opts.Role))
	case opts.CredentialFile != "":
		creds, err := ReadCredentialFile(opts.CredentialFile)
		if err != nil {
			return nil, err
		}
		base = append(base, config.WithCredentialsProvider(credentials.StaticCredentialsProvider{Value: creds}))
		log.Info("using static credentials from cfn-hup's credential-file", zap.String("path", opts.CredentialFile))
	case opts.Credentials != nil:
		base = append(base, config.WithCredentialsProvider(opts.Credentials))
	}

	// First pass: resolve the shared settings (IMDS endpoint, AWS_REGION...) without any
	// network call, to build the IMDSv2-only client the credential chain then uses.
	cfg0, err := config.LoadDefaultConfig(ctx, base...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	md := newIMDSClient(cfg0)

	// Second pass: the same settings, with the instance role read through that client so
	// that credentials never fall back to IMDSv1 either.
	cfg, err := config.LoadDefaultConfig(ctx, append(base,
		config.WithEC2RoleCredentialOptions(func(o *ec2rolecreds.Options) { o.Client = md }))...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}

	e := &Env{
		Config:       cfg,
		imds:         md,
		imdsEndpoint: imdsEndpoint(),
		opts:         opts,
		log:          log,
	}
	e.cfn = &cfnV1Auth{creds: cfg.Credentials, imds: md, log: log}

	if e.Config.Region == "" {
		region, err := e.regionFromIMDS(ctx)
		if err != nil {
			return nil, err
		}
		e.Config.Region = region
		log.Info("region from IMDS", zap.String("region", region))
	}
	return e, nil
}

// newIMDSClient returns an IMDS client that only speaks IMDSv2: when the session token
// cannot be had, the call fails instead of retrying without a token (IMDSv1).
func newIMDSClient(cfg aws.Config) *imds.Client {
	return imds.NewFromConfig(cfg, func(o *imds.Options) {
		o.EnableFallback = aws.FalseTernary
		// IMDS is on the instance itself: the standard mode's backoff of up to 20 s is
		// for remote services. Callers that wait for IMDS use their own, logged backoff.
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 3
			so.MaxBackoff = time.Second
		})
	})
}

// imdsEndpoint names the IMDS endpoint for messages.
func imdsEndpoint() string {
	if v := os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"); v != "" {
		return v
	}
	return DefaultIMDSEndpoint
}

func (e *Env) regionFromIMDS(ctx context.Context) (string, error) {
	var region string
	err := e.retryIMDS(ctx, e.opts.Sleep, func(ctx context.Context) error {
		out, err := e.imds.GetRegion(ctx, &imds.GetRegionInput{}, noSDKRetries)
		if err != nil {
			return err
		}
		region = out.Region
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("no region configured (set region in the config or AWS_REGION) and IMDS did not give one: %w", err)
	}
	return region, nil
}

// IMDS returns the IMDSv2-only instance metadata client.
func (e *Env) IMDS() *imds.Client { return e.imds }

// IMDSEndpoint returns the IMDS endpoint used, for messages.
func (e *Env) IMDSEndpoint() string { return e.imdsEndpoint }

// Region returns the region in use.
func (e *Env) Region() string { return e.Config.Region }

// Logger returns the logger Env was loaded with.
func (e *Env) Logger() *zap.Logger { return e.log }

// EC2 returns an EC2 client (DescribeTags, DescribeInstances).
func (e *Env) EC2() *ec2.Client {
	return ec2.NewFromConfig(e.Config, func(o *ec2.Options) { o.APIOptions = append(o.APIOptions, e.addOperationDeadline) })
}

// CloudWatch returns a CloudWatch client (heartbeat, alarm, metrics). It speaks Smithy
// RPC v2 CBOR; AWS_ENDPOINT_URL_CLOUDWATCH overrides its endpoint.
func (e *Env) CloudWatch() *cloudwatch.Client {
	return cloudwatch.NewFromConfig(e.Config, func(o *cloudwatch.Options) { o.APIOptions = append(o.APIOptions, e.addOperationDeadline) })
}

// EventBridge returns an EventBridge client (notifications).
func (e *Env) EventBridge() *eventbridge.Client {
	return eventbridge.NewFromConfig(e.Config, func(o *eventbridge.Options) { o.APIOptions = append(o.APIOptions, e.addOperationDeadline) })
}

// CloudFormation returns the CloudFormation client, made once. Its endpoint is
// Options.CloudFormationURL when set. Each request is signed with SigV4 when the
// credential chain has credentials; when it has none at all (not when it fails for
// another reason, such as IMDS being unreachable), the request goes unsigned by SigV4 and
// carries cfn-hup's CFN_V1 instance identity authorization instead (see cfnv1.go).
func (e *Env) CloudFormation() *cloudformation.Client {
	e.cfnOnce.Do(func() {
		e.cfnClient = cloudformation.NewFromConfig(e.Config, func(o *cloudformation.Options) {
			if u := e.opts.CloudFormationURL; u != "" {
				o.BaseEndpoint = aws.String(normalizeURL(u))
			}
			o.AuthSchemeResolver = &cfnAuthResolver{inner: o.AuthSchemeResolver, auth: e.cfn}
			o.APIOptions = append(o.APIOptions, e.cfn.addMiddleware, e.addOperationDeadline)
		})
	})
	return e.cfnClient
}

// normalizeURL accepts cfn-hup's url with or without a scheme (cfn-hup's examples use
// https://cloudformation.<region>.amazonaws.com).
func normalizeURL(u string) string {
	if p, err := url.Parse(u); err == nil && p.Scheme != "" && p.Host != "" {
		return u
	}
	return "https://" + u
}

// noSDKRetries turns off the SDK's own retries for one IMDS call, where the caller
// retries with its own backoff and says so.
func noSDKRetries(o *imds.Options) { o.Retryer = aws.NopRetryer{} }
