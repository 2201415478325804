package awsenv

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// LogsClient makes the four CloudWatch Logs calls log shipping needs by hand, with
// input and output types of its own: the SDK's cloudwatchlogs package, even with only
// its types used, linked its schemas, endpoint rules and their init into the binary
// (hundreds of KB of the Windows one, which has a 16 MiB limit), for what is one signed
// JSON POST per call (CloudWatch Logs API reference; the awsJson1_1 protocol,
// X-Amz-Target Logs_20140328.<Operation>). PutLogEvents is tried once: the log shipper
// retries it itself, without end, counting every failure. The others are tried up to
// three times, as the SDK's standard retryer would.
type LogsClient struct {
	c jsonClient
}

// logsAttempts is how many times a call other than PutLogEvents is tried.
const logsAttempts = 3

// CloudWatchLogs returns the CloudWatch Logs client (log shipping).
func (e *Env) CloudWatchLogs() *LogsClient { return NewLogsClient(e.Config, e.opts.CallTimeout) }

// NewLogsClient returns a client with cfg's credentials, region and HTTP client. The
// endpoint is AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, else cfg's base endpoint
// (AWS_ENDPOINT_URL), else the region's.
func NewLogsClient(cfg aws.Config, callTimeout time.Duration) *LogsClient {
	if callTimeout <= 0 {
		callTimeout = DefaultCallTimeout
	}
	return &LogsClient{c: jsonClient{cfg: cfg, service: "CloudWatch Logs", signing: "logs", target: "Logs_20140328",
		endpoint: serviceEndpoint(cfg, "CLOUDWATCH_LOGS", "logs"), http: serviceHTTP(cfg, callTimeout), timeout: callTimeout, sleep: sleepCtx}}
}

// The members of CloudWatch Logs' requests and answers that log shipping uses, named as
// the API reference names them.
type (
	// InputLogEvent is one event of a PutLogEvents request.
	InputLogEvent struct {
		Timestamp int64 // milliseconds since the epoch
		Message   string
	}
	// PutLogEventsInput is a PutLogEvents request. A caller that made the body itself
	// passes it with WithRequestBody and leaves LogEvents empty.
	PutLogEventsInput struct {
		LogGroupName, LogStreamName string
		LogEvents                   []InputLogEvent
		SequenceToken               string
	}
	// PutLogEventsOutput is PutLogEvents' answer.
	PutLogEventsOutput struct {
		NextSequenceToken     string                 `json:"nextSequenceToken"`
		RejectedLogEventsInfo *RejectedLogEventsInfo `json:"rejectedLogEventsInfo"`
	}
	// RejectedLogEventsInfo tells which events of a batch were not stored; a nil index
	// is one the answer left out.
	RejectedLogEventsInfo struct {
		TooNewLogEventStartIndex *int32 `json:"tooNewLogEventStartIndex"`
		TooOldLogEventEndIndex   *int32 `json:"tooOldLogEventEndIndex"`
		ExpiredLogEventEndIndex  *int32 `json:"expiredLogEventEndIndex"`
	}
	// CreateLogGroupInput creates a group.
	CreateLogGroupInput struct{ LogGroupName string }
	// CreateLogStreamInput creates a stream in a group.
	CreateLogStreamInput struct{ LogGroupName, LogStreamName string }
	// PutRetentionPolicyInput sets a group's retention.
	PutRetentionPolicyInput struct {
		LogGroupName    string
		RetentionInDays int32
	}
)

// logEvent and putLogEvents are PutLogEvents' request on the wire.
type logEvent struct {
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

type putLogEvents struct {
	LogGroupName  string     `json:"logGroupName"`
	LogStreamName string     `json:"logStreamName"`
	LogEvents     []logEvent `json:"logEvents"`
	SequenceToken string     `json:"sequenceToken,omitempty"`
}

// PutLogEvents sends in, or the body ctx carries (WithRequestBody): the log shipper's
// batch, encoded and compressed once.
func (c *LogsClient) PutLogEvents(ctx context.Context, in *PutLogEventsInput) (*PutLogEventsOutput, error) {
	rb, _ := ctx.Value(requestBodyKey{}).(*RequestBody)
	if rb == nil {
		req := putLogEvents{LogGroupName: in.LogGroupName, LogStreamName: in.LogStreamName,
			LogEvents: make([]logEvent, len(in.LogEvents)), SequenceToken: in.SequenceToken}
		for i, e := range in.LogEvents {
			req.LogEvents[i] = logEvent(e)
		}
		body, err := json.Marshal(req)
		if err != nil {
			return nil, err
		}
		rb = &RequestBody{Data: body}
	}
	out := &PutLogEventsOutput{}
	if err := c.c.callBody(ctx, "PutLogEvents", 1, rb, out); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateLogGroup creates the group in.LogGroupName.
func (c *LogsClient) CreateLogGroup(ctx context.Context, in *CreateLogGroupInput) error {
	body, err := json.Marshal(struct {
		LogGroupName string `json:"logGroupName"`
	}{in.LogGroupName})
	if err != nil {
		return err
	}
	return c.c.call(ctx, "CreateLogGroup", logsAttempts, body, nil)
}

// CreateLogStream creates the stream in.LogStreamName in the group in.LogGroupName.
func (c *LogsClient) CreateLogStream(ctx context.Context, in *CreateLogStreamInput) error {
	body, err := json.Marshal(struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
	}{in.LogGroupName, in.LogStreamName})
	if err != nil {
		return err
	}
	return c.c.call(ctx, "CreateLogStream", logsAttempts, body, nil)
}

// PutRetentionPolicy sets the group's retention in days.
func (c *LogsClient) PutRetentionPolicy(ctx context.Context, in *PutRetentionPolicyInput) error {
	body, err := json.Marshal(struct {
		LogGroupName    string `json:"logGroupName"`
		RetentionInDays int32  `json:"retentionInDays"`
	}{in.LogGroupName, in.RetentionInDays})
	if err != nil {
		return err
	}
	return c.c.call(ctx, "PutRetentionPolicy", logsAttempts, body, nil)
}
