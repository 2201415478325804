package awsenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stackhand/stackhand/internal/backoff"
)

// ASGClient makes the Auto Scaling calls stackhand makes — the peers' group, the
// termination lifecycle action, the health verdict, the rollout hold — with the SDK's
// input and output types but without its client: the SDK's autoscaling client, with its
// serializers and middleware, took the binaries past their 16 MiB budget (README,
// Performance). Each call is one signed form POST of the awsQuery protocol (Action,
// Version 2011-01-01, lists as Name.member.N), answered in XML
// (<ActionResponse><ActionResult>…), errors as <ErrorResponse><Error><Code/><Message/>
// (Amazon EC2 Auto Scaling API reference, "Common parameters" and "Common errors"). Errors
// are smithy API errors inside an HTTP response error, as the SDK's, so ErrorCode,
// IsThrottle, IsAccessDenied and Explain read them the same way.
type ASGClient struct {
	q *queryClient
}

// AutoScaling returns the Auto Scaling client.
func (e *Env) AutoScaling() *ASGClient { return NewASGClient(e.Config, e.opts.CallTimeout) }

// NewASGClient returns a client with cfg's credentials, region and HTTP client. The
// endpoint is AWS_ENDPOINT_URL_AUTO_SCALING, else cfg's base endpoint (AWS_ENDPOINT_URL),
// else the region's.
func NewASGClient(cfg aws.Config, callTimeout time.Duration) *ASGClient {
	return &ASGClient{q: newQueryClient(cfg, callTimeout, "AUTO_SCALING", "autoscaling", "AutoScaling", "2011-01-01")}
}

// queryClient sends awsQuery calls to one service.
type queryClient struct {
	cfg      aws.Config
	endpoint string
	signing  string // SigV4 signing name
	name     string // for messages: "operation error AutoScaling: …"
	version  string
	http     httpDoer
	timeout  time.Duration // one attempt, the answer's body included
	sleep    func(context.Context, time.Duration) error
}

func newQueryClient(cfg aws.Config, callTimeout time.Duration, envName, signing, name, version string) *queryClient {
	if callTimeout <= 0 {
		callTimeout = DefaultCallTimeout
	}
	return &queryClient{cfg: cfg, endpoint: serviceEndpoint(cfg, envName, signing), signing: signing, name: name, version: version,
		http: serviceHTTP(cfg, callTimeout), timeout: callTimeout, sleep: sleepCtx}
}

// serviceEndpoint is a hand-made client's endpoint: AWS_ENDPOINT_URL_<envName>, else cfg's
// base endpoint (AWS_ENDPOINT_URL), else https://<prefix>.<region>.amazonaws.com (.com.cn
// in China).
func serviceEndpoint(cfg aws.Config, envName, prefix string) string {
	endpoint := os.Getenv("AWS_ENDPOINT_URL_" + envName)
	if endpoint == "" && cfg.BaseEndpoint != nil {
		endpoint = *cfg.BaseEndpoint
	}
	if endpoint == "" {
		suffix := "amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			suffix = "amazonaws.com.cn"
		}
		endpoint = "https://" + prefix + "." + cfg.Region + "." + suffix
	}
	return strings.TrimRight(endpoint, "/")
}

// httpDoer is what a hand-made client sends requests with.
type httpDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// serviceHTTP is cfg's HTTP client, or one with the agent's deadlines.
func serviceHTTP(cfg aws.Config, callTimeout time.Duration) httpDoer {
	if cfg.HTTPClient != nil {
		return cfg.HTTPClient
	}
	return httpClient(callTimeout, nil)
}

// callRetry is the wait before a hand-made call's next attempt.
var callRetry = backoff.Policy{Base: 200 * time.Millisecond, Factor: 2, Max: 2 * time.Second, Jitter: 1}

// withRetries runs try up to attempts times: again after a 5xx, a throttle or a
// connection error (as the SDK's standard retryer), never after anything else.
func withRetries(ctx context.Context, attempts int, sleep func(context.Context, time.Duration) error, try func() error) error {
	var last error
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, callRetry.Delay(attempt-1)); err != nil {
				return last
			}
		}
		last = try()
		if last == nil || !retryable(last) || ctx.Err() != nil {
			return last
		}
	}
	return last
}

// queryAttempts is how many times a call is tried: a 5xx, a throttle or a connection
// error is tried again, as the SDK's standard retryer does; nothing else is.
const queryAttempts = 3

// call sends action with params and decodes the <ActionResult> element into out (nil
// for actions that answer nothing).
func (c *queryClient) call(ctx context.Context, action string, params url.Values, out any) error {
	params.Set("Action", action)
	params.Set("Version", c.version)
	body := []byte(params.Encode())
	return withRetries(ctx, queryAttempts, c.sleep, func() error { return c.once(ctx, action, body, out) })
}

