package awsfake

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// rpcV2CBOR is the Smithy RPC v2 CBOR protocol (smithy.protocols#rpcv2Cbor)
// with AWS's query-compatible error codes, as the SDK's client speaks it
// (smithy-go transport/http/protocol/rpcv2/rpcv2.go, used by
// service/cloudwatch/api_client.go):
//
//	POST /service/<service shape name>/operation/<Operation>
//	Smithy-Protocol: rpc-v2-cbor
//	X-Amzn-Query-Mode: true            (services with @awsQueryCompatible)
//	Content-Type: application/cbor     (absent when the input is empty)
//	Content-Encoding: gzip             (operations with @requestCompression,
//	                                    e.g. PutMetricData)
//
// The body is a CBOR map of the input's members, structures as maps,
// timestamps as tag 1 around epoch seconds (a float64 from the SDK). A reply
// is a CBOR map of the output's members with status 200. An error is a CBOR
// map {"__type": "<namespace>#<ErrorShape>", "message": m} with the error's
// HTTP status; the SDK takes the shape name after '#' to find a modelled
// error (deserializeError in rpcv2.go, GetProtocolErrorInfo in
// transport/http/protocol/internal/cbor/shape_deserializer.go), and with
// query compatibility its ErrorCode() is the code of the X-Amzn-Query-Error
// header ("<code>;Sender" or "<code>;Receiver"). An error the model does not
// declare (Throttling) comes out as a smithy.GenericAPIError with the
// header's code, which is what retry.DefaultThrottleErrorCodes matches.
type rpcV2CBOR struct {
	// service is the service shape's name in the request path, e.g.
	// "GraniteServiceVersion20100801".
	service string
	// namespace is the Smithy namespace of modelled error shapes, e.g.
	// "com.amazonaws.cloudwatch".
	namespace string
	// errors maps a query error code to its modelled error shape; codes not
	// listed are answered with the code as __type and a "message" member.
	errors map[string]errorShape
	// maxBody limits the decoded (decompressed) request body per operation;
	// larger requests are answered 413 RequestEntityTooLarge.
	maxBody map[string]int
}

// errorShape is a modelled error structure: its shape name and the name of
// its message member ("message", or "Message" for some older shapes).
type errorShape struct {
	name, messageMember string
}

// serviceOfRPCPath finds the RPC v2 service a request path
// ("/service/<name>/operation/<Op>") is for, for requests without a SigV4
// scope; "" when none.
func serviceOfRPCPath(path string) string {
	for name, svc := range services {
		if p, ok := svc.proto.(rpcV2CBOR); ok && strings.HasPrefix(path, "/service/"+p.service+"/") {
			return name
		}
	}
	return ""
}

func (p rpcV2CBOR) action(r *http.Request) (string, url.Values, error) {
	prefix := "/service/" + p.service + "/operation/"
	op, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok || op == "" || strings.Contains(op, "/") {
		return "", nil, errorf(http.StatusNotFound, "UnknownOperationException",
			"awsfake: an RPC v2 CBOR request must be POST %s<Operation>, got %s %s", prefix, r.Method, r.URL.Path)
	}
	if r.Method != http.MethodPost {
		return op, nil, errorf(http.StatusMethodNotAllowed, "UnknownOperationException", "RPC v2 CBOR requests must be POST, got %s", r.Method)
	}
	if v := r.Header.Get("Smithy-Protocol"); v != "rpc-v2-cbor" {
		return op, nil, errorf(http.StatusBadRequest, "MissingSmithyProtocolHeader", "header Smithy-Protocol must be rpc-v2-cbor, got %q", v)
	}
	return op, nil, nil
}

// readBody reads the request body, gunzipped when its Content-Encoding says
// gzip (the SDK compresses PutMetricData: api_op_PutMetricData.go adds
// smithy-go's requestcompression middleware, which sets Content-Encoding:
// gzip). An operation with a size limit (maxBody) answers a larger
// decompressed body with 413 RequestEntityTooLarge, as CloudWatch answers an
// oversized PutMetricData ("Request size 47947 exceeded 40960 bytes" in the
// days of the 40 KiB limit).
func (p rpcV2CBOR) readBody(r *http.Request, action string) ([]byte, error) {
	body, err := readRequestBody(r, func(limit int64) *apiError {
		return errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Request size exceeded %d bytes", limit)
	})
	if err != nil {
		return nil, err
	}
	if limit, ok := p.maxBody[action]; ok && len(body) > limit {
		return nil, errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Request size %d exceeded %d bytes", len(body), limit)
	}
	return body, nil
}

