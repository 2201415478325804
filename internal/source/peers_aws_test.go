package source

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

var peerLaunch = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

// putPeer adds an EC2 instance of stack app in group web.
func putPeer(srv *awsfake.Server, id, ip, az string) {
	srv.PutInstance(awsfake.Instance{ID: id, PrivateIP: ip, AZ: az, Type: "m5.large", LaunchTime: peerLaunch,
		Tags: map[string]string{"aws:cloudformation:stack-name": "app", "aws:cloudformation:logical-id": "WebGroup",
			"aws:autoscaling:groupName": "web"}})
}

func wantPeer(id, ip, az string) event.Instance {
	in := event.Instance{InstanceID: id, Region: "us-east-1", AvailabilityZone: az, PrivateIP: ip,
		InstanceType: "m5.large", LaunchTime: peerLaunch, Stack: "app", LogicalID: "WebGroup", AutoScalingGroup: "web"}
	if ip != "" { // the stand-in names an instance by its address, as EC2 does
		in.Hostname = "ip-" + strings.ReplaceAll(ip, ".", "-") + ".ec2.internal"
	}
	return in
}

func peerIDs(peers []event.Instance) []string {
	var ids []string
	for _, p := range peers {
		ids = append(ids, p.InstanceID)
	}
	return ids
}

func TestAWSPeersGroupInServiceOnly(t *testing.T) {
	srv := awsfake.Start(t)
	putPeer(srv, "i-0b", "10.0.0.2", "us-east-1b")
	putPeer(srv, "i-0a", "10.0.0.1", "us-east-1a")
	putPeer(srv, "i-0c", "10.0.0.3", "us-east-1a")
	putPeer(srv, "i-0d", "10.0.0.4", "us-east-1a")
	putPeer(srv, "i-0e", "10.0.0.5", "us-east-1a")
	srv.PutGroup(awsfake.Group{Name: "web", Instances: []awsfake.GroupInstance{
		{ID: "i-0b", LifecycleState: "InService"},
		{ID: "i-0a", LifecycleState: "InService"},
		{ID: "i-0c", LifecycleState: "Pending"},
		{ID: "i-0d", LifecycleState: "Terminating"},
		{ID: "i-0e", LifecycleState: "Terminating:Wait"},
	}})
	c := newAWSTestClients(srv.URL)
	s := &AWSPeers{ASG: c.asg, EC2: c.ec2, Group: "web", Region: "us-east-1"}
	got, err := s.Read(awsTestCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []event.Instance{wantPeer("i-0a", "10.0.0.1", "us-east-1a"), wantPeer("i-0b", "10.0.0.2", "us-east-1b")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("peers\n got %+v\nwant %+v", got, want)
	}
	// DescribeInstances asks only for the InService ones.
	for _, call := range srv.CallLog() {
		if call.Action != "DescribeInstances" {
			continue
		}
		ids := []string{call.Params.Get("InstanceId.1"), call.Params.Get("InstanceId.2"), call.Params.Get("InstanceId.3")}
		slices.Sort(ids)
		if !reflect.DeepEqual(ids, []string{"", "i-0a", "i-0b"}) {
			t.Errorf("DescribeInstances for %v, want i-0a and i-0b", call.Params)
		}
	}
}

// In the steady state a pass is one DescribeAutoScalingGroups; DescribeInstances is made
// only for instances not seen before.
func TestAWSPeersCallsPerPass(t *testing.T) {
	srv := awsfake.Start(t)
	for _, id := range []string{"i-0a", "i-0b", "i-0c"} {
		putPeer(srv, id, "10.0.0."+id[3:], "us-east-1a")
	}
	srv.SetGroupInstances("web", awsfake.InService("i-0a", "i-0b")...)
	c := newAWSTestClients(srv.URL)
	s := &AWSPeers{ASG: c.asg, EC2: c.ec2, Group: "web", Region: "us-east-1"}
	passes := []struct {
		change        func()
		wantIDs       []string
		wantDescribe  int    // DescribeInstances calls in the pass
		wantDescribed string // the instance asked for, if one call
	}{
		{wantIDs: []string{"i-0a", "i-0b"}, wantDescribe: 1},
		{wantIDs: []string{"i-0a", "i-0b"}},
		{change: func() { srv.SetGroupInstances("web", awsfake.InService("i-0a", "i-0b", "i-0c")...) },
			wantIDs: []string{"i-0a", "i-0b", "i-0c"}, wantDescribe: 1, wantDescribed: "i-0c"},
		{change: func() { srv.SetGroupInstances("web", awsfake.InService("i-0a", "i-0c")...) },
			wantIDs: []string{"i-0a", "i-0c"}},
		{wantIDs: []string{"i-0a", "i-0c"}},
	}
	ctx := awsTestCtx(t)
	for i, p := range passes {
		if p.change != nil {
			p.change()
		}
		srv.ResetCalls()
		got, err := s.Read(ctx)
		if err != nil {
			t.Fatalf("pass %d: %v", i+1, err)
		}
		if ids := peerIDs(got); !slices.Equal(ids, p.wantIDs) {
			t.Errorf("pass %d: peers %v, want %v", i+1, ids, p.wantIDs)
		}
		for _, peer := range got {
			if peer.PrivateIP == "" || peer.Stack != "app" {
				t.Errorf("pass %d: peer %+v lost its details", i+1, peer)
			}
		}
		if n := srv.Calls("autoscaling", "DescribeAutoScalingGroups"); n != 1 {
			t.Errorf("pass %d: %d DescribeAutoScalingGroups, want 1", i+1, n)
		}
		if n := srv.Calls("ec2", "DescribeInstances"); n != p.wantDescribe {
			t.Errorf("pass %d: %d DescribeInstances, want %d", i+1, n, p.wantDescribe)
		}
		if n := srv.Calls("", ""); n != 1+p.wantDescribe {
			t.Errorf("pass %d: %d calls in all, want %d: %v", i+1, n, 1+p.wantDescribe, srv.CallCounts())
		}
		if p.wantDescribed != "" {
			for _, call := range srv.CallLog() {
				if call.Action == "DescribeInstances" && (call.Params.Get("InstanceId.1") != p.wantDescribed || call.Params.Has("InstanceId.2")) {
					t.Errorf("pass %d: DescribeInstances for %v, want only %s", i+1, call.Params, p.wantDescribed)
				}
			}
		}
	}
}

// A peer without a private IP (its interface still being attached) is kept, with the field
// empty, and its address is filled in on a later pass once EC2 has it.
func TestAWSPeersWithoutPrivateIP(t *testing.T) {
	srv := awsfake.Start(t)
	putPeer(srv, "i-0a", "10.0.0.1", "us-east-1a")
	putPeer(srv, "i-0n", "", "us-east-1b")
	srv.SetGroupInstances("web", awsfake.InService("i-0a", "i-0n")...)
	c := newAWSTestClients(srv.URL)
	s := &AWSPeers{ASG: c.asg, EC2: c.ec2, Group: "web", Region: "us-east-1"}
	ctx := awsTestCtx(t)
	got, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []event.Instance{wantPeer("i-0a", "10.0.0.1", "us-east-1a"), wantPeer("i-0n", "", "us-east-1b")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("peers\n got %+v\nwant %+v", got, want)
	}
	putPeer(srv, "i-0n", "10.0.0.9", "us-east-1b")
	got, err = s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].PrivateIP != "10.0.0.9" {
		t.Errorf("after the address came: %+v, want i-0n at 10.0.0.9", got)
	}
	// Once every peer has its address, a pass is one call again.
	srv.ResetCalls()
	if _, err := s.Read(ctx); err != nil {
		t.Fatal(err)
	}
	if n := srv.Calls("", ""); n != 1 {
		t.Errorf("%d calls in a steady pass, want 1: %v", n, srv.CallCounts())
	}
}

