package awsenv

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// LogsClient makes the four CloudWatch Logs calls log shipping needs by hand, with the
// SDK's input and output types: the SDK's cloudwatchlogs client took about 150 KB of the
// Windows binary (its serializers and endpoint rules) and its middleware stack ran on
// every PutLogEvents, for what is one signed JSON POST (CloudWatch Logs API reference;
// the awsJson1_1 protocol, X-Amz-Target Logs_20140328.<Operation>). PutLogEvents is
// tried once: the log shipper retries it itself, without end, counting every failure.
// The others are tried up to three times, as the SDK's standard retryer would.
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
// batch, encoded and compressed once. optFns are the SDK's and are not used.
func (c *LogsClient) PutLogEvents(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error) {
	rb, _ := ctx.Value(requestBodyKey{}).(*RequestBody)
	if rb == nil {
		req := putLogEvents{LogGroupName: aws.ToString(in.LogGroupName), LogStreamName: aws.ToString(in.LogStreamName),
			LogEvents: make([]logEvent, len(in.LogEvents)), SequenceToken: aws.ToString(in.SequenceToken)}
		for i, e := range in.LogEvents {
			req.LogEvents[i] = logEvent{Timestamp: aws.ToInt64(e.Timestamp), Message: aws.ToString(e.Message)}
		}
		body, err := json.Marshal(req)
		if err != nil {
			return nil, err
		}
		rb = &RequestBody{Data: body}
	}
	out := &cloudwatchlogs.PutLogEventsOutput{}
	if err := c.c.callBody(ctx, "PutLogEvents", 1, rb, out); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateLogGroup creates the group in.LogGroupName.
func (c *LogsClient) CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error) {
	body, err := json.Marshal(struct {
		LogGroupName string `json:"logGroupName"`
	}{aws.ToString(in.LogGroupName)})
	if err == nil {
		err = c.c.call(ctx, "CreateLogGroup", logsAttempts, body, nil)
	}
	if err != nil {
		return nil, err
	}
	return &cloudwatchlogs.CreateLogGroupOutput{}, nil
}

// CreateLogStream creates the stream in.LogStreamName in the group in.LogGroupName.
func (c *LogsClient) CreateLogStream(ctx context.Context, in *cloudwatchlogs.CreateLogStreamInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error) {
	body, err := json.Marshal(struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
	}{aws.ToString(in.LogGroupName), aws.ToString(in.LogStreamName)})
	if err == nil {
		err = c.c.call(ctx, "CreateLogStream", logsAttempts, body, nil)
	}
	if err != nil {
		return nil, err
	}
	return &cloudwatchlogs.CreateLogStreamOutput{}, nil
}

// PutRetentionPolicy sets the group's retention in days.
func (c *LogsClient) PutRetentionPolicy(ctx context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error) {
	body, err := json.Marshal(struct {
		LogGroupName    string `json:"logGroupName"`
		RetentionInDays int32  `json:"retentionInDays"`
	}{aws.ToString(in.LogGroupName), aws.ToInt32(in.RetentionInDays)})
	if err == nil {
		err = c.c.call(ctx, "PutRetentionPolicy", logsAttempts, body, nil)
	}
	if err != nil {
		return nil, err
	}
	return &cloudwatchlogs.PutRetentionPolicyOutput{}, nil
}
