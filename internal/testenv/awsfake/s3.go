package awsfake

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// s3Service speaks S3's REST protocol (restXml): the operation is the method and
// the path, the bucket is the first path segment (path-style, what the SDK sends
// with UsePathStyle or to an IP endpoint) or the first labels of the Host
// (virtual-hosted: "bucket.localhost:port", "bucket.s3.us-east-1.amazonaws.com").
//
// Only GetObject is answered. Its reply is the object's bytes with ETag,
// Last-Modified, Content-Length, Accept-Ranges and x-amz-version-id; a Range of
// "bytes=N-", "bytes=N-M" or "bytes=-N" is answered 206 with Content-Range
// (RFC 9110 §14; S3's GetObject page: one range per request), a range starting
// past the end 416 InvalidRange, a header that is not a byte range ignored as S3
// ignores it. If-Match that does not match the ETag is 412 PreconditionFailed.
//
// Errors are S3's XML body, <Error><Code>…</Code><Message>…</Message>…</Error>, not
// wrapped in <ErrorResponse> (service/s3/deserializers.go awsRestxml_deserializeOpError
// GetObject reads s3shared.GetErrorResponseComponents with IsWrappedWithErrorTag
// false), with x-amz-request-id and x-amz-id-2. The codes and messages are those of
// S3's error-code list (ErrorResponses.html): NoSuchBucket, NoSuchKey and
// NoSuchVersion 404, AccessDenied 403, SlowDown 503 (in the SDK's
// retry.DefaultThrottleErrorCodes), InternalError 500.
var s3Service = &service{
	name:     "s3",
	proto:    s3Protocol{},
	throttle: apiError{status: http.StatusServiceUnavailable, code: "SlowDown", message: "Please reduce your request rate."},
	internal: apiError{status: http.StatusInternalServerError, code: "InternalError", message: "We encountered an internal error. Please try again."},
	actions: map[string]handler{
		"GetObject": (*Server).getObject,
	},
}

// s3Version is one version of an object.
type s3Version struct {
	id       string
	body     []byte
	etag     string // quoted, as S3 sends it
	modified time.Time
}

// s3State holds the buckets: objects by key, each with its versions, oldest
// first. Guarded by Server.mu.
type s3State struct {
	buckets map[string]map[string][]*s3Version
	denied  map[string]bool // buckets whose objects answer AccessDenied
	seq     uint64
}

// CreateBucket makes an empty bucket (PutObject makes one when needed).
func (s *Server) CreateBucket(bucket string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bucketLocked(bucket)
}

func (s *Server) bucketLocked(bucket string) map[string][]*s3Version {
	if s.s3.buckets == nil {
		s.s3.buckets = make(map[string]map[string][]*s3Version)
	}
	b := s.s3.buckets[bucket]
	if b == nil {
		b = make(map[string][]*s3Version)
		s.s3.buckets[bucket] = b
	}
	return b
}

// PutObject stores body as the newest version of bucket/key (making the bucket
// if needed) and returns its version id. Earlier versions stay readable by
// their id, as in a bucket with versioning enabled.
func (s *Server) PutObject(bucket, key string, body []byte) (versionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.s3.seq++
	// Version ids are opaque to clients; S3's are 32 URL-safe characters.
	h := sha256.Sum256([]byte(bucket + "/" + key + "/" + strconv.FormatUint(s.s3.seq, 10)))
	sum := md5.Sum(body)
	v := &s3Version{
		id:       base64.RawURLEncoding.EncodeToString(h[:])[:32],
		body:     append([]byte(nil), body...),
		etag:     `"` + hex.EncodeToString(sum[:]) + `"`,
		modified: s.now().UTC().Truncate(time.Second),
	}
	b := s.bucketLocked(bucket)
	b[key] = append(b[key], v)
	return v.id
}