func TestAWSPeersErrors(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(srv *awsfake.Server)
		errHas []string
	}{
		{name: "group missing", setup: func(srv *awsfake.Server) {},
			errHas: []string{"auto scaling group web does not exist"}},
		{name: "throttled", setup: func(srv *awsfake.Server) {
			srv.SetGroupInstances("web", awsfake.InService("i-0a")...)
			srv.SetFaults(awsfake.Faults{ThrottleRate: 1, Only: map[string]bool{"DescribeAutoScalingGroups": true}})
		}, errHas: []string{"autoscaling:DescribeAutoScalingGroups", "Throttling"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.Start(t)
			tt.setup(srv)
			c := newAWSTestClients(srv.URL)
			s := &AWSPeers{ASG: c.asg, EC2: c.ec2, Group: "web", Region: "us-east-1"}
			got, err := s.Read(awsTestCtx(t))
			checkErr(t, err, tt.errHas)
			if got != nil {
				t.Errorf("peers %v with an error, want none", got)
			}
		})
	}
}

// An instance the group lists but EC2 does not know yet (EC2 is eventually consistent)
// is a peer by id now, and described once EC2 knows it.
func TestAWSPeersInstanceNotYetKnownToEC2(t *testing.T) {
	srv := awsfake.Start(t)
	srv.SetGroupInstances("web", awsfake.InService("i-0new")...)
	c := newAWSTestClients(srv.URL)
	s := &AWSPeers{ASG: c.asg, EC2: c.ec2, Group: "web", Region: "us-east-1"}
	ctx := awsTestCtx(t)
	got, err := s.Read(ctx)
	if err != nil || len(got) != 1 || got[0].InstanceID != "i-0new" || got[0].PrivateIP != "" {
		t.Fatalf("peers %+v err %v, want i-0new without details", got, err)
	}
	putPeer(srv, "i-0new", "10.0.0.7", "us-east-1a")
	got, err = s.Read(ctx)
	if err != nil || len(got) != 1 || got[0].PrivateIP != "10.0.0.7" {
		t.Fatalf("after EC2 knows it: %+v err %v", got, err)
	}
}

