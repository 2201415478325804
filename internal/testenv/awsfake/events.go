package awsfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"
)

// eventBridge speaks JSON 1.1 with the target prefix of its Smithy service
// shape, AWSEvents (service/eventbridge/api_client.go:
// awsjson.New11(schemas.AWSEvents)). Its errors, as type_registry.go and
// types/errors.go name them: ThrottlingException (in the SDK's
// retry.DefaultThrottleErrorCodes) and InternalException (a server fault,
// HTTP 500).
var eventBridge = &service{
	name:     "events",
	proto:    jsonProtocol{target: "AWSEvents"},
	throttle: apiError{status: http.StatusBadRequest, code: "ThrottlingException", message: "Rate exceeded"},
	internal: apiError{status: http.StatusInternalServerError, code: "InternalException", message: "An internal error occurred."},
	actions: map[string]handler{
		"PutEvents": (*Server).putEvents,
	},
}

// PutEvents limits (API_PutEvents.html, the "Calculating PutEvents event
// entry size" page of the EventBridge user guide, and the SDK's
// api_op_PutEvents.go and types.PutEventsRequestEntry):
//
//   - 1 to 10 entries, else the request fails (ValidationException);
//   - the entries' total size at most maxPutEventsBytes, else the request
//     fails with ValidationException "Total size of the entries in the
//     request is over the limit." (as quoted in
//     awslabs/aws-service-catalog-puppet#563). The size of an entry is 14
//     bytes if Time is given, plus the UTF-8 lengths of Source,
//     DetailType, Detail and each of Resources;
//   - Source, DetailType and Detail are required and Detail must be a JSON
//     object; an entry without them fails alone (ErrorCode InvalidArgument
//     or MalformedDetail in its result entry, counted in FailedEntryCount),
//     and a request in which no entry has all three fails whole.
//
// The guide has said "less than 256KB" for years; the SDK model in go.mod
// now says "less than 1MB". The stand-in keeps 256 KiB, inclusive: a batch
// it accepts is accepted by AWS under either rule.
const (
	maxPutEventsEntries = 10
	maxPutEventsBytes   = 256 * 1024
	maxDetailTypeChars  = 128
)

// BusEvent is an event EventBridge accepted.
type BusEvent struct {
	ID         string // the EventId answered
	Source     string
	DetailType string
	Detail     string // the JSON text as sent
	Resources  []string
	// Time is the entry's Time, or when it was put (the stand-in's clock,
	// see SetNow) if it had none.
	Time time.Time
	// EventBusName is the entry's EventBusName (a name or an ARN), "default"
	// if it had none.
	EventBusName string
}

// Events returns a copy of the events EventBridge accepted, in order.
func (s *Server) Events() []BusEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]BusEvent, len(s.busEvents))
	for i, e := range s.busEvents {
		e.Resources = slices.Clone(e.Resources)
		out[i] = e
	}
	return out
}

type putEventsEntry struct {
	Source       *string  `json:"Source"`
	DetailType   *string  `json:"DetailType"`
	Detail       *string  `json:"Detail"`
	Resources    []string `json:"Resources"`
	Time         *float64 `json:"Time"` // epoch seconds (smithy-go WriteTime default)
	EventBusName *string  `json:"EventBusName"`
	TraceHeader  *string  `json:"TraceHeader"`
}

// size is the entry's size as EventBridge counts it.
func (e *putEventsEntry) size() int {
	n := 0
	if e.Time != nil {
		n += 14
	}
	for _, p := range []*string{e.Source, e.DetailType, e.Detail} {
		if p != nil {
			n += len(*p)
		}
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// entryError is why one entry fails, or nil.
func (e *putEventsEntry) entryError() (code, message string) {
	for _, m := range []struct {
		name string
		v    *string
	}{{"Source", e.Source}, {"DetailType", e.DetailType}, {"Detail", e.Detail}} {
		if m.v == nil || *m.v == "" {
			return "InvalidArgument", fmt.Sprintf("Parameter %s is not valid. Reason: %s is a required argument.", m.name, m.name)
		}
	}
	if utf8.RuneCountInString(*e.DetailType) > maxDetailTypeChars {
		return "InvalidArgument", fmt.Sprintf("Parameter DetailType is not valid. Reason: DetailType is longer than %d characters.", maxDetailTypeChars)
	}
	if d := bytes.TrimSpace([]byte(*e.Detail)); len(d) == 0 || d[0] != '{' || !json.Valid(d) {
		return "MalformedDetail", "Detail is malformed."
	}
	return "", ""
}

type putEventsResultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// PutEvents stores the entries that pass and answers one result entry per
// entry, in order.
func (s *Server) putEvents(c *call) (any, error) {
	var in struct {
		Entries    []putEventsEntry `json:"Entries"`
		EndpointID string           `json:"EndpointId"`
	}
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	validation := func(format string, args ...any) error {
		return errorf(http.StatusBadRequest, "ValidationException", format, args...)
	}
	switch n := len(in.Entries); {
	case n < 1:
		return nil, validation("1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: " +
			"Member must have length greater than or equal to 1")
	case n > maxPutEventsEntries:
		return nil, validation("1 validation error detected: Value at 'entries' failed to satisfy constraint: "+
			"Member must have length less than or equal to %d", maxPutEventsEntries)
	}
	total := 0
	for i := range in.Entries {
		total += in.Entries[i].size()
	}
	if total > maxPutEventsBytes {
		return nil, validation("Total size of the entries in the request is over the limit.")
	}

	type output struct {
		FailedEntryCount int                    `json:"FailedEntryCount"`
		Entries          []putEventsResultEntry `json:"Entries"`
	}
	out := output{Entries: make([]putEventsResultEntry, len(in.Entries))}
	for i := range in.Entries {
		if code, msg := in.Entries[i].entryError(); code != "" {
			out.Entries[i] = putEventsResultEntry{ErrorCode: code, ErrorMessage: msg}
			out.FailedEntryCount++
		}
	}
	if out.FailedEntryCount == len(in.Entries) && allLackRequired(in.Entries) {
		return nil, validation("Parameters Source, DetailType and Detail are required; no entry has all three.")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for i, e := range in.Entries {
		if out.Entries[i].ErrorCode != "" {
			continue
		}
		s.seq++
		ev := BusEvent{
			ID:           fmt.Sprintf("6f1d3e2a-0000-4000-8000-%012x", s.seq),
			Source:       *e.Source,
			DetailType:   *e.DetailType,
			Detail:       *e.Detail,
			Resources:    slices.Clone(e.Resources),
			Time:         now.UTC(),
			EventBusName: "default",
		}
		if e.Time != nil {
			sec, frac := math.Modf(*e.Time)
			ev.Time = time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC()
		}
		if e.EventBusName != nil && *e.EventBusName != "" {
			ev.EventBusName = *e.EventBusName
		}
		s.busEvents = append(s.busEvents, ev)
		out.Entries[i].EventID = ev.ID
	}
	return out, nil
}

// allLackRequired reports whether no entry has Source, DetailType and Detail
// all set: then EventBridge fails the whole request (the
// PutEventsRequestEntry documentation).
func allLackRequired(entries []putEventsEntry) bool {
	for _, e := range entries {
		if e.Source != nil && *e.Source != "" && e.DetailType != nil && *e.DetailType != "" && e.Detail != nil && *e.Detail != "" {
			return false
		}
	}
	return true
}
