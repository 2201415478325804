package cfninit

import (
	"context"
	"errors"
)

// applyCommands is a placeholder until the section lands.
func (r *Runner) applyCommands(ctx context.Context, c *Config, ch *Changes, res *Result) error {
	return errors.New("not implemented yet")
}
