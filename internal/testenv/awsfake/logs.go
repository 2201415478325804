package awsfake

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// cloudWatchLogs speaks JSON 1.1 with the target prefix of its Smithy service
// shape, Logs_20140328 (service/cloudwatchlogs/schemas: awsjson.New11(
// schemas.Logs_20140328) in api_client.go).
//
// Its errors, as the SDK's type registry (type_registry.go) and
// types/errors.go name them: ThrottlingException (a client fault, in the
// SDK's retry.DefaultThrottleErrorCodes) and ServiceUnavailableException (a
// server fault; no httpError trait, so the protocol's default 500).
var cloudWatchLogs = &service{
	name:     "logs",
	proto:    jsonProtocol{target: "Logs_20140328"},
	throttle: apiError{status: http.StatusBadRequest, code: "ThrottlingException", message: "Rate exceeded"},
	internal: apiError{status: http.StatusInternalServerError, code: "ServiceUnavailableException", message: "The service cannot complete the request."},
	actions: map[string]handler{
		"CreateLogGroup":     (*Server).createLogGroup,
		"CreateLogStream":    (*Server).createLogStream,
		"PutRetentionPolicy": (*Server).putRetentionPolicy,
		"DescribeLogStreams": (*Server).describeLogStreams,
		"PutLogEvents":       (*Server).putLogEvents,
		"GetLogEvents":       (*Server).getLogEvents,
	},
}

// The PutLogEvents limits, from the API reference (API_PutLogEvents.html, and
// the same text in the SDK's api_op_PutLogEvents.go of the version in go.mod):
//
//   - at most 10,000 events; at least one;
//   - at most 1,048,576 bytes, counted as the sum of the messages' UTF-8
//     lengths plus 26 bytes per event;
//   - each event at most 1 MB. The 26 bytes count there too: a lone event
//     of a 1,048,551-byte message is 1,048,577 bytes by the batch rule, so
//     the largest message AWS can take is 1,048,550 bytes (logship's
//     MaxMessageBytes is the same number). Before 2025 the event limit was
//     256 KB, and AWS answered "Log event too large: 262592 bytes exceeds
//     limit of 262144" (quoted in fluent-plugin-cloudwatch-logs#46), counting
//     the 26 then too;
//   - events in chronological order (equal timestamps are fine), else the
//     whole call fails;
//   - events more than 2 hours in the future, older than 14 days, or older
//     than the group's retention are not stored but reported in
//     rejectedLogEventsInfo, and the rest are stored;
//   - the events that are not rejected span at most 24 hours, else the
//     whole call fails.
//
// InputLogEvent (API_InputLogEvent.html): message at least 1 character,
// timestamp at least 0, both required. Errors a request with bad members
// gets are InvalidParameterException, with the validation wording AWS uses.
const (
	maxLogBatchEvents = 10000
	maxLogBatchBytes  = 1 << 20
	logEventOverhead  = 26
	maxLogEventBytes  = 1 << 20
	logMaxFutureSkew  = 2 * time.Hour
	logMaxEventAge    = 14 * 24 * time.Hour
	logMaxBatchSpan   = 24 * time.Hour
	maxGetEvents      = 10000
	maxGetBytes       = 1 << 20
)

// retentionDays are the values PutRetentionPolicy accepts
// (API_PutRetentionPolicy.html).
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// LogEvent is one event stored in a CloudWatch Logs stream.
type LogEvent struct {
	// Timestamp is the event's time as sent, in milliseconds since the Unix
	// epoch.
	Timestamp int64
	Message   string
	// IngestionTime is when the stand-in stored it (its clock, see SetNow),
	// in milliseconds since the Unix epoch.
	IngestionTime int64
}

type logGroup struct {
	name      string
	created   int64 // ms
	retention int   // days; 0: never expire
	streams   map[string]*logStream
}

type logStream struct {
	name    string
	created int64 // ms
	// events in arrival order.
	events []LogEvent
	// byTime is the order of events by timestamp (stable), built when a
	// read needs it and events are not already in that order; nil when they
	// are (inOrder) or it is stale.
	byTime  []int32
	inOrder bool
	// first and last are the smallest and largest timestamps stored;
	// lastIngestion the latest ingestion time; seq counts PutLogEvents calls.
	first, last, lastIngestion int64
	seq                        uint64
}

