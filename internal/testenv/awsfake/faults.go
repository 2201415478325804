package awsfake

import (
	"context"
	"maps"
	"math/rand/v2"
	"time"
)

// Faults are the failures injected into calls. Each call draws its faults
// from a generator seeded with Seed, so a sequence of calls made one after
// another meets the same faults on every run.
//
// The order in which a call meets them: Latency, then Hang, then DropRate, then
// ThrottleAbove, then ThrottleRate, then ServerErrorRate. Faults apply to
// calls of a known action with an accepted Authorization header; every
// faulted call is counted and logged with Call.Fault set.
type Faults struct {
	// Seed seeds the generator that decides which calls fail.
	Seed uint64
	// ThrottleRate is the share of calls (0..1) answered with the service's
	// throttling error: HTTP 400 Throttling ("Rate exceeded") for
	// CloudFormation, Auto Scaling and CloudWatch, HTTP 503 RequestLimitExceeded for
	// EC2, HTTP 400 ThrottlingException for CloudWatch Logs and
	// EventBridge. All are in the SDK's retry.DefaultThrottleErrorCodes
	// (aws/retry/standard.go), so the standard retryer retries them as
	// throttles.
	ThrottleRate float64
	// ServerErrorRate is the share of calls answered with HTTP 500
	// (InternalFailure; InternalError for EC2; InternalServiceError for
	// CloudWatch; ServiceUnavailableException for CloudWatch Logs;
	// InternalException for EventBridge).
	ServerErrorRate float64
	// Latency delays every affected call before it is answered.
	Latency time.Duration
	// DropRate is the share of calls whose connection is closed without a
	// reply; the SDK sees a connection error.
	DropRate float64
	// ThrottleAbove, when positive, throttles calls beyond this many per
	// second across all clients: a token bucket refilled at ThrottleAbove
	// tokens per second holding at most one second's worth.
	ThrottleAbove float64
	// Hang makes every affected call one that is accepted and never answered: the
	// handler holds it, reading nothing more and writing nothing, until the client gives
	// up (closes the connection) or the server closes, then drops the connection. A
	// call that hangs stays hung after SetFaults clears Hang: only the client's own
	// deadline frees it. It comes after Latency, before every other fault.
	Hang bool
	// CutBodyAfter, when positive, makes S3 GetObject send only this many bytes of
	// the body its headers announce and then close the connection: the client
	// reads an unexpected EOF half-way, as when a download is cut. The call is
	// logged with Fault "cut-body"; the other faults are decided first.
	CutBodyAfter int64
	// CutBodyCalls, when positive, limits CutBodyAfter to the next this many
	// GetObject calls (after SetFaults), so that a retry or a resume then gets
	// the whole body.
	CutBodyCalls int
	// Only restricts the faults to some actions, named "Action" or
	// "service:Action" ("DescribeStackResource", "ec2:DescribeTags"), or to
	// every action of a service, "service:*" ("logs:*" with DropRate 1 takes
	// the whole CloudWatch Logs endpoint down). Services are named by their
	// SigV4 signing name. Empty: every action.
	Only map[string]bool
}

// faultState is the live fault configuration; guarded by Server.mu.
type faultState struct {
	f      Faults
	rng    *rand.Rand
	tokens float64
	last   time.Time
	cuts   int // GetObject bodies cut since SetFaults
}

func (fs *faultState) reset(f Faults) {
	fs.f = f
	fs.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
	fs.tokens = f.ThrottleAbove
	fs.last = time.Time{}
	fs.cuts = 0
}

// SetFaults replaces the faults injected into later calls and restarts their
// generator and token bucket. The zero Faults injects none.
func (s *Server) SetFaults(f Faults) {
	f.Only = maps.Clone(f.Only)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.reset(f)
}

// applyFaults decides the faults of one call: it waits out the latency,
// reports whether to drop the connection, and otherwise sets c.Fault to the
// fault that answers the call ("" for none).
func (s *Server) applyFaults(ctx context.Context, c *call) (drop bool) {
	s.mu.Lock()
	fs := &s.faults
	f := fs.f
	if len(f.Only) > 0 && !f.Only[c.Action] && !f.Only[c.Service+":"+c.Action] && !f.Only[c.Service+":*"] {
		s.mu.Unlock()
		return false
	}
	// Draw every roll on each call, used or not, so that one fault's rate
	// does not shift which calls another fault hits.
	dropRoll, throttleRoll, errRoll := fs.rng.Float64(), fs.rng.Float64(), fs.rng.Float64()
	limited := false
	if f.ThrottleAbove > 0 {
		now := time.Now()
		if !fs.last.IsZero() {
			fs.tokens += now.Sub(fs.last).Seconds() * f.ThrottleAbove
		}
		fs.tokens = min(fs.tokens, max(f.ThrottleAbove, 1))
		fs.last = now
		if fs.tokens >= 1 {
			fs.tokens--
		} else {
			limited = true
		}
	}
	s.mu.Unlock()

	s.sleep(ctx, f.Latency)
	if f.Hang {
		c.Fault = "hang"
		s.hang(ctx)
		return true
	}
	switch {
	case dropRoll < f.DropRate:
		c.Fault = "drop"
		return true
	case limited:
		c.Fault = "rate-limit"
	case throttleRoll < f.ThrottleRate:
		c.Fault = "throttle"
	case errRoll < f.ServerErrorRate:
		c.Fault = "server-error"
	}
	return false
}

// hang waits until the call's client gives up or the server closes.
func (s *Server) hang(ctx context.Context) {
	s.mu.Lock()
	s.hung++
	s.mu.Unlock()
	select {
	case <-ctx.Done():
	case <-s.closed:
	}
}

// Hung returns how many calls met the Hang fault so far.
func (s *Server) Hung() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hung
}

// faultError is the error answering a call that met c.Fault.
func (s *Server) faultError(c *call) error {
	if c.Fault == "server-error" {
		e := c.svc.internal
		return &e
	}
	e := c.svc.throttle
	return &e
}
