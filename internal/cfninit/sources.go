package cfninit

import (
	"context"
	"errors"
)

// applySources is a placeholder until the section lands.
func (r *Runner) applySources(ctx context.Context, c *Config, ch *Changes, res *Result) error {
	return errors.New("not implemented yet")
}
