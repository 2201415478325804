package awsfake

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// logsNow is the stand-in's clock in the Logs tests, so that age limits are
// tested at their exact edges.
var logsNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func logsClient(srv *Server, maxAttempts int) *cloudwatchlogs.Client {
	return cloudwatchlogs.NewFromConfig(sdkConfig(srv, maxAttempts))
}

// startLogs starts a stand-in at logsNow with group "app" and stream "web".
func startLogs(t *testing.T) (*Server, *cloudwatchlogs.Client) {
	t.Helper()
	srv := Start(t)
	srv.SetNow(func() time.Time { return logsNow })
	srv.PutLogStream("app", "web")
	return srv, logsClient(srv, 3)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// events makes n events of a message of size bytes, all at ts.
func events(n, size int, ts int64) []types.InputLogEvent {
	msg := strings.Repeat("x", size)
	out := make([]types.InputLogEvent, n)
	for i := range out {
		out[i] = types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(msg)}
	}
	return out
}

func put(c *cloudwatchlogs.Client, t *testing.T, group, stream string, evs []types.InputLogEvent) (*cloudwatchlogs.PutLogEventsOutput, error) {
	return c.PutLogEvents(ctx(t), &cloudwatchlogs.PutLogEventsInput{
		LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: evs,
	})
}

func TestLogsCreateThenPut(t *testing.T) {
	srv := Start(t)
	srv.SetNow(func() time.Time { return logsNow })
	c := logsClient(srv, 1)
	evs := []types.InputLogEvent{
		{Timestamp: aws.Int64(ms(logsNow) - 2), Message: aws.String("first — ünï")},
		{Timestamp: aws.Int64(ms(logsNow) - 1), Message: aws.String("second")},
	}

	_, err := put(c, t, "app", "web", evs)
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) || notFound.ErrorMessage() != "The specified log group does not exist." {
		t.Fatalf("put to a missing group: %v", err)
	}
	if _, err := c.CreateLogGroup(ctx(t), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	_, err = put(c, t, "app", "web", evs)
	if !errors.As(err, &notFound) || notFound.ErrorMessage() != "The specified log stream does not exist." {
		t.Fatalf("put to a missing stream: %v", err)
	}
	_, err = c.CreateLogStream(ctx(t), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("web")})
	if !errors.As(err, &notFound) {
		t.Errorf("stream in a missing group: %v", err)
	}
	if _, err := c.CreateLogStream(ctx(t), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	out, err := put(c, t, "app", "web", evs)
	if err != nil {
		t.Fatal(err)
	}
	if out.RejectedLogEventsInfo != nil || aws.ToString(out.NextSequenceToken) == "" {
		t.Errorf("output %+v", out)
	}

	var exists *types.ResourceAlreadyExistsException
	if _, err := c.CreateLogGroup(ctx(t), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("app")}); !errors.As(err, &exists) {
		t.Errorf("second CreateLogGroup: %v", err)
	}
	if _, err := c.CreateLogStream(ctx(t), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("web")}); !errors.As(err, &exists) {
		t.Errorf("second CreateLogStream: %v", err)
	}

	got := srv.LogEvents("app", "web")
	if len(got) != 2 || got[0].Message != "first — ünï" || got[1].Timestamp != ms(logsNow)-1 || got[0].IngestionTime != ms(logsNow) {
		t.Errorf("stored %+v", got)
	}
	if n := srv.LogEventCount("app", "web"); n != 2 {
		t.Errorf("count %d", n)
	}
	if s := srv.LogStreams("app"); fmt.Sprint(s) != "[web]" {
		t.Errorf("streams %v", s)
	}

	ds, err := c.DescribeLogStreams(ctx(t), &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.LogStreams) != 1 {
		t.Fatalf("streams %+v", ds.LogStreams)
	}
	st := ds.LogStreams[0]
	if aws.ToString(st.LogStreamName) != "web" || aws.ToInt64(st.FirstEventTimestamp) != ms(logsNow)-2 ||
		aws.ToInt64(st.LastEventTimestamp) != ms(logsNow)-1 || aws.ToInt64(st.LastIngestionTime) != ms(logsNow) ||
		aws.ToInt64(st.CreationTime) != ms(logsNow) || !strings.HasSuffix(aws.ToString(st.Arn), ":log-group:app:log-stream:web") {
		t.Errorf("stream %+v", st)
	}

	// The call log keeps a summary of PutLogEvents' input, not the events.
	var last Call
	for _, call := range srv.CallLog() {
		if call.Action == "PutLogEvents" && call.Status == 200 {
			last = call
		}
	}
	if sum, _ := last.Input["logEvents"].(map[string]any); sum["count"] != 2 || last.Input["logGroupName"] != "app" {
		t.Errorf("logged input %v", last.Input)
	}
}

