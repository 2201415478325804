package awsfake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/ec2query"
	awsxml "github.com/aws/aws-sdk-go-v2/aws/protocol/xml"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func describeConfig(c clients) error {
	_, err := c.cfn.DescribeStackResource(context.Background(), &cloudformation.DescribeStackResourceInput{
		StackName: aws.String("app"), LogicalResourceId: aws.String("Config"),
	})
	return err
}

func TestThrottleEveryCall(t *testing.T) {
	t.Parallel() // the default retryer backs off for up to 3 s
	srv := Start(t)
	srv.SetMetadata("app", "Config", `{}`)
	srv.PutInstance(Instance{ID: "i-001"})
	srv.SetFaults(Faults{ThrottleRate: 1})

	// The SDK's default retryer, untouched: 3 attempts, then the last error.
	cfg := sdkConfig(srv, 3)
	cfg.Retryer = nil
	cfn := cloudformation.NewFromConfig(cfg)
	_, err := cfn.DescribeStackResource(ctx(t), &cloudformation.DescribeStackResourceInput{
		StackName: aws.String("app"), LogicalResourceId: aws.String("Config"),
	})
	var maxErr *retry.MaxAttemptsError
	if !errors.As(err, &maxErr) || maxErr.Attempt != 3 {
		t.Errorf("want MaxAttemptsError after 3 attempts, got %v", err)
	}
	if code, msg := apiCode(t, err); code != "Throttling" || msg != "Rate exceeded" {
		t.Errorf("got %s %q", code, msg)
	}
	var attempts []int
	for _, c := range srv.CallLog() {
		if c.Fault != "throttle" || c.Status != 400 {
			t.Errorf("call %+v", c)
		}
		attempts = append(attempts, c.Attempt)
	}
	if fmt.Sprint(attempts) != "[1 2 3]" {
		t.Errorf("attempts seen %v", attempts)
	}

	// EC2 throttles with its own code.
	c := newClients(srv, 3)
	_, err = c.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
	if code, _ := apiCode(t, err); code != "RequestLimitExceeded" {
		t.Errorf("ec2 throttle code %s", code)
	}
	if n := srv.Calls("ec2", "DescribeInstances"); n != 3 {
		t.Errorf("ec2 attempts %d, want 3", n)
	}
	_, err = c.asg.DescribeAutoScalingGroups(ctx(t), &autoscaling.DescribeAutoScalingGroupsInput{})
	if code, _ := apiCode(t, err); code != "Throttling" {
		t.Errorf("autoscaling throttle code %s", code)
	}
}

func TestThrottleHalfTheCalls(t *testing.T) {
	srv := Start(t)
	srv.SetMetadata("app", "Config", `{"ok":true}`)
	srv.SetFaults(Faults{Seed: 7, ThrottleRate: 0.5})
	c := newClients(srv, 10)
	const calls = 40
	for n := range calls {
		if err := describeConfig(c); err != nil {
			t.Fatalf("call %d: %v", n, err)
		}
	}
	total := srv.Calls("cloudformation", "DescribeStackResource")
	throttled := 0
	for _, c := range srv.CallLog() {
		if c.Fault == "throttle" {
			throttled++
		}
	}
	if total != calls+throttled || throttled == 0 {
		t.Errorf("%d attempts for %d calls with %d throttled", total, calls, throttled)
	}
	t.Logf("%d calls took %d attempts", calls, total)

	// The same seed gives the same faults to the same sequence of calls.
	first := faultSequence(srv.CallLog())
	srv.ResetCalls()
	srv.SetFaults(Faults{Seed: 7, ThrottleRate: 0.5})
	for range calls {
		if err := describeConfig(c); err != nil {
			t.Fatal(err)
		}
	}
	if again := faultSequence(srv.CallLog()); again != first {
		t.Errorf("seeded faults differ between runs:\n%s\n%s", first, again)
	}
}