// decodeCBORInput decodes the CBOR body of c into c.Input, the operation's
// members as cborToGo converts them. An empty body is an empty input.
func decodeCBORInput(c *call) error {
	c.Input = map[string]any{}
	if len(c.body) == 0 {
		return nil
	}
	v, err := cbor.Decode(c.body)
	if err != nil {
		return errorf(http.StatusBadRequest, "SerializationException", "decode CBOR body: %v", err)
	}
	m, ok := cborToGo(v).(map[string]any)
	if !ok {
		return errorf(http.StatusBadRequest, "SerializationException", "the CBOR body is a %T, not a map", v)
	}
	c.Input = m
	return nil
}

// cborToGo converts a decoded CBOR value to plain Go values: map[string]any,
// []any, string, []byte, bool, nil, int64 (integers; uint64 beyond int64),
// float64, and time.Time for tag 1 (epoch seconds). Other tags keep their
// *cbor.Tag.
func cborToGo(v cbor.Value) any {
	switch v := v.(type) {
	case cbor.Map:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = cborToGo(e)
		}
		return m
	case cbor.List:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = cborToGo(e)
		}
		return l
	case cbor.String:
		return string(v)
	case cbor.Slice:
		return []byte(v)
	case cbor.Bool:
		return bool(v)
	case cbor.Uint:
		if v > math.MaxInt64 {
			return uint64(v)
		}
		return int64(v)
	case cbor.NegInt:
		// NegInt(n) is -n; NegInt(0) stands for -2^64.
		if v == 0 || v > 1<<63 {
			return -math.Ldexp(1, 64)
		}
		return -int64(v-1) - 1
	case cbor.Float32:
		return float64(v)
	case cbor.Float64:
		return float64(v)
	case *cbor.Tag:
		if v.ID == 1 {
			if t, err := cbor.AsTime(v); err == nil {
				return t.UTC()
			}
		}
		return v
	default: // *cbor.Nil, *cbor.Undefined
		return nil
	}
}

// goToCBOR converts a reply built from plain Go values to CBOR: maps with
// string keys, slices, strings, bools, integers, floats, time.Time (tag 1,
// epoch seconds as a float64 like the SDK's own serializer) and nil.
func goToCBOR(v any) cbor.Value {
	switch v := v.(type) {
	case cbor.Value:
		return v
	case map[string]any:
		m := make(cbor.Map, len(v))
		for k, e := range v {
			if e == nil {
				continue // absent member
			}
			m[k] = goToCBOR(e)
		}
		return m
	case []any:
		l := make(cbor.List, len(v))
		for i, e := range v {
			l[i] = goToCBOR(e)
		}
		return l
	case []map[string]any:
		l := make(cbor.List, len(v))
		for i, e := range v {
			l[i] = goToCBOR(e)
		}
		return l
	case []string:
		l := make(cbor.List, len(v))
		for i, e := range v {
			l[i] = cbor.String(e)
		}
		return l
	case string:
		return cbor.String(v)
	case bool:
		return cbor.Bool(v)
	case int:
		return cborInt(int64(v))
	case int32:
		return cborInt(int64(v))
	case int64:
		return cborInt(v)
	case float64:
		return cbor.Float64(v)
	case time.Time:
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(v.UnixMilli()) / 1e3)}
	case nil:
		return &cbor.Nil{}
	default:
		panic(fmt.Sprintf("awsfake: no CBOR encoding for %T", v))
	}
}

func cborInt(n int64) cbor.Value {
	if n >= 0 {
		return cbor.Uint(n)
	}
	return cbor.NegInt(uint64(-(n + 1)) + 1)
}

func (p rpcV2CBOR) writeResult(w http.ResponseWriter, svc *service, c *call, result any) {
	if result == nil {
		result = map[string]any{}
	}
	writeCBOR(w, http.StatusOK, c.reqID, cbor.Encode(goToCBOR(result)))
}