func TestRetentionPolicy(t *testing.T) {
	srv, c := startLogs(t)
	for _, days := range []int32{1, 3653} {
		if _, err := c.PutRetentionPolicy(ctx(t), &cloudwatchlogs.PutRetentionPolicyInput{
			LogGroupName: aws.String("app"), RetentionInDays: aws.Int32(days),
		}); err != nil {
			t.Errorf("%d days: %v", days, err)
		}
		if got, ok := srv.LogGroup("app"); !ok || got != int(days) {
			t.Errorf("retention %d %v, want %d", got, ok, days)
		}
	}
	var invalid *types.InvalidParameterException
	for _, days := range []int32{0, 2, 8, 3654} {
		_, err := c.PutRetentionPolicy(ctx(t), &cloudwatchlogs.PutRetentionPolicyInput{
			LogGroupName: aws.String("app"), RetentionInDays: aws.Int32(days),
		})
		if !errors.As(err, &invalid) {
			t.Errorf("%d days: %v", days, err)
		}
	}
	var notFound *types.ResourceNotFoundException
	if _, err := c.PutRetentionPolicy(ctx(t), &cloudwatchlogs.PutRetentionPolicyInput{
		LogGroupName: aws.String("nope"), RetentionInDays: aws.Int32(7),
	}); !errors.As(err, &notFound) {
		t.Errorf("missing group: %v", err)
	}
	if _, ok := srv.LogGroup("nope"); ok {
		t.Error("LogGroup found a missing group")
	}
}

func TestLogNames(t *testing.T) {
	_, c := startLogs(t)
	var invalid *types.InvalidParameterException
	for _, name := range []string{"", "has space", "colon:", strings.Repeat("a", 513)} {
		if _, err := c.CreateLogGroup(ctx(t), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)}); !errors.As(err, &invalid) {
			t.Errorf("group %q: %v", name, err)
		}
	}
	if _, err := c.CreateLogGroup(ctx(t), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/aws/ok-1_2.3#x")}); err != nil {
		t.Error(err)
	}
	for _, name := range []string{"", "a:b", "a*", strings.Repeat("s", 513)} {
		_, err := c.CreateLogStream(ctx(t), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String(name)})
		if !errors.As(err, &invalid) {
			t.Errorf("stream %q: %v", name, err)
		}
	}
	if _, err := c.CreateLogStream(ctx(t), &cloudwatchlogs.CreateLogStreamInput{
		LogGroupName: aws.String("app"), LogStreamName: aws.String("i-0abc/var/log/messages ü"),
	}); err != nil {
		t.Error(err)
	}
}

