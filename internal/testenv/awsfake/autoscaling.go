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

// autoScaling speaks the query protocol, API version 2011-01-01.
var autoScaling = &service{
	name:      "autoscaling",
	namespace: "http://autoscaling.amazonaws.com/doc/2011-01-01/",
	proto:     queryProtocol{},
	throttle:  apiError{status: http.StatusBadRequest, code: "Throttling", message: "Rate exceeded"},
	internal:  apiError{status: http.StatusInternalServerError, code: "InternalFailure", message: "An internal error occurred."},
	actions: map[string]handler{
		"DescribeAutoScalingGroups":      (*Server).describeAutoScalingGroups,
		"DescribeLifecycleHooks":         (*Server).describeLifecycleHooks,
		"RecordLifecycleActionHeartbeat": (*Server).recordLifecycleActionHeartbeat,
		"CompleteLifecycleAction":        (*Server).completeLifecycleAction,
		"SetInstanceHealth":              (*Server).setInstanceHealth,
		"CreateOrUpdateTags":             (*Server).createOrUpdateTags,
		"DeleteTags":                     (*Server).deleteASGTags,
	},
}

// Lifecycle transitions of a LifecycleHook.
const (
	TransitionLaunching   = "autoscaling:EC2_INSTANCE_LAUNCHING"
	TransitionTerminating = "autoscaling:EC2_INSTANCE_TERMINATING"
)

