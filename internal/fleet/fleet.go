// Package fleet is the fleet without a central service: what each agent publishes about
// itself (what it applied, its last event, its health) as tags on its own instance (a
// JSON file in local.fleet_dir in mode local), and the rollout in waves that every agent
// computes alike from the same peers and their published state. It does no I/O: the
// agent reads and writes tags through a Store and hands the gate what it read.
package fleet

import (
	"time"

	"github.com/stackhand/stackhand/internal/event"
)

// Tag keys. Every key stackhand writes starts with Prefix.
const (
	Prefix = "stackhand:"
	// KeyApplied + rule name: the Fingerprint of the value the rule last applied.
	KeyApplied = Prefix + "applied:"
	// KeyFailed + rule name: "<fingerprint> <reason>" of the value whose event failed
	// (or was rolled back) and was not applied since.
	KeyFailed = Prefix + "failed:"
	// KeyWanted + rule name: the fingerprint of the value the instance waits for its
	// wave to apply.
	KeyWanted = Prefix + "want:"
	// KeyLast: "<kind> <result> <RFC 3339 UTC time>" of the last finished event.
	KeyLast = Prefix + "last"
	// KeyHealth: the health verdict (healthy, failing, unhealthy, marked-unhealthy), or
	// absent without health checks.
	KeyHealth = Prefix + "health"
	// KeyHold is the tag on the Auto Scaling group (or, in mode local, the file
	// <fleet_dir>/hold) that holds every rollout of the group: `stackhand fleet hold`.
	KeyHold = Prefix + "rollout-hold"
)

// EC2's limits on tags (ec2:CreateTags): a key of at most 128 characters, a value of at
// most 256, 50 tags per resource. stackhand leaves room for the owner's own tags.
const (
	MaxKeyLen   = 128
	MaxValueLen = 256
	// MaxTags is the most tags State.Tags returns.
	MaxTags = 20
)

// State is what one instance publishes.
type State struct {
	// Applied is the fingerprint of each rule's applied value, by rule name.
	Applied map[string]string
	// Failed is, by rule name, the value whose event failed and why.
	Failed map[string]Failure
	Last   Last
	Health string
	// Wanted is, by rule name, the value (its fingerprint) this instance sees and waits
	// for its wave to apply: how `stackhand fleet status` knows what is rolling out.
	Wanted map[string]string
}

// Failure is a value an instance failed to apply.
type Failure struct {
	Fingerprint string
	Reason      string
}

// Last is the last finished event.
type Last struct {
	Kind   string // setup, configure, deploy, undeploy, shutdown
	Result string // ok, failed, rolled_back …
	At     time.Time
}

// Rollout is a rule's (or app's) rollout: config `rollout:`.
type Rollout struct {
	// Waves are cumulative: each step is how many of the online peers have the new value
	// once its wave is done. The last is 100%.
	Waves     []Step
	Bake      time.Duration
	MaxFailed int
}

// Step is one wave's cumulative size: a count of instances, or a percentage of the online
// peers (rounded up), when Percent > 0.
type Step struct {
	Count   int
	Percent float64
}

// Peer is an online peer as the gate sees it.
type Peer = event.Instance
