// Package awsfake is an AWS stand-in for tests and benchmarks: an HTTP server on
// 127.0.0.1 that speaks the wire protocols the current aws-sdk-go-v2 clients send,
// so the real clients can be pointed at it through their standard endpoint
// settings (aws.Config.BaseEndpoint, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>)
// with any credentials.
//
// It implements only the calls stackhand makes:
//
//   - CloudFormation (query protocol): DescribeStackResource, DescribeStacks.
//   - EC2 (EC2 query protocol): DescribeTags, DescribeInstances.
//   - Auto Scaling (query protocol): DescribeAutoScalingGroups,
//     DescribeLifecycleHooks, RecordLifecycleActionHeartbeat,
//     CompleteLifecycleAction, SetInstanceHealth (recorded, see HealthCalls).
//   - CloudWatch (Smithy RPC v2 CBOR, gzip bodies): PutMetricData (checked
//     against AWS's limits, kept for MetricData), PutMetricAlarm,
//     DescribeAlarms, DeleteAlarms (see Alarms).
//   - CloudWatch Logs (JSON 1.1): CreateLogGroup, CreateLogStream,
//     PutRetentionPolicy, DescribeLogStreams, PutLogEvents (checked against
//     every PutLogEvents limit; see LogEvents, LogEventCount, LogStreams,
//     LogGroup), GetLogEvents.
//   - EventBridge (JSON 1.1): PutEvents (entry count, total size, per-entry
//     failures; see Events).
//   - S3 (REST, path-style or virtual-hosted): GetObject of objects seeded with
//     PutObject, every version kept (versionId), byte ranges answered 206,
//     If-Match, ETag, NoSuchBucket/NoSuchKey/NoSuchVersion 404 and AccessDenied
//     403 (DenyBucket) in S3's XML error shape; Faults.CutBodyAfter stops a body
//     half-way (s3.go).
//   - Systems Manager (JSON 1.1): GetParameter of parameters seeded with
//     PutParameter, each put a new version; ParameterNotFound,
//     AccessDeniedException (DenyParameter) (ssm.go).
//
// A request is routed to its service by the credential scope of its SigV4
// Authorization header (".../<region>/<service>/aws4_request"). CloudFormation
// also accepts cfn-hup's "CFN_V1 <document>:<signature>" scheme for
// DescribeStackResource (other actions answer it with AccessDenied); a request with
// neither is answered with MissingAuthenticationToken, in the shape of the
// service its Action (or RPC v2 path) belongs to. Every call is logged with
// its parameters and the auth scheme seen, counted per service and action,
// and may be answered with an injected fault (see Faults).
//
// Pagination is supported simply: DescribeInstances and DescribeTags honour
// MaxResults (5..1000) and DescribeAutoScalingGroups MaxRecords (1..100,
// default 50); NextToken is an opaque offset into the sorted result, so the
// SDK's paginators work.
//
// Element names, list encodings and error shapes follow the SDK's generated
// serializers and deserializers (service/{cloudformation,ec2,autoscaling}/
// {serializers,deserializers}.go) and aws/protocol/{xml,ec2query}/error_utils.go
// of the versions in go.mod; comments cite them where it matters.
//
// JSON 1.1 (json11.go) is POST / with X-Amz-Target: <prefix>.<Action> and a
// JSON body, gzipped or not (Content-Encoding: gzip); replies are JSON and
// errors {"__type", "message"} with the X-Amzn-ErrorType header, as smithy-go's
// transport/http/protocol/awsjson reads them. The decoded input is kept in
// Call.Input, except PutLogEvents' events, which are summarised (count and
// bytes) so a benchmark's million events are not kept twice. Services that
// compare times with the present (CloudWatch Logs' event age limits) read a
// clock a test can set with SetNow.
//
// Adding a service means adding one file that declares its handlers in a
// service value and registers it in services (see server.go). Services that
// speak other protocols (JSON 1.1 for CloudWatch Logs, RPC v2 CBOR for
// CloudWatch) plug in as another protocol implementation.
package awsfake
