package awsfake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// services is the registry of every service the stand-in speaks, by SigV4
// signing name. Each service lives in its own file with its actions.
var services = registry(cloudFormation, ec2Service, autoScaling, cloudWatch, cloudWatchLogs, eventBridge, s3Service, ssmService)

func registry(svcs ...*service) map[string]*service {
	m := make(map[string]*service, len(svcs))
	for _, s := range svcs {
		m[s.name] = s
	}
	return m
}

// service is one AWS service: how its requests are read and answered, and the
// handler of each action it supports.
type service struct {
	name      string // SigV4 signing name, e.g. "cloudformation"
	namespace string // XML namespace of its replies
	proto     protocol
	throttle  apiError // the error a throttled call is answered with
	internal  apiError // the error an injected server fault is answered with
	actions   map[string]handler
	// cfnV1Actions are the actions that accept cfn-hup's CFN_V1 scheme; the others
	// answer it with AccessDenied.
	cfnV1Actions map[string]bool
}

// handler answers one action. It returns the result to encode (for the query
// protocols, a struct holding the elements inside <ActionResult>), or an
// *apiError.
type handler func(s *Server, c *call) (any, error)

// protocol reads requests and writes replies in one AWS wire protocol.
type protocol interface {
	// action returns the action and parameters of a request routed to the service.
	action(r *http.Request) (string, url.Values, error)
	writeResult(w http.ResponseWriter, svc *service, c *call, result any)
	writeError(w http.ResponseWriter, svc *service, c *call, e *apiError)
}

// apiError is an error answered to the client in the service's error shape.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// validationError is the 400 ValidationError of the query services
// (CloudFormation, Auto Scaling) and CloudWatch.
func validationError(format string, args ...any) error {
	return errorf(http.StatusBadRequest, "ValidationError", format, args...)
}

// invalidValue is the 400 InvalidParameterValue of EC2 and CloudWatch.
func invalidValue(format string, args ...any) error {
	return errorf(http.StatusBadRequest, "InvalidParameterValue", format, args...)
}

// Auth schemes recorded in Call.Auth.
const (
	AuthSigV4 = "SigV4"  // AWS Signature Version 4
	AuthCFNV1 = "CFN_V1" // cfn-hup's instance identity document signature
	AuthNone  = "none"   // no Authorization header
)

// Call is one request the stand-in received, as recorded in the call log.
type Call struct {
	Time    time.Time
	Service string // SigV4 signing name: "cloudformation", "ec2", "autoscaling"
	Action  string
	// Auth is the scheme of the Authorization header: AuthSigV4, AuthCFNV1,
	// AuthNone, or the scheme's first word when unrecognised.
	Auth        string
	Region      string // from the SigV4 credential scope
	AccessKeyID string // from the SigV4 credential scope
	// Attempt is the SDK's attempt number from the amz-sdk-request header
	// ("attempt=2; max=3"), 0 when absent.
	Attempt int
	Params  url.Values
	// Input is the decoded body of a JSON 1.1 or RPC v2 CBOR request, as a
	// map[string]any with the operation's member names; nil for query requests.
	Input map[string]any
	// Status is the HTTP status answered; 0 when the connection was dropped.
	Status    int
	ErrorCode string // the error code answered, "" on success
	// Fault names the injected fault that answered the call, "" if none:
	// "throttle", "rate-limit", "server-error", "drop", "hang" or "cut-body".
	Fault string
	// ContentEncoding is the request's Content-Encoding header ("gzip" for a
	// compressed body) and BodyBytes its body's length on the wire, from
	// Content-Length (-1 when the client sent none).
	ContentEncoding string
	BodyBytes       int64
}

// call is one request being answered.
type call struct {
	Call
	svc   *service
	reqID string
	// body is the request body of a protocol that carries the input in it
	// (see bodyProtocol), decompressed; nil for the query protocols.
	body []byte
}

// bodyProtocol is a protocol whose requests carry their input in the body
// (JSON 1.1, RPC v2 CBOR). ServeHTTP reads it with readBody after action,
// passing the action found, and hands it to the handler in call.body. An
// *apiError it returns is answered as is.
type bodyProtocol interface {
	readBody(r *http.Request, action string) ([]byte, error)
}

