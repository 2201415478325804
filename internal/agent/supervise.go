package agent

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/backoff"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/source"
)

// restartBackoff is a stopped source's wait before it is started again: it doubles from
// 1 s up to 1 min. A source that ran for longer than the longest wait starts over at 1 s.
var restartBackoff = backoff.Policy{Base: time.Second, Factor: 2, Max: time.Minute}

// supervise runs s until ctx ends. A source is meant to run until then and to report a
// problem in an Update while it keeps trying; when its Run returns before ctx ends (an
// error, or nil), the source is restarted after restartBackoff, for as long as it takes.
// Each stop is handed to emit as the source's error, naming the next start, so that
// `stackhand status` shows it until the source reads again.
func supervise(ctx context.Context, s source.Source, emit func(source.Update), clk clock.Clock, log *zap.Logger) {
	stops := 0
	for {
		started := clk.Now()
		err := s.Run(ctx, emit)
		if ctx.Err() != nil {
			return
		}
		if clk.Now().Sub(started) > restartBackoff.Max {
			stops = 0
		}
		wait := restartBackoff.Delay(stops)
		stops++
		if err == nil {
			err = fmt.Errorf("stopped without an error")
		}
		log.Error("source stopped; restarting it", zap.String("source", s.Name()), zap.Error(err),
			zap.Duration("restart_in", wait), zap.Int("stops", stops))
		emit(source.Update{Source: s.Name(), Err: fmt.Errorf("stopped (%w); restarting it in %s (stop %d in a row)", err, wait, stops)})
		if !clock.Sleep(ctx, clk, wait) {
			return
		}
	}
}
