package cfninit

import (
	"context"
	"errors"
)

// applyServices is a placeholder until the section lands.
func (r *Runner) applyServices(ctx context.Context, c *Config, ch *Changes, res *Result) error {
	return errors.New("not implemented yet")
}
