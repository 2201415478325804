// Package event defines the five lifecycle events and the payload every hook receives.
// It is the vocabulary shared by the sources, the engine and the hook runner, and
// imports nothing else of stackhand's.
package event

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Kind is one of the five lifecycle events.
type Kind string

// The lifecycle events, in the order a new instance sees them.
const (
	Setup     Kind = "setup"
	Configure Kind = "configure"
	Deploy    Kind = "deploy"
	Undeploy  Kind = "undeploy"
	Shutdown  Kind = "shutdown"
)

// Health is the pseudo-event the health check scripts run as: their directory under the
// hooks directory and the "event" of their payload. It is not a lifecycle event: it is
// not in Kinds and ParseKind refuses it.
const Health Kind = "health"

// Kinds lists every lifecycle event in its documented order.
var Kinds = []Kind{Setup, Configure, Deploy, Undeploy, Shutdown}

// KindNames returns the event names joined for an error message.
func KindNames() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// ParseKind returns the Kind named by s, or an error that lists the valid names.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown event %q: the events are %s", s, KindNames())
}

// ChangeKind says how a watched value changed, in cfn-hup's terms.
type ChangeKind string

// The three kinds of change a watch rule reacts to (cfn-hup's post.add, post.update, post.remove).
const (
	Add    ChangeKind = "add"
	Update ChangeKind = "update"
	Remove ChangeKind = "remove"
)

// Instance is one EC2 instance as hooks see it: this one, or a peer.
type Instance struct {
	InstanceID       string    `json:"instance_id"`
	Region           string    `json:"region,omitempty"`
	AvailabilityZone string    `json:"az,omitempty"`
	PrivateIP        string    `json:"private_ip,omitempty"`
	PublicIP         string    `json:"public_ip,omitempty"`
	InstanceType     string    `json:"instance_type,omitempty"`
	LaunchTime       time.Time `json:"launch_time,omitzero"`
	Hostname         string    `json:"hostname,omitempty"`
	Stack            string    `json:"stack,omitempty"`
	LogicalID        string    `json:"logical_id,omitempty"`
	AutoScalingGroup string    `json:"autoscaling_group,omitempty"`
}

// Watched is one watched value (a metadata path, a tag or a Parameter Store parameter)
// as a hook sees it. A parameter's value is {"value": "...", "version": N} (no version in
// mode local), since a new version of the same value is a change too.
// Old is what the last successful event saw, New what is there now; a value that is
// absent is left out.
type Watched struct {
	Rule   string          `json:"rule"`
	Source string          `json:"source"` // "metadata", "tag" or "ssm"
	Path   string          `json:"path"`
	Change ChangeKind      `json:"change,omitempty"` // empty when this value did not change
	Old    json.RawMessage `json:"old,omitempty"`
	New    json.RawMessage `json:"new,omitempty"`
}

// TriggerType says what kind of thing caused an event.
type TriggerType string

// The causes of an event. A retry keeps the trigger of the run it repeats, with
// Payload.Retry set.
const (
	// TriggerFirstStart is the agent's first start on this instance: it runs setup.
	TriggerFirstStart TriggerType = "first-start"
	// TriggerSetup is a finished setup: the configure and the deploy that follow it.
	TriggerSetup TriggerType = "setup"
	// TriggerWatch is a change of watched metadata paths or tags (Trigger.Rules).
	TriggerWatch TriggerType = "watch"
	// TriggerPeers is a change of the set of online peers.
	TriggerPeers TriggerType = "peers"
	// TriggerLifecycle is the instance's lifecycle: termination, spot interruption, or
	// a rebalance recommendation (Trigger.Detail says which).
	TriggerLifecycle TriggerType = "lifecycle"
	// TriggerRequest is an operator's `stackhand trigger` (Trigger.Requests).
	TriggerRequest TriggerType = "request"
	// TriggerSystem is the operating system shutting down.
	TriggerSystem TriggerType = "system"
)

// Trigger says what caused an event.
type Trigger struct {
	// Type is what kind of thing caused the event.
	Type TriggerType `json:"type"`
	// Detail is free text, e.g. the lifecycle state or the requester.
	Detail string `json:"detail,omitempty"`
	// Rules names the watch rules whose change caused the event.
	Rules []string `json:"rules,omitempty"`
	// Requests lists the ids of `stackhand trigger` requests this event answers.
	Requests []string `json:"requests,omitempty"`
}

// Result is how an event ended, as status and the outcome records show it.
type Result string

// The results an event can have.
const (
	// Succeeded: every hook exited 0.
	Succeeded Result = "succeeded"
	// Failed: a hook failed, timed out or was refused, or the event could not start.
	Failed Result = "failed"
	// Dropped: the event never ran because the agent is shutting down.
	Dropped Result = "dropped"
	// Superseded: the event never ran because what queued it no longer applies.
	Superseded Result = "superseded"
	// Interrupted: the agent ended the event, or stopped while it ran.
	Interrupted Result = "interrupted"
)

// ShutdownCause says why the shutdown event runs: the lifecycle state that ends the
// instance, or the operating system shutting down.
type ShutdownCause string

// The causes of a shutdown.
const (
	// CauseTerminated is Auto Scaling terminating the instance (its Terminated target
	// lifecycle state).
	CauseTerminated ShutdownCause = "Terminated"
	// CauseSpotInterruption is EC2 reclaiming the spot instance.
	CauseSpotInterruption ShutdownCause = "spot-interruption"
	// CauseSystem is an operating system shutdown, with no lifecycle change seen.
	CauseSystem ShutdownCause = "system"
)

// Payload is the JSON document each hook gets on stdin and in STACKHAND_EVENT_FILE.
type Payload struct {
	Event    Kind              `json:"event"`
	ID       string            `json:"id"`
	Reason   string            `json:"reason"`
	Retry    bool              `json:"retry,omitempty"`
	Time     time.Time         `json:"time"`
	Instance Instance          `json:"instance"`
	Stack    string            `json:"stack,omitempty"`
	Region   string            `json:"region,omitempty"`
	Peers    []Instance        `json:"peers"`
	Metadata []Watched         `json:"metadata"`
	Tags     map[string]string `json:"tags"`
	Trigger  Trigger           `json:"trigger"`
	Deadline time.Time         `json:"deadline,omitzero"`
}

// StackName returns the name of a stack given by name or by ARN
// (arn:aws:cloudformation:<region>:<account>:stack/<name>/<id>), as its instances'
// aws:cloudformation:stack-name tag and log stream names hold it.
func StackName(stack string) string {
	if !strings.HasPrefix(stack, "arn:") {
		return stack
	}
	if _, rest, ok := strings.Cut(stack, ":stack/"); ok {
		name, _, _ := strings.Cut(rest, "/")
		return name
	}
	return stack
}
