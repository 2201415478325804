package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/fleet"
	"github.com/stackhand/stackhand/internal/source"
)

// fleetCallTimeout bounds each read of fleet status.
const fleetCallTimeout = 30 * time.Second

const fleetUsage = `Usage: stackhand fleet status [--group NAME | --stack NAME] [--json] [--watch]
       stackhand fleet hold|resume [--group NAME]

The fleet without a central service: every agent publishes what it applied, its last event
and its health on its own instance (tags stackhand:*), and rolls changes out in waves.

  status   the group's instances, what each applied, rollouts in progress and failures
  hold     hold every rollout of the group (a tag on the Auto Scaling group)
  resume   end the hold

Run 'stackhand fleet SUBCOMMAND --help' for its flags and exit codes.
`

func cmdFleet(env Env, args []string) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(env.Stdout, fleetUsage)
		return ExitOK
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(env.Stderr, fleetUsage)
		return fail(env, ExitUsage, "fleet takes a subcommand: status, hold or resume")
	}
	switch args[0] {
	case "status":
		return cmdFleetStatus(env, args[1:])
	case "hold", "resume":
		return cmdFleetHold(env, args[0], args[1:])
	}
	return fail(env, ExitUsage, "fleet %s: unknown; use status, hold or resume", args[0])
}

// fleetSide is where fleet reads its view: the instances, what they published, the hold.
type fleetSide struct {
	peers      []fleet.Peer
	published  map[string]fleet.State
	unreadable map[string]string
	held       bool
	states     map[string]string // lifecycle states other than InService, by id
	others     []fleet.Peer      // the group's instances that are not InService
}

func cmdFleetStatus(env Env, args []string) int {
	fs, cfgPath := flags(env, "fleet status", "fleet status [--group NAME | --stack NAME] [--json] [--watch] [--config PATH]")
	group := fs.String("group", "", "the Auto Scaling `NAME` to show (default: this instance's)")
	stack := fs.String("stack", "", "the CloudFormation stack `NAME` whose instances to show")
	asJSON := fs.Bool("json", false, "print JSON")
	watch := fs.Bool("watch", false, "print again every interval until interrupted")
	if code := parse(env, fs, args); code >= 0 {
		return code
	}
	ld, err := loadConfig(*cfgPath, "")
	if err != nil {
		return fail(env, ExitFailed, "%v", err)
	}
	cfg := ld.cfg
	var rules []fleet.RuleRollout
	for _, r := range cfg.Watch {
		if r.Rollout != nil {
			rules = append(rules, fleet.RuleRollout{Rule: r.Name, Rollout: r.Rollout.Fleet()})
		}
	}
	out := terminalSafe(env.Stdout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), fleetCallTimeout)
		side, err := readFleet(ctx, cfg, *group, *stack)
		cancel()
		if err != nil {
			return fail(env, ExitFailed, "%v", err)
		}
		sum := fleet.Summarize(side.peers, side.published, side.unreadable, rules, side.held)
		if len(side.others) > 0 {
			more := fleet.Summarize(side.others, side.published, side.unreadable, nil, false)
			sum.Rows = append(sum.Rows, more.Rows...)
		}
		for i := range sum.Rows {
			if st := side.states[sum.Rows[i].Instance]; st != "" {
				sum.Rows[i].State = st
			}
		}
		if *asJSON {
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			enc.Encode(sum)
		} else {
			printFleet(out, sum, cfg, time.Now())
		}
		if !*watch {
			return ExitOK
		}
		time.Sleep(cfg.Interval.D())
		fmt.Fprintln(out)
	}
}

func readFleet(ctx context.Context, cfg *config.Config, group, stack string) (*fleetSide, error) {
	if cfg.Mode != config.ModeLocal {
		return readFleetAWS(ctx, cfg, group, stack)
	}
	if cfg.Local.FleetDir == "" {
		return nil, fmt.Errorf("mode local without local.fleet_dir in %s: the agents publish nothing to show; set local.fleet_dir", cfg.Path)
	}
	if group != "" || stack != "" {
		return nil, fmt.Errorf("--group and --stack are for mode aws; mode local shows the peers of %s/peers.json", cfg.Local.Dir)
	}
	peers, err := source.LocalPeers{Local: source.Local{Dir: cfg.Local.Dir}}.Read()
	if err != nil {
		return nil, err
	}
	st := &fleet.LocalStore{Dir: cfg.Local.FleetDir}
	ids := make([]string, len(peers))
	for i, p := range peers {
		ids[i] = p.InstanceID
	}
	tags, err := st.Read(ctx, ids)
	var why fleet.ReadErrors
	if err != nil && !errors.As(err, &why) {
		return nil, err
	}
	side := &fleetSide{peers: peers, published: map[string]fleet.State{}, unreadable: why}
	for _, id := range ids {
		if t, ok := tags[id]; ok {
			side.published[id] = fleet.Parse(t)
		}
	}
	if side.held, err = st.Held(ctx); err != nil {
		return nil, err
	}
	return side, nil
}

