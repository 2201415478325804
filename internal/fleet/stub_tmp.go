package fleet

import (
	"context"
	"fmt"
	"time"
)

// Temporary: replaced by the fleetcore branch.
func ParseStep(s string) (Step, error) { return Step{}, fmt.Errorf("todo %s", s) }
func ValidateWaves([]Step) error       { return nil }

type Input struct {
	Rule       string
	Rollout    Rollout
	Desired    string
	Self       string
	Peers      []Peer
	Published  map[string]State
	Unreadable map[string]string
	Held       bool
	Now        time.Time
}
type Decision struct {
	Go      bool
	Reason  string
	RetryAt time.Time
}

func Fingerprint(v []byte) string { return string(v) }

type Store interface {
	Publish(ctx context.Context, instanceID string, tags map[string]string) error
	Read(ctx context.Context, ids []string) (map[string]map[string]string, error)
	SetHold(ctx context.Context, group string, on bool) error
}

func (d Decision) Progress(string) string { return "" }
func (s State) Tags() map[string]string   { return nil }
func Parse(map[string]string) State       { return State{} }

type Gate struct{}

func (g *Gate) Decide(Input) Decision { return Decision{} }

type LocalStore struct{ Dir string }

func (LocalStore) Publish(ctx context.Context, instanceID string, tags map[string]string) error {
	return nil
}
func (LocalStore) Read(ctx context.Context, ids []string) (map[string]map[string]string, error) {
	return nil, nil
}
func (LocalStore) SetHold(ctx context.Context, group string, on bool) error { return nil }
func (LocalStore) Held(ctx context.Context) (bool, error)                   { return false, nil }

func Order(p []Peer) []Peer           { return p }
func Sizes(waves []Step, n int) []int { return nil }