func (p rpcV2CBOR) writeError(w http.ResponseWriter, svc *service, c *call, e *apiError) {
	typ, msgMember := e.code, "message"
	if s, ok := p.errors[e.code]; ok {
		typ, msgMember = p.namespace+"#"+s.name, s.messageMember
	}
	body := cbor.Map{"__type": cbor.String(typ), msgMember: cbor.String(e.message)}
	if msgMember != "message" {
		// GetProtocolErrorInfo reads the message of an error it cannot map
		// to a shape from "message".
		body["message"] = cbor.String(e.message)
	}
	w.Header().Set("X-Amzn-Query-Error", e.code+";"+faultType(e.status))
	writeCBOR(w, e.status, c.reqID, cbor.Encode(body))
}

func writeCBOR(w http.ResponseWriter, status int, reqID string, body []byte) {
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	writeReply(w, status, "application/cbor", reqID, body)
}

// docReader reads members of a decoded request body (Call.Input), keeping
// the first member of the wrong type as a SerializationException.
type docReader struct {
	err error
}

func (d *docReader) wrongType(path, want string, v any) {
	if d.err == nil {
		d.err = errorf(http.StatusBadRequest, "SerializationException", "member %s: want %s, got %T", path, want, v)
	}
}

// member reads m[key] as a T: (zero, false) when absent or null, and when of
// another type, which is kept as d's error (want says what T is).
func member[T any](d *docReader, m map[string]any, key, path, want string) (T, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		var zero T
		return zero, false
	}
	t, ok := v.(T)
	if !ok {
		d.wrongType(path, want, v)
	}
	return t, ok
}

// listOf reads m[key] as a list of T (want says what a T is).
func listOf[T any](d *docReader, m map[string]any, key, path, want string) ([]T, bool) {
	l, ok := d.list(m, key, path)
	if !ok {
		return nil, false
	}
	out := make([]T, 0, len(l))
	for i, v := range l {
		t, ok := v.(T)
		if !ok {
			d.wrongType(fmt.Sprintf("%s[%d]", path, i), want, v)
			return nil, false
		}
		out = append(out, t)
	}
	return out, true
}

func (d *docReader) str(m map[string]any, key, path string) (string, bool) {
	return member[string](d, m, key, path, "a string")
}

func (d *docReader) float(m map[string]any, key, path string) (float64, bool) {
	switch v := m[key].(type) {
	case nil:
		return 0, false
	case float64:
		return v, true
	case int64:
		return float64(v), true
	default:
		d.wrongType(path, "a number", v)
		return 0, false
	}
}

func (d *docReader) int(m map[string]any, key, path string) (int64, bool) {
	switch v := m[key].(type) {
	case nil:
		return 0, false
	case int64:
		return v, true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), true
		}
	}
	d.wrongType(path, "an integer", m[key])
	return 0, false
}

func (d *docReader) bool(m map[string]any, key, path string) (bool, bool) {
	return member[bool](d, m, key, path, "a boolean")
}

func (d *docReader) time(m map[string]any, key, path string) (time.Time, bool) {
	return member[time.Time](d, m, key, path, "a timestamp (tag 1)")
}

func (d *docReader) list(m map[string]any, key, path string) ([]any, bool) {
	return member[[]any](d, m, key, path, "a list")
}

func (d *docReader) strings(m map[string]any, key, path string) ([]string, bool) {
	return listOf[string](d, m, key, path, "a string")
}

func (d *docReader) floats(m map[string]any, key, path string) ([]float64, bool) {
	l, ok := d.list(m, key, path)
	if !ok {
		return nil, false
	}
	out := make([]float64, 0, len(l))
	for i, v := range l {
		switch v := v.(type) {
		case float64:
			out = append(out, v)
		case int64:
			out = append(out, float64(v))
		default:
			d.wrongType(fmt.Sprintf("%s[%d]", path, i), "a number", v)
			return nil, false
		}
	}
	return out, true
}

// structs reads a list of structures.
func (d *docReader) structs(m map[string]any, key, path string) ([]map[string]any, bool) {
	return listOf[map[string]any](d, m, key, path, "a structure")
}

func (d *docReader) structure(m map[string]any, key, path string) (map[string]any, bool) {
	return member[map[string]any](d, m, key, path, "a structure")
}