func millis(t time.Time) int64 { return t.UnixMilli() }

// validGroupName checks a log group name: 1 to 512 of [.-_/#A-Za-z0-9]
// (API_CreateLogGroup.html).
func validGroupName(name string) bool {
	if name == "" || len(name) > 512 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '-' || c == '_' || c == '/' || c == '#') {
			return false
		}
	}
	return true
}

// validStreamName checks a log stream name: 1 to 512 characters, no ':' or
// '*' (API_CreateLogStream.html).
func validStreamName(name string) bool {
	n := utf8.RuneCountInString(name)
	return n >= 1 && n <= 512 && !strings.ContainsAny(name, ":*")
}

func invalidParameter(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "InvalidParameterException", format, args...)
}

func checkGroupName(name string) error {
	if !validGroupName(name) {
		return invalidParameter("1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: "+
			"Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+ and have length between 1 and 512", name)
	}
	return nil
}

func checkStreamName(name string) error {
	if !validStreamName(name) {
		return invalidParameter("1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: "+
			"Member must satisfy regular expression pattern: [^:*]* and have length between 1 and 512", name)
	}
	return nil
}

func groupNotFound() error {
	return errorf(http.StatusBadRequest, "ResourceNotFoundException", "The specified log group does not exist.")
}

func streamNotFound() error {
	return errorf(http.StatusBadRequest, "ResourceNotFoundException", "The specified log stream does not exist.")
}

// groupName resolves logGroupName or logGroupIdentifier (a name or an ARN,
// "arn:aws:logs:<region>:<account>:log-group:<name>[:*]"); exactly one may
// be given.
func groupName(name, identifier string) (string, error) {
	switch {
	case name != "" && identifier != "":
		return "", invalidParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case identifier != "":
		if strings.HasPrefix(identifier, "arn:") {
			_, rest, ok := strings.Cut(identifier, ":log-group:")
			if !ok {
				return "", invalidParameter("Invalid log group ARN %q", identifier)
			}
			identifier = strings.TrimSuffix(rest, ":*")
		}
		name = identifier
	}
	return name, checkGroupName(name)
}

// logGroupLocked returns a group; s.mu must be held.
func (s *Server) logGroupLocked(name string) *logGroup {
	return s.logGroups[name]
}

// PutLogGroup creates a log group, or sets the retention of an existing one
// (retentionDays 0: never expire), for a test's starting state.
func (s *Server) PutLogGroup(name string, retentionDays int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.addLogGroupLocked(name)
	g.retention = retentionDays
}

// PutLogStream creates a log stream, and its group if needed, for a test's
// starting state. An existing stream is kept as it is.
func (s *Server) PutLogStream(group, stream string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.addLogGroupLocked(group)
	if g.streams[stream] == nil {
		g.streams[stream] = s.newLogStreamLocked(stream)
	}
}

// newLogStreamLocked returns an empty stream created now; s.mu must be held.
func (s *Server) newLogStreamLocked(name string) *logStream {
	return &logStream{name: name, created: millis(s.now()), inOrder: true}
}

func (s *Server) addLogGroupLocked(name string) *logGroup {
	if s.logGroups == nil {
		s.logGroups = make(map[string]*logGroup)
	}
	g := s.logGroups[name]
	if g == nil {
		g = &logGroup{name: name, created: millis(s.now()), streams: make(map[string]*logStream)}
		s.logGroups[name] = g
	}
	return g
}

// LogGroup reports whether a log group exists and its retention in days (0:
// never expire).
func (s *Server) LogGroup(name string) (retentionDays int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.logGroupLocked(name)
	if g == nil {
		return 0, false
	}
	return g.retention, true
}