// Server is the AWS stand-in. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to give the SDK clients as their endpoint,
	// "http://127.0.0.1:<port>".
	URL string

	ln     net.Listener
	http   *http.Server
	closed chan struct{}
	once   sync.Once

	mu     sync.Mutex
	stacks map[string]*stack // by name
	// instances by id; groups by name
	instances map[string]*Instance
	groups    map[string]*group
	// tagDenied holds the instances whose CreateTags answers UnauthorizedOperation.
	tagDenied map[string]bool
	seq       uint64

	calls      []Call
	counts     map[string]int // "service:Action" → calls
	heartbeats []LifecycleCall
	completes  []LifecycleCall

	faults faultState
	// hung counts the calls that met the Hang fault.
	hung int

	// clock is what SetNow installed; nil means time.Now.
	clock func() time.Time
	// logGroups holds the CloudWatch Logs state (logs.go), by group name.
	logGroups map[string]*logGroup
	// busEvents are the events EventBridge accepted (events.go).
	busEvents []BusEvent
	// cw holds the CloudWatch metric data and alarms (cloudwatch.go).
	cw cloudWatchState
	// health are the accepted SetInstanceHealth calls (autoscaling.go).
	health []HealthCall
	// signals are the accepted SignalResource calls (cloudformation.go).
	signals []Signal
	// s3 holds the buckets and their objects' versions (s3.go).
	s3 s3State
	// params holds the SSM parameters by name (ssm.go).
	params map[string]*ssmParam
	// deniedParams are the parameters whose GetParameter answers AccessDenied.
	deniedParams map[string]bool
}

// SetNow sets the clock the services that compare times with the present
// read (CloudWatch Logs' event age limits, default event times), so a test
// can put it at an edge; nil restores time.Now. Call times in the call log
// stay wall-clock times.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
}

// now reads the clock; s.mu must be held.
func (s *Server) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

// New starts a stand-in on a free port of 127.0.0.1. It panics if it cannot
// listen, as httptest.NewServer does. Close it when done.
func New() *Server {
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("awsfake: %v", err))
	}
	return s
}

// Start starts a stand-in for one test and closes it when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		tb.Fatalf("start AWS stand-in: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Listen starts a stand-in on addr ("127.0.0.1:4566"). Close it when done.
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := &Server{
		URL:       "http://" + ln.Addr().String(),
		ln:        ln,
		closed:    make(chan struct{}),
		stacks:    make(map[string]*stack),
		instances: make(map[string]*Instance),
		groups:    make(map[string]*group),
		counts:    make(map[string]int),
	}
	s.faults.reset(Faults{})
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

// Close stops the server and closes every connection. Calls waiting out an
// injected latency end at once.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		_ = s.http.Close()
	})
}

// Calls returns how many calls were made to action of service since the last
// ResetCalls, whatever their outcome (faults and errors included). An empty
// service or action matches any.
func (s *Server) Calls(service, action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if service != "" && action != "" {
		return s.counts[service+":"+action]
	}
	n := 0
	for k, v := range s.counts {
		svc, act, _ := strings.Cut(k, ":")
		if (service == "" || service == svc) && (action == "" || action == act) {
			n += v
		}
	}
	return n
}

// CallLog returns a copy of every call recorded since the last ResetCalls, in
// the order they were answered.
func (s *Server) CallLog() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	copy(out, s.calls)
	return out
}

// ResetCalls forgets the call log, the counters, the recorded lifecycle
// heartbeats and completions, SetInstanceHealth calls, and the metric data
// PutMetricData accepted (alarms stay).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
	s.counts = make(map[string]int)
	s.heartbeats = nil
	s.completes = nil
	s.health = nil
	s.cw.data = nil
}

// record logs a call; it is done before the reply is written so that a
// client that has its answer always finds its call counted.
func (s *Server) record(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c.Call)
	s.counts[c.Service+":"+c.Action]++
}

func (s *Server) nextID() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return s.seq
}

// sigV4Scope matches the credential of a SigV4 Authorization header:
// "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, ...".
var sigV4Scope = regexp.MustCompile(`Credential=([^/,\s]*)/[0-9]{8}/([^/,\s]+)/([^/,\s]+)/aws4_request`)

