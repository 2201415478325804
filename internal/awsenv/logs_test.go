package awsenv

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

// logsRequest is what a CloudWatch Logs call looked like on the wire.
type logsRequest struct {
	Target, ContentType, Encoding string
	Body                          map[string]any
}

// TestLogsClientWireFormat: the hand-made CloudWatch Logs client sends, for each call the
// log shipper makes, what the SDK's client sends (target, content type and the JSON
// body, captured on the way to the AWS stand-in), signed for logs in the region; a body
// the caller made (WithRequestBody) goes as it is, with its Content-Encoding; the
// stand-in stores what either sent.
func TestLogsClientWireFormat(t *testing.T) {
	fake := awsfake.Start(t)
	var mu sync.Mutex
	var got []logsRequest
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		plain := b
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err == nil {
				plain, err = io.ReadAll(zr)
			}
			if err != nil {
				t.Errorf("a gzip body that does not read: %v", err)
			}
		}
		req := logsRequest{Target: r.Header.Get("X-Amz-Target"), ContentType: r.Header.Get("Content-Type"), Encoding: r.Header.Get("Content-Encoding")}
		if err := json.Unmarshal(plain, &req.Body); err != nil {
			t.Errorf("%s: body %q is not JSON: %v", req.Target, plain, err)
		}
		if a := r.Header.Get("Authorization"); !strings.Contains(a, "/eu-west-1/logs/aws4_request") {
			t.Errorf("%s: Authorization %q: want SigV4 for logs in eu-west-1", req.Target, a)
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		fake.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	cfg := aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(proxy.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}
	sdk := cloudwatchlogs.NewFromConfig(cfg)
	mine := NewLogsClient(cfg, 5*time.Second)
	ctx := context.Background()
	calls := func(c logsCalls, group string) []logsRequest {
		t.Helper()
		mu.Lock()
		got = nil
		mu.Unlock()
		if err := c.CreateLogGroup(ctx, &CreateLogGroupInput{LogGroupName: group}); err != nil {
			t.Fatal(err)
		}
		if err := c.CreateLogStream(ctx, &CreateLogStreamInput{LogGroupName: group, LogStreamName: "s"}); err != nil {
			t.Fatal(err)
		}
		if err := c.PutRetentionPolicy(ctx, &PutRetentionPolicyInput{LogGroupName: group, RetentionInDays: 7}); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UnixMilli()
		if _, err := c.PutLogEvents(ctx, &PutLogEventsInput{LogGroupName: group, LogStreamName: "s",
			LogEvents: []InputLogEvent{{Timestamp: now, Message: "one \"quoted\" ünïcode\n"}, {Timestamp: now + 1, Message: "two"}}}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		out := append([]logsRequest(nil), got...)
		for _, r := range out {
			r.Body["logGroupName"] = "G" // the groups differ so that the stand-in takes both
			if evs, ok := r.Body["logEvents"].([]any); ok {
				for _, e := range evs {
					e.(map[string]any)["timestamp"] = 0
				}
			}
		}
		return out
	}
	want, have := calls(sdkLogs{sdk}, "sdk"), calls(mine, "mine")
	if !reflect.DeepEqual(have, want) {
		t.Fatalf("the hand-made client sent\n%+v\nthe SDK's\n%+v", have, want)
	}
	if n := fake.LogEventCount("mine", "s"); n != 2 {
		t.Fatalf("the stand-in stored %d events of the hand-made client's, want 2", n)
	}

	// A body the log shipper made goes as it is, compressed.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(`{"logGroupName":"mine","logStreamName":"s","logEvents":[{"timestamp":` + strconv.FormatInt(time.Now().UnixMilli(), 10) + `,"message":"x"}]}`))
	zw.Close()
	mu.Lock()
	got = nil
	mu.Unlock()
	body := WithRequestBody(ctx, &RequestBody{Data: zb.Bytes(), Encoding: "gzip"})
	if _, err := mine.PutLogEvents(body, &PutLogEventsInput{LogGroupName: "ignored"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(got) != 1 || got[0].Encoding != "gzip" || got[0].Body["logGroupName"] != "mine" {
		t.Errorf("a caller's gzip body went as %+v", got)
	}
	mu.Unlock()
	if n := fake.LogEventCount("mine", "s"); n != 3 {
		t.Errorf("the stand-in holds %d events of the hand-made client's, want the 3 sent", n)
	}
}

// TestLogsClientErrors: the hand-made client's errors and answers read as the SDK's:
// throttling, a missing group, rejected events, and a 5xx that is retried for the calls
// that retry and not for PutLogEvents, which the shipper retries itself.
func TestLogsClientErrors(t *testing.T) {
	var mu sync.Mutex
	answers := map[string][]string{}
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328.")
		mu.Lock()
		calls[op]++
		a := answers[op]
		reply := a[0]
		if len(a) > 1 {
			answers[op] = a[1:]
		}
		mu.Unlock()
		code, body, _ := strings.Cut(reply, " ")
		switch code {
		case "200":
		case "400":
			w.WriteHeader(400)
		case "500":
			w.WriteHeader(500)
		}
		io.WriteString(w, body)
	}))
	defer srv.Close()
	c := NewLogsClient(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}, 5*time.Second)
	c.c.sleep = func(context.Context, time.Duration) error { return nil }
	ctx := context.Background()
	in := &PutLogEventsInput{LogGroupName: "g", LogStreamName: "s"}

	answers["PutLogEvents"] = []string{`400 {"__type":"ThrottlingException","message":"Rate exceeded"}`}
	if _, err := c.PutLogEvents(ctx, in); !IsThrottle(err) {
		t.Errorf("throttled: %v, want IsThrottle", err)
	}
	answers["PutLogEvents"] = []string{`400 {"__type":"com.amazonaws.logs#ResourceNotFoundException","message":"The specified log group does not exist."}`}
	if _, err := c.PutLogEvents(ctx, in); ErrorCode(err) != "ResourceNotFoundException" || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing group: %v (code %q)", err, ErrorCode(err))
	}
	answers["PutLogEvents"] = []string{`200 {"nextSequenceToken":"x","rejectedLogEventsInfo":{"tooOldLogEventEndIndex":3,"tooNewLogEventStartIndex":7}}`}
	out, err := c.PutLogEvents(ctx, in)
	if err != nil || out.RejectedLogEventsInfo == nil || aws.ToInt32(out.RejectedLogEventsInfo.TooOldLogEventEndIndex) != 3 ||
		aws.ToInt32(out.RejectedLogEventsInfo.TooNewLogEventStartIndex) != 7 {
		t.Errorf("rejected events: %+v, %v", out, err)
	}
	mu.Lock()
	calls = map[string]int{}
	answers["PutLogEvents"] = []string{`500 {"__type":"ServiceUnavailableException"}`}
	answers["CreateLogGroup"] = []string{`500 {"__type":"ServiceUnavailableException"}`, `200 {}`}
	mu.Unlock()
	if _, err := c.PutLogEvents(ctx, in); !IsUnreachable(err) || serverError(err) != 500 {
		t.Errorf("5xx: %v, want a server error", err)
	}
	if err := c.CreateLogGroup(ctx, &CreateLogGroupInput{LogGroupName: "g"}); err != nil {
		t.Errorf("CreateLogGroup after one 5xx: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["PutLogEvents"] != 1 || calls["CreateLogGroup"] != 2 {
		t.Errorf("attempts %v: want PutLogEvents once and CreateLogGroup twice", calls)
	}
}