func faultSequence(log []Call) string {
	var b strings.Builder
	for _, c := range log {
		if c.Fault == "" {
			b.WriteByte('.')
		} else {
			b.WriteByte('T')
		}
	}
	return b.String()
}

func TestServerErrorsDropsLatency(t *testing.T) {
	srv := Start(t)
	srv.SetMetadata("app", "Config", `{}`)
	c := newClients(srv, 3)

	srv.SetFaults(Faults{ServerErrorRate: 1})
	err := describeConfig(c)
	if code, _ := apiCode(t, err); code != "InternalFailure" {
		t.Errorf("server error code %s", code)
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Errorf("want HTTP 500, got %v", err)
	}
	if n := srv.Calls("", ""); n != 3 {
		t.Errorf("500s retried %d times, want 3 attempts", n)
	}

	srv.ResetCalls()
	srv.SetFaults(Faults{DropRate: 1})
	err = describeConfig(c)
	var se *smithyhttp.RequestSendError
	if !errors.As(err, &se) {
		t.Errorf("want a connection error (RequestSendError), got %T %v", err, err)
	}
	if n := srv.Calls("", ""); n != 3 {
		t.Errorf("dropped connections retried %d times, want 3 attempts", n)
	}
	for _, call := range srv.CallLog() {
		if call.Fault != "drop" || call.Status != 0 {
			t.Errorf("call %+v", call)
		}
	}

	// Latency: a caller with a shorter deadline gives up waiting.
	srv.SetFaults(Faults{Latency: time.Minute})
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.cfn.DescribeStackResource(short, &cloudformation.DescribeStackResourceInput{
		StackName: aws.String("app"), LogicalResourceId: aws.String("Config"),
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("want the caller's deadline, got %v", err)
	}

	srv.SetFaults(Faults{})
	if err := describeConfig(c); err != nil {
		t.Errorf("after clearing faults: %v", err)
	}
}

func TestFaultsOnlySomeActions(t *testing.T) {
	srv := Start(t)
	srv.PutInstance(Instance{ID: "i-001", Tags: map[string]string{"a": "b"}})
	srv.SetFaults(Faults{ThrottleRate: 1, Only: map[string]bool{"ec2:DescribeTags": true}})
	c := newClients(srv, 1)
	if _, err := c.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("DescribeInstances was faulted: %v", err)
	}
	_, err := c.ec2.DescribeTags(ctx(t), &ec2.DescribeTagsInput{})
	if code, _ := apiCode(t, err); code != "RequestLimitExceeded" {
		t.Errorf("DescribeTags: %s", code)
	}
}

func TestFaultsOnlyOneService(t *testing.T) {
	srv := Start(t)
	srv.SetMetadata("app", "Config", `{}`)
	srv.PutInstance(Instance{ID: "i-001"})
	// "ec2:*" takes every EC2 action down and leaves the other services be.
	srv.SetFaults(Faults{DropRate: 1, Only: map[string]bool{"ec2:*": true}})
	c := newClients(srv, 1)
	for _, err := range []error{
		func() error { _, err := c.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{}); return err }(),
		func() error { _, err := c.ec2.DescribeTags(ctx(t), &ec2.DescribeTagsInput{}); return err }(),
	} {
		var se *smithyhttp.RequestSendError
		if !errors.As(err, &se) {
			t.Errorf("want a dropped connection, got %v", err)
		}
	}
	if err := describeConfig(c); err != nil {
		t.Errorf("CloudFormation was faulted: %v", err)
	}
}

