package cfninit

import (
	"context"
	"errors"
)

// applyGroups is a placeholder until the section lands.
func (r *Runner) applyGroups(ctx context.Context, c *Config, ch *Changes, res *Result) error {
	return errors.New("not implemented yet")
}

// applyUsers is a placeholder until the section lands.
func (r *Runner) applyUsers(ctx context.Context, c *Config, ch *Changes, res *Result) error {
	return errors.New("not implemented yet")
}
