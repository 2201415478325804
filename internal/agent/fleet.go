package agent

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/fleet"
	"github.com/stackhand/stackhand/internal/source"
)

// fleetView is the engine's Fleet over a fleet.Store: it publishes this instance's state
// (the engine's after each event, the health verdict's changes) and, only while a rollout
// waits, reads the peers' published state once per interval. As a source ("fleet") it
// wakes the engine after each read and tells status how the rollout goes.
type fleetView struct {
	store    fleet.Store
	held     func(ctx context.Context) (bool, error) // mode local's hold file; nil in mode aws
	self     string
	interval time.Duration
	clk      clock.Clock
	log      *zap.Logger
	// rollouts says that some rule has a rollout: publishing problems are then a problem
	// of the source, not only a note.
	rollouts bool

	mu         sync.Mutex
	gate       fleet.Gate
	published  map[string]fleet.State
	unreadable map[string]string
	readHold   bool
	readOnce   bool
	wantPeers  []string  // whose state the last Decide needed
	wantUntil  time.Time // read while a rollout waited within the last two intervals
	decisions  map[string]string
	asked      map[string]string // by rule, the value last asked about
	state      *fleet.State      // the engine's last, to publish again with a new health
	health     string
	pubErr     string
	nudge      chan struct{}
	pub        chan struct{}
}

func newFleetView(store fleet.Store, self string, interval time.Duration, clk clock.Clock, log *zap.Logger) *fleetView {
	return &fleetView{store: store, self: self, interval: interval, clk: clk, log: log,
		decisions: map[string]string{}, nudge: make(chan struct{}, 1), pub: make(chan struct{}, 1)}
}

// Name returns "fleet".
func (v *fleetView) Name() string { return "fleet" }

// Decide is the engine's gate: the rule's wave against what the peers last published.
func (v *fleetView) Decide(in fleet.Input) fleet.Decision {
	v.mu.Lock()
	defer v.mu.Unlock()
	in.Published, in.Unreadable = v.published, v.unreadable
	in.Held = in.Held || v.readHold
	v.wantPeers = v.wantPeers[:0]
	for _, p := range in.Peers {
		v.wantPeers = append(v.wantPeers, p.InstanceID)
	}
	v.wantUntil = v.clk.Now().Add(2 * v.interval)
	var d fleet.Decision
	if !v.readOnce {
		// Nothing read yet: wait for the first read rather than count every peer as
		// not applied; the read starts now.
		d = fleet.Decision{Reason: "reading the peers' published state"}
	} else {
		d = v.gate.Decide(in)
	}
	v.decisions[in.Rule] = d.Progress(in.Desired)
	if !v.readOnce || v.asked[in.Rule] != in.Desired {
		// A new rollout is read for at once; after that, once per interval: the read
		// wakes the engine, which asks again, and must not make another read.
		if v.asked == nil {
			v.asked = map[string]string{}
		}
		v.asked[in.Rule] = in.Desired
		select {
		case v.nudge <- struct{}{}:
		default:
		}
	}
	if d.Go {
		delete(v.decisions, in.Rule)
	}
	return d
}

// Publish takes the engine's state of this instance; the publishing loop writes it.
func (v *fleetView) Publish(s fleet.State) {
	v.mu.Lock()
	v.state = &s
	v.mu.Unlock()
	v.kick()
}

// SetHealth takes a new health verdict and publishes it with the last state.
func (v *fleetView) SetHealth(verdict string) {
	v.mu.Lock()
	v.health = verdict
	v.mu.Unlock()
	v.kick()
}

func (v *fleetView) kick() {
	select {
	case v.pub <- struct{}{}:
	default:
	}
}

// publishLoop writes the latest state whenever it changes; a failed write is tried again
// each interval (the store writes only what changed).
func (v *fleetView) publishLoop(ctx context.Context) {
	var retry <-chan struct{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-v.pub:
		case <-retry:
		}
		retry = nil
		v.mu.Lock()
		if v.state == nil {
			v.mu.Unlock()
			continue
		}
		s := *v.state
		s.Health = v.health
		v.mu.Unlock()
		cctx, cancel := context.WithTimeout(ctx, fleetCallTimeout)
		err := v.store.Publish(cctx, v.self, s.Tags())
		cancel()
		v.mu.Lock()
		prev := v.pubErr
		v.pubErr = ""
		if err != nil {
			v.pubErr = "cannot publish this instance's state: " + err.Error()
		}
		v.mu.Unlock()
		if err != nil {
			if v.pubErr != prev {
				v.log.Error("cannot publish this instance's state for the fleet; its peers' rollouts wait for it", zap.Error(err))
			}
			retry = after(v.clk, v.interval)
		}
	}
}

