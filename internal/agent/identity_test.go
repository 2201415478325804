package agent

import (
	"net"
	"os"
	"testing"

	"github.com/stackhand/stackhand/internal/config"
)

// TestConfiguredIdentityDefaultsToHostName: without identity.instance_id the host is named
// by its host name; stack and resource are the configured ones.
func TestConfiguredIdentityDefaultsToHostName(t *testing.T) {
	c, err := config.Parse([]byte("stack: shop\nresource: Web\nidentity:\n  region: eu-west-1\n"), "stackhand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	in := configuredIdentity(c, "eu-west-1")
	if in.InstanceID != host || in.Hostname != host || in.Region != "eu-west-1" || in.Stack != "shop" || in.LogicalID != "Web" {
		t.Errorf("identity %+v, want the host name %q as its id", in, host)
	}
	// {ip_address}: an IPv4 address of an interface that is up, never the loopback.
	if ip := net.ParseIP(in.PrivateIP); in.PrivateIP != "" && (ip == nil || ip.To4() == nil || ip.IsLoopback()) {
		t.Errorf("PrivateIP %q, want a non-loopback IPv4 address or none", in.PrivateIP)
	}
	c.Identity.InstanceID = "web-01"
	if in := configuredIdentity(c, "eu-west-1"); in.InstanceID != "web-01" || in.Hostname != host {
		t.Errorf("identity %+v, want web-01 with host name %q", in, host)
	}
}
