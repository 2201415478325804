package agent

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/cfnboot"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/engine"
)

// signalTimeout bounds one signal with its retries (cfn-signal's five tries of at most a
// minute each, and their waits).
const signalTimeout = 6 * time.Minute

// signaler sends the signals of rules with signal: (engine.Signaler) through cfn-signal's
// code path, each in its own goroutine, bounded by signalTimeout; the agent waits for
// those under way when it stops, so that a signal is not cut in half.
type signaler struct {
	ctx      context.Context
	instance string
	stack    string
	env      *awsenv.Env // nil in mode local: wait handles only
	log      *zap.Logger
	wg       sync.WaitGroup
}

// Signal implements engine.Signaler.
func (s *signaler) Signal(req engine.SignalRequest) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.ctx, signalTimeout)
		defer cancel()
		env := cfnboot.Env{Log: s.log, InstanceID: func(context.Context) (string, error) { return s.instance, nil }}
		if s.env != nil {
			env.AWS = func(context.Context, awsenv.Options) (*awsenv.Env, error) { return s.env, nil }
		}
		status := "SUCCESS"
		if !req.Success {
			status = "FAILURE"
		}
		err := cfnboot.Signal(ctx, cfnboot.SignalOptions{Success: req.Success, Reason: req.Reason, ID: s.instance,
			Stack: s.stack, Resource: req.Resource, HandleURL: req.Handle}, env)
		fields := []zap.Field{zap.String("rule", req.Rule), zap.String("value", req.Value), zap.String("status", status)}
		if err != nil {
			s.log.Error("could not signal CloudFormation", append(fields, zap.Error(err))...)
			return
		}
		s.log.Info("signalled CloudFormation", fields...)
	}()
}

// wait waits for the signals under way.
func (s *signaler) wait() { s.wg.Wait() }

func hasSignals(cfg *config.Config) bool {
	for _, r := range cfg.Watch {
		if r.Signal != nil {
			return true
		}
	}
	return false
}
