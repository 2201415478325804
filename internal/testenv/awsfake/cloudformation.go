package awsfake

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
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
		"DescribeStacks":        (*Server).describeStacks,
		"SignalResource":        (*Server).signalResource,
	},
	// cfn-hup's instance identity scheme is for the calls the cfn helper scripts make
	// (DescribeStackResource, and cfn-signal's SignalResource, which the docs say needs
	// no credentials); other actions signed with it are refused.
	cfnV1Actions: map[string]bool{"DescribeStackResource": true, "SignalResource": true},
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
	status    string    // StackStatus; CREATE_COMPLETE unless SetStackStatus changed it
	created   time.Time // CreationTime, to the millisecond
	updated   time.Time // LastUpdatedTime; zero: never updated
	resources map[string]*Resource
}

// touchLocked stamps the stack as updated now: a change of its resources stands for a
// stack update. Each update gets a LastUpdatedTime later than the one before at the
// millisecond resolution the wire carries, however quickly tests make them, so that a
// reader comparing LastUpdatedTime always sees a new update.
func (st *stack) touchLocked() {
	t := time.Now().UTC().Truncate(time.Millisecond)
	prev := st.created
	if st.updated.After(prev) {
		prev = st.updated
	}
	if !t.After(prev) {
		t = prev.Add(time.Millisecond)
	}
	st.updated = t
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
			status:    "CREATE_COMPLETE",
			created:   time.Now().UTC().Truncate(time.Millisecond),
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

// SetStackStatus sets the StackStatus of the stack name ("UPDATE_IN_PROGRESS",
// "UPDATE_COMPLETE"...), creating the stack if needed. It does not change
// LastUpdatedTime.
func (s *Server) SetStackStatus(name, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stackLocked(name).status = status
}

// PutResource adds or replaces a resource of stackName, creating the stack
// if needed, and stamps the stack as updated (LastUpdatedTime). Empty fields
// get the defaults documented on Resource.
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
	r.Type = cmp.Or(r.Type, "AWS::EC2::Instance")
	r.Status = cmp.Or(r.Status, "CREATE_COMPLETE")
	if r.LastUpdated.IsZero() {
		r.LastUpdated = time.Now()
	}
	st.resources[r.LogicalID] = &r
	st.touchLocked()
	return &r
}

// SetMetadata sets the Metadata JSON text of a resource and stamps it and
// its stack as updated now, creating the stack and the resource if needed.
func (s *Server) SetMetadata(stackName, logicalID, metadataJSON string) {
	s.updateResource(stackName, logicalID, func(r *Resource) { r.Metadata = metadataJSON })
}

// SetResourceStatus sets the ResourceStatus of a resource
// ("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"...) and stamps it and its stack
// as updated now, creating the stack and the resource if needed.
func (s *Server) SetResourceStatus(stackName, logicalID, status string) {
	s.updateResource(stackName, logicalID, func(r *Resource) { r.Status = status })
}

func (s *Server) updateResource(stackName, logicalID string, change func(*Resource)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stackLocked(stackName)
	r := st.resources[logicalID]
	if r == nil {
		r = s.putResourceLocked(stackName, Resource{LogicalID: logicalID})
	}
	change(r)
	r.LastUpdated = time.Now()
	st.touchLocked()
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
		return nil, validationError("1 validation error detected: Value null at 'stackName' failed to satisfy constraint: Member must not be null")
	}
	if logical == "" {
		return nil, validationError("1 validation error detected: Value null at 'logicalResourceId' failed to satisfy constraint: Member must not be null")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.findStackLocked(name)
	if st == nil {
		return nil, validationError("Stack with id %s does not exist", name)
	}
	r := st.resources[logical]
	if r == nil {
		return nil, validationError("Resource %s does not exist for stack %s", logical, name)
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

// stackElement is a member of Stacks (awsAwsquery_deserializeDocumentStack in
// service/cloudformation/deserializers.go): the fields stackhand reads and the
// ones AWS always sends.
type stackElement struct {
	StackID         string `xml:"StackId"`
	StackName       string
	CreationTime    string
	LastUpdatedTime string `xml:",omitempty"` // absent until the stack's first update
	StackStatus     string
	DisableRollback bool
	DriftStatus     string `xml:"DriftInformation>StackDriftStatus"`
	// Empty lists are sent as empty elements, as AWS does.
	NotificationARNs members[string]
	Tags             members[string]
}

type describeStacksResult struct {
	Stacks members[stackElement]
}

// describeStacks answers DescribeStacks(StackName): the stack named (by name
// or id), or every stack, ordered by name, when StackName is absent.
func (s *Server) describeStacks(c *call) (any, error) {
	name := c.Params.Get("StackName")
	s.mu.Lock()
	defer s.mu.Unlock()
	var stacks []*stack
	if name != "" {
		st := s.findStackLocked(name)
		if st == nil {
			return nil, validationError("Stack with id %s does not exist", name)
		}
		stacks = append(stacks, st)
	} else {
		for _, st := range s.stacks {
			stacks = append(stacks, st)
		}
		slices.SortFunc(stacks, func(a, b *stack) int { return strings.Compare(a.name, b.name) })
	}
	var res describeStacksResult
	for _, st := range stacks {
		e := stackElement{
			StackID:      st.id,
			StackName:    st.name,
			CreationTime: isoTime(st.created),
			StackStatus:  st.status,
			DriftStatus:  "NOT_CHECKED",
		}
		if !st.updated.IsZero() {
			e.LastUpdatedTime = isoTime(st.updated)
		}
		res.Stacks.Items = append(res.Stacks.Items, e)
	}
	return res, nil
}

// Signal is an accepted SignalResource call.
type Signal struct {
	Stack     string // the stack's name (the call may have named it by id)
	LogicalID string
	UniqueID  string
	Status    string // SUCCESS or FAILURE
}

// Signals returns the SignalResource calls accepted so far, in order.
func (s *Server) Signals() []Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.signals)
}

// signalResource answers SignalResource(StackName, LogicalResourceId, UniqueId,
// Status) with the errors CloudFormation gives: each parameter is required, Status is
// SUCCESS or FAILURE, and an unknown stack or resource is a ValidationError.
func (s *Server) signalResource(c *call) (any, error) {
	p := c.Params
	for _, req := range []struct{ param, member string }{
		{"StackName", "stackName"}, {"LogicalResourceId", "logicalResourceId"},
		{"UniqueId", "uniqueId"}, {"Status", "status"},
	} {
		if p.Get(req.param) == "" {
			return nil, validationError("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", req.member)
		}
	}
	status := p.Get("Status")
	if status != "SUCCESS" && status != "FAILURE" {
		return nil, validationError("1 validation error detected: Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [SUCCESS, FAILURE]", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name, logical := p.Get("StackName"), p.Get("LogicalResourceId")
	st := s.findStackLocked(name)
	if st == nil {
		return nil, validationError("Stack with id %s does not exist", name)
	}
	if st.resources[logical] == nil {
		return nil, validationError("Resource %s does not exist for stack %s", logical, name)
	}
	s.signals = append(s.signals, Signal{Stack: st.name, LogicalID: logical, UniqueID: p.Get("UniqueId"), Status: status})
	return emptyResult{}, nil
}
