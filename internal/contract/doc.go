// Package contract holds the shapes that fleets' rules and scripts match on, apart from
// the internal structs they are built from: `stackhand status --json` (Status) and the
// EventBridge detail. A field of an internal struct can be renamed without changing what
// fleets see; a change to these types is a change of contract. Within a version, fields
// are only added; a field renamed, removed or retyped makes a new version. The golden
// tests in this package fail on any change of the JSON.
package contract
