package cli

import (
	"context"
	"errors"

	"github.com/stackhand/stackhand/internal/config"
)

// TODO(fleetaws): read the group's instances and their tags.
func readFleetAWS(ctx context.Context, cfg *config.Config, group, stack string) (*fleetSide, error) {
	return nil, errors.New("todo")
}

func holdAWS(ctx context.Context, cfg *config.Config, group string, on bool) (string, error) {
	return "", errors.New("todo")
}
