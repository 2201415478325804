package cfninit

import (
	"context"
	"errors"
)

// applyPackages is a placeholder until the section lands.
func (r *Runner) applyPackages(ctx context.Context, c *Config, ch *Changes, res *Result) error {
	return errors.New("not implemented yet")
}