// Group is an Auto Scaling group.
type Group struct {
	Name string `json:"name"`
	// MinSize, MaxSize and DesiredCapacity default to 0, the number of
	// instances, and the number of instances.
	MinSize         int `json:"minSize,omitempty"`
	MaxSize         int `json:"maxSize,omitempty"`
	DesiredCapacity int `json:"desiredCapacity,omitempty"`
	// AvailabilityZones defaults to the zones of its instances.
	AvailabilityZones []string          `json:"availabilityZones,omitempty"`
	Instances         []GroupInstance   `json:"instances,omitempty"`
	Hooks             []LifecycleHook   `json:"hooks,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	CreatedTime       time.Time         `json:"createdTime,omitzero"` // default: when it was put
	// HealthCheckGracePeriod is in seconds; 0 means the default of 300, a
	// negative value none. SetInstanceHealth respects it (see
	// GroupInstance.LaunchTime).
	HealthCheckGracePeriod int `json:"healthCheckGracePeriod,omitempty"`
}

// GroupInstance is an instance as its Auto Scaling group lists it.
type GroupInstance struct {
	ID string `json:"id"`
	// LifecycleState: Pending, Pending:Wait, InService, Terminating,
	// Terminating:Wait... Default "InService".
	LifecycleState string `json:"lifecycleState,omitempty"`
	HealthStatus   string `json:"healthStatus,omitempty"` // default "Healthy"
	// AZ and Type default to those of the EC2 instance with the same id
	// (PutInstance), else "us-east-1a" and "t3.micro".
	AZ   string `json:"az,omitempty"`
	Type string `json:"type,omitempty"`
	// LaunchTime is when the instance started, for the group's health check
	// grace period; zero means that of the EC2 instance with the same id
	// (PutInstance, which defaults it to the time it was put), and with no
	// such instance, long enough ago to be past any grace period.
	LaunchTime time.Time `json:"launchTime,omitzero"`
}

// InService lists instance ids as InService, healthy group members, for
// SetGroupInstances.
func InService(ids ...string) []GroupInstance {
	out := make([]GroupInstance, len(ids))
	for n, id := range ids {
		out[n] = GroupInstance{ID: id, LifecycleState: "InService"}
	}
	return out
}

// LifecycleHook is a lifecycle hook of a group.
type LifecycleHook struct {
	Name             string `json:"name"`
	Transition       string `json:"transition,omitempty"`       // default TransitionTerminating
	HeartbeatTimeout int    `json:"heartbeatTimeout,omitempty"` // seconds, default 3600
	DefaultResult    string `json:"defaultResult,omitempty"`    // CONTINUE or ABANDON, default ABANDON
}

// LifecycleCall is an accepted RecordLifecycleActionHeartbeat or
// CompleteLifecycleAction with its arguments.
type LifecycleCall struct {
	Time       time.Time
	Group      string
	Hook       string
	InstanceID string
	Token      string
	Result     string // CONTINUE or ABANDON; empty for a heartbeat
	// LogEvents and MetricData are how many log events (all streams) and metric data the
	// stand-in had stored when it answered a CompleteLifecycleAction: what arrived before
	// the instance was let go.
	LogEvents, MetricData int
}

type group struct {
	Group
}

// PutGroup adds or replaces an Auto Scaling group, with its instances and
// hooks. Empty fields get the defaults documented on Group.
func (s *Server) PutGroup(g Group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putGroupLocked(g)
}

func (s *Server) putGroupLocked(g Group) *group {
	if g.CreatedTime.IsZero() {
		g.CreatedTime = time.Now()
	}
	g.MaxSize = max(g.MaxSize, len(g.Instances))
	if g.DesiredCapacity == 0 {
		g.DesiredCapacity = len(g.Instances)
	}
	g.AvailabilityZones = slices.Clone(g.AvailabilityZones)
	g.Instances = slices.Clone(g.Instances)
	g.Tags = maps.Clone(g.Tags)
	hooks := g.Hooks
	g.Hooks = nil
	gr := &group{Group: g}
	for _, h := range hooks {
		gr.putHook(h)
	}
	s.groups[g.Name] = gr
	return gr
}

func (s *Server) groupLocked(name string) *group {
	if g := s.groups[name]; g != nil {
		return g
	}
	return s.putGroupLocked(Group{Name: name})
}

// DeleteGroup removes a group.
func (s *Server) DeleteGroup(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.groups, name)
}

// SetGroupInstances replaces the instances of a group (see InService),
// creating the group if needed. DesiredCapacity follows the count.
func (s *Server) SetGroupInstances(name string, instances ...GroupInstance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groupLocked(name)
	g.Instances = slices.Clone(instances)
	g.DesiredCapacity = len(instances)
	g.MaxSize = max(g.MaxSize, len(instances))
}

// SetGroupInstanceState sets the lifecycle state of one instance of a group
// ("Terminating:Wait"...), adding it to the group if needed.
func (s *Server) SetGroupInstanceState(name, id, lifecycleState string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groupLocked(name)
	for n := range g.Instances {
		if g.Instances[n].ID == id {
			g.Instances[n].LifecycleState = lifecycleState
			return
		}
	}
	g.Instances = append(g.Instances, GroupInstance{ID: id, LifecycleState: lifecycleState})
}

// PutLifecycleHook adds or replaces (by name) a lifecycle hook of a group,
// creating the group if needed.
func (s *Server) PutLifecycleHook(groupName string, h LifecycleHook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groupLocked(groupName).putHook(h)
}

func (g *group) putHook(h LifecycleHook) {
	h.Transition = cmp.Or(h.Transition, TransitionTerminating)
	h.HeartbeatTimeout = cmp.Or(h.HeartbeatTimeout, 3600)
	h.DefaultResult = cmp.Or(h.DefaultResult, "ABANDON")
	for n := range g.Hooks {
		if g.Hooks[n].Name == h.Name {
			g.Hooks[n] = h
			return
		}
	}
	g.Hooks = append(g.Hooks, h)
}

func (g *group) hook(name string) *LifecycleHook {
	for n := range g.Hooks {
		if g.Hooks[n].Name == name {
			return &g.Hooks[n]
		}
	}
	return nil
}

// GetGroup returns a copy of a group as the stand-in holds it.
func (s *Server) GetGroup(name string) (Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[name]
	if g == nil {
		return Group{}, false
	}
	c := g.Group
	c.AvailabilityZones = slices.Clone(c.AvailabilityZones)
	c.Instances = slices.Clone(c.Instances)
	c.Hooks = slices.Clone(c.Hooks)
	c.Tags = maps.Clone(c.Tags)
	return c, true
}

// Heartbeats returns the accepted RecordLifecycleActionHeartbeat calls since
// the last ResetCalls.
func (s *Server) Heartbeats() []LifecycleCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.heartbeats)
}

// Completions returns the accepted CompleteLifecycleAction calls since the
// last ResetCalls.
func (s *Server) Completions() []LifecycleCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.completes)
}

// Reply elements, as awsAwsquery_deserializeDocumentAutoScalingGroup /
// Instance / LifecycleHook / TagDescription read them
// (service/autoscaling/deserializers.go). Untagged fields are named as in
// the reply.
type (
	asgInstance struct {
		InstanceID           string `xml:"InstanceId"`
		InstanceType         string
		AvailabilityZone     string
		LifecycleState       string
		HealthStatus         string
		ProtectedFromScaleIn bool
	}
	asgTag struct {
		ResourceID        string `xml:"ResourceId"`
		ResourceType      string
		Key               string
		Value             string
		PropagateAtLaunch bool
	}
	asgGroup struct {
		AutoScalingGroupName             string
		AutoScalingGroupARN              string
		MinSize                          int
		MaxSize                          int
		DesiredCapacity                  int
		DefaultCooldown                  int
		AvailabilityZones                members[string]
		HealthCheckType                  string
		HealthCheckGracePeriod           int
		Instances                        members[asgInstance]
		CreatedTime                      string
		Tags                             members[asgTag]
		TerminationPolicies              members[string]
		NewInstancesProtectedFromScaleIn bool
	}
	describeAutoScalingGroupsResult struct {
		AutoScalingGroups members[asgGroup]
		NextToken         string `xml:",omitempty"`
	}
	asgHook struct {
		LifecycleHookName    string
		AutoScalingGroupName string
		LifecycleTransition  string
		HeartbeatTimeout     int
		GlobalTimeout        int
		DefaultResult        string
	}
	describeLifecycleHooksResult struct {
		LifecycleHooks members[asgHook]
	}
)

// describeAutoScalingGroups answers DescribeAutoScalingGroups(
// AutoScalingGroupNames.member.N, Filters.member.N, MaxRecords, NextToken).
// Unknown names are left out, as AWS does. Filters: tag:<key>, tag-key,
// tag-value. Groups are ordered by name; NextToken is an opaque offset.
func (s *Server) describeAutoScalingGroups(c *call) (any, error) {
	names := queryList(c.Params, "AutoScalingGroupNames")
	size := 50
	if v := c.Params.Get("MaxRecords"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, validationError("1 validation error detected: Value '%s' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and 100", v)
		}
		size = n
	}
	var filters []filter
	for i := 1; ; i++ {
		prefix := "Filters.member." + strconv.Itoa(i) + "."
		name, ok := c.Params[prefix+"Name"]
		if !ok {
			break
		}
		if !strings.HasPrefix(name[0], "tag:") && name[0] != "tag-key" && name[0] != "tag-value" {
			return nil, validationError("awsfake: filter %q is not supported (tag:<key>, tag-key, tag-value are)", name[0])
		}
		filters = append(filters, filter{name: name[0], values: queryList(c.Params, prefix+"Values")})
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var selected []*group
	if len(names) > 0 {
		for _, n := range names {
			if g := s.groups[n]; g != nil && !slices.Contains(selected, g) {
				selected = append(selected, g)
			}
		}
	} else {
		for _, n := range slices.Sorted(maps.Keys(s.groups)) {
			selected = append(selected, s.groups[n])
		}
	}
	selected = slices.DeleteFunc(selected, func(g *group) bool { return !groupMatches(g, filters) })
	from, to, next, err := page(len(selected), c.Params.Get("NextToken"), size)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidNextToken", "%v", err)
	}
	res := describeAutoScalingGroupsResult{NextToken: next}
	for _, g := range selected[from:to] {
		res.AutoScalingGroups.Items = append(res.AutoScalingGroups.Items, s.toASGGroupLocked(g))
	}
	return res, nil
}

func groupMatches(g *group, filters []filter) bool {
	for _, f := range filters {
		var have []string
		switch {
		case f.name == "tag-key":
			have = slices.Collect(maps.Keys(g.Tags))
		case f.name == "tag-value":
			have = slices.Collect(maps.Values(g.Tags))
		default:
			v, ok := g.Tags[strings.TrimPrefix(f.name, "tag:")]
			if !ok {
				return false
			}
			have = []string{v}
		}
		if !slices.ContainsFunc(have, func(v string) bool { return slices.Contains(f.values, v) }) {
			return false
		}
	}
	return true
}

func (s *Server) toASGGroupLocked(g *group) asgGroup {
	out := asgGroup{
		AutoScalingGroupName: g.Name,
		AutoScalingGroupARN: "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:" +
			"7d1e0c5a-0000-4000-8000-000000000000:autoScalingGroupName/" + g.Name,
		MinSize:                g.MinSize,
		MaxSize:                g.MaxSize,
		DesiredCapacity:        g.DesiredCapacity,
		DefaultCooldown:        300,
		HealthCheckType:        "EC2",
		HealthCheckGracePeriod: g.gracePeriod(),
		CreatedTime:            isoTime(g.CreatedTime),
		TerminationPolicies:    members[string]{Items: []string{"Default"}},
	}
	zones := slices.Clone(g.AvailabilityZones)
	for _, gi := range g.Instances {
		i := asgInstance{
			InstanceID:       gi.ID,
			InstanceType:     gi.Type,
			AvailabilityZone: gi.AZ,
			LifecycleState:   cmp.Or(gi.LifecycleState, "InService"),
			HealthStatus:     cmp.Or(gi.HealthStatus, "Healthy"),
		}
		if ec2 := s.instances[gi.ID]; ec2 != nil {
			i.InstanceType = cmp.Or(i.InstanceType, ec2.Type)
			i.AvailabilityZone = cmp.Or(i.AvailabilityZone, ec2.AZ)
		}
		i.InstanceType = cmp.Or(i.InstanceType, "t3.micro")
		i.AvailabilityZone = cmp.Or(i.AvailabilityZone, "us-east-1a")
		if len(g.AvailabilityZones) == 0 && !slices.Contains(zones, i.AvailabilityZone) {
			zones = append(zones, i.AvailabilityZone)
		}
		out.Instances.Items = append(out.Instances.Items, i)
	}
	if len(zones) == 0 {
		zones = []string{"us-east-1a"}
	}
	slices.Sort(zones)
	out.AvailabilityZones.Items = zones
	for _, k := range slices.Sorted(maps.Keys(g.Tags)) {
		out.Tags.Items = append(out.Tags.Items, asgTag{
			ResourceID: g.Name, ResourceType: "auto-scaling-group", Key: k, Value: g.Tags[k], PropagateAtLaunch: true,
		})
	}
	return out
}

// describeLifecycleHooks answers DescribeLifecycleHooks(AutoScalingGroupName,
// LifecycleHookNames.member.N).
func (s *Server) describeLifecycleHooks(c *call) (any, error) {
	name := c.Params.Get("AutoScalingGroupName")
	wanted := queryList(c.Params, "LifecycleHookNames")
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[name]
	if g == nil {
		return nil, validationError("Group %s not found", name)
	}
	var res describeLifecycleHooksResult
	for _, h := range g.Hooks {
		if len(wanted) > 0 && !slices.Contains(wanted, h.Name) {
			continue
		}
		res.LifecycleHooks.Items = append(res.LifecycleHooks.Items, asgHook{
			LifecycleHookName:    h.Name,
			AutoScalingGroupName: g.Name,
			LifecycleTransition:  h.Transition,
			HeartbeatTimeout:     h.HeartbeatTimeout,
			// AWS's global timeout is 100 heartbeat timeouts, at most 48 hours.
			GlobalTimeout: min(100*h.HeartbeatTimeout, 172800),
			DefaultResult: h.DefaultResult,
		})
	}
	return res, nil
}

// lifecycleActionLocked checks the arguments shared by RecordLifecycleActionHeartbeat
// and CompleteLifecycleAction and returns the call to record. The stand-in
// does not track lifecycle actions: any token is accepted, and an instance id
// must belong to the group (in any lifecycle state).
func (s *Server) lifecycleActionLocked(c *call) (LifecycleCall, *group, error) {
	lc := LifecycleCall{
		Time:       c.Time,
		Group:      c.Params.Get("AutoScalingGroupName"),
		Hook:       c.Params.Get("LifecycleHookName"),
		InstanceID: c.Params.Get("InstanceId"),
		Token:      c.Params.Get("LifecycleActionToken"),
		Result:     c.Params.Get("LifecycleActionResult"),
	}
	if lc.Group == "" || lc.Hook == "" {
		return lc, nil, validationError("AutoScalingGroupName and LifecycleHookName are required")
	}
	if lc.InstanceID == "" && lc.Token == "" {
		return lc, nil, validationError("Either LifecycleActionToken or InstanceId must be specified")
	}
	g := s.groups[lc.Group]
	if g == nil {
		return lc, nil, validationError("Group %s not found", lc.Group)
	}
	if g.hook(lc.Hook) == nil {
		return lc, nil, validationError("No Lifecycle Hook found with name %s for group %s", lc.Hook, lc.Group)
	}
	if lc.InstanceID != "" && !slices.ContainsFunc(g.Instances, func(i GroupInstance) bool { return i.ID == lc.InstanceID }) {
		return lc, nil, validationError("No active Lifecycle Action found with instance ID %s", lc.InstanceID)
	}
	return lc, g, nil
}

type emptyResult struct{}

// recordLifecycleActionHeartbeat answers RecordLifecycleActionHeartbeat.
func (s *Server) recordLifecycleActionHeartbeat(c *call) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lc, _, err := s.lifecycleActionLocked(c)
	if err != nil {
		return nil, err
	}
	lc.Result = ""
	s.heartbeats = append(s.heartbeats, lc)
	return emptyResult{}, nil
}

// completeLifecycleAction answers CompleteLifecycleAction. An instance
// waiting in Pending:Wait or Terminating:Wait moves on to :Proceed.
func (s *Server) completeLifecycleAction(c *call) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lc, g, err := s.lifecycleActionLocked(c)
	if err != nil {
		return nil, err
	}
	if lc.Result != "CONTINUE" && lc.Result != "ABANDON" {
		return nil, validationError("LifecycleActionResult must be CONTINUE or ABANDON, got %q", lc.Result)
	}
	for n := range g.Instances {
		if gi := &g.Instances[n]; gi.ID == lc.InstanceID {
			if st, ok := strings.CutSuffix(gi.LifecycleState, ":Wait"); ok {
				gi.LifecycleState = st + ":Proceed"
			}
		}
	}
	for _, g := range s.logGroups {
		for _, st := range g.streams {
			lc.LogEvents += len(st.events)
		}
	}
	lc.MetricData = len(s.cw.data)
	s.completes = append(s.completes, lc)
	return emptyResult{}, nil
}

// gracePeriod is the group's health check grace period in seconds.
func (g *group) gracePeriod() int {
	switch p := g.HealthCheckGracePeriod; {
	case p == 0:
		return 300
	case p < 0:
		return 0
	default:
		return p
	}
}

// HealthCall is an accepted SetInstanceHealth call.
type HealthCall struct {
	Time       time.Time
	InstanceID string
	Status     string // Healthy or Unhealthy
	// RespectGrace is ShouldRespectGracePeriod, true when not sent (the
	// API's default).
	RespectGrace bool
}

// HealthCalls returns the accepted SetInstanceHealth calls since the last
// ResetCalls.
func (s *Server) HealthCalls() []HealthCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.health)
}

// setInstanceHealth answers SetInstanceHealth(InstanceId, HealthStatus,
// ShouldRespectGracePeriod) and sets the health status the instance's group
// reports. Respecting the grace period (the default), a call on an instance
// younger than its group's HealthCheckGracePeriod is refused with the
// ValidationError AWS answers ("The age of the instance (986 seconds) is less
// than the configured grace period of 1500 seconds", aws/aws-cli#171). An
// instance in no group is refused with a ValidationError too (its message is
// the stand-in's). The stand-in neither replaces an Unhealthy instance nor
// changes its lifecycle state.
func (s *Server) setInstanceHealth(c *call) (any, error) {
	hc := HealthCall{
		Time:         c.Time,
		InstanceID:   c.Params.Get("InstanceId"),
		Status:       c.Params.Get("HealthStatus"),
		RespectGrace: true,
	}
	if v := c.Params.Get("ShouldRespectGracePeriod"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, validationError("ShouldRespectGracePeriod must be true or false, got %q", v)
		}
		hc.RespectGrace = b
	}
	switch {
	case hc.InstanceID == "" || hc.Status == "":
		return nil, validationError("InstanceId and HealthStatus are required")
	case len(hc.InstanceID) > 19:
		return nil, validationError("1 validation error detected: Value '%s' at 'instanceId' failed to satisfy constraint: Member must have length less than or equal to 19", hc.InstanceID)
	case hc.Status != "Healthy" && hc.Status != "Unhealthy":
		return nil, validationError("HealthStatus must be Healthy or Unhealthy, got %q", hc.Status)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var gi *GroupInstance
	var g *group
	for _, name := range slices.Sorted(maps.Keys(s.groups)) {
		for n := range s.groups[name].Instances {
			if in := &s.groups[name].Instances[n]; in.ID == hc.InstanceID {
				g, gi = s.groups[name], in
			}
		}
		if gi != nil {
			break
		}
	}
	if gi == nil {
		return nil, validationError("Instance Id not found - No managed instance found for instance ID: %s", hc.InstanceID)
	}
	launched := gi.LaunchTime
	if ec2 := s.instances[gi.ID]; launched.IsZero() && ec2 != nil {
		launched = ec2.LaunchTime
	}
	if grace := g.gracePeriod(); hc.RespectGrace && grace > 0 && !launched.IsZero() {
		if age := int(s.now().Sub(launched).Seconds()); age < grace {
			return nil, validationError("The age of the instance (%d seconds) is less than the configured grace period of %d seconds", age, grace)
		}
	}
	gi.HealthStatus = hc.Status
	s.health = append(s.health, hc)
	return emptyResult{}, nil
}
