// Package cfnpath parses cfn-hup's metadata paths (Resources.<LogicalId>.Metadata.a.b) and
// looks a path up in a resource's Metadata, returning canonical JSON so that two values can be
// compared byte for byte.
//
// The rules follow cfn-hup (aws-cfn-bootstrap, cfnbootstrap/update_hooks.py
// HookProcessor._retrieve_path_data and cfnbootstrap/util.py extract_value): the path is split
// on "." into at most four parts, the first and third compared case-insensitively, and the
// fourth part (the sub path inside Metadata) is split again on every "." that is not escaped
// as "\.".
package cfnpath

import (
	"errors"
	"fmt"
	"strings"
)

// Field is the part of a stack resource a path watches.
type Field int

// The fields a cfn-hup path can name.
const (
	// Metadata is the resource's Metadata, or a value inside it (Path.Sub).
	Metadata Field = iota + 1
	// PhysicalResourceID is the resource's physical id.
	PhysicalResourceID
	// LastUpdated is the resource's LastUpdatedTimestamp, watched by a path of just
	// Resources.<LogicalId>.
	LastUpdated
)

// String returns the field's name as CloudFormation spells it.
func (f Field) String() string {
	switch f {
	case Metadata:
		return "Metadata"
	case PhysicalResourceID:
		return "PhysicalResourceId"
	case LastUpdated:
		return "LastUpdatedTimestamp"
	}
	return fmt.Sprintf("Field(%d)", int(f))
}

// EnvSuffix returns the suffix cfn-hup gives the CFN_OLD_* and CFN_NEW_* variables of an
// action watching this field: METADATA, PHYSICAL_RESOURCE_ID or LAST_UPDATED.
func (f Field) EnvSuffix() string {
	switch f {
	case Metadata:
		return "METADATA"
	case PhysicalResourceID:
		return "PHYSICAL_RESOURCE_ID"
	case LastUpdated:
		return "LAST_UPDATED"
	}
	return ""
}

// Path is a parsed cfn-hup path.
type Path struct {
	// Raw is the text the path was parsed from.
	Raw string
	// LogicalID is the resource's logical id in the template.
	LogicalID string
	// Field says what of the resource is watched.
	Field Field
	// Sub is the key path inside Metadata; empty for the whole Metadata and for the other fields.
	Sub []string
}

// expected is the shape every path error repeats, so that the reader can fix the path.
const expected = "expected Resources.<LogicalId>, Resources.<LogicalId>.Metadata[.<key>[.<key>...]] or Resources.<LogicalId>.PhysicalResourceId"

// Parse parses a cfn-hup path such as "Resources.WebServer.Metadata.AWS::CloudFormation::Init.config".
func Parse(s string) (Path, error) {
	if s == "" {
		return Path{}, errors.New("empty path: " + expected)
	}
	parts := strings.SplitN(s, ".", 4)
	if !strings.EqualFold(parts[0], "Resources") {
		return Path{}, fmt.Errorf("path %q does not start with Resources.: only stack resources can be watched; %s", s, expected)
	}
	if len(parts) < 2 {
		return Path{}, fmt.Errorf("path %q names no resource: %s", s, expected)
	}
	p := Path{Raw: s, LogicalID: parts[1]}
	if err := checkLogicalID(parts[1]); err != nil {
		return Path{}, fmt.Errorf("path %q: %w", s, err)
	}
	if len(parts) == 2 {
		p.Field = LastUpdated
		return p, nil
	}
	switch {
	case strings.EqualFold(parts[2], "Metadata"):
		p.Field = Metadata
	case strings.EqualFold(parts[2], "PhysicalResourceId"):
		p.Field = PhysicalResourceID
		if len(parts) == 4 {
			return Path{}, fmt.Errorf("path %q goes on after PhysicalResourceId, which is a plain string; only Metadata has keys inside it", s)
		}
		return p, nil
	case parts[2] == "":
		return Path{}, fmt.Errorf("path %q has an empty part after %s: %s", s, parts[1], expected)
	default:
		return Path{}, fmt.Errorf("path %q: %q after the logical id is neither Metadata nor PhysicalResourceId; %s", s, parts[2], expected)
	}
	if len(parts) == 4 {
		sub, err := ParseSub(parts[3])
		if err != nil {
			return Path{}, fmt.Errorf("path %q: %w", s, err)
		}
		p.Sub = sub
	}
	return p, nil
}

// checkLogicalID reports an id CloudFormation would not accept: logical ids are alphanumeric.
func checkLogicalID(id string) error {
	if id == "" {
		return errors.New("empty logical id after Resources.; " + expected)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Errorf("logical id %q has %q in it; CloudFormation logical ids are letters and digits only", id, r)
		}
	}
	return nil
}

// ParseSub parses a path relative to a resource's Metadata, such as "release" or
// "AWS::CloudFormation::Init.config". Keys are separated by "."; a key that itself holds a
// dot writes it as "\.".
func ParseSub(s string) ([]string, error) {
	if s == "" {
		return nil, errors.New("empty metadata path: write the keys inside Metadata separated by dots, e.g. release or AWS::CloudFormation::Init.config")
	}
	var keys []string
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] == '.':
			b.WriteByte('.')
			i++
		case c == '.':
			keys = append(keys, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	keys = append(keys, b.String())
	for i, k := range keys {
		if k == "" {
			return nil, fmt.Errorf("metadata path %q has an empty key (part %d): remove the doubled, leading or trailing dot", s, i+1)
		}
	}
	return keys, nil
}

// JoinSub writes keys back as a dotted path, escaping dots inside keys; ParseSub reads it back.
func JoinSub(keys []string) string {
	esc := make([]string, len(keys))
	for i, k := range keys {
		esc[i] = strings.ReplaceAll(k, ".", `\.`)
	}
	return strings.Join(esc, ".")
}

// String returns the path in its canonical spelling (Resources.<LogicalId>.Metadata.<sub>).
func (p Path) String() string {
	switch p.Field {
	case Metadata:
		if len(p.Sub) == 0 {
			return "Resources." + p.LogicalID + ".Metadata"
		}
		return "Resources." + p.LogicalID + ".Metadata." + JoinSub(p.Sub)
	case PhysicalResourceID:
		return "Resources." + p.LogicalID + ".PhysicalResourceId"
	default:
		return "Resources." + p.LogicalID
	}
}