func TestPutLogEventsLimits(t *testing.T) {
	now := ms(logsNow)
	// A batch of exactly 1,048,576 bytes: four events of 262,118 + 26 bytes.
	full := events(4, 262118, now)
	over := events(4, 262118, now)
	over[3].Message = aws.String(strings.Repeat("y", 262119))
	// One event as large as a batch may be, and one byte more.
	largest := events(1, 1<<20-26, now)
	tooLarge := events(1, 1<<20-25, now)
	// Multi-byte characters count by their UTF-8 bytes: 349,525 × "é"
	// (2 bytes) is 699,050 bytes.
	utf := events(1, 0, now)
	utf[0].Message = aws.String(strings.Repeat("é", (1<<20-26)/2))
	utfOver := events(1, 0, now)
	utfOver[0].Message = aws.String(strings.Repeat("é", (1<<20-26)/2) + "é")

	ordered := []types.InputLogEvent{
		{Timestamp: aws.Int64(now - 5), Message: aws.String("a")},
		{Timestamp: aws.Int64(now - 5), Message: aws.String("same time is in order")},
		{Timestamp: aws.Int64(now), Message: aws.String("c")},
	}
	outOfOrder := []types.InputLogEvent{
		{Timestamp: aws.Int64(now), Message: aws.String("a")},
		{Timestamp: aws.Int64(now - 1), Message: aws.String("b")},
	}
	day := (24 * time.Hour).Milliseconds()
	span := func(d int64) []types.InputLogEvent {
		return []types.InputLogEvent{
			{Timestamp: aws.Int64(now - d), Message: aws.String("a")},
			{Timestamp: aws.Int64(now), Message: aws.String("b")},
		}
	}
	emptyMessage := []types.InputLogEvent{{Timestamp: aws.Int64(now), Message: aws.String("")}}
	negative := []types.InputLogEvent{{Timestamp: aws.Int64(-1), Message: aws.String("a")}}

	tests := []struct {
		name    string
		events  []types.InputLogEvent
		wantErr string // substring of the InvalidParameterException message; "" for success
	}{
		{"10,000 events", events(10000, 1, now), ""},
		{"10,001 events", events(10001, 1, now), "less than or equal to 10000"},
		{"empty batch", []types.InputLogEvent{}, "greater than or equal to 1"},
		{"1,048,576 bytes", full, ""},
		{"1,048,577 bytes", over, "Upload too large: 1048577 bytes exceeds limit of 1048576"},
		{"largest event", largest, ""},
		{"event one byte too large", tooLarge, "Log event too large: 1048577 bytes"},
		{"UTF-8 bytes counted", utf, ""},
		{"UTF-8 bytes counted, over", utfOver, "too large"},
		{"chronological", ordered, ""},
		{"out of order", outOfOrder, "chronological order"},
		{"span of 24 h", span(day), ""},
		{"span of 24 h + 1 ms", span(day + 1), "cannot span more than 24 hours"},
		{"empty message", emptyMessage, "logEvents.1.member.message"},
		{"negative timestamp", negative, "greater than or equal to 0"},
	}
	srv, c := startLogs(t)
	stored := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.LogEventCount("app", "web")
			out, err := put(c, t, "app", "web", tt.events)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if out.RejectedLogEventsInfo != nil {
					t.Errorf("rejected %+v", out.RejectedLogEventsInfo)
				}
				stored += len(tt.events)
				if got := srv.LogEventCount("app", "web") - before; got != len(tt.events) {
					t.Errorf("stored %d of %d", got, len(tt.events))
				}
				return
			}
			var invalid *types.InvalidParameterException
			if !errors.As(err, &invalid) || !strings.Contains(invalid.ErrorMessage(), tt.wantErr) {
				t.Fatalf("want InvalidParameterException %q, got %v", tt.wantErr, err)
			}
			if n := srv.LogEventCount("app", "web"); n != before {
				t.Errorf("a rejected batch stored %d events", n-before)
			}
		})
	}
	if n := srv.LogEventCount("app", "web"); n != stored {
		t.Errorf("stream holds %d events, want %d", n, stored)
	}
}

