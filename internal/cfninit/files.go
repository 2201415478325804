package cfninit

import (
	"context"
	"errors"
)

// applyFiles is a placeholder until the section lands.
func (r *Runner) applyFiles(ctx context.Context, c *Config, ch *Changes, res *Result) error {
	return errors.New("not implemented yet")
}
