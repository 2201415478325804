package awsfake

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// cloudFormation speaks the query protocol, API version 2010-05-15.
var cloudFormation = &service{
	name:      "cloudformation",
	namespace: "http://cloudformation.amazonaws.com/doc/2010-05-15/",
	proto:     queryProtocol{},
	throttle:  apiError{status: http.StatusBadRequest, code: "Throttling", message: "Rate exceeded"},
	internal:  apiError{status: http.StatusInternalServerError, code: "InternalFailure", message: "An internal error occurred."},
	actions: map[string]handler{
		"DescribeStackResource": (*Server).describeStackResource,
	},
}

// Resource is a resource of a stack as DescribeStackResource returns it.
type Resource struct {
	LogicalID  string `json:"logicalId"`
	PhysicalID string `json:"physicalId,omitempty"` // default: "<stack>-<LogicalID>-<n>"
	Type       string `json:"type,omitempty"`       // default: "AWS::EC2::Instance"
	Status     string `json:"status,omitempty"`     // default: "CREATE_COMPLETE"
	// Metadata is the resource's Metadata attribute as JSON text, answered
	// verbatim (it is not checked to be JSON, so tests can serve bad
	// metadata). Empty: the reply has no Metadata element. In a state file
	// it is either a JSON value or a string holding the text.
	Metadata string `json:"metadata,omitempty"`
	// LastUpdated defaults to the time the resource was put or changed.
	LastUpdated time.Time `json:"lastUpdated,omitzero"`
}

type stack struct {
	name      string
	id        string
	resources map[string]*Resource
}

// PutStack creates the stack name, or gives an existing one a new id,
// keeping its resources. An empty stackID gets an ARN in us-east-1.
func (s *Server) PutStack(name, stackID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stackLocked(name)
	if stackID != "" {
		st.id = stackID
	}
}

// stackLocked returns the stack name, creating it if needed.
func (s *Server) stackLocked(name string) *stack {
	st := s.stacks[name]
	if st == nil {
		s.seq++
		st = &stack{
			name:      name,
			id:        fmt.Sprintf("arn:aws:cloudformation:us-east-1:123456789012:stack/%s/5c0a1d20-0000-4000-8000-%012x", name, s.seq),
			resources: make(map[string]*Resource),
		}
		s.stacks[name] = st
	}
	return st
}

// DeleteStack removes the stack name and its resources; later calls naming
// it get "Stack with id <name> does not exist".
func (s *Server) DeleteStack(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.stacks, name)
}

// PutResource adds or replaces a resource of stackName, creating the stack
// if needed. Empty fields get the defaults documented on Resource.
func (s *Server) PutResource(stackName string, r Resource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putResourceLocked(stackName, r)
}

func (s *Server) putResourceLocked(stackName string, r Resource) *Resource {
	st := s.stackLocked(stackName)
	if r.PhysicalID == "" {
		s.seq++
		r.PhysicalID = fmt.Sprintf("%s-%s-%d", stackName, r.LogicalID, s.seq)
	}
	if r.Type == "" {
		r.Type = "AWS::EC2::Instance"
	}
	if r.Status == "" {
		r.Status = "CREATE_COMPLETE"
	}
	if r.LastUpdated.IsZero() {
		r.LastUpdated = time.Now()
	}
	st.resources[r.LogicalID] = &r
	return &r
}

// SetMetadata sets the Metadata JSON text of a resource and stamps it as
// updated now, creating the stack and the resource if needed.
func (s *Server) SetMetadata(stackName, logicalID, metadataJSON string) {
	s.updateResource(stackName, logicalID, func(r *Resource) { r.Metadata = metadataJSON })
}

// SetResourceStatus sets the ResourceStatus of a resource
// ("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"...), creating the stack and the
// resource if needed.
func (s *Server) SetResourceStatus(stackName, logicalID, status string) {
	s.updateResource(stackName, logicalID, func(r *Resource) { r.Status = status })
}

