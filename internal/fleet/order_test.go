package fleet

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func peer(id, az string) Peer { return Peer{InstanceID: id, AvailabilityZone: az} }

func ids(ps []Peer) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.InstanceID)
	}
	return out
}

func TestOrder(t *testing.T) {
	tests := []struct {
		name  string
		peers []Peer
		want  []string
	}{
		{
			name: "three uneven zones interleaved, ids sorted within a zone",
			peers: []Peer{
				peer("i-a3", "us-east-1a"), peer("i-c1", "us-east-1c"), peer("i-a1", "us-east-1a"),
				peer("i-b2", "us-east-1b"), peer("i-a4", "us-east-1a"), peer("i-a2", "us-east-1a"),
				peer("i-b1", "us-east-1b"),
			},
			want: []string{"i-a1", "i-b1", "i-c1", "i-a2", "i-b2", "i-a3", "i-a4"},
		},
		{
			name: "zones by name, not by first appearance",
			peers: []Peer{
				peer("i-1", "zone-c"), peer("i-2", "zone-b"), peer("i-3", "zone-a"),
				peer("i-4", "zone-c"),
			},
			want: []string{"i-3", "i-2", "i-1", "i-4"},
		},
		{
			name: "peers without a zone are a zone of their own",
			peers: []Peer{
				peer("i-9", "us-east-1a"), peer("i-5", ""), peer("i-1", "us-east-1a"), peer("i-2", ""),
			},
			want: []string{"i-2", "i-1", "i-5", "i-9"},
		},
		{
			name:  "one zone: sorted by id",
			peers: []Peer{peer("i-c", "z"), peer("i-a", "z"), peer("i-b", "z")},
			want:  []string{"i-a", "i-b", "i-c"},
		},
		{name: "none", peers: nil, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.peers)
			got := Order(in)
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("Order = %v, want %v", ids(got), tt.want)
			}
			if !slices.Equal(in, tt.peers) {
				t.Errorf("Order modified its input: %v, was %v", ids(in), ids(tt.peers))
			}
			for _, p := range got {
				i := slices.IndexFunc(tt.peers, func(q Peer) bool { return q.InstanceID == p.InstanceID })
				if i < 0 || tt.peers[i] != p {
					t.Errorf("Order returned %+v, not one of the peers as given", p)
				}
			}
		})
	}
}

// Every agent sees the peers in whatever order its API call returned them: the rollout
// order must not depend on it.
func TestOrderIndependentOfInputOrder(t *testing.T) {
	var peers []Peer
	azs := []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}
	for i := range 23 {
		peers = append(peers, peer("i-"+string(rune('a'+i)), azs[(i*7)%5%3]))
	}
	want := ids(Order(peers))
	if len(want) != len(peers) {
		t.Fatalf("Order returned %d peers of %d", len(want), len(peers))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		shuffled := slices.Clone(peers)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := ids(Order(shuffled)); !slices.Equal(got, want) {
			t.Fatalf("Order(shuffled) = %v, want %v", got, want)
		}
	}
	// The first wave of three spans the three zones.
	first := Order(peers)[:3]
	zones := map[string]bool{}
	for _, p := range first {
		zones[p.AvailabilityZone] = true
	}
	if len(zones) != 3 {
		t.Errorf("the first three in order are in %d zones, want 3: %+v", len(zones), first)
	}
}
