package awsfake

import (
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"
)

// EC2's tag limits (the "Tag restrictions" of the EC2 user guide): 50 tags a resource, a
// key of at most 128 characters, a value of at most 256.
const (
	ec2MaxTags     = 50
	ec2MaxKeyLen   = 128
	ec2MaxValueLen = 256
)

// DenyCreateTags makes CreateTags and DeleteTags on instance id answer 403
// UnauthorizedOperation, as EC2 does when the caller's policy does not allow
// ec2:CreateTags on that resource (deny true), or lifts it.
func (s *Server) DenyCreateTags(id string, deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tagDenied == nil {
		s.tagDenied = map[string]bool{}
	}
	s.tagDenied[id] = deny
}

func unauthorized() error {
	return errorf(http.StatusForbidden, "UnauthorizedOperation", "You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/stand-in/i is not authorized to perform: ec2:CreateTags")
}

// ec2TagParams reads Tag.N.Key and Tag.N.Value (the value optional: DeleteTags takes a
// key alone to delete whatever its value).
func ec2TagParams(p url.Values) (keys []string, values []*string) {
	for i := 1; ; i++ {
		prefix := "Tag." + strconv.Itoa(i) + "."
		k, ok := p[prefix+"Key"]
		if !ok {
			return keys, values
		}
		keys = append(keys, k[0])
		if v, ok := p[prefix+"Value"]; ok {
			values = append(values, &v[0])
		} else {
			values = append(values, nil)
		}
	}
}

// taggableLocked says why the caller may not tag one of ids: it does not exist, or its
// tags are denied.
func (s *Server) taggableLocked(ids []string) error {
	for _, id := range ids {
		if s.instances[id] == nil {
			return errorf(http.StatusBadRequest, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		}
		if s.tagDenied[id] {
			return unauthorized()
		}
	}
	return nil
}

type ec2ReturnResult struct {
	Return bool `xml:"return"`
}

// createTags answers CreateTags(ResourceId.N, Tag.N.Key, Tag.N.Value) on instances:
// all or nothing, as EC2 applies a request.
func (s *Server) createTags(c *call) (any, error) {
	ids := ec2List(c.Params, "ResourceId")
	keys, values := ec2TagParams(c.Params)
	if len(ids) == 0 || len(keys) == 0 {
		return nil, errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter resourceIdSet and tagSet")
	}
	for i, k := range keys {
		v := ""
		if values[i] != nil {
			v = *values[i]
		}
		switch {
		case k == "" || utf8.RuneCountInString(k) > ec2MaxKeyLen:
			return nil, invalidValue("Value ( %s ) for parameter key is invalid. Tag keys must be between 1 and %d characters", k, ec2MaxKeyLen)
		case utf8.RuneCountInString(v) > ec2MaxValueLen:
			return nil, invalidValue("Value ( %s ) for parameter value is invalid. Tag values must be at most %d characters", v, ec2MaxValueLen)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.taggableLocked(ids); err != nil {
		return nil, err
	}
	for _, id := range ids {
		in := s.instances[id]
		n := len(in.Tags)
		for _, k := range keys {
			if _, ok := in.Tags[k]; !ok {
				n++
			}
		}
		if n > ec2MaxTags {
			return nil, errorf(http.StatusBadRequest, "TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
		}
	}
	for _, id := range ids {
		in := s.instances[id]
		if in.Tags == nil {
			in.Tags = map[string]string{}
		}
		for i, k := range keys {
			v := ""
			if values[i] != nil {
				v = *values[i]
			}
			in.Tags[k] = v
		}
	}
	return ec2ReturnResult{Return: true}, nil
}

// deleteTags answers DeleteTags(ResourceId.N, Tag.N.Key[, Tag.N.Value]): a key with a
// value is deleted only when the value matches.
func (s *Server) deleteTags(c *call) (any, error) {
	ids := ec2List(c.Params, "ResourceId")
	keys, values := ec2TagParams(c.Params)
	if len(ids) == 0 {
		return nil, errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter resourceIdSet")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.taggableLocked(ids); err != nil {
		return nil, err
	}
	for _, id := range ids {
		in := s.instances[id]
		for i, k := range keys {
			if v, ok := in.Tags[k]; ok && (values[i] == nil || *values[i] == v) {
				delete(in.Tags, k)
			}
		}
	}
	return ec2ReturnResult{Return: true}, nil
}

// asgTagParams reads Tags.member.N.{ResourceId,ResourceType,Key,Value,PropagateAtLaunch}.
func asgTagParams(p url.Values) []asgTag {
	var out []asgTag
	for i := 1; ; i++ {
		prefix := "Tags.member." + strconv.Itoa(i) + "."
		k, ok := p[prefix+"Key"]
		if !ok {
			return out
		}
		t := asgTag{ResourceID: p.Get(prefix + "ResourceId"), ResourceType: p.Get(prefix + "ResourceType"), Key: k[0], Value: p.Get(prefix + "Value")}
		t.PropagateAtLaunch, _ = strconv.ParseBool(p.Get(prefix + "PropagateAtLaunch"))
		out = append(out, t)
	}
}

// createOrUpdateTags answers Auto Scaling's CreateOrUpdateTags on groups.
func (s *Server) createOrUpdateTags(c *call) (any, error) {
	tags := asgTagParams(c.Params)
	if len(tags) == 0 {
		return nil, validationError("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tags {
		if t.ResourceType != "auto-scaling-group" {
			return nil, validationError("Invalid resource type: %s", t.ResourceType)
		}
		if s.groups[t.ResourceID] == nil {
			return nil, validationError("AutoScalingGroup name not found - %s", t.ResourceID)
		}
	}
	for _, t := range tags {
		g := s.groups[t.ResourceID]
		if g.Tags == nil {
			g.Tags = map[string]string{}
		}
		g.Tags[t.Key] = t.Value
	}
	return emptyResult{}, nil
}

// deleteASGTags answers Auto Scaling's DeleteTags on groups.
func (s *Server) deleteASGTags(c *call) (any, error) {
	tags := asgTagParams(c.Params)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tags {
		if g := s.groups[t.ResourceID]; g != nil {
			delete(g.Tags, t.Key)
		}
	}
	return emptyResult{}, nil
}