func (s *Server) updateResource(stackName, logicalID string, change func(*Resource)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.stackLocked(stackName).resources[logicalID]
	if r == nil {
		r = s.putResourceLocked(stackName, Resource{LogicalID: logicalID})
	}
	change(r)
	r.LastUpdated = time.Now()
}

// StackResource returns a copy of a resource as the stand-in holds it.
func (s *Server) StackResource(stackName, logicalID string) (Resource, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.stacks[stackName]; st != nil {
		if r := st.resources[logicalID]; r != nil {
			return *r, true
		}
	}
	return Resource{}, false
}

// findStackLocked finds a stack by name or by stack id, as CloudFormation
// accepts either in StackName.
func (s *Server) findStackLocked(nameOrID string) *stack {
	if st := s.stacks[nameOrID]; st != nil {
		return st
	}
	if strings.HasPrefix(nameOrID, "arn:") {
		for _, st := range s.stacks {
			if st.id == nameOrID {
				return st
			}
		}
	}
	return nil
}

// stackResourceDetail is the StackResourceDetail element
// (awsAwsquery_deserializeDocumentStackResourceDetail in
// service/cloudformation/deserializers.go).
type stackResourceDetail struct {
	StackName            string
	StackID              string `xml:"StackId"`
	LogicalResourceID    string `xml:"LogicalResourceId"`
	PhysicalResourceID   string `xml:"PhysicalResourceId,omitempty"`
	ResourceType         string
	LastUpdatedTimestamp string
	ResourceStatus       string
	// Metadata is JSON text inside the XML; encoding/xml escapes it and the
	// SDK's decoder gives the same string back.
	Metadata       string `xml:",omitempty"`
	DriftStatus    string `xml:"DriftInformation>StackResourceDriftStatus"`
	lastUpdatedRaw time.Time
}

type describeStackResourceResult struct {
	StackResourceDetail stackResourceDetail
}

// jsonValue is the reply for ContentType=JSON, cfn-hup's format: the same
// names, timestamps as seconds since the epoch.
func (r describeStackResourceResult) jsonValue() any {
	d := r.StackResourceDetail
	m := map[string]any{
		"StackName":            d.StackName,
		"StackId":              d.StackID,
		"LogicalResourceId":    d.LogicalResourceID,
		"PhysicalResourceId":   d.PhysicalResourceID,
		"ResourceType":         d.ResourceType,
		"LastUpdatedTimestamp": float64(d.lastUpdatedRaw.UnixMilli()) / 1000,
		"ResourceStatus":       d.ResourceStatus,
	}
	if d.Metadata != "" {
		m["Metadata"] = d.Metadata
	}
	return map[string]any{"StackResourceDetail": m}
}

// describeStackResource answers DescribeStackResource(StackName,
// LogicalResourceId).
func (s *Server) describeStackResource(c *call) (any, error) {
	name, logical := c.Params.Get("StackName"), c.Params.Get("LogicalResourceId")
	if name == "" {
		return nil, errorf(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value null at 'stackName' failed to satisfy constraint: Member must not be null")
	}
	if logical == "" {
		return nil, errorf(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value null at 'logicalResourceId' failed to satisfy constraint: Member must not be null")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.findStackLocked(name)
	if st == nil {
		return nil, errorf(http.StatusBadRequest, "ValidationError", "Stack with id %s does not exist", name)
	}
	r := st.resources[logical]
	if r == nil {
		return nil, errorf(http.StatusBadRequest, "ValidationError", "Resource %s does not exist for stack %s", logical, name)
	}
	return describeStackResourceResult{StackResourceDetail: stackResourceDetail{
		StackName:            st.name,
		StackID:              st.id,
		LogicalResourceID:    r.LogicalID,
		PhysicalResourceID:   r.PhysicalID,
		ResourceType:         r.Type,
		LastUpdatedTimestamp: isoTime(r.LastUpdated),
		ResourceStatus:       r.Status,
		Metadata:             r.Metadata,
		DriftStatus:          "NOT_CHECKED",
		lastUpdatedRaw:       r.LastUpdated,
	}}, nil
}