// fleetCallTimeout bounds one read or write of the store.
const fleetCallTimeout = 30 * time.Second

// Run reads the peers' state while a rollout waits (at once when the gate asks, then each
// interval) and reports to the engine each interval, so that a wave's bake and the peers'
// progress are seen.
func (v *fleetView) Run(ctx context.Context, emit func(source.Update)) error {
	go v.publishLoop(ctx)
	for {
		v.mu.Lock()
		want := v.clk.Now().Before(v.wantUntil)
		ids := slices.Clone(v.wantPeers)
		v.mu.Unlock()
		var problem error
		if want {
			problem = v.read(ctx, ids)
		}
		v.mu.Lock()
		detail := v.detail()
		pubErr := v.pubErr
		v.mu.Unlock()
		if problem == nil && pubErr != "" && v.rollouts {
			problem = fleetProblem(pubErr)
		}
		if pubErr != "" && problem == nil {
			detail = pubErr
		}
		emit(source.Update{Source: v.Name(), Err: problem, Detail: detail})
		ch := make(chan struct{}, 1)
		t := v.clk.AfterFunc(v.interval, func() { ch <- struct{}{} })
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-ch:
		case <-v.nudge:
			t.Stop()
		}
	}
}

type fleetProblem string

func (p fleetProblem) Error() string { return string(p) }

func (v *fleetView) read(ctx context.Context, ids []string) error {
	cctx, cancel := context.WithTimeout(ctx, fleetCallTimeout)
	defer cancel()
	tags, err := v.store.Read(cctx, ids)
	var why fleet.ReadErrors
	if errors.As(err, &why) {
		err = nil // some peers unreadable: said per peer, the read itself went well
	}
	if err != nil {
		return err
	}
	held := false
	if v.held != nil {
		if held, err = v.held(cctx); err != nil {
			return err
		}
	}
	pub := map[string]fleet.State{}
	unreadable := map[string]string{}
	for _, id := range ids {
		t, ok := tags[id]
		if !ok {
			unreadable[id] = why[id]
			if unreadable[id] == "" {
				unreadable[id] = "no published state"
			}
			continue
		}
		pub[id] = fleet.Parse(t)
	}
	v.mu.Lock()
	v.published, v.unreadable, v.readHold, v.readOnce = pub, unreadable, held, true
	v.mu.Unlock()
	return nil
}

// detail is the rollouts in progress, one line each, for status.
func (v *fleetView) detail() string {
	var lines []string
	for _, rule := range slices.Sorted(maps.Keys(v.decisions)) {
		lines = append(lines, "rollout of "+rule+": "+v.decisions[rule])
	}
	if len(lines) == 0 {
		return ""
	}
	out := lines[0]
	for _, l := range lines[1:] {
		out += "; " + l
	}
	return out
}

// after returns a channel that receives once d has passed on clk.
func after(clk clock.Clock, d time.Duration) <-chan struct{} {
	ch := make(chan struct{}, 1)
	clk.AfterFunc(d, func() { ch <- struct{}{} })
	return ch
}

// buildFleet makes the fleet view: in mode local over local.fleet_dir (none without it),
// in mode aws over the instance's tags.
func buildFleet(cfg *config.Config, found discovered, clk clock.Clock, log *zap.Logger) *fleetView {
	var store fleet.Store
	var held func(context.Context) (bool, error)
	switch {
	case cfg.Mode == config.ModeLocal && cfg.Local.FleetDir != "":
		ls := &fleet.LocalStore{Dir: cfg.Local.FleetDir}
		store, held = ls, ls.Held
	case found.env != nil && !cfg.NoIMDS(): // a host named by identity has no instance tags
		store = &fleet.AWSStore{EC2: found.env.EC2(), ASG: found.env.AutoScaling()}
	}
	if store == nil {
		return nil
	}
	v := newFleetView(store, found.identity.InstanceID, cfg.Interval.D(), clk, log.Named("fleet"))
	v.held = held
	for _, r := range cfg.Watch {
		if r.Rollout != nil {
			v.rollouts = true
		}
	}
	return v
}
