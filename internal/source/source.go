// Package source holds what the agent watches: stack metadata, instance tags, Parameter
// Store parameters, the set of peers, the instance's own lifecycle and operators'
// requests. Each source reports what it sees as Updates; it never runs anything and never
// decides what an update means — that is the engine's job. Each source has a local
// backend reading files (mode: local); the AWS backends sit behind the same Source
// interface.
package source

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
)

// Source is one watcher. Run reports through emit until ctx ends; it returns nil then.
// A source that cannot read what it watches reports the error in an Update and keeps
// trying: it returns an error only when it cannot work at all.
type Source interface {
	Name() string
	Run(ctx context.Context, emit func(Update)) error
}

// Update is what one source saw at one moment. Only the fields of that source are set.
type Update struct {
	Source string
	// Err is a problem reading the source; the fields below that are nil were not read.
	Err error
	// Detail is what status shows beside a reading that went well and the log says once at
	// info: that there is nothing to watch, say.
	Detail string
	// Metadata holds the watched metadata values by rule name (only when read).
	Metadata map[string]Observed
	// Tags holds all of the instance's tags (only when read; nil = not read).
	Tags map[string]string
	// Params holds the watched Parameter Store parameters by name (the ssm source): those
	// read, present or absent; one that could not be read is left out.
	Params map[string]Observed
	// Peers is the set of online peers; PeersRead says it was read.
	Peers     []event.Instance
	PeersRead bool
	// RolloutHold is the operator's hold of the group's rollouts (the tag
	// stackhand:rollout-hold on the Auto Scaling group, read with the group at no extra
	// call); set only by the peers source, with PeersRead.
	RolloutHold bool
	// NoPeers says the peers source has no peers to watch (no Auto Scaling group, no
	// stack): this instance is a fleet of one. Set only by the peers source.
	NoPeers   bool
	Lifecycle *Lifecycle
	Request   *Request
	Identity  *event.Instance
}

// Problem says what went wrong reading the source, "" if nothing did: its error, or else
// the problem of the first watched value, by rule name, that could not be read.
func (u Update) Problem() string {
	if u.Err != nil {
		return u.Err.Error()
	}
	for _, name := range slices.Sorted(maps.Keys(u.Metadata)) {
		if err := u.Metadata[name].Err; err != nil {
			return err.Error()
		}
	}
	for _, name := range slices.Sorted(maps.Keys(u.Params)) {
		if err := u.Params[name].Err; err != nil {
			return err.Error()
		}
	}
	return ""
}

// Observed is one watched value: present with its canonical JSON, absent, or unreadable.
type Observed struct {
	Present bool
	Value   json.RawMessage
	// Err says the value could not be read (e.g. a path through a string); the engine
	// leaves the rule as it was.
	Err error
}

// Lifecycle states the engine reacts to.
const (
	InService  = "InService"
	Terminated = "Terminated"
)

// Lifecycle is the instance's own lifecycle as seen by the lifecycle source.
type Lifecycle struct {
	// State is the Auto Scaling target lifecycle state (InService, Terminated, ...).
	State string
	// Spot is set when a spot interruption notice was seen.
	Spot bool
	// Deadline is when the instance will be gone, if known (spot notice time).
	Deadline time.Time
	// Detail is free text for status and the payload.
	Detail string
	// Rebalance is the notice time of an EC2 rebalance recommendation, if one was seen.
	Rebalance time.Time
}

// Terminating reports whether this lifecycle means the instance is going away.
func (l Lifecycle) Terminating() bool { return l.State == Terminated || l.Spot }

// Request is an operator's `stackhand trigger`.
type Request struct {
	ID     string     `json:"id"`
	Event  event.Kind `json:"event"`
	Reason string     `json:"reason"`
	User   string     `json:"user,omitempty"`
	Time   time.Time  `json:"time"`
	// Rollback, with Event deploy, asks to switch an app back (`stackhand rollback`)
	// instead of running the deploy hooks.
	Rollback *state.RollbackRequest `json:"rollback,omitempty"`
}