func TestPutLogEventsAgeLimits(t *testing.T) {
	now := logsNow
	at := func(d time.Duration) *int64 { return aws.Int64(ms(now.Add(d))) }
	ev := func(d time.Duration, msg string) types.InputLogEvent {
		return types.InputLogEvent{Timestamp: at(d), Message: aws.String(msg)}
	}
	fortnight := 14 * 24 * time.Hour
	tests := []struct {
		name      string
		retention int
		events    []types.InputLogEvent
		want      types.RejectedLogEventsInfo
		stored    []string
	}{
		{"14 days old", 0, []types.InputLogEvent{
			ev(-fortnight-time.Millisecond, "too old"), ev(-fortnight, "14 days old"), ev(-fortnight+time.Hour, "kept"),
		}, types.RejectedLogEventsInfo{TooOldLogEventEndIndex: aws.Int32(1)}, []string{"14 days old", "kept"}},
		{"2 h ahead", 0, []types.InputLogEvent{
			ev(0, "now"), ev(2*time.Hour, "2 h ahead"), ev(2*time.Hour+time.Millisecond, "too new"),
		}, types.RejectedLogEventsInfo{TooNewLogEventStartIndex: aws.Int32(2)}, []string{"now", "2 h ahead"}},
		{"within both", 0, []types.InputLogEvent{
			ev(-time.Hour, "a"), ev(time.Hour, "b"),
		}, types.RejectedLogEventsInfo{}, []string{"a", "b"}},
		{"retention", 7, []types.InputLogEvent{
			ev(-15*24*time.Hour, "too old"), ev(-7*24*time.Hour-time.Millisecond, "expired"),
			ev(-7*24*time.Hour, "7 days old"), ev(-6*24*time.Hour, "kept"),
		}, types.RejectedLogEventsInfo{TooOldLogEventEndIndex: aws.Int32(1), ExpiredLogEventEndIndex: aws.Int32(2)},
			[]string{"7 days old", "kept"}},
		{"all rejected", 0, []types.InputLogEvent{
			ev(-20*24*time.Hour, "a"), ev(3*time.Hour, "b"),
		}, types.RejectedLogEventsInfo{TooOldLogEventEndIndex: aws.Int32(1), TooNewLogEventStartIndex: aws.Int32(1)}, nil},
		// The 24 h span counts only the events kept: these span 15 days.
		{"span of the kept events", 0, []types.InputLogEvent{
			ev(-15*24*time.Hour, "too old"), ev(-time.Hour, "a"), ev(time.Hour, "b"),
		}, types.RejectedLogEventsInfo{TooOldLogEventEndIndex: aws.Int32(1)}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := startLogs(t)
			if tt.retention > 0 {
				srv.PutLogGroup("app", tt.retention)
			}
			out, err := put(c, t, "app", "web", tt.events)
			if err != nil {
				t.Fatal(err)
			}
			got := types.RejectedLogEventsInfo{}
			if out.RejectedLogEventsInfo != nil {
				got = *out.RejectedLogEventsInfo
			}
			if fmt.Sprint(ptrs(got)) != fmt.Sprint(ptrs(tt.want)) {
				t.Errorf("rejected %v, want %v", ptrs(got), ptrs(tt.want))
			}
			var stored []string
			for _, e := range srv.LogEvents("app", "web") {
				stored = append(stored, e.Message)
			}
			if fmt.Sprint(stored) != fmt.Sprint(tt.stored) {
				t.Errorf("stored %q, want %q", stored, tt.stored)
			}
		})
	}
}

func ptrs(r types.RejectedLogEventsInfo) []any {
	v := func(p *int32) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return []any{v(r.TooOldLogEventEndIndex), v(r.ExpiredLogEventEndIndex), v(r.TooNewLogEventStartIndex)}
}

func TestGetLogEventsPaging(t *testing.T) {
	_, c := startLogs(t)
	base := ms(logsNow) - 3_600_000
	const total = 25_000
	var want []string
	// Batches of 4,000 events of 197 + 26 bytes fit in 1 MB.
	const perBatch = 4000
	for b := 0; b*perBatch < total; b++ {
		var batch []types.InputLogEvent
		for i := b * perBatch; i < min(total, (b+1)*perBatch); i++ {
			msg := fmt.Sprintf("%06d %s", i, strings.Repeat("m", 190))
			batch = append(batch, types.InputLogEvent{Timestamp: aws.Int64(base + int64(i)), Message: aws.String(msg)})
			want = append(want, msg)
		}
		if _, err := put(c, t, "app", "web", batch); err != nil {
			t.Fatal(err)
		}
	}

	read := func(limit int32, in cloudwatchlogs.GetLogEventsInput) (got []string, pages int) {
		t.Helper()
		in.LogGroupName, in.LogStreamName = aws.String("app"), aws.String("web")
		p := cloudwatchlogs.NewGetLogEventsPaginator(c, &in, func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) {
			o.Limit, o.StopOnDuplicateToken = limit, true
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range out.Events {
				got = append(got, aws.ToString(e.Message))
			}
			pages++
		}
		return got, pages
	}

	got, pages := read(1000, cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true)})
	if len(got) != total || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("limit 1000: read %d of %d events", len(got), total)
	}
	if pages != 26 { // 25 full pages and the empty one with the same token
		t.Errorf("%d pages", pages)
	}
	// No limit: pages are cut at 1 MB, 4,702 events of 197 + 26 bytes, so
	// six pages and the empty one.
	got, pages = read(0, cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true)})
	if len(got) != total || pages != 7 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("no limit: read %d of %d events in %d pages", len(got), total, pages)
	}
	// A time range: startTime inclusive, endTime exclusive.
	got, _ = read(0, cloudwatchlogs.GetLogEventsInput{
		StartFromHead: aws.Bool(true), StartTime: aws.Int64(base + 100), EndTime: aws.Int64(base + 200),
	})
	if len(got) != 100 || got[0] != want[100] || got[99] != want[199] {
		t.Errorf("time range: %d events", len(got))
	}

	// Without startFromHead the newest events come first, and the backward
	// token reads on into the past.
	out, err := c.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String("app"), LogStreamName: aws.String("web"), Limit: aws.Int32(10),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 10 || aws.ToString(out.Events[9].Message) != want[total-1] {
		t.Fatalf("tail: %d events", len(out.Events))
	}
	back, err := c.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String("app"), LogStreamName: aws.String("web"), Limit: aws.Int32(10), NextToken: out.NextBackwardToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Events) != 10 || aws.ToString(back.Events[9].Message) != want[total-11] {
		t.Errorf("back: %d events", len(back.Events))
	}
}