// DenyBucket makes every GetObject in bucket answer 403 AccessDenied (deny true),
// as S3 does when the caller's policy does not allow s3:GetObject, or lifts it.
func (s *Server) DenyBucket(bucket string, deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.s3.denied == nil {
		s.s3.denied = make(map[string]bool)
	}
	s.s3.denied[bucket] = deny
}

// s3Reply is what getObject answers: the bytes body[start:end] of a version.
type s3Reply struct {
	v          *s3Version
	start, end int64
	partial    bool // answered 206 with Content-Range
	// cutAfter, when >= 0, is how many body bytes are sent before the
	// connection is closed (Faults.CutBodyAfter).
	cutAfter int64
}

// status is the HTTP status the reply is answered with, for the call log.
func (r *s3Reply) status() int {
	if r.partial {
		return http.StatusPartialContent
	}
	return http.StatusOK
}

func (s *Server) getObject(c *call) (any, error) {
	bucket, key, vid := c.Params.Get("Bucket"), c.Params.Get("Key"), c.Params.Get("VersionId")
	s.mu.Lock()
	objects, ok := s.s3.buckets[bucket]
	denied := s.s3.denied[bucket]
	versions := objects[key]
	cut := s.cutBodyLocked()
	s.mu.Unlock()
	switch {
	case denied:
		return nil, errorf(http.StatusForbidden, "AccessDenied", "Access Denied")
	case !ok:
		return nil, errorf(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
	case len(versions) == 0:
		return nil, errorf(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	}
	v := versions[len(versions)-1]
	if vid != "" {
		v = nil
		for _, cand := range versions {
			if cand.id == vid {
				v = cand
			}
		}
		if v == nil {
			return nil, errorf(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.")
		}
	}
	if m := c.Params.Get("If-Match"); m != "" && m != "*" && strings.Trim(m, `"`) != strings.Trim(v.etag, `"`) {
		return nil, errorf(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	}
	size := int64(len(v.body))
	r := &s3Reply{v: v, start: 0, end: size, cutAfter: cut}
	if start, end, ok := parseRange(c.Params.Get("Range"), size); ok {
		if start >= size {
			return nil, errorf(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable")
		}
		r.start, r.end, r.partial = start, end, true
	}
	if cut >= 0 {
		c.Fault = "cut-body"
	}
	return r, nil
}

// cutBodyLocked decides whether this GetObject's body is cut (Faults.CutBodyAfter)
// and counts it; -1 when not. s.mu must be held. The Only filter was checked by
// applyFaults already for the other faults; it is checked here again because the
// cut is decided by the handler.
func (s *Server) cutBodyLocked() int64 {
	f := &s.faults
	if f.f.CutBodyAfter <= 0 {
		return -1
	}
	if len(f.f.Only) > 0 && !f.f.Only["GetObject"] && !f.f.Only["s3:GetObject"] && !f.f.Only["s3:*"] {
		return -1
	}
	if f.f.CutBodyCalls > 0 && f.cuts >= f.f.CutBodyCalls {
		return -1
	}
	f.cuts++
	return f.f.CutBodyAfter
}

// parseRange reads a single byte range of a Range header for an object of size
// bytes: the half-open [start, end). ok is false when there is no range or the
// header is not one S3 honours (then the whole object is answered). start may be
// past the end; the caller answers that 416.
func parseRange(h string, size int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	if first == "" { // bytes=-N: the last N bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		return max(size-n, 0), size, true
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	end = size
	if last != "" {
		l, err := strconv.ParseInt(last, 10, 64)
		if err != nil || l < start {
			return 0, 0, false
		}
		end = min(l+1, size)
	}
	return start, end, true
}

// s3Protocol reads S3 REST requests and writes S3's replies.
type s3Protocol struct{}

func (s3Protocol) action(r *http.Request) (string, url.Values, error) {
	bucket, key := s3BucketKey(r)
	p := url.Values{}
	p.Set("Bucket", bucket)
	p.Set("Key", key)
	if v := r.URL.Query().Get("versionId"); v != "" {
		p.Set("VersionId", v)
	}
	for _, h := range []string{"Range", "If-Match"} {
		if v := r.Header.Get(h); v != "" {
			p.Set(h, v)
		}
	}
	// Only the operations named here are told apart; the rest answer InvalidAction
	// (real S3 would do them).
	switch {
	case bucket == "":
		return "ListBuckets", p, nil
	case key == "" && r.Method == http.MethodGet:
		return "ListObjects", p, nil
	case key == "":
		return r.Method + "Bucket", p, nil
	case r.Method == http.MethodGet:
		return "GetObject", p, nil
	case r.Method == http.MethodHead:
		return "HeadObject", p, nil
	case r.Method == http.MethodPut:
		return "PutObject", p, nil
	}
	return r.Method + "Object", p, nil
}

// s3BucketKey finds the bucket and key of a request, virtual-hosted when the Host
// is a name with more than one label other than localhost, else path-style.
func s3BucketKey(r *http.Request) (bucket, key string) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	if net.ParseIP(host) == nil && host != "localhost" && strings.Contains(host, ".") {
		if i := strings.LastIndex(host, ".s3."); i > 0 {
			return host[:i], path
		}
		return host[:strings.LastIndex(host, ".")], path
	}
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

func (s3Protocol) writeResult(w http.ResponseWriter, _ *service, c *call, result any) {
	r := result.(*s3Reply)
	size := int64(len(r.v.body))
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Amz-Request-Id", c.reqID)
	h.Set("X-Amz-Id-2", hostID(c.reqID))
	h.Set("Etag", r.v.etag)
	h.Set("Last-Modified", r.v.modified.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	h.Set("X-Amz-Version-Id", r.v.id)
	h.Set("Content-Length", strconv.FormatInt(r.end-r.start, 10))
	if r.partial {
		h.Set("Content-Range", "bytes "+strconv.FormatInt(r.start, 10)+"-"+strconv.FormatInt(r.end-1, 10)+"/"+strconv.FormatInt(size, 10))
	}
	w.WriteHeader(r.status())
	body := r.v.body[r.start:r.end]
	if r.cutAfter >= 0 && r.cutAfter < int64(len(body)) {
		// The headers promised the whole length: send part of it and close the
		// connection, so the client reads an unexpected EOF mid-body.
		_, _ = w.Write(body[:r.cutAfter])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	_, _ = w.Write(body)
}

func (s3Protocol) writeError(w http.ResponseWriter, _ *service, c *call, e *apiError) {
	type s3Error struct {
		XMLName    xml.Name `xml:"Error"`
		Code       string
		Message    string
		BucketName string `xml:",omitempty"`
		Key        string `xml:",omitempty"`
		VersionID  string `xml:"VersionId,omitempty"`
		RequestID  string `xml:"RequestId"`
		HostID     string `xml:"HostId"`
	}
	body := s3Error{Code: e.code, Message: e.message, RequestID: c.reqID, HostID: hostID(c.reqID)}
	switch e.code {
	case "NoSuchBucket":
		body.BucketName = c.Params.Get("Bucket")
	case "NoSuchKey":
		body.Key = c.Params.Get("Key")
	case "NoSuchVersion":
		body.Key, body.VersionID = c.Params.Get("Key"), c.Params.Get("VersionId")
	}
	out, _ := xml.Marshal(body)
	w.Header().Set("X-Amz-Request-Id", c.reqID)
	w.Header().Set("X-Amz-Id-2", hostID(c.reqID))
	writeReply(w, e.status, "application/xml", "", append([]byte(xml.Header), out...))
}

// hostID is the x-amz-id-2 of a reply, derived from its request id.
func hostID(reqID string) string {
	h := sha256.Sum256([]byte(reqID))
	return base64.StdEncoding.EncodeToString(h[:])
}