// ServeHTTP routes a request to its service and action, applies the faults,
// records the call and answers it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.serveControl(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<20)
	c := &call{Call: Call{Time: time.Now(), Auth: AuthNone, ContentEncoding: r.Header.Get("Content-Encoding"), BodyBytes: r.ContentLength}}
	c.reqID = requestID(s.nextID())
	c.Attempt = sdkAttempt(r.Header.Get("Amz-Sdk-Request"))

	auth := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(auth, " ")
	switch {
	case auth == "":
	case scheme == "AWS4-HMAC-SHA256":
		c.Auth = AuthSigV4
		if m := sigV4Scope.FindStringSubmatch(rest); m != nil {
			c.AccessKeyID, c.Region, c.Service = m[1], m[2], m[3]
		}
	case scheme == AuthCFNV1:
		// cfn-hup signs with its instance identity document; only
		// CloudFormation accepts it.
		c.Auth = AuthCFNV1
		c.Service = cloudFormation.name
	default:
		c.Auth = scheme
	}

	if c.Service == "" {
		// No SigV4 scope: find the service by the Action parameter.
		if err := r.ParseForm(); err == nil {
			c.Service = serviceOfAction(r.Form.Get("Action"))
		}
		if c.Service == "" {
			c.Service = serviceOfRPCPath(r.URL.Path)
		}
	}
	svc := services[c.Service]
	if svc == nil {
		c.Params = r.Form
		c.Status, c.ErrorCode = http.StatusBadRequest, "UnknownService"
		s.record(c)
		http.Error(w, fmt.Sprintf("awsfake: no service %q (credential scope or Action of this request); it speaks %s",
			c.Service, strings.Join(serviceNames(), ", ")), http.StatusBadRequest)
		return
	}
	c.svc = svc
	action, params, err := svc.proto.action(r)
	c.Action, c.Params = action, params
	if bp, ok := svc.proto.(bodyProtocol); ok && err == nil {
		c.body, err = bp.readBody(r, action)
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = errorf(http.StatusBadRequest, "MalformedQueryString", "%v", err)
		}
		s.answer(w, c, nil, ae)
		return
	}

	var result any
	switch {
	case c.Auth == AuthNone:
		err = errorf(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
	case c.Auth != AuthSigV4 && c.Auth != AuthCFNV1:
		err = errorf(http.StatusForbidden, "IncompleteSignature", "Authorization header requires a known scheme, got %q", c.Auth)
	case c.Auth == AuthCFNV1 && !validCFNV1(rest):
		err = errorf(http.StatusForbidden, "IncompleteSignature", "CFN_V1 authorization must be <base64 document>:<base64 signature>")
	case action == "":
		err = errorf(http.StatusBadRequest, "MissingAction", "Could not find operation in the request")
	case svc.actions[action] == nil:
		// Query and EC2 query services answer an unknown action this way.
		err = errorf(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service.", action)
	case c.Auth == AuthCFNV1 && !svc.cfnV1Actions[action]:
		// What AWS answers here is not documented; a 403 AccessDenied is assumed.
		err = errorf(http.StatusForbidden, "AccessDenied", "CFN_V1 authorization is not accepted for %s", action)
	default:
		if drop := s.applyFaults(r.Context(), c); drop {
			s.drop(w, c)
			return
		}
		if c.Fault != "" {
			err = s.faultError(c)
			break
		}
		result, err = svc.actions[action](s, c)
	}
	s.answer(w, c, result, err)
}

// answer records the call and writes its result or error.
func (s *Server) answer(w http.ResponseWriter, c *call, result any, err error) {
	var ae *apiError
	if err != nil && !errors.As(err, &ae) {
		ae = errorf(http.StatusInternalServerError, c.svc.internal.code, "awsfake: %v", err)
	}
	if ae != nil {
		c.Status, c.ErrorCode = ae.status, ae.code
		s.record(c)
		c.svc.proto.writeError(w, c.svc, c, ae)
		return
	}
	c.Status = http.StatusOK
	if st, ok := result.(interface{ status() int }); ok {
		c.Status = st.status()
	}
	s.record(c)
	c.svc.proto.writeResult(w, c.svc, c, result)
}

// writeReply writes a reply's status and body with its Content-Type and
// Content-Length, and its request id unless reqID is "".
func writeReply(w http.ResponseWriter, status int, contentType, reqID string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	if reqID != "" {
		h.Set("X-Amzn-Requestid", reqID)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// drop records the call and closes its connection without a reply.
func (s *Server) drop(w http.ResponseWriter, c *call) {
	c.Status = 0
	s.record(c)
	hj, ok := w.(http.Hijacker)
	if !ok {
		// HTTP/2 cannot hijack; abort the stream instead.
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func serviceOfAction(action string) string {
	for name, svc := range services {
		if svc.actions[action] != nil {
			return name
		}
	}
	return ""
}

func serviceNames() []string {
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	return names
}

// validCFNV1 reports whether the credentials of a CFN_V1 header have the
// shape cfn-hup sends: base64(document):base64(signature).
func validCFNV1(cred string) bool {
	doc, sig, ok := strings.Cut(strings.TrimSpace(cred), ":")
	return ok && isBase64(doc) && isBase64(sig)
}

func isBase64(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '=') {
			return false
		}
	}
	return true
}

// sdkAttempt reads the attempt number of the SDK's amz-sdk-request header.
func sdkAttempt(h string) int {
	for part := range strings.SplitSeq(h, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		if k == "attempt" {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

func requestID(n uint64) string {
	return fmt.Sprintf("a0f5e3c1-0000-4000-8000-%012x", n)
}

// sleep waits d, or less if ctx ends or the server closes.
func (s *Server) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-s.closed:
	}
}
