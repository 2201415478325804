package awsfake

import (
	"cmp"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ec2Service speaks the EC2 query protocol, API version 2016-11-15.
var ec2Service = &service{
	name:      "ec2",
	namespace: "http://ec2.amazonaws.com/doc/2016-11-15/",
	proto:     queryProtocol{ec2: true},
	// EC2 answers throttling with RequestLimitExceeded and HTTP 503.
	throttle: apiError{status: http.StatusServiceUnavailable, code: "RequestLimitExceeded", message: "Request limit exceeded."},
	internal: apiError{status: http.StatusInternalServerError, code: "InternalError", message: "An internal error has occurred."},
	actions: map[string]handler{
		"DescribeInstances": (*Server).describeInstances,
		"DescribeTags":      (*Server).describeTags,
		"CreateTags":        (*Server).createTags,
		"DeleteTags":        (*Server).deleteTags,
	},
}

// Instance is an EC2 instance as DescribeInstances and DescribeTags see it.
type Instance struct {
	ID         string    `json:"id"`
	Type       string    `json:"type,omitempty"`      // default "t3.micro"
	AZ         string    `json:"az,omitempty"`        // default "us-east-1a"
	PrivateIP  string    `json:"privateIp,omitempty"` // empty: no privateIpAddress element
	PublicIP   string    `json:"publicIp,omitempty"`  // empty: no ipAddress element
	LaunchTime time.Time `json:"launchTime,omitzero"`
	// State is the instance state name: pending, running, shutting-down,
	// terminated, stopping or stopped. Default "running".
	State string            `json:"state,omitempty"`
	Tags  map[string]string `json:"tags,omitempty"`
}

// instanceStateCodes are EC2's codes for the state names (the low byte of
// InstanceState.Code).
var instanceStateCodes = map[string]int{
	"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80,
}

// PutInstance adds or replaces an instance. Empty fields get the defaults
// documented on Instance; LaunchTime defaults to now.
func (s *Server) PutInstance(i Instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putInstanceLocked(i)
}

func (s *Server) putInstanceLocked(i Instance) *Instance {
	i.Type = cmp.Or(i.Type, "t3.micro")
	i.AZ = cmp.Or(i.AZ, "us-east-1a")
	i.State = cmp.Or(i.State, "running")
	if i.LaunchTime.IsZero() {
		i.LaunchTime = time.Now()
	}
	i.Tags = maps.Clone(i.Tags)
	if i.Tags == nil {
		i.Tags = map[string]string{}
	}
	s.instances[i.ID] = &i
	return &i
}

func (s *Server) instanceLocked(id string) *Instance {
	if i := s.instances[id]; i != nil {
		return i
	}
	return s.putInstanceLocked(Instance{ID: id})
}

// SetInstanceState sets an instance's state name ("running", "terminated"...),
// creating the instance with defaults if needed.
func (s *Server) SetInstanceState(id, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.instanceLocked(id).State = state
}

// SetTags replaces all the tags of an instance, creating the instance with
// defaults if needed.
func (s *Server) SetTags(id string, tags map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := maps.Clone(tags)
	if t == nil {
		t = map[string]string{}
	}
	s.instanceLocked(id).Tags = t
}

// SetTag sets one tag of an instance, creating the instance if needed.
func (s *Server) SetTag(id, key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.instanceLocked(id).Tags[key] = value
}

// DeleteTag removes one tag of an instance.
func (s *Server) DeleteTag(id, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.instances[id]; i != nil {
		delete(i.Tags, key)
	}
}

// RemoveInstance forgets an instance: later calls naming it get
// InvalidInstanceID.NotFound. (AWS keeps terminated instances visible for a
// while; use SetInstanceState(id, "terminated") for that.)
func (s *Server) RemoveInstance(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.instances, id)
}

// GetInstance returns a copy of an instance as the stand-in holds it.
func (s *Server) GetInstance(id string) (Instance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.instances[id]
	if i == nil {
		return Instance{}, false
	}
	c := *i
	c.Tags = maps.Clone(i.Tags)
	return c, true
}