func TestThrottleAboveRate(t *testing.T) {
	srv := Start(t)
	srv.SetMetadata("app", "Config", `{}`)
	// Two calls a second: the bucket holds two, so of ten calls in a row
	// the first two pass and most of the rest are throttled.
	srv.SetFaults(Faults{ThrottleAbove: 2})
	c := newClients(srv, 1)
	var ok, limited int
	for range 10 {
		err := describeConfig(c)
		switch {
		case err == nil:
			ok++
		default:
			if code, _ := apiCode(t, err); code != "Throttling" {
				t.Fatalf("code %s", code)
			}
			limited++
		}
	}
	log := srv.CallLog()
	if log[0].Fault != "" || log[1].Fault != "" || limited == 0 {
		t.Errorf("%d passed, %d limited: %+v", ok, limited, log)
	}
	for _, call := range log {
		if call.Fault != "" && call.Fault != "rate-limit" {
			t.Errorf("fault %q", call.Fault)
		}
	}
}

// rawCall posts a query request with a SigV4-shaped Authorization header
// (the stand-in reads the scope, not the signature).
func rawCall(t *testing.T, srv *Server, service string, form url.Values) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, srv.URL+"/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSTANDIN/20260101/eu-west-1/"+service+
		"/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	return do(t, req)
}

func TestUnknownAction(t *testing.T) {
	srv := Start(t)
	for _, svc := range []string{"cloudformation", "autoscaling"} {
		status, body := rawCall(t, srv, svc, url.Values{"Action": {"DeleteEverything"}, "Version": {"1"}})
		ec, err := awsxml.GetErrorResponseComponents(bytes.NewReader(body), false)
		if err != nil || status != 400 || ec.Code != "InvalidAction" || ec.RequestID == "" {
			t.Errorf("%s: %d %+v %v", svc, status, ec, err)
		}
	}
	status, body := rawCall(t, srv, "ec2", url.Values{"Action": {"DeleteEverything"}, "Version": {"2016-11-15"}})
	ec, err := ec2query.GetErrorResponseComponents(bytes.NewReader(body))
	if err != nil || status != 400 || ec.Code != "InvalidAction" || ec.RequestID == "" {
		t.Errorf("ec2: %d %+v %v", status, ec, err)
	}
	if n := srv.Calls("", "DeleteEverything"); n != 3 {
		t.Errorf("unknown actions counted %d times", n)
	}
	if log := srv.CallLog(); log[0].Region != "eu-west-1" || log[2].Service != "ec2" {
		t.Errorf("log %+v", log)
	}
}

func TestConcurrentClients(t *testing.T) {
	srv := Start(t)
	srv.SetMetadata("app", "Config", `{"v":0}`)
	srv.SetGroupInstances("web", InService("i-001", "i-002")...)
	srv.PutLifecycleHook("web", LifecycleHook{Name: "drain"})
	for _, id := range []string{"i-001", "i-002"} {
		srv.PutInstance(Instance{ID: id, Tags: map[string]string{"aws:autoscaling:groupName": "web"}})
	}
	srv.SetFaults(Faults{Seed: 1, ThrottleRate: 0.2, ServerErrorRate: 0.05})

	const workers, rounds = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		c := newClients(srv, 10)
		wg.Go(func() {
			for n := range rounds {
				if err := describeConfig(c); err != nil {
					errs <- err
				}
				if _, err := c.ec2.DescribeTags(context.Background(), &ec2.DescribeTagsInput{}); err != nil {
					errs <- err
				}
				if _, err := c.asg.RecordLifecycleActionHeartbeat(context.Background(), &autoscaling.RecordLifecycleActionHeartbeatInput{
					AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("drain"), InstanceId: aws.String("i-001"),
				}); err != nil {
					errs <- err
				}
				// Tests change state while agents read it.
				srv.SetMetadata("app", "Config", fmt.Sprintf(`{"v":%d}`, w*rounds+n))
				srv.SetTag("i-002", "round", fmt.Sprint(n))
				_ = srv.Calls("", "")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(srv.Heartbeats()); got != workers*rounds {
		t.Errorf("heartbeats %d, want %d", got, workers*rounds)
	}
	if got := srv.Calls("", ""); got < 3*workers*rounds || got != len(srv.CallLog()) {
		t.Errorf("calls %d, log %d", got, len(srv.CallLog()))
	}
}
