package awsfake

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func eventsClient(srv *Server, maxAttempts int) *eventbridge.Client {
	return eventbridge.NewFromConfig(sdkConfig(srv, maxAttempts))
}

func entry(source, detailType, detail string) types.PutEventsRequestEntry {
	e := types.PutEventsRequestEntry{}
	if source != "" {
		e.Source = aws.String(source)
	}
	if detailType != "" {
		e.DetailType = aws.String(detailType)
	}
	if detail != "" {
		e.Detail = aws.String(detail)
	}
	return e
}

func TestPutEvents(t *testing.T) {
	srv := Start(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv.SetNow(func() time.Time { return now })
	c := eventsClient(srv, 1)

	at := time.Date(2026, 2, 28, 1, 2, 3, 456e6, time.UTC)
	first := entry("stackhand.agent", "Hook Failed", `{"hook": "reload", "exit": 1}`)
	first.Time = &at
	first.Resources = []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-001"}
	first.EventBusName = aws.String("ops")
	out, err := c.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		first, entry("stackhand.agent", "Heartbeat", `{}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 0 || len(out.Entries) != 2 || aws.ToString(out.Entries[0].EventId) == "" ||
		aws.ToString(out.Entries[0].EventId) == aws.ToString(out.Entries[1].EventId) {
		t.Errorf("output %+v", out)
	}
	evs := srv.Events()
	if len(evs) != 2 {
		t.Fatalf("events %+v", evs)
	}
	if e := evs[0]; e.Source != "stackhand.agent" || e.DetailType != "Hook Failed" || e.Detail != `{"hook": "reload", "exit": 1}` ||
		!e.Time.Equal(at) || e.EventBusName != "ops" || fmt.Sprint(e.Resources) != "[arn:aws:ec2:us-east-1:123456789012:instance/i-001]" ||
		e.ID != aws.ToString(out.Entries[0].EventId) {
		t.Errorf("first event %+v", e)
	}
	if e := evs[1]; !e.Time.Equal(now) || e.EventBusName != "default" {
		t.Errorf("second event %+v", e)
	}
}

func TestPutEventsEntryErrors(t *testing.T) {
	srv := Start(t)
	c := eventsClient(srv, 1)
	out, err := c.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		entry("src", "type", ""),            // no Detail
		entry("src", "type", `{"ok":true}`), // fine
		entry("src", "type", `[1, 2]`),      // not an object
		entry("src", "type", `{"a":`),       // not JSON
		entry("", "type", `{}`),             // no Source
		entry("src", strings.Repeat("t", 129), `{}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, e := range out.Entries {
		if e.ErrorCode != nil {
			codes = append(codes, aws.ToString(e.ErrorCode))
			if e.EventId != nil || aws.ToString(e.ErrorMessage) == "" {
				t.Errorf("failed entry %+v", e)
			}
		} else {
			codes = append(codes, "ok")
		}
	}
	if out.FailedEntryCount != 5 || fmt.Sprint(codes) != "[InvalidArgument ok MalformedDetail MalformedDetail InvalidArgument InvalidArgument]" {
		t.Errorf("failed %d: %v", out.FailedEntryCount, codes)
	}
	if evs := srv.Events(); len(evs) != 1 || evs[0].Detail != `{"ok":true}` {
		t.Errorf("stored %+v", evs)
	}
}

func TestPutEventsLimits(t *testing.T) {
	// One entry of exactly maxPutEventsBytes: Time (14) + Source (3) +
	// DetailType (4) + a resource (10) + Detail.
	sized := func(total int) types.PutEventsRequestEntry {
		at := time.Now()
		pad := total - 14 - 3 - 4 - 10 - len(`{"p":""}`)
		e := entry("src", "type", `{"p":"`+strings.Repeat("é", pad/2)+strings.Repeat("x", pad%2)+`"}`)
		e.Time, e.Resources = &at, []string{"0123456789"}
		return e
	}
	ten := make([]types.PutEventsRequestEntry, 10)
	for i := range ten {
		ten[i] = entry("src", "type", `{}`)
	}
	tests := []struct {
		name    string
		entries []types.PutEventsRequestEntry
		wantErr string // substring of the ValidationException message; "" for success
	}{
		{"10 entries", ten, ""},
		{"11 entries", append(ten[:10:10], entry("src", "type", `{}`)), "less than or equal to 10"},
		{"no entries", []types.PutEventsRequestEntry{}, "greater than or equal to 1"},
		{"256 KiB", []types.PutEventsRequestEntry{sized(256 * 1024)}, ""},
		{"256 KiB + 1", []types.PutEventsRequestEntry{sized(256*1024 + 1)}, "Total size of the entries"},
		{"256 KiB over several", []types.PutEventsRequestEntry{sized(128 * 1024), sized(128*1024 + 1)}, "Total size of the entries"},
		{"no entry complete", []types.PutEventsRequestEntry{entry("src", "", `{}`), entry("", "t", `{}`)}, "required"},
	}
	srv := Start(t)
	c := eventsClient(srv, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.Events())
			out, err := c.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: tt.entries})
			if tt.wantErr == "" {
				if err != nil || out.FailedEntryCount != 0 {
					t.Fatalf("%v %+v", err, out)
				}
				if n := len(srv.Events()) - before; n != len(tt.entries) {
					t.Errorf("stored %d of %d", n, len(tt.entries))
				}
				return
			}
			if code, msg := apiCode(t, err); code != "ValidationException" || !strings.Contains(msg, tt.wantErr) {
				t.Errorf("want ValidationException %q, got %s %q", tt.wantErr, code, msg)
			}
			if n := len(srv.Events()) - before; n != 0 {
				t.Errorf("a failed request stored %d events", n)
			}
		})
	}
}

func TestPutEventsFaults(t *testing.T) {
	srv := Start(t)
	c := eventsClient(srv, 2)
	put := func() error {
		_, err := c.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{entry("s", "t", `{}`)}})
		return err
	}
	srv.SetFaults(Faults{ThrottleRate: 1, Only: map[string]bool{"events:PutEvents": true}})
	err := put()
	var throttled *types.ThrottlingException
	if !errors.As(err, &throttled) || retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
		t.Errorf("want a ThrottlingException the SDK sees as a throttle, got %v", err)
	}
	srv.SetFaults(Faults{ServerErrorRate: 1, Only: map[string]bool{"events:*": true}})
	err = put()
	var internal *types.InternalException
	var re *smithyhttp.ResponseError
	if !errors.As(err, &internal) || !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Errorf("want InternalException (500), got %v", err)
	}
	if n := srv.Calls("events", "PutEvents"); n != 4 {
		t.Errorf("%d attempts, want 4", n)
	}
	if len(srv.Events()) != 0 {
		t.Error("a faulted call stored events")
	}
}
