package source

import "context"

// LocalTags reads tags.json: an object of tag key to string value.
type LocalTags struct{ Local }

// Name returns "tags".
func (LocalTags) Name() string { return "tags" }

// Read returns the tags once; a missing file means no tags.
func (s LocalTags) Read() (map[string]string, error) {
	b, err := s.readLocal(TagsFile)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	if b != nil {
		if err := s.decodeLocal(TagsFile, b, &tags); err != nil {
			return nil, err
		}
	}
	return tags, nil
}

// Run reports the tags at start, on every change of tags.json and every interval.
func (s LocalTags) Run(ctx context.Context, emit func(Update)) error {
	watchDir(ctx, s.clock(), s.Dir, isName(TagsFile), s.interval(), func() {
		tags, err := s.Read()
		emit(Update{Source: s.Name(), Tags: tags, Err: err})
	})
	return nil
}
