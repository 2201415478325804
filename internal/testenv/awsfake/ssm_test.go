package awsfake

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func ssmClient(srv *Server, maxAttempts int) *ssm.Client {
	return ssm.NewFromConfig(sdkConfig(srv, maxAttempts))
}

func TestSSMGetParameter(t *testing.T) {
	srv := Start(t)
	at := time.Date(2026, 12, 4, 10, 0, 0, 250e6, time.UTC)
	srv.SetNow(func() time.Time { return at })
	if v := srv.PutParameter("/web/release", "v1"); v != 1 {
		t.Fatalf("first version %d", v)
	}
	c := ssmClient(srv, 1)
	out, err := c.GetParameter(ctx(t), &ssm.GetParameterInput{Name: aws.String("/web/release"), WithDecryption: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	p := out.Parameter
	if aws.ToString(p.Name) != "/web/release" || aws.ToString(p.Value) != "v1" || p.Version != 1 || p.Type != types.ParameterTypeString ||
		aws.ToString(p.DataType) != "text" || aws.ToString(p.ARN) != "arn:aws:ssm:us-east-1:123456789012:parameter/web/release" ||
		!aws.ToTime(p.LastModifiedDate).Equal(at) {
		t.Errorf("parameter %+v (modified %v)", p, aws.ToTime(p.LastModifiedDate))
	}
	if in := srv.CallLog()[0].Input; in["Name"] != "/web/release" || in["WithDecryption"] != true {
		t.Errorf("input %v", in)
	}

	// The same value put again is a new version.
	if v := srv.PutParameter("/web/release", "v1"); v != 2 {
		t.Fatalf("second version %d", v)
	}
	out, err = c.GetParameter(ctx(t), &ssm.GetParameterInput{Name: aws.String("/web/release")})
	if err != nil || out.Parameter.Version != 2 || aws.ToString(out.Parameter.Value) != "v1" {
		t.Errorf("after a second put: %+v %v", out, err)
	}
	// name:version reads an older one.
	srv.PutParameter("/web/release", "v3")
	out, err = c.GetParameter(ctx(t), &ssm.GetParameterInput{Name: aws.String("/web/release:1")})
	if err != nil || out.Parameter.Version != 1 || aws.ToString(out.Parameter.Selector) != ":1" {
		t.Errorf("selector: %+v %v", out, err)
	}
	_, err = c.GetParameter(ctx(t), &ssm.GetParameterInput{Name: aws.String("/web/release:9")})
	var pvnf *types.ParameterVersionNotFound
	if !errors.As(err, &pvnf) {
		t.Errorf("missing version: %v", err)
	}
	if n := srv.Calls("ssm", "GetParameter"); n != 4 {
		t.Errorf("%d calls", n)
	}
}

func TestSSMGetParameterErrors(t *testing.T) {
	srv := Start(t)
	c := ssmClient(srv, 1)
	_, err := c.GetParameter(ctx(t), &ssm.GetParameterInput{Name: aws.String("/nope")})
	var nf *types.ParameterNotFound
	if !errors.As(err, &nf) {
		t.Errorf("not found: %T %v", err, err)
	}

	srv.PutParameter("/web/release", "v1")
	srv.DeleteParameter("/web/release")
	if _, err := c.GetParameter(ctx(t), &ssm.GetParameterInput{Name: aws.String("/web/release")}); !errors.As(err, &nf) {
		t.Errorf("deleted: %v", err)
	}

	srv.PutParameter("/secret", "x")
	srv.DenyParameter("/secret", true)
	_, err = c.GetParameter(ctx(t), &ssm.GetParameterInput{Name: aws.String("/secret")})
	if code, msg := apiCode(t, err); code != "AccessDeniedException" || !strings.Contains(msg, "ssm:GetParameter") {
		t.Errorf("denied: %s %s", code, msg)
	}

	srv.SetFaults(Faults{ThrottleRate: 1})
	_, err = c.GetParameter(ctx(t), &ssm.GetParameterInput{Name: aws.String("/secret")})
	if code, _ := apiCode(t, err); code != "ThrottlingException" {
		t.Errorf("throttled: %v", err)
	}
	srv.SetFaults(Faults{ThrottleRate: 1, Seed: 3})
	srv.ResetCalls()
	_, _ = ssmClient(srv, 3).GetParameter(ctx(t), &ssm.GetParameterInput{Name: aws.String("/secret")})
	if n := srv.Calls("ssm", "GetParameter"); n != 3 {
		t.Errorf("throttle retried %d times, want 3 attempts", n)
	}
}
