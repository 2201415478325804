package cfnboot

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/awsenv"
)

// Env is what the commands may touch of the outside world, so that tests and the agent
// can run them in-process.
type Env struct {
	Stdin  io.Reader // cfn-init's metadata for "-"
	Stdout io.Writer
	Stderr io.Writer
	// Log gets the agent's own structured lines (what was read from where, the AWS
	// setup); nil logs nothing. cfn-init's own log lines go to InitLog.
	Log *zap.Logger
	// InitLog and CmdLog are cfn-init.log and cfn-init-cmd.log; "" means DefaultInitLog
	// and DefaultCmdLog.
	InitLog, CmdLog string
	// AWS loads the AWS setup; nil means awsenv.Load. Tests shorten retries with it.
	AWS func(ctx context.Context, o awsenv.Options) (*awsenv.Env, error)
	// HTTP is the client of cfn-signal's WaitConditionHandle PUT; nil means one with
	// deadlines (see signal.go).
	HTTP *http.Client
	// Sleep waits between cfn-signal's attempts; nil means a timer. Tests make it
	// instant.
	Sleep func(ctx context.Context, d time.Duration) error
	// InstanceID returns the instance id, cfn-signal's default -i; nil asks IMDS.
	InstanceID func(ctx context.Context) (string, error)
	// SelfService is the service standing for cfn-hup in services.sysvinit.cfn-hup:
	// "" means "stackhand" when its unit is installed (see selfService).
	SelfService string
	// SelfReload, when set, is how the cfn-hup stand-in is reloaded: the agent sets it
	// when it runs cfn-init itself, so that a changed cfn-hup.conf is read once the
	// running event ends instead of restarting the agent in the middle of it.
	SelfReload func() error
	// ResumeFile is where cfn-init records its progress for --resume; "" means
	// cfninit.DefaultResumeFile().
	ResumeFile string
}

func (e Env) log() *zap.Logger {
	if e.Log == nil {
		return zap.NewNop()
	}
	return e.Log
}

func (e Env) stderr() io.Writer {
	if e.Stderr == nil {
		return io.Discard
	}
	return e.Stderr
}

func (e Env) stdin() io.Reader {
	if e.Stdin == nil {
		return strings.NewReader("")
	}
	return e.Stdin
}

func (e Env) stdout() io.Writer {
	if e.Stdout == nil {
		return io.Discard
	}
	return e.Stdout
}

// options turns the flags into awsenv's options, with cfn-bootstrap's precedence: the
// credential file, else the role, else the keys (cfnbootstrap/util.py get_creds_or_die),
// else the default chain (and CFN_V1 when it has nothing).
func (f *AWSFlags) options(log *zap.Logger) (awsenv.Options, error) {
	o := awsenv.Options{Region: f.Region, CloudFormationURL: f.URL, Logger: log}
	switch {
	case f.CredentialFile != "":
		o.CredentialFile = f.CredentialFile
	case f.Role != "":
		o.Role = f.Role
	case f.AccessKey != "":
		o.Credentials = credentials.StaticCredentialsProvider{Value: aws.Credentials{
			AccessKeyID: f.AccessKey, SecretAccessKey: f.SecretKey, Source: "--access-key"}}
	}
	if f.HTTPProxy != "" || f.HTTPSProxy != "" {
		hp, err := proxyURL("--http-proxy", f.HTTPProxy)
		if err != nil {
			return o, err
		}
		sp, err := proxyURL("--https-proxy", f.HTTPSProxy)
		if err != nil {
			return o, err
		}
		o.Proxy = proxyFunc(hp, sp)
	}
	return o, nil
}

// proxyURL reads a proxy as cfn-bootstrap documents it, [scheme://][user:password@]host:port;
// without a scheme it is an http:// proxy. Messages never repeat its password.
func proxyURL(flag, v string) (*url.URL, error) {
	if v == "" {
		return nil, nil
	}
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return nil, usagef("%s: want [scheme://][user:password@]host:port", flag)
	}
	return u, nil
}

// proxyFunc sends http:// requests through hp and https:// ones through sp; a scheme
// without its flag keeps the environment's setting.
func proxyFunc(hp, sp *url.URL) func(*http.Request) (*url.URL, error) {
	return func(r *http.Request) (*url.URL, error) {
		if r.URL.Scheme == "http" && hp != nil {
			return hp, nil
		}
		if r.URL.Scheme == "https" && sp != nil {
			return sp, nil
		}
		return http.ProxyFromEnvironment(r)
	}
}

// loadAWS sets up AWS access from the flags.
func loadAWS(ctx context.Context, f *AWSFlags, env Env) (*awsenv.Env, error) {
	o, err := f.options(env.log())
	if err != nil {
		return nil, err
	}
	load := env.AWS
	if load == nil {
		load = awsenv.Load
	}
	return load(ctx, o)
}

// describeResource reads a resource's Metadata with DescribeStackResource, as the
// metadata source does. An absent Metadata is an error, as in cfn-init and
// cfn-get-metadata ("<resource> does not specify any metadata").
func describeResource(ctx context.Context, cfn *cloudformation.Client, stack, resource string) ([]byte, error) {
	out, err := cfn.DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{
		StackName: aws.String(stack), LogicalResourceId: aws.String(resource)})
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return nil, fmt.Errorf("stack %s or its resource %s does not exist (check --stack and --resource, and --region): %w", stack, resource, err)
		}
		return nil, awsenv.ExplainErr(err, "cloudformation:DescribeStackResource")
	}
	md := ""
	if out.StackResourceDetail != nil {
		md = aws.ToString(out.StackResourceDetail.Metadata)
	}
	if strings.TrimSpace(md) == "" {
		return nil, fmt.Errorf("resource %s of stack %s has no Metadata: add AWS::CloudFormation::Init under its Metadata in the template", resource, stack)
	}
	return []byte(md), nil
}