// sortedInstancesLocked returns the instances ordered by id.
func (s *Server) sortedInstancesLocked() []*Instance {
	out := slices.Collect(maps.Values(s.instances))
	slices.SortFunc(out, func(a, b *Instance) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// ec2MaxResults reads MaxResults, which EC2 bounds to 5..1000 for both calls.
func ec2MaxResults(c *call) (int, error) {
	v := c.Params.Get("MaxResults")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 5 || n > 1000 {
		return 0, invalidValue("Value ( %s ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", v)
	}
	return n, nil
}

// Reply elements of DescribeInstances, as awsEc2query_deserializeDocument
// Reservation / Instance / InstanceState / Placement / Tag read them
// (service/ec2/deserializers.go).
type (
	ec2Tag struct {
		Key   string `xml:"key"`
		Value string `xml:"value"`
	}
	ec2InstanceState struct {
		Code int    `xml:"code"`
		Name string `xml:"name"`
	}
	ec2Placement struct {
		AvailabilityZone string `xml:"availabilityZone"`
		Tenancy          string `xml:"tenancy"`
	}
	ec2Instance struct {
		InstanceID       string           `xml:"instanceId"`
		ImageID          string           `xml:"imageId"`
		InstanceState    ec2InstanceState `xml:"instanceState"`
		PrivateDNSName   string           `xml:"privateDnsName"`
		DNSName          string           `xml:"dnsName"`
		AmiLaunchIndex   int              `xml:"amiLaunchIndex"`
		InstanceType     string           `xml:"instanceType"`
		LaunchTime       string           `xml:"launchTime"`
		Placement        ec2Placement     `xml:"placement"`
		PrivateIPAddress string           `xml:"privateIpAddress,omitempty"`
		IPAddress        string           `xml:"ipAddress,omitempty"`
		Architecture     string           `xml:"architecture"`
		RootDeviceType   string           `xml:"rootDeviceType"`
		TagSet           items[ec2Tag]    `xml:"tagSet"`
	}
	ec2Reservation struct {
		ReservationID string             `xml:"reservationId"`
		OwnerID       string             `xml:"ownerId"`
		GroupSet      items[struct{}]    `xml:"groupSet"`
		InstancesSet  items[ec2Instance] `xml:"instancesSet"`
	}
	describeInstancesResult struct {
		ReservationSet items[ec2Reservation] `xml:"reservationSet"`
		NextToken      string                `xml:"nextToken,omitempty"`
	}
)

// instanceFilters are the DescribeInstances filters the stand-in knows,
// besides tag:<key>.
var instanceFilters = map[string]func(*Instance) []string{
	"instance-id":         func(i *Instance) []string { return []string{i.ID} },
	"instance-state-name": func(i *Instance) []string { return []string{i.State} },
	"instance-state-code": func(i *Instance) []string { return []string{strconv.Itoa(instanceStateCodes[i.State])} },
	"instance-type":       func(i *Instance) []string { return []string{i.Type} },
	"availability-zone":   func(i *Instance) []string { return []string{i.AZ} },
	"private-ip-address":  func(i *Instance) []string { return []string{i.PrivateIP} },
	"ip-address":          func(i *Instance) []string { return []string{i.PublicIP} },
	"tag-key":             func(i *Instance) []string { return slices.Collect(maps.Keys(i.Tags)) },
	"tag-value":           func(i *Instance) []string { return slices.Collect(maps.Values(i.Tags)) },
}

func invalidFilter(name string) error {
	return invalidValue("The filter '%s' is invalid", name)
}

// describeInstances answers DescribeInstances(InstanceId.N, Filter.N,
// MaxResults, NextToken): one reservation per instance, ordered by id.
// Pagination counts instances; NextToken is an opaque offset.
func (s *Server) describeInstances(c *call) (any, error) {
	ids := ec2List(c.Params, "InstanceId")
	filters := ec2Filters(c.Params)
	for _, f := range filters {
		if _, ok := instanceFilters[f.name]; !ok && !strings.HasPrefix(f.name, "tag:") {
			return nil, invalidFilter(f.name)
		}
	}
	size, err := ec2MaxResults(c)
	if err != nil {
		return nil, err
	}
	if size > 0 && len(ids) > 0 {
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var selected []*Instance
	if len(ids) > 0 {
		var missing []string
		for _, id := range ids {
			if i := s.instances[id]; i != nil {
				selected = append(selected, i)
			} else {
				missing = append(missing, id)
			}
		}
		switch len(missing) {
		case 0:
		case 1:
			return nil, errorf(http.StatusBadRequest, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", missing[0])
		default:
			return nil, errorf(http.StatusBadRequest, "InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist", strings.Join(missing, ", "))
		}
	} else {
		selected = s.sortedInstancesLocked()
	}

	var matched []*Instance
	for _, i := range selected {
		if instanceMatches(i, filters) {
			matched = append(matched, i)
		}
	}
	from, to, next, err := page(len(matched), c.Params.Get("NextToken"), size)
	if err != nil {
		return nil, invalidValue("%v", err)
	}
	res := describeInstancesResult{NextToken: next}
	for _, i := range matched[from:to] {
		res.ReservationSet.Items = append(res.ReservationSet.Items, ec2Reservation{
			ReservationID: "r-" + strings.TrimPrefix(i.ID, "i-"),
			OwnerID:       "123456789012",
			InstancesSet:  items[ec2Instance]{Items: []ec2Instance{toEC2Instance(i)}},
		})
	}
	return res, nil
}

func instanceMatches(i *Instance, filters []filter) bool {
	for _, f := range filters {
		var have []string
		if key, ok := strings.CutPrefix(f.name, "tag:"); ok {
			v, ok := i.Tags[key]
			if !ok {
				return false
			}
			have = []string{v}
		} else {
			have = instanceFilters[f.name](i)
		}
		if !slices.ContainsFunc(have, func(v string) bool { return matchAny(f.values, v) }) {
			return false
		}
	}
	return true
}

func toEC2Instance(i *Instance) ec2Instance {
	out := ec2Instance{
		InstanceID:       i.ID,
		ImageID:          "ami-0123456789abcdef0",
		InstanceState:    ec2InstanceState{Code: instanceStateCodes[i.State], Name: i.State},
		InstanceType:     i.Type,
		LaunchTime:       isoTime(i.LaunchTime),
		Placement:        ec2Placement{AvailabilityZone: i.AZ, Tenancy: "default"},
		PrivateIPAddress: i.PrivateIP,
		IPAddress:        i.PublicIP,
		Architecture:     "x86_64",
		RootDeviceType:   "ebs",
	}
	if i.PrivateIP != "" {
		out.PrivateDNSName = "ip-" + strings.ReplaceAll(i.PrivateIP, ".", "-") + ".ec2.internal"
	}
	for _, k := range slices.Sorted(maps.Keys(i.Tags)) {
		out.TagSet.Items = append(out.TagSet.Items, ec2Tag{Key: k, Value: i.Tags[k]})
	}
	return out
}

// Reply elements of DescribeTags (awsEc2query_deserializeDocumentTagDescription).
type (
	ec2TagDescription struct {
		ResourceID   string `xml:"resourceId"`
		ResourceType string `xml:"resourceType"`
		Key          string `xml:"key"`
		Value        string `xml:"value"`
	}
	describeTagsResult struct {
		TagSet    items[ec2TagDescription] `xml:"tagSet"`
		NextToken string                   `xml:"nextToken,omitempty"`
	}
)

// tagFilters are the DescribeTags filters the stand-in knows.
var tagFilters = map[string]func(ec2TagDescription) string{
	"resource-id":   func(t ec2TagDescription) string { return t.ResourceID },
	"resource-type": func(t ec2TagDescription) string { return t.ResourceType },
	"key":           func(t ec2TagDescription) string { return t.Key },
	"value":         func(t ec2TagDescription) string { return t.Value },
}

// describeTags answers DescribeTags(Filter.N, MaxResults, NextToken) over the
// instances' tags, ordered by resource id and key.
func (s *Server) describeTags(c *call) (any, error) {
	filters := ec2Filters(c.Params)
	for _, f := range filters {
		if tagFilters[f.name] == nil {
			return nil, invalidFilter(f.name)
		}
	}
	size, err := ec2MaxResults(c)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	var matched []ec2TagDescription
	for _, i := range s.sortedInstancesLocked() {
		for _, k := range slices.Sorted(maps.Keys(i.Tags)) {
			t := ec2TagDescription{ResourceID: i.ID, ResourceType: "instance", Key: k, Value: i.Tags[k]}
			if tagMatches(t, filters) {
				matched = append(matched, t)
			}
		}
	}
	s.mu.Unlock()
	from, to, next, err := page(len(matched), c.Params.Get("NextToken"), size)
	if err != nil {
		return nil, invalidValue("%v", err)
	}
	return describeTagsResult{TagSet: items[ec2TagDescription]{Items: matched[from:to]}, NextToken: next}, nil
}

func tagMatches(t ec2TagDescription, filters []filter) bool {
	for _, f := range filters {
		if !matchAny(f.values, tagFilters[f.name](t)) {
			return false
		}
	}
	return true
}