// LogStreams returns the names of the streams of a log group, sorted; nil if
// the group does not exist.
func (s *Server) LogStreams(group string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.logGroupLocked(group)
	if g == nil {
		return nil
	}
	names := make([]string, 0, len(g.streams))
	for n := range g.streams {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LogEvents returns a copy of the events stored in a stream, in the order
// they arrived; nil if the stream does not exist.
func (s *Server) LogEvents(group, stream string) []LogEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.logStreamLocked(group, stream)
	if st == nil {
		return nil
	}
	return slices.Clone(st.events)
}

// LogEventCount returns how many events a stream holds, without copying
// them; 0 if it does not exist.
func (s *Server) LogEventCount(group, stream string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.logStreamLocked(group, stream); st != nil {
		return len(st.events)
	}
	return 0
}

func (s *Server) logStreamLocked(group, stream string) *logStream {
	g := s.logGroupLocked(group)
	if g == nil {
		return nil
	}
	return g.streams[stream]
}

// CreateLogGroup (API_CreateLogGroup.html). kmsKeyId, tags and
// logGroupClass are accepted and ignored.
func (s *Server) createLogGroup(c *call) (any, error) {
	var in struct {
		LogGroupName string `json:"logGroupName"`
	}
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	if err := checkGroupName(in.LogGroupName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logGroupLocked(in.LogGroupName) != nil {
		return nil, errorf(http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified log group already exists")
	}
	s.addLogGroupLocked(in.LogGroupName)
	return nil, nil
}

// CreateLogStream (API_CreateLogStream.html).
func (s *Server) createLogStream(c *call) (any, error) {
	var in struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
	}
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	if err := checkGroupName(in.LogGroupName); err != nil {
		return nil, err
	}
	if err := checkStreamName(in.LogStreamName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.logGroupLocked(in.LogGroupName)
	switch {
	case g == nil:
		return nil, groupNotFound()
	case g.streams[in.LogStreamName] != nil:
		return nil, errorf(http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified log stream already exists")
	}
	g.streams[in.LogStreamName] = s.newLogStreamLocked(in.LogStreamName)
	return nil, nil
}

// PutRetentionPolicy (API_PutRetentionPolicy.html).
func (s *Server) putRetentionPolicy(c *call) (any, error) {
	var in struct {
		LogGroupName    string `json:"logGroupName"`
		RetentionInDays *int   `json:"retentionInDays"`
	}
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	if err := checkGroupName(in.LogGroupName); err != nil {
		return nil, err
	}
	if in.RetentionInDays == nil || !slices.Contains(retentionDays, *in.RetentionInDays) {
		got := "null"
		if in.RetentionInDays != nil {
			got = strconv.Itoa(*in.RetentionInDays)
		}
		return nil, invalidParameter("1 validation error detected: Value '%s' at 'retentionInDays' failed to satisfy constraint: "+
			"Member must satisfy enum value set: %v", got, retentionDays)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.logGroupLocked(in.LogGroupName)
	if g == nil {
		return nil, groupNotFound()
	}
	g.retention = *in.RetentionInDays
	return nil, nil
}

type logStreamOut struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
	UploadSequenceToken string `json:"uploadSequenceToken,omitempty"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

// DescribeLogStreams (API_DescribeLogStreams.html): logStreamNamePrefix,
// orderBy LogStreamName (default) or LastEventTime (not with a prefix),
// descending, limit 1..50 (default 50), nextToken.
func (s *Server) describeLogStreams(c *call) (any, error) {
	var in struct {
		LogGroupName        string `json:"logGroupName"`
		LogGroupIdentifier  string `json:"logGroupIdentifier"`
		LogStreamNamePrefix string `json:"logStreamNamePrefix"`
		OrderBy             string `json:"orderBy"`
		Descending          bool   `json:"descending"`
		Limit               *int   `json:"limit"`
		NextToken           string `json:"nextToken"`
	}
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	name, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	limit := 50
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 50 {
			return nil, invalidParameter("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: "+
				"Member must have value between 1 and 50", *in.Limit)
		}
		limit = *in.Limit
	}
	switch in.OrderBy {
	case "", "LogStreamName":
	case "LastEventTime":
		if in.LogStreamNamePrefix != "" {
			return nil, invalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
		}
	default:
		return nil, invalidParameter("1 validation error detected: Value '%s' at 'orderBy' failed to satisfy constraint: "+
			"Member must satisfy enum value set: [LogStreamName, LastEventTime]", in.OrderBy)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.logGroupLocked(name)
	if g == nil {
		return nil, groupNotFound()
	}
	var streams []*logStream
	for n, st := range g.streams {
		if strings.HasPrefix(n, in.LogStreamNamePrefix) {
			streams = append(streams, st)
		}
	}
	sort.Slice(streams, func(i, j int) bool {
		a, b := streams[i], streams[j]
		if in.OrderBy == "LastEventTime" && a.last != b.last {
			return a.last < b.last
		}
		return a.name < b.name
	})
	if in.Descending {
		slices.Reverse(streams)
	}
	from, to, next, err := page(len(streams), in.NextToken, limit)
	if err != nil {
		return nil, invalidParameter("The specified nextToken is invalid.")
	}
	type output struct {
		LogStreams []logStreamOut `json:"logStreams"`
		NextToken  string         `json:"nextToken,omitempty"`
	}
	out := output{LogStreams: []logStreamOut{}, NextToken: next}
	region := cmp.Or(c.Region, "us-east-1")
	for _, st := range streams[from:to] {
		o := logStreamOut{
			LogStreamName: st.name,
			CreationTime:  st.created,
			Arn:           fmt.Sprintf("arn:aws:logs:%s:123456789012:log-group:%s:log-stream:%s", region, g.name, st.name),
		}
		if len(st.events) > 0 {
			first, last, ingested := st.first, st.last, st.lastIngestion
			o.FirstEventTimestamp, o.LastEventTimestamp, o.LastIngestionTime = &first, &last, &ingested
		}
		if st.seq > 0 {
			o.UploadSequenceToken = sequenceToken(st.seq)
		}
		out.LogStreams = append(out.LogStreams, o)
	}
	return out, nil
}

// sequenceToken formats a stream's upload count the way AWS's tokens look (a
// long decimal number). AWS ignores the tokens it is sent since 2023; so does
// the stand-in.
func sequenceToken(seq uint64) string {
	return fmt.Sprintf("4963%052d", seq)
}

// putLogEventsInput is PutLogEvents' input, decoded into types rather than a
// map: a benchmark pushes a million events through it.
type putLogEventsInput struct {
	LogGroupName  string          `json:"logGroupName"`
	LogStreamName string          `json:"logStreamName"`
	LogEvents     []inputLogEvent `json:"logEvents"`
	SequenceToken *string         `json:"sequenceToken"`
}

type inputLogEvent struct {
	Timestamp *int64 `json:"timestamp"`
	Message   string `json:"message"`
}

type rejectedLogEventsInfo struct {
	TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
}

// PutLogEvents checks a batch against every limit AWS enforces (see the
// constants above) and stores the events that are neither too old, expired
// nor too new. The call log keeps a summary of the input instead of the
// events: Input["logEvents"] is {"count": n, "bytes": batch size as AWS
// counts it}.
func (s *Server) putLogEvents(c *call) (any, error) {
	var in putLogEventsInput
	if err := decodeTyped(c, &in); err != nil {
		return nil, err
	}
	size := 0
	for _, e := range in.LogEvents {
		size += len(e.Message) + logEventOverhead
	}
	c.Input = map[string]any{
		"logGroupName":  in.LogGroupName,
		"logStreamName": in.LogStreamName,
		"logEvents":     map[string]any{"count": len(in.LogEvents), "bytes": size},
	}
	if in.SequenceToken != nil {
		c.Input["sequenceToken"] = *in.SequenceToken
	}

	if err := checkGroupName(in.LogGroupName); err != nil {
		return nil, err
	}
	if err := checkStreamName(in.LogStreamName); err != nil {
		return nil, err
	}
	switch n := len(in.LogEvents); {
	case n < 1:
		return nil, invalidParameter("1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: " +
			"Member must have length greater than or equal to 1")
	case n > maxLogBatchEvents:
		return nil, invalidParameter("1 validation error detected: Value at 'logEvents' failed to satisfy constraint: "+
			"Member must have length less than or equal to %d", maxLogBatchEvents)
	}
	for i, e := range in.LogEvents {
		switch {
		case e.Timestamp == nil:
			return nil, invalidParameter("1 validation error detected: Value null at 'logEvents.%d.member.timestamp' failed to satisfy constraint: "+
				"Member must not be null", i+1)
		case *e.Timestamp < 0:
			return nil, invalidParameter("1 validation error detected: Value '%d' at 'logEvents.%d.member.timestamp' failed to satisfy constraint: "+
				"Member must have value greater than or equal to 0", *e.Timestamp, i+1)
		case e.Message == "":
			return nil, invalidParameter("1 validation error detected: Value '' at 'logEvents.%d.member.message' failed to satisfy constraint: "+
				"Member must have length greater than or equal to 1", i+1)
		case len(e.Message)+logEventOverhead > maxLogEventBytes:
			return nil, invalidParameter("Log event too large: %d bytes exceeds limit of %d", len(e.Message)+logEventOverhead, maxLogEventBytes)
		case i > 0 && *e.Timestamp < *in.LogEvents[i-1].Timestamp:
			return nil, invalidParameter("Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	if size > maxLogBatchBytes {
		return nil, invalidParameter("Upload too large: %d bytes exceeds limit of %d", size, maxLogBatchBytes)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.logGroupLocked(in.LogGroupName)
	if g == nil {
		return nil, groupNotFound()
	}
	st := g.streams[in.LogStreamName]
	if st == nil {
		return nil, streamNotFound()
	}

	// Events are in order, so the too old ones are a prefix, then come the
	// expired ones, and the too new ones are a suffix.
	now := s.now()
	nowMs := millis(now)
	oldest := millis(now.Add(-logMaxEventAge))
	newest := millis(now.Add(logMaxFutureSkew))
	expiredBefore := int64(-1)
	if g.retention > 0 {
		expiredBefore = millis(now.Add(-time.Duration(g.retention) * 24 * time.Hour))
	}
	n := len(in.LogEvents)
	tooOld := sort.Search(n, func(i int) bool { return *in.LogEvents[i].Timestamp >= oldest })
	expired := sort.Search(n, func(i int) bool { return *in.LogEvents[i].Timestamp >= expiredBefore })
	tooNew := sort.Search(n, func(i int) bool { return *in.LogEvents[i].Timestamp > newest })
	from := max(tooOld, expired)
	valid := in.LogEvents[min(from, tooNew):tooNew]
	if len(valid) > 0 && *valid[len(valid)-1].Timestamp-*valid[0].Timestamp > logMaxBatchSpan.Milliseconds() {
		return nil, invalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}

	type output struct {
		NextSequenceToken     string                 `json:"nextSequenceToken"`
		RejectedLogEventsInfo *rejectedLogEventsInfo `json:"rejectedLogEventsInfo,omitempty"`
	}
	var out output
	if tooOld > 0 || expired > tooOld || tooNew < n {
		r := &rejectedLogEventsInfo{}
		if tooOld > 0 {
			r.TooOldLogEventEndIndex = &tooOld
		}
		// An event both too old and expired is reported as too old only:
		// what AWS reports for it is not documented.
		if expired > tooOld {
			r.ExpiredLogEventEndIndex = &expired
		}
		if tooNew < n {
			r.TooNewLogEventStartIndex = &tooNew
		}
		out.RejectedLogEventsInfo = r
	}

	if len(valid) > 0 {
		if len(st.events) == 0 {
			st.first, st.last = *valid[0].Timestamp, *valid[0].Timestamp
		}
		if *valid[0].Timestamp < st.last {
			st.inOrder = false
		}
		st.byTime = nil
		st.events = slices.Grow(st.events, len(valid))
		for _, e := range valid {
			st.events = append(st.events, LogEvent{Timestamp: *e.Timestamp, Message: e.Message, IngestionTime: nowMs})
		}
		st.first = min(st.first, *valid[0].Timestamp)
		st.last = max(st.last, *valid[len(valid)-1].Timestamp)
		st.lastIngestion = nowMs
	}
	st.seq++
	out.NextSequenceToken = sequenceToken(st.seq)
	return out, nil
}

// timeOrder returns the stream's events in timestamp order (stable), as
// AWS reads them back; s.mu must be held.
func (st *logStream) timeOrder() func(i int) *LogEvent {
	if st.inOrder {
		return func(i int) *LogEvent { return &st.events[i] }
	}
	if st.byTime == nil {
		st.byTime = make([]int32, len(st.events))
		for i := range st.byTime {
			st.byTime[i] = int32(i)
		}
		slices.SortStableFunc(st.byTime, func(a, b int32) int {
			return cmp.Compare(st.events[a].Timestamp, st.events[b].Timestamp)
		})
	}
	return func(i int) *LogEvent { return &st.events[st.byTime[i]] }
}

type outputLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

// GetLogEvents (API_GetLogEvents.html) reads a stream in timestamp order:
// events with startTime <= timestamp < endTime, at most limit (default and
// maximum 10,000) and at most 1 MB of them (messages + 26 bytes each). With
// startFromHead it starts at the oldest, else it returns the newest. Tokens
// are "f/<position>" (read on from there) and "b/<position>" (read back
// from there); at the end of the stream nextForwardToken is the token sent,
// which is how the SDK's paginator (StopOnDuplicateToken) knows to stop.
func (s *Server) getLogEvents(c *call) (any, error) {
	var in struct {
		LogGroupName       string `json:"logGroupName"`
		LogGroupIdentifier string `json:"logGroupIdentifier"`
		LogStreamName      string `json:"logStreamName"`
		StartTime          *int64 `json:"startTime"`
		EndTime            *int64 `json:"endTime"`
		NextToken          string `json:"nextToken"`
		Limit              *int   `json:"limit"`
		StartFromHead      bool   `json:"startFromHead"`
	}
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	name, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if err := checkStreamName(in.LogStreamName); err != nil {
		return nil, err
	}
	limit := maxGetEvents
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > maxGetEvents {
			return nil, invalidParameter("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: "+
				"Member must have value between 1 and %d", *in.Limit, maxGetEvents)
		}
		limit = *in.Limit
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.logGroupLocked(name)
	if g == nil {
		return nil, groupNotFound()
	}
	st := g.streams[in.LogStreamName]
	if st == nil {
		return nil, streamNotFound()
	}
	at := st.timeOrder()
	n := len(st.events)
	lo, hi := 0, n
	if in.StartTime != nil {
		lo = sort.Search(n, func(i int) bool { return at(i).Timestamp >= *in.StartTime })
	}
	if in.EndTime != nil {
		hi = max(lo, sort.Search(n, func(i int) bool { return at(i).Timestamp >= *in.EndTime }))
	}

	forward, pos := in.StartFromHead, lo
	if !in.StartFromHead {
		pos = hi
	}
	if in.NextToken != "" {
		dir, num, ok := strings.Cut(in.NextToken, "/")
		p, err := strconv.Atoi(num)
		if !ok || err != nil || (dir != "f" && dir != "b") {
			return nil, invalidParameter("The specified nextToken is invalid.")
		}
		forward, pos = dir == "f", min(max(p, lo), hi)
	}

	from, to := pos, pos
	if forward {
		for bytes := 0; to < hi && to-from < limit; to++ {
			if bytes += len(at(to).Message) + logEventOverhead; bytes > maxGetBytes && to > from {
				break
			}
		}
	} else {
		for bytes := 0; from > lo && to-from < limit; from-- {
			if bytes += len(at(from-1).Message) + logEventOverhead; bytes > maxGetBytes && to > from {
				break
			}
		}
	}
	type output struct {
		Events            []outputLogEvent `json:"events"`
		NextForwardToken  string           `json:"nextForwardToken"`
		NextBackwardToken string           `json:"nextBackwardToken"`
	}
	out := output{
		Events:            make([]outputLogEvent, 0, to-from),
		NextForwardToken:  "f/" + strconv.Itoa(to),
		NextBackwardToken: "b/" + strconv.Itoa(from),
	}
	for i := from; i < to; i++ {
		e := at(i)
		out.Events = append(out.Events, outputLogEvent{Timestamp: e.Timestamp, Message: e.Message, IngestionTime: e.IngestionTime})
	}
	return out, nil
}
