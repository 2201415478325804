package cfninit

import (
	"strings"
	"testing"
)

// TestUserCommandLines: cfn-init's useradd flags for a new user (a system user, no home
// made, no login shell) and usermod's for reconciling one, without root.
func TestUserCommandLines(t *testing.T) {
	uid := 4712
	for _, c := range []struct {
		u    User
		want string
	}{
		{User{Name: "app"}, "-M -r --shell /sbin/nologin app"},
		{User{Name: "app", UID: &uid, Groups: []string{"web", "ops"}, HomeDir: "/srv/app"}, "-M -r --shell /sbin/nologin -d /srv/app -u 4712 -G web,ops app"},
	} {
		if got := strings.Join(useraddArgs(c.u), " "); got != c.want {
			t.Errorf("useraddArgs(%+v) = %q, want %q", c.u, got, c.want)
		}
	}
	u := User{Name: "app", HomeDir: "/srv/app"}
	if got := usermodArgs(u, "/srv/app", nil); got != nil {
		t.Errorf("nothing to change, got %q", got)
	}
	if got := strings.Join(usermodArgs(u, "/home/app", []string{"ops", "web"}), " "); got != "-a -G ops,web -d /srv/app app" {
		t.Errorf("usermodArgs = %q", got)
	}
	if got := usermodArgs(User{Name: "app"}, "/home/app", nil); got != nil {
		t.Errorf("no homeDir asked: the existing one stays, got %q", got)
	}
}
