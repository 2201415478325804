package cfninit

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	sandboxEnv   = "STACKHAND_CFNINIT_USERS_SANDBOX" // set in the re-executed child
	sandboxNSEnv = "STACKHAND_CFNINIT_PARENT_MNTNS"  // the parent's mount namespace
)

// TestUsersSandbox creates, reconciles and refuses groups and users with the real
// groupadd, useradd and usermod, inside a private mount namespace where /etc is a copy
// of the machine's: the test binary re-runs itself under `unshare --mount`, and the
// machine's own /etc/passwd, /etc/group and /etc/shadow are checked unchanged after.
func TestUsersSandbox(t *testing.T) {
	if os.Getenv(sandboxEnv) == "1" {
		usersInSandbox(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates users in a private mount namespace")
	}
	for _, tool := range []string{"unshare", "useradd", "groupadd", "usermod", "cp"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err := os.Stat("/usr/sbin/" + tool); err != nil {
				t.Skipf("needs %s (util-linux, passwd)", tool)
			}
		}
	}
	watched := []string{"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"}
	before := map[string][]byte{}
	for _, p := range watched {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		before[p] = b
	}
	ns, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Skipf("cannot read this process's mount namespace: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private",
		os.Args[0], "-test.run=^TestUsersSandbox$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), sandboxEnv+"=1", sandboxNSEnv+"="+ns,
		"STACKHAND_SANDBOX_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sandboxed run failed: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestUsersSandbox")) {
		t.Fatalf("the sandboxed run did not pass:\n%s", out)
	}
	t.Logf("sandboxed run:\n%s", out)
	for _, p := range watched {
		after, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if !bytes.Equal(before[p], after) {
			t.Errorf("the machine's %s changed", p)
		}
	}
	for _, name := range []string{"cfnapp", "cfnweb"} {
		if _, err := user.Lookup(name); err == nil {
			t.Errorf("user %s exists outside the sandbox", name)
		}
	}
}

