package fleet

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

// The AWS store against the stand-in: the first publish reads what the instance carries
// and writes only the difference; an unchanged state writes nothing; a key no longer
// published is deleted; Read pages through many instances' tags; a refused write names
// ec2:CreateTags and the policy that lets an instance tag itself.
func TestAWSStorePublishesOnlyChangesAndExplainsDenial(t *testing.T) {
	srv := awsfake.Start(t)
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}
	ctx := context.Background()
	srv.PutInstance(awsfake.Instance{ID: "i-0self", Tags: map[string]string{"Name": "web", KeyLast: "deploy succeeded 2026-12-04T10:00:00Z", KeyApplied + "old": "x"}})
	st := &AWSStore{EC2: ec2.NewFromConfig(cfg), ASG: awsenv.NewASGClient(cfg, 0)}
	tags := map[string]string{KeyLast: "deploy succeeded 2026-12-04T10:00:00Z", KeyApplied + "release": "v2"}
	if err := st.Publish(ctx, "i-0self", tags); err != nil {
		t.Fatal(err)
	}
	in, _ := srv.GetInstance("i-0self")
	if in.Tags[KeyApplied+"release"] != "v2" || in.Tags["Name"] != "web" {
		t.Errorf("tags after publish: %v", in.Tags)
	}
	if _, ok := in.Tags[KeyApplied+"old"]; ok {
		t.Errorf("a key no longer published was kept: %v", in.Tags)
	}
	creates, deletes := srv.Calls("ec2", "CreateTags"), srv.Calls("ec2", "DeleteTags")
	if creates != 1 || deletes != 1 {
		t.Errorf("%d CreateTags and %d DeleteTags calls, want one each (the unchanged stackhand:last not rewritten)", creates, deletes)
	}
	for range 3 {
		if err := st.Publish(ctx, "i-0self", tags); err != nil {
			t.Fatal(err)
		}
	}
	if srv.Calls("ec2", "CreateTags") != creates || srv.Calls("ec2", "DeleteTags") != deletes {
		t.Error("an unchanged state was written again")
	}

	// Many instances, read in pages and chunks of ids.
	var ids []string
	for i := range 450 {
		id := "i-0peer" + strings.Repeat("0", 3-len(itoa(i))) + itoa(i)
		srv.PutInstance(awsfake.Instance{ID: id, Tags: map[string]string{KeyApplied + "release": "v" + itoa(i), KeyHealth: "healthy", "Owner": "x"}})
		ids = append(ids, id)
	}
	got, err := st.Read(ctx, append(ids, "i-0gone"))
	var re ReadErrors
	if !errors.As(err, &re) || re["i-0gone"] == "" || len(re) != 1 {
		t.Fatalf("Read: %v", err)
	}
	if len(got) != 450 || got["i-0peer449"][KeyApplied+"release"] != "v449" || got["i-0peer007"]["Owner"] != "" {
		t.Errorf("read %d instances; i-0peer449 %v, i-0peer007 %v", len(got), got["i-0peer449"], got["i-0peer007"])
	}

	// An instance whose role may not tag it.
	srv.PutInstance(awsfake.Instance{ID: "i-0denied"})
	srv.DenyCreateTags("i-0denied", true)
	err = (&AWSStore{EC2: ec2.NewFromConfig(cfg)}).Publish(ctx, "i-0denied", tags)
	if err == nil || !strings.Contains(err.Error(), "ec2:CreateTags denied") || !strings.Contains(err.Error(), "ec2:SourceInstanceARN") {
		t.Errorf("denied: %v", err)
	}
}

func itoa(i int) string {
	const d = "0123456789"
	if i < 10 {
		return d[i : i+1]
	}
	return itoa(i/10) + d[i%10:i%10+1]
}
