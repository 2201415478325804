// Package contract declares what stackhand publishes for others to match on: the shapes
// fleets' EventBridge rules, alerting scripts and dashboards read. Each shape is a type of
// its own, with its own JSON tags, built from the agent's internal structs by the
// conversion functions here and never by marshalling an internal struct, so renaming a
// field inside the agent never changes what a rule sees.
//
// Each document carries its version ("schema_version", first key). The compatibility rule:
// within a version, fields are only added. Renaming, removing or retyping a field, or
// changing what a value means, bumps the version constant of that document. Golden files in
// testdata/ hold every document with every field set; a change to them is a change to the
// contract, and the README's schema tables ("EventBridge detail schema", "Reading
// `stackhand status`") change with it.
//
// Documents:
//
//   - Detail (DetailVersion): the detail of every EventBridge event stackhand publishes,
//     and each line of mode local's local.dir/events.jsonl.
//   - Status (StatusVersion): what `stackhand status --json` prints.
//
// A document added here gets its own version constant. The hook payload is event.Payload,
// declared in package event.
package contract

// DetailVersion is the version of Detail written by this build.
const DetailVersion = 1

// Source is the EventBridge source of every event stackhand publishes.
const Source = "stackhand"

// Detail kinds: Detail.Kind, and which of its payloads is set.
const (
	KindEvent  = "event"  // a lifecycle event finished: Detail.Event
	KindHealth = "health" // the health verdict changed, or the instance was marked Unhealthy: Detail.Health
	KindAlarm  = "alarm"  // the heartbeat alarm was created, updated or deleted: Detail.Alarm
)

// DetailType returns the EventBridge detail-type a Detail of kind is published with, ""
// for an unknown kind.
func DetailType(kind string) string {
	switch kind {
	case KindEvent:
		return "Stackhand Lifecycle Event"
	case KindHealth:
		return "Stackhand Health Verdict"
	case KindAlarm:
		return "Stackhand Heartbeat Alarm"
	}
	return ""
}