func TestGetLogEventsTimeOrder(t *testing.T) {
	srv, c := startLogs(t)
	now := ms(logsNow)
	// Two batches, each in order, the second older than the first: stored in
	// arrival order, read back in time order.
	for _, batch := range [][]int64{{now - 10, now - 5}, {now - 20, now - 7}} {
		var evs []types.InputLogEvent
		for _, ts := range batch {
			evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(fmt.Sprint(now - ts))})
		}
		if _, err := put(c, t, "app", "web", evs); err != nil {
			t.Fatal(err)
		}
	}
	var arrival []string
	for _, e := range srv.LogEvents("app", "web") {
		arrival = append(arrival, e.Message)
	}
	out, err := c.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String("app"), LogStreamName: aws.String("web"), StartFromHead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	var read []string
	for _, e := range out.Events {
		read = append(read, aws.ToString(e.Message))
	}
	if fmt.Sprint(arrival) != "[10 5 20 7]" || fmt.Sprint(read) != "[20 10 7 5]" {
		t.Errorf("arrival %v, read %v", arrival, read)
	}
}

func TestDescribeLogStreamsPaging(t *testing.T) {
	srv, c := startLogs(t)
	for i := range 7 {
		srv.PutLogStream("app", fmt.Sprintf("s%d", i))
	}
	p := cloudwatchlogs.NewDescribeLogStreamsPaginator(c, &cloudwatchlogs.DescribeLogStreamsInput{
		LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:app:*"), LogStreamNamePrefix: aws.String("s"),
	}, func(o *cloudwatchlogs.DescribeLogStreamsPaginatorOptions) { o.Limit = 3 })
	var names []string
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out.LogStreams {
			names = append(names, aws.ToString(s.LogStreamName))
		}
	}
	if fmt.Sprint(names) != "[s0 s1 s2 s3 s4 s5 s6]" {
		t.Errorf("streams %v", names)
	}
	var invalid *types.InvalidParameterException
	if _, err := c.DescribeLogStreams(ctx(t), &cloudwatchlogs.DescribeLogStreamsInput{
		LogGroupName: aws.String("app"), LogStreamNamePrefix: aws.String("s"), OrderBy: types.OrderByLastEventTime,
	}); !errors.As(err, &invalid) {
		t.Errorf("LastEventTime with a prefix: %v", err)
	}
	var notFound *types.ResourceNotFoundException
	if _, err := c.DescribeLogStreams(ctx(t), &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("nope")}); !errors.As(err, &notFound) {
		t.Errorf("missing group: %v", err)
	}
}

// rawLogsCall posts a JSON 1.1 body to the Logs target, gzipped if asked.
func rawLogsCall(t *testing.T, srv *Server, action string, body []byte, gz bool) (int, http.Header, []byte) {
	t.Helper()
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = b.Bytes()
	}
	req, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, srv.URL+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Logs_20140328."+action)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSTANDIN/20260101/us-east-1/logs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, out.Bytes()
}

