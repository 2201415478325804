package awsfake

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// jsonProtocol is the AWS JSON 1.1 protocol (awsJson1_1), spoken by CloudWatch
// Logs and EventBridge. As smithy-go's transport/http/protocol/awsjson
// (awsjson.go, SerializeRequest) sends it, a request is
//
//	POST /
//	X-Amz-Target: <target>.<Action>
//	Content-Type: application/x-amz-json-1.1
//	{"member": value, ...}
//
// with the operation's member names as JSON keys, timestamps as epoch
// seconds (or milliseconds in longs, for Logs), and possibly a gzip body
// (Content-Encoding: gzip). A reply is the output structure as a JSON object;
// an error is HTTP 4xx/5xx with {"__type": "Code", "message": "..."} and the
// X-Amzn-ErrorType header, which deserializeError in awsjson.go reads first
// (internal/json/error.go: ResolveProtocolErrorType prefers the header, then
// __type, then code; SanitizeErrorCode cuts "ns#" and ":..." off).
type jsonProtocol struct {
	// target is the X-Amz-Target prefix, the Smithy service shape's name:
	// "Logs_20140328", "AWSEvents".
	target string
}

// maxJSONBody caps a decompressed request body, as server.go caps the body
// on the wire.
const maxJSONBody = 16 << 20

func (p jsonProtocol) action(r *http.Request) (string, url.Values, error) {
	if r.Method != http.MethodPost {
		return "", nil, errorf(http.StatusBadRequest, "UnknownOperationException", "JSON 1.1 requests are POST, got %s", r.Method)
	}
	prefix, action, ok := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	if !ok || prefix != p.target {
		// AWS answers a request without a known target this way.
		return "", nil, errorf(http.StatusBadRequest, "UnknownOperationException",
			"X-Amz-Target must be %s.<Action>, got %q", p.target, r.Header.Get("X-Amz-Target"))
	}
	return action, nil, nil
}

// readBody reads the request body, gunzipping it if its Content-Encoding says
// gzip. A body that is not valid UTF-8 is a SerializationException: JSON text
// is UTF-8 (RFC 8259 §8.1) and the SDKs never send anything else (smithy-go's
// JSON serializer writes U+FFFD for invalid bytes, internal/json/
// shape_serializer.go appendEscapedString), so only a hand-made client can.
// Whether AWS rejects or repairs such a body is not documented; rejecting it
// makes a client that would send it fail here first.
func (jsonProtocol) readBody(r *http.Request, _ string) ([]byte, error) {
	body, err := readRequestBody(r, func(limit int64) *apiError {
		return errorf(http.StatusRequestEntityTooLarge, "SerializationException", "request body larger than %d bytes", limit)
	})
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(body) {
		return nil, errorf(http.StatusBadRequest, "SerializationException", "request body is not valid UTF-8")
	}
	return body, nil
}

// readRequestBody reads the body of a protocol that carries its input there,
// gunzipped when its Content-Encoding says gzip. A body beyond the limit
// server.go puts on the wire is answered with tooLarge(limit); a body that
// cannot be read or gunzipped with a SerializationException.
func readRequestBody(r *http.Request, tooLarge func(limit int64) *apiError) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, tooLarge(tooBig.Limit)
		}
		return nil, errorf(http.StatusBadRequest, "SerializationException", "read request body: %v", err)
	}
	if isGzip(r.Header.Get("Content-Encoding")) {
		if body, err = gunzip(body); err != nil {
			return nil, errorf(http.StatusBadRequest, "SerializationException", "gzip request body: %v", err)
		}
	}
	return body, nil
}

func isGzip(encoding string) bool {
	for e := range strings.SplitSeq(encoding, ",") {
		if strings.EqualFold(strings.TrimSpace(e), "gzip") {
			return true
		}
	}
	return false
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxJSONBody+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxJSONBody {
		return nil, fmt.Errorf("decompressed body larger than %d bytes", maxJSONBody)
	}
	return out, zr.Close()
}

func (jsonProtocol) writeResult(w http.ResponseWriter, svc *service, c *call, result any) {
	body := []byte("{}")
	if result != nil {
		var err error
		body, err = json.Marshal(result)
		if err != nil {
			e := errorf(http.StatusInternalServerError, svc.internal.code, "awsfake: encode %s: %v", c.Action, err)
			svc.proto.writeError(w, svc, c, e)
			return
		}
	}
	writeJSON11(w, http.StatusOK, c.reqID, body)
}

func (jsonProtocol) writeError(w http.ResponseWriter, svc *service, c *call, e *apiError) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.code, e.message})
	w.Header().Set("X-Amzn-ErrorType", e.code)
	writeJSON11(w, e.status, c.reqID, body)
}

func writeJSON11(w http.ResponseWriter, status int, reqID string, body []byte) {
	writeReply(w, status, "application/x-amz-json-1.1", reqID, body)
}

// decodeInput decodes the JSON body of c into v, a struct of the operation's
// input members, and records the input in the call log as a generic map.
func decodeInput(c *call, v any) error {
	if err := decodeTyped(c, v); err != nil {
		return err
	}
	if len(c.body) > 0 {
		var m map[string]any
		if json.Unmarshal(c.body, &m) == nil {
			c.Input = m
		}
	}
	return nil
}

// decodeTyped decodes the JSON body of c into v without recording it.
func decodeTyped(c *call, v any) error {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return errorf(http.StatusBadRequest, "SerializationException", "%v", err)
	}
	return nil
}