func (c *queryClient) once(ctx context.Context, action string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("operation error %s: %s, "+format, append([]any{c.name, action}, args...)...)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if c.cfg.Credentials != nil {
		creds, err := c.cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return fail("get credentials: %v", err)
		}
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), c.signing, c.cfg.Region, time.Now()); err != nil {
			return fail("sign: %v", err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fail("request send failed: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fail("read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Code    string
				Message string
			}
		}
		_ = xml.Unmarshal(data, &e)
		code := e.Error.Code
		if code == "" {
			code = http.StatusText(resp.StatusCode)
		}
		return fmt.Errorf("operation error %s: %s, %w", c.name, action, &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: resp},
			Err:      &smithy.GenericAPIError{Code: code, Message: e.Error.Message},
		})
	}
	if out == nil {
		return nil
	}
	// <ActionResponse><ActionResult>…</ActionResult></ActionResponse>: the result is
	// decoded by a wrapper naming it.
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return fail("an answer without %sResult: %v", action, err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == action+"Result" {
			if err := d.DecodeElement(out, &se); err != nil {
				return fail("decode the answer: %v", err)
			}
			return nil
		}
	}
}

// members sets name.member.1… to values.
func members(p url.Values, name string, values []string) {
	for i, v := range values {
		p.Set(name+".member."+strconv.Itoa(i+1), v)
	}
}

func setString(p url.Values, name string, v *string) {
	if v != nil {
		p.Set(name, *v)
	}
}

// member is an XML list's items: <Name><member>…</member></Name>.
type member[T any] struct {
	Items []T `xml:"member"`
}

type xmlTag struct {
	ResourceId        string
	ResourceType      string
	Key               string
	Value             string
	PropagateAtLaunch bool
}

// DescribeAutoScalingGroups reads groups by name, one page (the caller names one group).
func (c *ASGClient) DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	p := url.Values{}
	members(p, "AutoScalingGroupNames", in.AutoScalingGroupNames)
	setString(p, "NextToken", in.NextToken)
	if in.MaxRecords != nil {
		p.Set("MaxRecords", strconv.Itoa(int(*in.MaxRecords)))
	}
	var res struct {
		AutoScalingGroups member[struct {
			AutoScalingGroupName   string
			HealthCheckGracePeriod *int32
			Instances              member[struct {
				InstanceId       string
				LifecycleState   string
				HealthStatus     string
				AvailabilityZone string
				InstanceType     string
			}]
			Tags member[xmlTag]
		}]
		NextToken string
	}
	if err := c.q.call(ctx, "DescribeAutoScalingGroups", p, &res); err != nil {
		return nil, err
	}
	out := &autoscaling.DescribeAutoScalingGroupsOutput{}
	if res.NextToken != "" {
		out.NextToken = aws.String(res.NextToken)
	}
	for _, g := range res.AutoScalingGroups.Items {
		ag := astypes.AutoScalingGroup{AutoScalingGroupName: aws.String(g.AutoScalingGroupName), HealthCheckGracePeriod: g.HealthCheckGracePeriod}
		for _, i := range g.Instances.Items {
			ag.Instances = append(ag.Instances, astypes.Instance{InstanceId: aws.String(i.InstanceId),
				LifecycleState: astypes.LifecycleState(i.LifecycleState), HealthStatus: aws.String(i.HealthStatus),
				AvailabilityZone: aws.String(i.AvailabilityZone), InstanceType: aws.String(i.InstanceType)})
		}
		for _, t := range g.Tags.Items {
			ag.Tags = append(ag.Tags, astypes.TagDescription{ResourceId: aws.String(t.ResourceId), ResourceType: aws.String(t.ResourceType),
				Key: aws.String(t.Key), Value: aws.String(t.Value), PropagateAtLaunch: aws.Bool(t.PropagateAtLaunch)})
		}
		out.AutoScalingGroups = append(out.AutoScalingGroups, ag)
	}
	return out, nil
}

// DescribeLifecycleHooks reads a group's lifecycle hooks.
func (c *ASGClient) DescribeLifecycleHooks(ctx context.Context, in *autoscaling.DescribeLifecycleHooksInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeLifecycleHooksOutput, error) {
	p := url.Values{}
	setString(p, "AutoScalingGroupName", in.AutoScalingGroupName)
	members(p, "LifecycleHookNames", in.LifecycleHookNames)
	var res struct {
		LifecycleHooks member[struct {
			AutoScalingGroupName string
			LifecycleHookName    string
			LifecycleTransition  string
			HeartbeatTimeout     *int32
			GlobalTimeout        *int32
			DefaultResult        string
		}]
	}
	if err := c.q.call(ctx, "DescribeLifecycleHooks", p, &res); err != nil {
		return nil, err
	}
	out := &autoscaling.DescribeLifecycleHooksOutput{}
	for _, h := range res.LifecycleHooks.Items {
		out.LifecycleHooks = append(out.LifecycleHooks, astypes.LifecycleHook{AutoScalingGroupName: aws.String(h.AutoScalingGroupName),
			LifecycleHookName: aws.String(h.LifecycleHookName), LifecycleTransition: aws.String(h.LifecycleTransition),
			HeartbeatTimeout: h.HeartbeatTimeout, GlobalTimeout: h.GlobalTimeout, DefaultResult: aws.String(h.DefaultResult)})
	}
	return out, nil
}

