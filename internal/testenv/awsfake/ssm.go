package awsfake

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ssmService speaks JSON 1.1 with the target prefix of Systems Manager's Smithy
// service shape, AmazonSSM (service/ssm/api_client.go: awsjson.New11(
// schemas.AmazonSSM)). Only GetParameter is answered.
//
// Errors, as service/ssm/type_registry.go and types/errors.go name them:
// ParameterNotFound (400; AWS sends it with an empty message, which the AWS CLI
// shows as "An error occurred (ParameterNotFound) when calling the GetParameter
// operation: "), ParameterVersionNotFound (400) for a "name:version" selector of
// a version that does not exist, AccessDeniedException (400, as IAM denials of
// JSON services are), ThrottlingException (400, in the SDK's
// retry.DefaultThrottleErrorCodes) and InternalServerError (500).
var ssmService = &service{
	name:     "ssm",
	proto:    jsonProtocol{target: "AmazonSSM"},
	throttle: apiError{status: http.StatusBadRequest, code: "ThrottlingException", message: "Rate exceeded"},
	internal: apiError{status: http.StatusInternalServerError, code: "InternalServerError", message: "An internal error occurred."},
	actions: map[string]handler{
		"GetParameter": (*Server).getParameter,
	},
}

// fakeAccount is the account id in the ARNs the stand-in makes.
const fakeAccount = "123456789012"

// ssmParam is a parameter with its history, oldest first.
type ssmParam struct {
	versions []ssmParamVersion
}

type ssmParamVersion struct {
	value    string
	modified time.Time
}

// PutParameter stores value as a new version of the String parameter name (the
// first is version 1; every put adds one, even of the same value, as SSM's
// PutParameter with Overwrite does) and returns the version.
func (s *Server) PutParameter(name, value string) (version int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.params == nil {
		s.params = make(map[string]*ssmParam)
	}
	p := s.params[name]
	if p == nil {
		p = &ssmParam{}
		s.params[name] = p
	}
	p.versions = append(p.versions, ssmParamVersion{value: value, modified: s.now().UTC()})
	return int64(len(p.versions))
}

// DeleteParameter removes a parameter and its history.
func (s *Server) DeleteParameter(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.params, name)
}

// DenyParameter makes GetParameter of name answer AccessDeniedException (deny
// true), as when the instance role lacks ssm:GetParameter on it, or lifts it.
func (s *Server) DenyParameter(name string, deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deniedParams == nil {
		s.deniedParams = make(map[string]bool)
	}
	s.deniedParams[name] = deny
}

// ssmParameter is types.Parameter on the wire (service/ssm/schemas: Parameter).
type ssmParameter struct {
	Name             string
	Type             string
	Value            string
	Version          int64
	Selector         string  `json:",omitempty"`
	LastModifiedDate float64 // epoch seconds, JSON 1.1's default timestamp format
	ARN              string
	DataType         string
}

func (s *Server) getParameter(c *call) (any, error) {
	var in struct {
		Name           string
		WithDecryption *bool
	}
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	// A name may end in ":<version>" to read an older version (GetParameter's
	// Name member: "name:version" or "name:label"; labels are not kept here).
	name, selector := in.Name, ""
	if i := strings.LastIndex(in.Name, ":"); i > 0 && !strings.HasPrefix(in.Name, "arn:") {
		name, selector = in.Name[:i], in.Name[i+1:]
	}
	arn := "arn:aws:ssm:" + c.Region + ":" + fakeAccount + ":parameter/" + strings.TrimPrefix(name, "/")

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deniedParams[name] {
		return nil, errorf(http.StatusBadRequest, "AccessDeniedException",
			"User: arn:aws:sts::%s:assumed-role/stackhand-test/i-0 is not authorized to perform: ssm:GetParameter on resource: %s because no identity-based policy allows the ssm:GetParameter action",
			fakeAccount, arn)
	}
	p := s.params[name]
	if p == nil || len(p.versions) == 0 {
		return nil, errorf(http.StatusBadRequest, "ParameterNotFound", "")
	}
	n := int64(len(p.versions))
	if selector != "" {
		v, err := strconv.ParseInt(selector, 10, 64)
		if err != nil || v < 1 || v > int64(len(p.versions)) {
			return nil, errorf(http.StatusBadRequest, "ParameterVersionNotFound",
				"Systems Manager could not find version %s of %s. Verify the version and try again.", selector, name)
		}
		n = v
	}
	v := p.versions[n-1]
	out := ssmParameter{
		Name: name, Type: "String", Value: v.value, Version: n,
		LastModifiedDate: float64(v.modified.UnixMilli()) / 1000,
		ARN:              arn, DataType: "text",
	}
	if selector != "" {
		out.Selector = ":" + selector
	}
	return struct{ Parameter ssmParameter }{out}, nil
}