// Without a group, the peers are the running instances tagged with this stack's name.
func TestAWSPeersByStackTag(t *testing.T) {
	srv := awsfake.Start(t)
	putPeer(srv, "i-0b", "10.0.0.2", "us-east-1b")
	putPeer(srv, "i-0a", "10.0.0.1", "us-east-1a")
	putPeer(srv, "i-0s", "10.0.0.3", "us-east-1a")
	srv.SetInstanceState("i-0s", "stopped")
	putPeer(srv, "i-0p", "10.0.0.4", "us-east-1a")
	srv.SetInstanceState("i-0p", "pending")
	srv.PutInstance(awsfake.Instance{ID: "i-0o", PrivateIP: "10.0.0.5", Tags: map[string]string{"aws:cloudformation:stack-name": "other"}})
	srv.PutInstance(awsfake.Instance{ID: "i-0u", PrivateIP: "10.0.0.6"})
	c := newAWSTestClients(srv.URL)
	s := &AWSPeers{ASG: c.asg, EC2: c.ec2, Stack: "app", Region: "us-east-1"}
	got, err := s.Read(awsTestCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []event.Instance{wantPeer("i-0a", "10.0.0.1", "us-east-1a"), wantPeer("i-0b", "10.0.0.2", "us-east-1b")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("peers\n got %+v\nwant %+v", got, want)
	}
	if n := srv.Calls("autoscaling", ""); n != 0 {
		t.Errorf("%d Auto Scaling calls without a group, want 0", n)
	}
	if n := srv.Calls("ec2", "DescribeInstances"); n != 1 {
		t.Errorf("%d DescribeInstances, want 1", n)
	}
}

// Run reports each pass; with neither a group nor a stack it says why there are no peers.
func TestAWSPeersRun(t *testing.T) {
	// An instance that only ships logs has nothing wrong: no error, and the same good
	// reading at each interval, so that status shows the source ok, not stale.
	t.Run("no group, no stack", func(t *testing.T) {
		clk := awsTestClock()
		r := start(t, &AWSPeers{Clock: clk, Interval: time.Minute, Jitter: fixedJitter(0.5)})
		for i := range 2 {
			u := r.next(t)
			if u.Source != "peers" || u.PeersRead || u.Err != nil || u.Problem() != "" || u.Detail != NoPeers {
				t.Fatalf("update %d: %+v, want no error and the detail %q", i, u, NoPeers)
			}
			waitPending(t, clk, 1)
			clk.Advance(time.Minute)
		}
	})
	t.Run("group", func(t *testing.T) {
		srv := awsfake.Start(t)
		putPeer(srv, "i-0a", "10.0.0.1", "us-east-1a")
		putPeer(srv, "i-0b", "10.0.0.2", "us-east-1a")
		srv.SetGroupInstances("web", awsfake.InService("i-0a")...)
		c := newAWSTestClients(srv.URL)
		clk := awsTestClock()
		r := start(t, &AWSPeers{ASG: c.asg, EC2: c.ec2, Group: "web", Region: "us-east-1", Clock: clk,
			Interval: time.Minute, Jitter: fixedJitter(0.5)})
		if u := r.next(t); !u.PeersRead || u.Err != nil || !slices.Equal(peerIDs(u.Peers), []string{"i-0a"}) {
			t.Fatalf("first update %+v", u)
		}
		waitPending(t, clk, 1)
		srv.SetGroupInstances("web", awsfake.InService("i-0a", "i-0b")...)
		clk.Advance(time.Minute)
		if u := r.next(t); !u.PeersRead || !slices.Equal(peerIDs(u.Peers), []string{"i-0a", "i-0b"}) {
			t.Fatalf("second update %+v", u)
		}
		waitPending(t, clk, 1)
		srv.DeleteGroup("web")
		clk.Advance(time.Minute)
		if u := r.next(t); u.PeersRead || u.Err == nil {
			t.Fatalf("update after the group went: %+v; want an error and PeersRead false", u)
		}
	})
}