// TestLogsClientBodyIsPutLogEventsOnly: the log shipper creates a missing group with the
// context that carries its batch; CreateLogGroup must send its own body, not the batch.
func TestLogsClientBodyIsPutLogEventsOnly(t *testing.T) {
	fake := awsfake.Start(t)
	c := NewLogsClient(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(fake.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}, 5*time.Second)
	ctx := WithRequestBody(context.Background(), &RequestBody{Data: []byte(`{"logGroupName":"batch","logStreamName":"s","logEvents":[]}`)})
	if err := c.CreateLogGroup(ctx, &CreateLogGroupInput{LogGroupName: "made"}); err != nil {
		t.Fatal(err)
	}
	if err := c.PutRetentionPolicy(ctx, &PutRetentionPolicyInput{LogGroupName: "made", RetentionInDays: 7}); err != nil {
		t.Fatal(err)
	}
	if days, ok := fake.LogGroup("made"); !ok || days != 7 {
		t.Fatalf("group made: %v, retention %d; want it, with 7 days", ok, days)
	}
}

// logsCalls are the calls TestLogsClientWireFormat makes through both clients.
type logsCalls interface {
	CreateLogGroup(context.Context, *CreateLogGroupInput) error
	CreateLogStream(context.Context, *CreateLogStreamInput) error
	PutRetentionPolicy(context.Context, *PutRetentionPolicyInput) error
	PutLogEvents(context.Context, *PutLogEventsInput) (*PutLogEventsOutput, error)
}

// sdkLogs makes the same calls through the SDK's client, the reference for the wire.
type sdkLogs struct{ c *cloudwatchlogs.Client }

func (s sdkLogs) CreateLogGroup(ctx context.Context, in *CreateLogGroupInput) error {
	_, err := s.c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(in.LogGroupName)})
	return err
}

func (s sdkLogs) CreateLogStream(ctx context.Context, in *CreateLogStreamInput) error {
	_, err := s.c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(in.LogGroupName), LogStreamName: aws.String(in.LogStreamName)})
	return err
}

func (s sdkLogs) PutRetentionPolicy(ctx context.Context, in *PutRetentionPolicyInput) error {
	_, err := s.c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(in.LogGroupName), RetentionInDays: aws.Int32(in.RetentionInDays)})
	return err
}

func (s sdkLogs) PutLogEvents(ctx context.Context, in *PutLogEventsInput) (*PutLogEventsOutput, error) {
	evs := make([]cwltypes.InputLogEvent, len(in.LogEvents))
	for i, e := range in.LogEvents {
		evs[i] = cwltypes.InputLogEvent{Timestamp: aws.Int64(e.Timestamp), Message: aws.String(e.Message)}
	}
	_, err := s.c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(in.LogGroupName), LogStreamName: aws.String(in.LogStreamName), LogEvents: evs})
	return &PutLogEventsOutput{}, err
}
