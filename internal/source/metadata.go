package source

import (
	"context"
	"fmt"

	"github.com/stackhand/stackhand/internal/cfnpath"
)

// MetadataRule is a watch rule on stack metadata: a name and a parsed cfn-hup path.
type MetadataRule struct {
	Name string
	Path cfnpath.Path
}

// LocalMetadata reads metadata.json: the watched resource's Metadata object. Local mode
// serves one resource, so every rule's logical id reads the same file.
type LocalMetadata struct {
	Local
	Rules []MetadataRule
}

// Name returns "metadata".
func (LocalMetadata) Name() string { return "metadata" }

// Read returns the rules' values once. A missing file is metadata with no values.
func (s LocalMetadata) Read() (map[string]Observed, error) {
	b, err := s.readLocal(MetadataFile)
	if err != nil {
		return nil, err
	}
	if b != nil {
		if _, err := cfnpath.Canonical(b); err != nil {
			var v any
			return nil, s.decodeLocal(MetadataFile, b, &v)
		}
	}
	out := make(map[string]Observed, len(s.Rules))
	for _, r := range s.Rules {
		if r.Path.Field != cfnpath.Metadata {
			out[r.Name] = Observed{Err: fmt.Errorf("rule %s: local mode serves only Metadata paths, not %s", r.Name, r.Path.Field)}
			continue
		}
		v, ok, err := cfnpath.Lookup(b, r.Path.Sub)
		if err != nil {
			err = fmt.Errorf("rule %s: %s: %w", r.Name, s.Dir+"/"+MetadataFile, err)
		}
		out[r.Name] = Observed{Present: ok, Value: v, Err: err}
	}
	return out, nil
}

// Run reports the values at start, on every change of metadata.json and every interval.
func (s LocalMetadata) Run(ctx context.Context, emit func(Update)) error {
	watchDir(ctx, s.clock(), s.Dir, isName(MetadataFile), s.interval(), func() {
		vals, err := s.Read()
		emit(Update{Source: s.Name(), Metadata: vals, Err: err})
	})
	return nil
}
