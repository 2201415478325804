package awsfake

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// queryProtocol is the AWS query protocol (awsQuery) and its EC2 dialect
// (ec2Query). Requests are form-encoded "Action=...&Version=..." bodies (POST)
// or query strings (GET); replies are XML.
//
// awsQuery (CloudFormation, Auto Scaling), as read by the SDK's
// awsAwsquery_deserializeOp* functions:
//
//	<ActionResponse xmlns="ns"><ActionResult>...</ActionResult>
//	  <ResponseMetadata><RequestId>id</RequestId></ResponseMetadata></ActionResponse>
//	<ErrorResponse xmlns="ns"><Error><Type>Sender</Type><Code>c</Code><Message>m</Message></Error>
//	  <RequestId>id</RequestId></ErrorResponse>
//
// The error shape is what aws/protocol/xml/error_utils.go reads with
// noErrorWrapping=false (Error>Code, Error>Message, RequestId). Lists are
// <Name><member>...</member></Name>.
//
// ec2Query, as read by awsEc2query_deserializeOp* (service/ec2/deserializers.go):
// no <ActionResult> wrapper, the result's elements sit in <ActionResponse> beside
// <requestId>; lists are <nameSet><item>...</item></nameSet>; errors are
// <Response><Errors><Error><Code>c</Code><Message>m</Message></Error></Errors>
// <RequestID>id</RequestID></Response> (aws/protocol/ec2query/error_utils.go).
type queryProtocol struct {
	ec2 bool
}

func (queryProtocol) action(r *http.Request) (string, url.Values, error) {
	if err := r.ParseForm(); err != nil {
		return "", r.Form, fmt.Errorf("read form: %w", err)
	}
	return r.Form.Get("Action"), r.Form, nil
}

// jsonResult is a result that can also be answered as JSON, for requests with
// ContentType=JSON (cfn-hup's CloudFormation client asks for JSON this way).
type jsonResult interface {
	jsonValue() any
}

func wantsJSON(c *call) bool {
	return strings.EqualFold(c.Params.Get("ContentType"), "JSON")
}

func (p queryProtocol) writeResult(w http.ResponseWriter, svc *service, c *call, result any) {
	if jr, ok := result.(jsonResult); ok && !p.ec2 && wantsJSON(c) {
		writeJSON(w, http.StatusOK, map[string]any{
			c.Action + "Response": map[string]any{
				c.Action + "Result": jr.jsonValue(),
				"ResponseMetadata":  map[string]string{"RequestId": c.reqID},
			},
		})
		return
	}
	inner, err := innerXML(result)
	if err != nil {
		p.writeError(w, svc, c, errorf(http.StatusInternalServerError, svc.internal.code, "awsfake: encode %s: %v", c.Action, err))
		return
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, c.Action, svc.namespace)
	if p.ec2 {
		fmt.Fprintf(&b, "<requestId>%s</requestId>", c.reqID)
		b.Write(inner)
	} else {
		fmt.Fprintf(&b, "<%sResult>", c.Action)
		b.Write(inner)
		fmt.Fprintf(&b, "</%sResult>", c.Action)
		fmt.Fprintf(&b, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>", c.reqID)
	}
	fmt.Fprintf(&b, "</%sResponse>", c.Action)
	writeXML(w, http.StatusOK, c.reqID, b.Bytes())
}

func (p queryProtocol) writeError(w http.ResponseWriter, svc *service, c *call, e *apiError) {
	if !p.ec2 && wantsJSON(c) {
		writeJSON(w, e.status, map[string]any{
			"Error":     map[string]string{"Type": faultType(e.status), "Code": e.code, "Message": e.message},
			"RequestId": c.reqID,
		})
		return
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if p.ec2 {
		b.WriteString("<Response><Errors><Error><Code>")
		escape(&b, e.code)
		b.WriteString("</Code><Message>")
		escape(&b, e.message)
		fmt.Fprintf(&b, "</Message></Error></Errors><RequestID>%s</RequestID></Response>", c.reqID)
	} else {
		fmt.Fprintf(&b, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>`, svc.namespace, faultType(e.status))
		escape(&b, e.code)
		b.WriteString("</Code><Message>")
		escape(&b, e.message)
		fmt.Fprintf(&b, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>", c.reqID)
	}
	writeXML(w, e.status, c.reqID, b.Bytes())
}

func faultType(status int) string {
	if status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}

func writeXML(w http.ResponseWriter, status int, reqID string, body []byte) {
	writeReply(w, status, "text/xml", reqID, body)
}

// writeJSON writes v as plain JSON, without a request id: the control API's
// replies and the query protocol's ContentType=JSON ones.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeReply(w, status, "application/json", "", body)
}

// innerXML encodes the fields of result as a sequence of XML elements.
func innerXML(result any) ([]byte, error) {
	if result == nil {
		return nil, nil
	}
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: "x"}}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	out := b.Bytes()
	out = bytes.TrimPrefix(out, []byte("<x>"))
	out = bytes.TrimSuffix(out, []byte("</x>"))
	return out, nil
}

// members is an awsQuery list: <Name><member>v</member>...</Name>. The wrapper
// element is written even for an empty list, as AWS does.
type members[T any] struct {
	Items []T `xml:"member"`
}

// items is an ec2Query list: <nameSet><item>v</item>...</nameSet>.
type items[T any] struct {
	Items []T `xml:"item"`
}

// isoTime formats t as AWS's query protocols do (ISO 8601, UTC, milliseconds);
// the SDK parses it with smithy-go's time.ParseDateTime.
func isoTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// queryList reads an awsQuery list parameter: Name.member.1, Name.member.2...
// (as awsAwsquery_serialize* write them with value.Array("member")).
func queryList(p url.Values, name string) []string {
	return indexed(p, name+".member.")
}

// ec2List reads an ec2Query list parameter: Name.1, Name.2... (the EC2
// serializers write flattened lists with FlatKey).
func ec2List(p url.Values, name string) []string {
	return indexed(p, name+".")
}

// indexed reads prefix1, prefix2, ... until the first gap.
func indexed(p url.Values, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p[prefix+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// filter is one EC2 filter: Filter.N.Name and Filter.N.Value.M.
type filter struct {
	name   string
	values []string
}

func ec2Filters(p url.Values) []filter {
	var out []filter
	for i := 1; ; i++ {
		prefix := "Filter." + strconv.Itoa(i) + "."
		name, ok := p[prefix+"Name"]
		if !ok {
			return out
		}
		out = append(out, filter{name: name[0], values: ec2List(p, prefix+"Value")})
	}
}

// matchAny reports whether v matches one of the filter values, which may
// hold EC2's wildcards: * (any run of characters) and ? (one character).
func matchAny(values []string, v string) bool {
	for _, pat := range values {
		if wildcard(pat, v) {
			return true
		}
	}
	return false
}

func wildcard(pat, s string) bool {
	p, r := []rune(pat), []rune(s)
	// Greedy match with backtracking to the last star.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(r) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == r[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// page cuts n items into one page from an opaque NextToken (the offset)
// and a page size (0: all). It returns the bounds and the next token.
func page(n int, token string, size int) (from, to int, next string, err error) {
	if token != "" {
		from, err = strconv.Atoi(token)
		if err != nil || from < 0 || from > n {
			return 0, 0, "", fmt.Errorf("invalid NextToken %q", token)
		}
	}
	to = n
	if size > 0 && from+size < n {
		to = from + size
		next = strconv.Itoa(to)
	}
	return from, to, next, nil
}