// RecordLifecycleActionHeartbeat keeps a lifecycle action waiting.
func (c *ASGClient) RecordLifecycleActionHeartbeat(ctx context.Context, in *autoscaling.RecordLifecycleActionHeartbeatInput, _ ...func(*autoscaling.Options)) (*autoscaling.RecordLifecycleActionHeartbeatOutput, error) {
	p := url.Values{}
	setString(p, "AutoScalingGroupName", in.AutoScalingGroupName)
	setString(p, "LifecycleHookName", in.LifecycleHookName)
	setString(p, "InstanceId", in.InstanceId)
	setString(p, "LifecycleActionToken", in.LifecycleActionToken)
	if err := c.q.call(ctx, "RecordLifecycleActionHeartbeat", p, nil); err != nil {
		return nil, err
	}
	return &autoscaling.RecordLifecycleActionHeartbeatOutput{}, nil
}

// CompleteLifecycleAction ends a lifecycle action.
func (c *ASGClient) CompleteLifecycleAction(ctx context.Context, in *autoscaling.CompleteLifecycleActionInput, _ ...func(*autoscaling.Options)) (*autoscaling.CompleteLifecycleActionOutput, error) {
	p := url.Values{}
	setString(p, "AutoScalingGroupName", in.AutoScalingGroupName)
	setString(p, "LifecycleHookName", in.LifecycleHookName)
	setString(p, "InstanceId", in.InstanceId)
	setString(p, "LifecycleActionToken", in.LifecycleActionToken)
	setString(p, "LifecycleActionResult", in.LifecycleActionResult)
	if err := c.q.call(ctx, "CompleteLifecycleAction", p, nil); err != nil {
		return nil, err
	}
	return &autoscaling.CompleteLifecycleActionOutput{}, nil
}

// SetInstanceHealth sets an instance's health status in its group.
func (c *ASGClient) SetInstanceHealth(ctx context.Context, in *autoscaling.SetInstanceHealthInput, _ ...func(*autoscaling.Options)) (*autoscaling.SetInstanceHealthOutput, error) {
	p := url.Values{}
	setString(p, "InstanceId", in.InstanceId)
	setString(p, "HealthStatus", in.HealthStatus)
	if in.ShouldRespectGracePeriod != nil {
		p.Set("ShouldRespectGracePeriod", strconv.FormatBool(*in.ShouldRespectGracePeriod))
	}
	if err := c.q.call(ctx, "SetInstanceHealth", p, nil); err != nil {
		return nil, err
	}
	return &autoscaling.SetInstanceHealthOutput{}, nil
}

func tagParams(p url.Values, tags []astypes.Tag) {
	for i, t := range tags {
		pre := "Tags.member." + strconv.Itoa(i+1) + "."
		setString(p, pre+"ResourceId", t.ResourceId)
		setString(p, pre+"ResourceType", t.ResourceType)
		setString(p, pre+"Key", t.Key)
		setString(p, pre+"Value", t.Value)
		if t.PropagateAtLaunch != nil {
			p.Set(pre+"PropagateAtLaunch", strconv.FormatBool(*t.PropagateAtLaunch))
		}
	}
}

// CreateOrUpdateTags tags groups.
func (c *ASGClient) CreateOrUpdateTags(ctx context.Context, in *autoscaling.CreateOrUpdateTagsInput, _ ...func(*autoscaling.Options)) (*autoscaling.CreateOrUpdateTagsOutput, error) {
	p := url.Values{}
	tagParams(p, in.Tags)
	if err := c.q.call(ctx, "CreateOrUpdateTags", p, nil); err != nil {
		return nil, err
	}
	return &autoscaling.CreateOrUpdateTagsOutput{}, nil
}

// DeleteTags removes groups' tags.
func (c *ASGClient) DeleteTags(ctx context.Context, in *autoscaling.DeleteTagsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DeleteTagsOutput, error) {
	p := url.Values{}
	tagParams(p, in.Tags)
	if err := c.q.call(ctx, "DeleteTags", p, nil); err != nil {
		return nil, err
	}
	return &autoscaling.DeleteTagsOutput{}, nil
}
