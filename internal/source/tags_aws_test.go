package source

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
)

// With instance tags in metadata, the tag source reads IMDS only: no EC2 call at all.
func TestAWSTagsFromIMDS(t *testing.T) {
	want := map[string]string{"Role": "web", "aws:cloudformation:stack-name": "app"}
	mock := imdsmock.Start(t, imdsmock.Config{InstanceID: "i-0tags00000000000", Tags: want})
	counted := countIMDS(t, mock.URL)
	srv := awsfake.Start(t)
	srv.PutInstance(awsfake.Instance{ID: "i-0tags00000000000", Tags: map[string]string{"Role": "from-ec2"}})
	clk := awsTestClock()
	s := AWSTags{IMDS: newIMDSTestClient(counted.URL), EC2: newAWSTestClients(srv.URL).ec2,
		InstanceID: "i-0tags00000000000", Clock: clk, Interval: time.Minute, Jitter: fixedJitter(0.5)}
	r := start(t, s)
	for pass := 1; pass <= 3; pass++ {
		u := r.next(t)
		if u.Source != "tags" || u.Err != nil || !maps.Equal(u.Tags, want) {
			t.Fatalf("pass %d: update %+v, want tags %v", pass, u, want)
		}
		waitPending(t, clk, 1)
		clk.Advance(time.Minute)
	}
	if n := srv.Calls("ec2", ""); n != 0 {
		t.Errorf("%d EC2 calls, want none: the tags are in IMDS", n)
	}
	if n := counted.Gets("tags/instance"); n < 3 {
		t.Errorf("%d IMDS tag requests over 3 passes", n)
	}
}

// With instance tags in metadata off (IMDS 404), the source falls back to DescribeTags
// once and for all: it does not ask IMDS again.
func TestAWSTagsFallBackToEC2(t *testing.T) {
	mock := imdsmock.Start(t, imdsmock.Config{InstanceID: "i-0notags0000000000"}) // Tags nil: off
	counted := countIMDS(t, mock.URL)
	srv := awsfake.Start(t)
	want := map[string]string{"Role": "web", "aws:cloudformation:stack-name": "app"}
	srv.PutInstance(awsfake.Instance{ID: "i-0notags0000000000", Tags: want})
	srv.PutInstance(awsfake.Instance{ID: "i-0other0000000000", Tags: map[string]string{"Role": "db"}})
	clk := awsTestClock()
	s := AWSTags{IMDS: newIMDSTestClient(counted.URL), EC2: newAWSTestClients(srv.URL).ec2,
		InstanceID: "i-0notags0000000000", Clock: clk, Interval: time.Minute, Jitter: fixedJitter(0.5)}
	r := start(t, s)
	const passes = 4
	for pass := 1; pass <= passes; pass++ {
		u := r.next(t)
		if u.Err != nil || !maps.Equal(u.Tags, want) {
			t.Fatalf("pass %d: update %+v, want tags %v", pass, u, want)
		}
		if pass == 2 {
			srv.SetTag("i-0notags0000000000", "Role", "api")
			want = maps.Clone(want)
			want["Role"] = "api"
		}
		waitPending(t, clk, 1)
		clk.Advance(time.Minute)
	}
	r.next(t) // the pass the last Advance started
	if n := counted.Gets("tags/instance"); n != 1 {
		t.Errorf("%d IMDS tag requests, want 1: after a 404 the source stays on EC2", n)
	}
	if n := srv.Calls("ec2", "DescribeTags"); n != passes+1 {
		t.Errorf("%d DescribeTags calls over %d passes, want one per pass", n, passes+1)
	}
	for _, c := range srv.CallLog() {
		if c.Params.Get("Filter.1.Name") != "resource-id" || c.Params.Get("Filter.1.Value.1") != "i-0notags0000000000" {
			t.Errorf("DescribeTags not filtered on this instance: %v", c.Params)
		}
	}
}

// pagedEC2 is the real EC2 client asking for small pages, as AWS may answer DescribeTags
// in several pages whatever MaxResults is; the stand-in pages only when asked.
type pagedEC2 struct{ *ec2.Client }

func (c pagedEC2) DescribeTags(ctx context.Context, in *ec2.DescribeTagsInput, opts ...func(*ec2.Options)) (*ec2.DescribeTagsOutput, error) {
	in.MaxResults = aws.Int32(5)
	return c.Client.DescribeTags(ctx, in, opts...)
}

func TestEC2TagsPages(t *testing.T) {
	srv := awsfake.Start(t)
	want := map[string]string{}
	for i := range 12 {
		want[fmt.Sprintf("key%02d", i)] = fmt.Sprintf("value %d", i)
	}
	srv.PutInstance(awsfake.Instance{ID: "i-0paged0000000000", Tags: want})
	srv.PutInstance(awsfake.Instance{ID: "i-0other0000000000", Tags: map[string]string{"key00": "not mine"}})
	got, err := awsenv.EC2Tags(awsTestCtx(t), pagedEC2{newAWSTestClients(srv.URL).ec2}, "i-0paged0000000000")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("tags %v, want %v", got, want)
	}
	if n := srv.Calls("ec2", "DescribeTags"); n != 3 {
		t.Errorf("%d DescribeTags calls for 12 tags in pages of 5, want 3", n)
	}
}

func TestEC2TagsErrors(t *testing.T) {
	srv := awsfake.Start(t)
	srv.SetFaults(awsfake.Faults{ThrottleRate: 1})
	_, err := awsenv.EC2Tags(awsTestCtx(t), newAWSTestClients(srv.URL).ec2, "i-0123456789abcdef0")
	checkErr(t, err, []string{"ec2:DescribeTags", "RequestLimitExceeded"})
	if !awsenv.IsThrottle(err) {
		t.Errorf("awsenv.IsThrottle(%v) = false: the poller would not back off", err)
	}
}
