package source

import (
	"context"
	"fmt"
	"sort"

	"github.com/stackhand/stackhand/internal/event"
)

// LocalPeers reads peers.json: an array of instance objects, the online peers.
type LocalPeers struct{ Local }

// Name returns "peers".
func (LocalPeers) Name() string { return "peers" }

// Read returns the peers once, sorted by instance id; a missing file means no peers.
func (s LocalPeers) Read() ([]event.Instance, error) {
	b, err := s.readLocal(PeersFile)
	if err != nil {
		return nil, err
	}
	peers := []event.Instance{}
	if b != nil {
		if err := s.decodeLocal(PeersFile, b, &peers); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for i, p := range peers {
		if p.InstanceID == "" {
			return nil, fmt.Errorf("%s/%s: peer %d has no instance_id; every peer needs one", s.Dir, PeersFile, i+1)
		}
		if seen[p.InstanceID] {
			return nil, fmt.Errorf("%s/%s: instance_id %s is listed twice", s.Dir, PeersFile, p.InstanceID)
		}
		seen[p.InstanceID] = true
	}
	SortPeers(peers)
	return peers, nil
}

// SortPeers orders peers by instance id, the order payloads list them in.
func SortPeers(peers []event.Instance) {
	sort.Slice(peers, func(i, j int) bool { return peers[i].InstanceID < peers[j].InstanceID })
}

// Run reports the peers at start, on every change of peers.json and every interval.
func (s LocalPeers) Run(ctx context.Context, emit func(Update)) error {
	watchDir(ctx, s.clock(), s.Dir, isName(PeersFile), s.interval(), func() {
		peers, err := s.Read()
		emit(Update{Source: s.Name(), Peers: peers, PeersRead: err == nil, Err: err})
	})
	return nil
}