// usersInSandbox is the child's half: it makes /etc a copy, then runs the sections.
func usersInSandbox(t *testing.T) {
	ns, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil || ns == os.Getenv(sandboxNSEnv) {
		t.Fatalf("not in a private mount namespace (%q, %v): refusing to touch /etc", ns, err)
	}
	dir := os.Getenv("STACKHAND_SANDBOX_DIR")
	if dir == "" {
		t.Fatal("no sandbox directory given")
	}
	if out, err := exec.Command("cp", "-a", "/etc", dir+"/").CombinedOutput(); err != nil {
		t.Fatalf("copy /etc: %v\n%s", err, out)
	}
	bind := func(src, dst string) {
		if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
			t.Fatalf("bind %s on %s: %v", src, dst, err)
		}
	}
	bind(filepath.Join(dir, "etc"), "/etc")
	// useradd writes lastlog and faillog records and may make a mail spool: give it
	// empty directories so the machine's stay untouched.
	for _, d := range []string{"/var/log", "/var/mail", "/var/spool/mail"} {
		if st, err := os.Lstat(d); err == nil && st.IsDir() {
			empty := filepath.Join(dir, "empty"+strings.ReplaceAll(d, "/", "_"))
			if err := os.Mkdir(empty, 0o755); err != nil {
				t.Fatal(err)
			}
			bind(empty, d)
		}
	}
	t.Setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")

	r, logs := testRunner(t)
	r.sys = &system{}
	ctx := context.Background()
	gid, uid, badUID := 4711, 4712, 4999
	apply := func(c *Config) (*Result, error) {
		res := &Result{}
		ch := newChanges()
		if err := r.applyGroups(ctx, c, ch, res); err != nil {
			return res, err
		}
		return res, r.applyUsers(ctx, c, ch, res)
	}

	// Create.
	c := &Config{
		Groups: []Group{{Name: "cfnops"}, {Name: "cfnweb", GID: &gid}},
		Users:  []User{{Name: "cfnapp", UID: &uid, Groups: []string{"cfnweb"}, HomeDir: "/srv/cfnapp"}},
	}
	res, err := apply(c)
	if err != nil {
		t.Fatalf("create: %v\nlog:\n%s", err, allLogs(logs))
	}
	if want := []string{"group cfnops", "group cfnweb", "user cfnapp"}; !slices.Equal(res.Changed, want) {
		t.Errorf("create: changed %q, want %q", res.Changed, want)
	}
	g, err := user.LookupGroup("cfnweb")
	if err != nil || g.Gid != "4711" {
		t.Fatalf("group cfnweb: %+v %v", g, err)
	}
	passwd, _ := os.ReadFile("/etc/passwd")
	if !bytes.Contains(passwd, []byte("\ncfnapp:x:4712:")) || !bytes.Contains(passwd, []byte(":/srv/cfnapp:/sbin/nologin\n")) {
		t.Errorf("/etc/passwd lacks cfnapp as asked:\n%s", passwd)
	}
	if _, err := os.Stat("/srv/cfnapp"); err == nil {
		t.Error("useradd made a home directory; cfn-init's users get none (-M)")
	}
	u, err := user.Lookup("cfnapp")
	if err != nil {
		t.Fatal(err)
	}
	if ids, _ := u.GroupIds(); !slices.Contains(ids, "4711") {
		t.Errorf("cfnapp's groups %v lack cfnweb", ids)
	}
	// A system group: its gid is below the first ordinary one (SYS_GID_MAX, usually 999).
	if ops, err := user.LookupGroup("cfnops"); err != nil || len(ops.Gid) > 3 {
		t.Errorf("cfnops is not a system group: %+v %v", ops, err)
	}

	// The same again: nothing to do.
	passwdBefore, _ := os.ReadFile("/etc/passwd")
	res, err = apply(c)
	if err != nil || len(res.Changed) != 0 {
		t.Errorf("second run: changed %q, err %v", res.Changed, err)
	}
	if after, _ := os.ReadFile("/etc/passwd"); !bytes.Equal(passwdBefore, after) {
		t.Error("second run changed /etc/passwd")
	}

	// Reconcile: one more group, kept the old one.
	c.Users[0].Groups = []string{"cfnops"}
	res, err = apply(c)
	if err != nil || !slices.Equal(res.Changed, []string{"user cfnapp"}) {
		t.Fatalf("reconcile: changed %q, err %v", res.Changed, err)
	}
	ids, _ := u.GroupIds()
	ops, _ := user.LookupGroup("cfnops")
	if !slices.Contains(ids, "4711") || !slices.Contains(ids, ops.Gid) {
		t.Errorf("after reconcile cfnapp's groups are %v; want cfnweb (kept) and cfnops (added)", ids)
	}

	// Refused: another uid, another gid, a group that does not exist.
	for _, bad := range []struct {
		c    *Config
		want string
	}{
		{&Config{Users: []User{{Name: "cfnapp", UID: &badUID}}}, "users.cfnapp: the user exists with uid 4712, but uid 4999 is asked for"},
		{&Config{Groups: []Group{{Name: "cfnweb", GID: &badUID}}}, "groups.cfnweb: the group exists with gid 4711, but gid 4999 is asked for"},
		{&Config{Users: []User{{Name: "cfnnew", Groups: []string{"nosuchgroup"}}}}, `group "nosuchgroup" (users.cfnnew.groups) does not exist`},
	} {
		passwdBefore, _ := os.ReadFile("/etc/passwd")
		groupBefore, _ := os.ReadFile("/etc/group")
		_, err := apply(bad.c)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("error %v, want %q", err, bad.want)
		}
		passwdAfter, _ := os.ReadFile("/etc/passwd")
		groupAfter, _ := os.ReadFile("/etc/group")
		if !bytes.Equal(passwdBefore, passwdAfter) || !bytes.Equal(groupBefore, groupAfter) {
			t.Errorf("a refused entry changed /etc (%q)", bad.want)
		}
	}

	// A useradd failure carries useradd's words.
	taken := 0 // root's uid
	_, err = apply(&Config{Users: []User{{Name: "cfndup", UID: &taken}}})
	if err == nil || !strings.Contains(err.Error(), "useradd") || !strings.Contains(err.Error(), "not unique") {
		t.Errorf("useradd with a taken uid: %v", err)
	}
}