func printFleet(w io.Writer, s fleet.Summary, cfg *config.Config, now time.Time) {
	if s.Held {
		fmt.Fprintln(w, "ROLLOUTS HELD by the operator (stackhand fleet resume to go on)")
	}
	for _, l := range s.Rollouts {
		fmt.Fprintln(w, "rollout: "+l)
	}
	var rules []string
	for _, r := range cfg.Watch {
		for _, row := range s.Rows {
			if _, ok := row.Applied[fleet.RuleKey(r.Name)]; ok && !slices.Contains(rules, r.Name) {
				rules = append(rules, r.Name)
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := []string{"INSTANCE", "AZ", "STATE"}
	for _, r := range rules {
		head = append(head, strings.ToUpper(r))
	}
	fmt.Fprintln(tw, strings.Join(append(head, "LAST EVENT", "AGE", "HEALTH"), "\t"))
	for _, r := range s.Rows {
		cols := []string{r.Instance, dash(r.AZ), r.State}
		for _, rule := range rules {
			v := dash(r.Applied[fleet.RuleKey(rule)])
			if f, ok := r.Failed[fleet.RuleKey(rule)]; ok {
				v += " (failed " + f.Fingerprint + ")"
			}
			cols = append(cols, v)
		}
		last, ago := "-", "-"
		if r.Last != nil {
			last, ago = r.Last.Kind+" "+r.Last.Result, age(now.Sub(r.Last.At))
		}
		health := dash(r.Health)
		if r.Unreadable != "" {
			last, health = "unreadable: "+r.Unreadable, "-"
		}
		fmt.Fprintln(tw, strings.Join(append(cols, last, ago, health), "\t"))
	}
	tw.Flush()
	for _, r := range s.Rows {
		for _, rule := range slices.Sorted(func(yield func(string) bool) {
			for k := range r.Failed {
				if !yield(k) {
					return
				}
			}
		}) {
			fmt.Fprintf(w, "%s failed %s %s: %s\n", r.Instance, rule, r.Failed[rule].Fingerprint, r.Failed[rule].Reason)
		}
	}
}

func cmdFleetHold(env Env, verb string, args []string) int {
	fs, cfgPath := flags(env, "fleet "+verb, "fleet "+verb+" [--group NAME] [--config PATH]")
	group := fs.String("group", "", "the Auto Scaling `NAME` (default: this instance's)")
	if code := parse(env, fs, args); code >= 0 {
		return code
	}
	ld, err := loadConfig(*cfgPath, "")
	if err != nil {
		return fail(env, ExitFailed, "%v", err)
	}
	cfg := ld.cfg
	ctx, cancel := context.WithTimeout(context.Background(), fleetCallTimeout)
	defer cancel()
	on := verb == "hold"
	var where string
	if cfg.Mode == config.ModeLocal {
		if cfg.Local.FleetDir == "" {
			return fail(env, ExitFailed, "mode local without local.fleet_dir in %s: there is no fleet to hold; set local.fleet_dir", cfg.Path)
		}
		err = (&fleet.LocalStore{Dir: cfg.Local.FleetDir}).SetHold(ctx, "", on)
		where = cfg.Local.FleetDir
	} else {
		where, err = holdAWS(ctx, cfg, *group, on)
	}
	if err != nil {
		return fail(env, ExitFailed, "%v", err)
	}
	if on {
		fmt.Fprintf(env.Stdout, "rollouts held for %s: no agent starts a new wave until stackhand fleet resume\n", where)
	} else {
		fmt.Fprintf(env.Stdout, "rollouts resumed for %s\n", where)
	}
	return ExitOK
}