func TestLogsGzipAndRawBodies(t *testing.T) {
	srv, _ := startLogs(t)
	body := fmt.Sprintf(`{"logGroupName":"app","logStreamName":"web","logEvents":[{"timestamp":%d,"message":"zipped ü"}],"sequenceToken":"ignored"}`, ms(logsNow))
	status, _, reply := rawLogsCall(t, srv, "PutLogEvents", []byte(body), true)
	if status != 200 || !strings.Contains(string(reply), `"nextSequenceToken"`) {
		t.Fatalf("gzip body: %d %s", status, reply)
	}
	if evs := srv.LogEvents("app", "web"); len(evs) != 1 || evs[0].Message != "zipped ü" {
		t.Errorf("stored %+v", evs)
	}
	if log := srv.CallLog(); log[len(log)-1].ContentEncoding != "gzip" || log[len(log)-1].BodyBytes <= 0 {
		t.Errorf("call log: Content-Encoding %q, %d bytes on the wire", log[len(log)-1].ContentEncoding, log[len(log)-1].BodyBytes)
	}

	// Errors in the shape the SDK's awsjson deserializer reads.
	check := func(name string, status int, h http.Header, reply []byte, wantStatus int, wantType string) {
		t.Helper()
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(reply, &e); err != nil || status != wantStatus || e.Type != wantType ||
			h.Get("X-Amzn-ErrorType") != wantType || e.Message == "" || h.Get("X-Amzn-Requestid") == "" {
			t.Errorf("%s: %d %v %s", name, status, h, reply)
		}
	}
	bad := []byte(fmt.Sprintf(`{"logGroupName":"app","logStreamName":"web","logEvents":[{"timestamp":%d,"message":"bad \xff byte"}]}`, ms(logsNow)))
	status, h, reply := rawLogsCall(t, srv, "PutLogEvents", bad, false)
	check("invalid UTF-8", status, h, reply, 400, "SerializationException")
	status, h, reply = rawLogsCall(t, srv, "PutLogEvents", []byte(`{"logEvents": 5}`), false)
	check("wrong type", status, h, reply, 400, "SerializationException")
	status, h, reply = rawLogsCall(t, srv, "PutLogEvents", []byte(`not gzip`), true)
	check("bad gzip", status, h, reply, 400, "SerializationException")
	status, h, reply = rawLogsCall(t, srv, "CreateLogGroup", []byte(`{"logGroupName":"app"}`), false)
	check("exists", status, h, reply, 400, "ResourceAlreadyExistsException")
	if n := srv.LogEventCount("app", "web"); n != 1 {
		t.Errorf("%d events stored", n)
	}
}

