package awsfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
)

// State is initial or added state as a JSON document, for the awsfake
// command and for benchmarks that run the stand-in in another process:
//
//	{"stacks": [{"name": "app", "resources": [{"logicalId": "Web",
//	    "metadata": {"AWS::CloudFormation::Init": {}}}]}],
//	 "instances": [{"id": "i-001", "privateIp": "10.0.0.1",
//	    "tags": {"aws:cloudformation:stack-name": "app"}}],
//	 "groups": [{"name": "web", "instances": [{"id": "i-001"}],
//	    "hooks": [{"name": "drain"}]}]}
type State struct {
	Stacks    []StackState `json:"stacks,omitempty"`
	Instances []Instance   `json:"instances,omitempty"`
	Groups    []Group      `json:"groups,omitempty"`
}

// StackState is a stack of a State.
type StackState struct {
	Name      string     `json:"name"`
	StackID   string     `json:"stackId,omitempty"`
	Status    string     `json:"status,omitempty"` // StackStatus; default CREATE_COMPLETE
	Resources []Resource `json:"resources,omitempty"`
}

// UnmarshalJSON reads a Resource whose metadata is either a JSON value
// (kept as its compact text) or a string holding the JSON text verbatim.
func (r *Resource) UnmarshalJSON(b []byte) error {
	type plain Resource
	var v struct {
		plain
		Metadata json.RawMessage `json:"metadata"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	*r = Resource(v.plain)
	switch m := bytes.TrimSpace(v.Metadata); {
	case len(m) == 0 || string(m) == "null":
		r.Metadata = ""
	case m[0] == '"':
		return json.Unmarshal(m, &r.Metadata)
	default:
		var c bytes.Buffer
		if err := json.Compact(&c, m); err != nil {
			return err
		}
		r.Metadata = c.String()
	}
	return nil
}

// LoadState reads a State document and adds what it holds, replacing stacks,
// instances and groups of the same names.
func (s *Server) LoadState(r io.Reader) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var st State
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	for _, stack := range st.Stacks {
		if stack.Name == "" {
			return errors.New("read state: a stack has no name")
		}
		s.PutStack(stack.Name, stack.StackID)
		if stack.Status != "" {
			s.SetStackStatus(stack.Name, stack.Status)
		}
		for _, res := range stack.Resources {
			if res.LogicalID == "" {
				return fmt.Errorf("read state: a resource of stack %s has no logicalId", stack.Name)
			}
			s.PutResource(stack.Name, res)
		}
	}
	for _, i := range st.Instances {
		if i.ID == "" {
			return errors.New("read state: an instance has no id")
		}
		s.PutInstance(i)
	}
	for _, g := range st.Groups {
		if g.Name == "" {
			return errors.New("read state: a group has no name")
		}
		s.PutGroup(g)
	}
	return nil
}

// controlPrefix is the path of the stand-in's own control API, for a
// stand-in in another process. AWS requests are posted to "/".
const controlPrefix = "/_awsfake/"

// serveControl answers the control API:
//
//	GET  /_awsfake/calls        {"service:Action": count, ...}
//	GET  /_awsfake/log          the call log, as JSON
//	POST /_awsfake/state        a State document, added with LoadState
//	POST /_awsfake/reset-calls  ResetCalls
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	switch what := strings.TrimPrefix(r.URL.Path, controlPrefix); {
	case what == "calls" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.CallCounts())
	case what == "log" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.CallLog())
	case what == "state" && r.Method == http.MethodPost:
		if err := s.LoadState(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case what == "reset-calls" && r.Method == http.MethodPost:
		s.ResetCalls()
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "awsfake control API: GET calls|log, POST state|reset-calls", http.StatusNotFound)
	}
}

// CallCounts returns the number of calls per "service:Action" since the
// last ResetCalls.
func (s *Server) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.counts)
}
