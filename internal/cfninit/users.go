package cfninit

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"slices"
	"strconv"
	"strings"
)

// applyGroups creates the groups that do not exist, as system groups (`groupadd -r`, with
// `-g GID` when one is given: aws-cfn-bootstrap posix_security.py create_group). A group
// that exists is left as it is; one that exists with another gid is an error, and its gid
// is never changed.
func (r *Runner) applyGroups(ctx context.Context, c *Config, ch *Changes, res *Result) error {
	for _, g := range c.Groups {
		have, err := user.LookupGroup(g.Name)
		if err == nil {
			if g.GID != nil && have.Gid != strconv.Itoa(*g.GID) {
				return fmt.Errorf("groups.%s: the group exists with gid %s, but gid %d is asked for; stackhand does not change an existing group's gid (change the template, or the group with groupmod)", g.Name, have.Gid, *g.GID)
			}
			r.Log.Debug(fmt.Sprintf("group %s already exists (gid %s)", g.Name, have.Gid))
			continue
		}
		var unknown user.UnknownGroupError
		if !errors.As(err, &unknown) {
			return fmt.Errorf("groups.%s: look the group up: %w", g.Name, err)
		}
		args := []string{"-r"}
		if g.GID != nil {
			args = append(args, "-g", strconv.Itoa(*g.GID))
		}
		args = append(args, g.Name)
		t, err := r.runTool(ctx, nil, "groupadd", args...)
		if err != nil {
			return fmt.Errorf("groups.%s: %w", g.Name, err)
		}
		if t.code != 0 {
			return fmt.Errorf("groups.%s: %w", g.Name, t.failure("create the group"))
		}
		r.Log.Info("created group " + g.Name)
		res.Changed = append(res.Changed, "group "+g.Name)
	}
	return nil
}

// applyUsers creates the users that do not exist as cfn-init does: system users with no
// home directory made and no login shell (`useradd -M -r --shell /sbin/nologin`, plus
// -d, -u, -G as given: posix_security.py _create_user). An existing user is reconciled,
// never recreated: supplementary groups it lacks are added (`usermod -a -G`, keeping the
// ones it has, where cfn-init would replace the list) and a different homeDir is set
// (`usermod -d`, files not moved, as cfn-init). A user that exists with another uid is an
// error, and its uid is never changed.
func (r *Runner) applyUsers(ctx context.Context, c *Config, ch *Changes, res *Result) error {
	for _, u := range c.Users {
		if err := r.applyUser(ctx, u, res); err != nil {
			return fmt.Errorf("users.%s: %w", u.Name, err)
		}
	}
	return nil
}

func (r *Runner) applyUser(ctx context.Context, u User, res *Result) error {
	// Every group must exist first: the error names the one missing rather than
	// leaving it to useradd's message.
	wantGIDs := make([]string, 0, len(u.Groups))
	for _, g := range u.Groups {
		grp, err := user.LookupGroup(g)
		if err != nil {
			return fmt.Errorf("group %q (users.%s.groups) does not exist: declare it under groups or create it first", g, u.Name)
		}
		wantGIDs = append(wantGIDs, grp.Gid)
	}
	have, err := user.Lookup(u.Name)
	if err != nil {
		var unknown user.UnknownUserError
		if !errors.As(err, &unknown) {
			return fmt.Errorf("look the user up: %w", err)
		}
		args := useraddArgs(u)
		t, err := r.runTool(ctx, nil, "useradd", args...)
		if err != nil {
			return err
		}
		if t.code != 0 {
			return t.failure("create the user")
		}
		r.Log.Info("created user " + u.Name)
		res.Changed = append(res.Changed, "user "+u.Name)
		return nil
	}
	if u.UID != nil && have.Uid != strconv.Itoa(*u.UID) {
		return fmt.Errorf("the user exists with uid %s, but uid %d is asked for; stackhand does not change an existing user's uid (change the template, or the user with usermod)", have.Uid, *u.UID)
	}
	current, err := have.GroupIds()
	if err != nil {
		return fmt.Errorf("read the user's groups: %w", err)
	}
	var missing []string
	for i, gid := range wantGIDs {
		if !slices.Contains(current, gid) {
			missing = append(missing, u.Groups[i])
		}
	}
	args := usermodArgs(u, have.HomeDir, missing)
	if args == nil {
		r.Log.Debug(fmt.Sprintf("user %s already exists as asked (uid %s)", u.Name, have.Uid))
		return nil
	}
	t, err := r.runTool(ctx, nil, "usermod", args...)
	if err != nil {
		return err
	}
	if t.code != 0 {
		return t.failure("update the user")
	}
	r.Log.Info(fmt.Sprintf("updated user %s (%s)", u.Name, strings.Join(args[:len(args)-1], " ")))
	res.Changed = append(res.Changed, "user "+u.Name)
	return nil
}

// useraddArgs is useradd's command line for a new user.
func useraddArgs(u User) []string {
	args := []string{"-M", "-r", "--shell", "/sbin/nologin"}
	if u.HomeDir != "" {
		args = append(args, "-d", u.HomeDir)
	}
	if u.UID != nil {
		args = append(args, "-u", strconv.Itoa(*u.UID))
	}
	if len(u.Groups) > 0 {
		args = append(args, "-G", strings.Join(u.Groups, ","))
	}
	return append(args, u.Name)
}

// usermodArgs is usermod's command line to reconcile an existing user, nil when there is
// nothing to change.
func usermodArgs(u User, homeDir string, missingGroups []string) []string {
	var args []string
	if len(missingGroups) > 0 {
		args = append(args, "-a", "-G", strings.Join(missingGroups, ","))
	}
	if u.HomeDir != "" && u.HomeDir != homeDir {
		args = append(args, "-d", u.HomeDir)
	}
	if args == nil {
		return nil
	}
	return append(args, u.Name)
}