// TestGzipThroughSDK sends a gzipped body with the SDK client, as the agent
// does, through a Finalize middleware that compresses the serialized request.
func TestGzipThroughSDK(t *testing.T) {
	srv, c := startLogs(t)
	_, err := c.PutLogEvents(ctx(t), &cloudwatchlogs.PutLogEventsInput{
		LogGroupName: aws.String("app"), LogStreamName: aws.String("web"), LogEvents: events(3, 10, ms(logsNow)),
	}, func(o *cloudwatchlogs.Options) {
		o.HTTPClient = gzipClient{}
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.LogEventCount("app", "web"); n != 3 {
		t.Errorf("%d events", n)
	}
	if log := srv.CallLog(); log[len(log)-1].Status != 200 {
		t.Errorf("call %+v", log[len(log)-1])
	}
}

// gzipClient compresses each request body on its way out.
type gzipClient struct{}

func (gzipClient) Do(r *http.Request) (*http.Response, error) {
	var plain, zipped bytes.Buffer
	if _, err := plain.ReadFrom(r.Body); err != nil {
		return nil, err
	}
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(plain.Bytes())
	_ = zw.Close()
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(&zipped)
	r2.GetBody = nil
	r2.ContentLength = int64(zipped.Len())
	r2.Header.Set("Content-Encoding", "gzip")
	return http.DefaultClient.Do(r2)
}

func describeInstancesErr(t *testing.T, c clients) error {
	_, err := c.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
	return err
}

func TestLogsFaults(t *testing.T) {
	srv, _ := startLogs(t)
	c := logsClient(srv, 2)
	evs := events(1, 10, ms(logsNow))

	srv.SetFaults(Faults{ThrottleRate: 1, Only: map[string]bool{"logs:*": true}})
	_, err := put(c, t, "app", "web", evs)
	var throttled *types.ThrottlingException
	if !errors.As(err, &throttled) {
		t.Fatalf("want ThrottlingException, got %v", err)
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
		t.Errorf("the SDK does not see %v as a throttle", err)
	}
	if n := srv.Calls("logs", "PutLogEvents"); n != 2 {
		t.Errorf("throttles retried %d times, want 2 attempts", n)
	}
	// Other services are not affected by "logs:*".
	ec2c := newClients(srv, 1)
	if err := describeInstancesErr(t, ec2c); err != nil {
		t.Errorf("ec2 faulted by logs:*: %v", err)
	}

	srv.SetFaults(Faults{ServerErrorRate: 1, Only: map[string]bool{"logs:*": true}})
	_, err = put(c, t, "app", "web", evs)
	var unavailable *types.ServiceUnavailableException
	var re *smithyhttp.ResponseError
	if !errors.As(err, &unavailable) || !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Errorf("want ServiceUnavailableException (500), got %v", err)
	}

	srv.SetFaults(Faults{DropRate: 1, Only: map[string]bool{"logs:*": true}})
	_, err = put(c, t, "app", "web", evs)
	var se *smithyhttp.RequestSendError
	if !errors.As(err, &se) {
		t.Errorf("want a connection error, got %T %v", err, err)
	}

	// 30 % of calls throttled, the same calls on every run of the seed; the
	// SDK's retries get every batch through.
	run := func() string {
		srv.ResetCalls()
		srv.SetFaults(Faults{Seed: 3, ThrottleRate: 0.3, Only: map[string]bool{"logs:*": true}})
		c := logsClient(srv, 10)
		for i := range 20 {
			if _, err := put(c, t, "app", "web", evs); err != nil {
				t.Fatalf("batch %d: %v", i, err)
			}
		}
		return faultSequence(srv.CallLog())
	}
	before := srv.LogEventCount("app", "web")
	first := run()
	if strings.Count(first, "T") == 0 || len(first) != 20+strings.Count(first, "T") {
		t.Errorf("calls %s", first)
	}
	if again := run(); again != first {
		t.Errorf("seeded faults differ:\n%s\n%s", first, again)
	}
	if n := srv.LogEventCount("app", "web") - before; n != 40 {
		t.Errorf("%d events stored, want 40", n)
	}
}

// BenchmarkPutLogEvents measures the stand-in's PutLogEvents, posted as the
// SDK encodes it (the encoding is done once, outside the loop), plain and
// gzipped, and reports events/s. 10,000 events of 200 bytes would be
// 2,260,000 bytes, which AWS rejects (1,048,576 at most, 26 bytes an event
// counted), so the batches are the largest AWS takes: 4,639 events of 200
// bytes, and 10,000 events of 78 bytes.
func BenchmarkPutLogEvents(b *testing.B) {
	for _, shape := range []struct{ events, size int }{{4639, 200}, {10000, 78}} {
		for _, gz := range []bool{false, true} {
			name := fmt.Sprintf("%dx%dB", shape.events, shape.size)
			if gz {
				name += "-gzip"
			}
			b.Run(name, func(b *testing.B) { benchmarkPutLogEvents(b, shape.events, shape.size, gz) })
		}
	}
}

func benchmarkPutLogEvents(b *testing.B, n, size int, gz bool) {
	srv := Start(b)
	srv.PutLogStream("app", "web")
	now := time.Now().UnixMilli()
	var body bytes.Buffer
	body.WriteString(`{"logGroupName":"app","logStreamName":"web","logEvents":[`)
	msg := strings.Repeat("m", size)
	for i := range n {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"message":%q,"timestamp":%d}`, msg, now)
	}
	body.WriteString(`]}`)
	payload := body.Bytes()
	if gz {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = zw.Write(payload)
		_ = zw.Close()
		payload = z.Bytes()
	}
	client := &http.Client{}
	b.SetBytes(int64(len(payload)))
	calls := 0
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "Logs_20140328.PutLogEvents")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=00")
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = new(bytes.Buffer).ReadFrom(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		calls++
		if calls%50 == 0 {
			// Keep the benchmark's memory flat: forget what was stored.
			b.StopTimer()
			srv.mu.Lock()
			srv.logGroups["app"].streams["web"].events = nil
			srv.calls = nil
			srv.mu.Unlock()
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(calls*n)/b.Elapsed().Seconds(), "events/s")
}
