package cli

import (
	"bytes"
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/contract"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/status"
	"github.com/stackhand/stackhand/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the current output")

// golden compares got with testdata/<name>, or rewrites that file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testenv.Golden(t, filepath.Join("testdata", name), got, *update, "the text an operator reads changed")
}

// statusNow is the moment the golden status outputs are rendered at.
var statusNow = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

func fullStatus() contract.Status {
	ago := func(d time.Duration) time.Time { return statusNow.Add(-d) }
	st := &state.State{
		Identity: event.Instance{
			InstanceID: "i-0123456789abcdef0", Region: "eu-west-1", AvailabilityZone: "eu-west-1b",
			PrivateIP: "10.0.1.17", InstanceType: "t3.small", Hostname: "ip-10-0-1-17",
			Stack: "shop-prod", LogicalID: "WebServerGroup", AutoScalingGroup: "shop-prod-WebServerGroup-1ABC",
		},
		Setup:     state.Setup{InstanceID: "i-0123456789abcdef0", Done: true, At: ago(26 * time.Hour), EventID: "setup-000001"},
		Lifecycle: state.Lifecycle{State: "InService", Detail: "target lifecycle state InService", SeenAt: ago(26 * time.Hour)},
		Last: map[event.Kind]*state.Outcome{
			event.Setup: {
				ID: "setup-000001", Kind: event.Setup, Reason: "first start on this instance",
				Trigger: event.Trigger{Type: "first-start"}, Result: state.Succeeded,
				Start: ago(26*time.Hour + 42*time.Second), End: ago(26 * time.Hour), Duration: state.Duration(41870 * time.Millisecond),
			},
			event.Deploy: {
				ID: "deploy-000009", Kind: event.Deploy, Reason: `release changed: "v41" -> "v42"`,
				Trigger: event.Trigger{Type: "watch", Rules: []string{"release"}}, Result: state.Failed,
				Start: ago(3*time.Minute + 12*time.Second), End: ago(3 * time.Minute), Duration: state.Duration(12345 * time.Millisecond),
				Failed: "20-migrate", Error: "hook 20-migrate exited with status 1",
				Tail: "running migration 0042_add_index\nERROR: relation \"orders\" does not exist\nmigration failed\n",
				Hooks: []state.HookOutcome{
					{Name: "10-fetch", ExitCode: 0, Duration: state.Duration(2 * time.Second), LogFile: "/var/log/stackhand/hooks/deploy-000009.10-fetch.log"},
					{Name: "20-migrate", ExitCode: 1, Duration: state.Duration(10345 * time.Millisecond), LogFile: "/var/log/stackhand/hooks/deploy-000009.20-migrate.log"},
				},
			},
		},
		Queue: []state.Pending{{
			ID: "configure-000010", Kind: event.Configure, Reasons: []string{"peers changed: +i-0fedcba9876543210", "requested by alice: rotate certs"},
			Trigger: event.Trigger{Type: "peers"}, Queued: ago(2 * time.Minute),
		}},
		Apps: map[string]*state.App{
			"web": {Revision: "v41", Release: "20261204T150000Z-v41", Result: state.AppRolledBack, At: ago(3 * time.Minute),
				Error: "rolled back to 20261204T150000Z-v41: check http://127.0.0.1:8080/health: HTTP 503", Desired: "v42", FailedRevision: "v42"},
			"api": {Revision: "a7", Release: "20261204T140000Z-a7", Result: state.AppDeployed, At: ago(time.Hour), Desired: "a7"},
		},
		Retries: map[string]*state.Retry{"deploy/": {Kind: event.Deploy, Attempts: 2, NotBefore: statusNow.Add(117 * time.Second),
			Automatic: true, Fingerprint: "release|release=\"v42\"", LastEventID: "deploy-000009", LastError: "hook 20-migrate exited with status 1"}},
		UpdatedAt: ago(40 * time.Second),
	}
	st.Last[event.Configure] = &state.Outcome{ID: "configure-000008", Kind: event.Configure, Reason: "the set of online peers changed (joined: i-0fedcba9876543210)",
		Trigger: event.Trigger{Type: "peers"}, Result: state.Succeeded, End: ago(time.Hour), Duration: state.Duration(900 * time.Millisecond),
		Warnings: []string{"/etc/stackhand/hooks.d/configure/30-nginx: not executable, skipped; chmod 0755 it to run it"}}
	parts := &status.Snapshot{
		Sources: map[string]*status.Component{
			"tags": {LastOK: ago(40 * time.Second)},
			"metadata": {LastOK: ago(17 * time.Minute), LastError: "/etc/stackhand/local/metadata.json:3: not valid JSON: invalid character '}' looking for beginning of object key string; fix the file, nothing changes until then",
				ErrorAt: ago(15 * time.Minute)},
		},
		Reporters: map[string]*status.Component{
			"heartbeat": {LastOK: ago(20 * time.Second), Detail: "alarm stackhand-heartbeat-i-0123456789abcdef0",
				Counters: map[string]int64{"dropped": 0}},
			"health": {LastOK: ago(95 * time.Second), LastError: "web: GET http://127.0.0.1:8080/health: HTTP 503", ErrorAt: ago(5 * time.Second),
				Detail: "failing; 2 failed round(s) in a row, unhealthy at 3",
				Checks: []status.Check{
					{Name: "web", Failures: 2, LastRun: ago(5 * time.Second), LastError: "GET http://127.0.0.1:8080/health: HTTP 503"},
					{Name: "hooks.d/health", OK: true, LastRun: ago(5 * time.Second)},
				}},
			"logs": {LastOK: ago(3 * time.Second), Counters: map[string]int64{"sent": 1834211, "retries": 4, "rejected": 0},
				Files: []status.File{
					{Path: "/var/log/app/app.log", Group: "shop-prod", Stream: "i-0123456789abcdef0/app.log", Shipped: 73400320, Size: 73401000, LagSeconds: 2.4},
					{Path: "/var/log/app/denied.log", Group: "shop-prod", Stream: "i-0123456789abcdef0/denied.log", Size: 1200,
						LastError: "open /var/log/app/denied.log: permission denied", ErrorAt: ago(10 * time.Minute)},
					{Path: "/var/log/stackhand/hooks/deploy-000009/10-fetch.log", Group: "shop-prod", Stream: "i-0123456789abcdef0/hooks", Shipped: 300, Size: 300},
					{Path: "/var/log/stackhand/hooks/deploy-000009/20-migrate.log", Group: "shop-prod", Stream: "i-0123456789abcdef0/hooks", Shipped: 900, Size: 1000, LagSeconds: 1.2},
					{Path: "/var/log/stackhand/hooks/configure-000008/10-peers.log", Group: "shop-prod", Stream: "i-0123456789abcdef0/hooks", Shipped: 40, Size: 40,
						LastError: "read: input/output error", ErrorAt: ago(time.Hour)},
				},
				Journals: []status.Journal{{Entry: "logs.journald[0]", What: "journal (units nginx, priority info)", Group: "shop-prod",
					Stream: "i-0123456789abcdef0/journal", Shipped: 5120, Pending: 3, VacuumedUnshipped: 40, LastEntry: ago(2 * time.Second),
					Cursor: "s=1;i=2"}},
				WinEvents: []status.WinEventLog{{Entry: "logs.windows_events[0]", What: "event log (channel System, levels ERROR,CRITICAL, text)",
					Group: "shop-prod", Stream: "i-0123456789abcdef0/system", Shipped: 12, ClearedUnshipped: 7, LastEvent: ago(time.Minute),
					RecordID: 4711, LastError: "event log channel System: reading System was refused: the agent reads event logs as LocalSystem, or as a member of Event Log Readers; subscribing again in 30s",
					ErrorAt: ago(5 * time.Second)}}},
		},
	}
	return withVerdict(contract.NewStatus("/var/lib/stackhand", st, parts, true, 4242))
}

// withVerdict sets the verdict the status command would.
func withVerdict(s contract.Status) contract.Status {
	s.Verdict = verdict(s, statusNow)
	return s
}

// setupFailedStatus is an agent that stopped after its setup failed, while a retry ran.
func setupFailedStatus() contract.Status {
	ago := func(d time.Duration) time.Time { return statusNow.Add(-d) }
	st := &state.State{
		Identity: event.Instance{InstanceID: "i-0123456789abcdef0", AvailabilityZone: "eu-west-1a", PrivateIP: "10.0.0.5"},
		Lifecycle: state.Lifecycle{State: "spot-interruption", Detail: "spot interruption notice", SeenAt: ago(90 * time.Second),
			ShutdownDone: true},
		Last: map[event.Kind]*state.Outcome{
			event.Setup: {
				ID: "setup-000002", Kind: event.Setup, Reason: "retry of setup-000001 — the package mirror was unreachable (attempt 2 of ∞)",
				Result: state.Failed, End: ago(5 * 24 * time.Hour), Duration: state.Duration(30 * time.Minute),
				Failed: "10-packages", Error: "hook 10-packages timed out after 30m0s",
				Hooks: []state.HookOutcome{{Name: "10-packages", ExitCode: -1, TimedOut: true}},
			},
			event.Shutdown: {ID: "shutdown-000004", Kind: event.Shutdown, Reason: "spot interruption", Result: state.Succeeded,
				End: ago(80 * time.Second), Duration: state.Duration(800 * time.Millisecond)},
		},
		Running: &state.Pending{ID: "setup-000003", Kind: event.Setup, Reasons: []string{"retry of setup-000002"},
			Queued: ago(2 * time.Minute), Started: ago(119 * time.Second)},
		Queue:     []state.Pending{},
		UpdatedAt: ago(75 * time.Second),
	}
	parts := &status.Snapshot{
		Sources: map[string]*status.Component{
			"identity": {LastError: "/etc/stackhand/local/instance.json:1: not valid JSON: unexpected end of JSON input; fix the file, nothing changes until then", ErrorAt: ago(6 * 24 * time.Hour)},
		},
		Reporters: map[string]*status.Component{"events": {LastOK: ago(80 * time.Second)}},
	}
	return withVerdict(contract.NewStatus("/var/lib/stackhand", st, parts, false, 0))
}

// discoveryStatus is an agent that cannot reach IMDS at its first start.
func discoveryStatus() contract.Status {
	parts := &status.Snapshot{Discovery: &status.Component{
		LastError: "IMDS unreachable at http://169.254.169.254: dial tcp 169.254.169.254:80: connect: connection refused",
		ErrorAt:   statusNow.Add(-20 * time.Second), Attempts: 5, NextTry: statusNow.Add(12 * time.Second),
		Detail: "the instance is not known yet: no event runs until it is"}}
	st := state.New()
	st.UpdatedAt = statusNow.Add(-2 * time.Minute)
	return withVerdict(contract.NewStatus("/var/lib/stackhand", st, parts, true, 4242))
}

func TestRenderStatusGolden(t *testing.T) {
	tests := []struct {
		golden string
		status contract.Status
	}{
		{"status/full.golden", fullStatus()},
		{"status/empty.golden", withVerdict(contract.NewStatus("/var/lib/stackhand", state.New(), &status.Snapshot{}, false, 0))},
		{"status/setup-failed.golden", setupFailedStatus()},
		{"status/discovery.golden", discoveryStatus()},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var out bytes.Buffer
			renderStatus(&out, tt.status, statusNow)
			golden(t, tt.golden, out.Bytes())
		})
	}
}

func TestAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{1400 * time.Millisecond, "1s"},
		{59 * time.Second, "59s"},
		{time.Minute, "1m"},
		{15*time.Minute + 31*time.Second, "16m"},
		{59*time.Minute + 29*time.Second, "59m"},
		{time.Hour, "1h"},
		{26*time.Hour + 10*time.Minute, "26h"},
		{48 * time.Hour, "2d"},
		{10*24*time.Hour + 23*time.Hour, "10d"},
	}
	for _, tt := range tests {
		if got := age(tt.d); got != tt.want {
			t.Errorf("age(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven ch…"},
		{"v41 → v42 → v43", 7, "v41 → …"},
		{"∞∞∞∞", 3, "∞∞…"},
	}
	for _, tt := range tests {
		if got := clip(tt.s, tt.n); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestVerdict(t *testing.T) {
	ok := func() contract.Status {
		st := state.New()
		st.Identity = event.Instance{InstanceID: "i-1"}
		st.Record(state.Outcome{ID: "deploy-000002", Kind: event.Deploy, Result: state.Succeeded})
		return contract.NewStatus("/s", st, &status.Snapshot{Sources: map[string]*status.Component{"tags": {LastOK: statusNow}}}, true, 1)
	}
	tests := []struct {
		name   string
		change func(*contract.Status)
		level  string
		reason string
	}{
		{"all well", func(*contract.Status) {}, contract.VerdictOK, ""},
		{"a source problem", func(s *contract.Status) { s.Sources["tags"].LastError = "DescribeTags: throttled" }, contract.VerdictDegraded, "source tags: DescribeTags: throttled"},
		{"a reporter problem", func(s *contract.Status) { s.Reporters["logs"] = &contract.Component{LastError: "denied"} }, contract.VerdictDegraded, "reporter logs: denied"},
		{"a journal it cannot read", func(s *contract.Status) {
			s.Reporters["logs"] = &contract.Component{LastOK: statusNow, Journals: []contract.Journal{{Entry: "logs.journald[0]", LastError: "insufficient permissions"}}}
		}, contract.VerdictDegraded, "logs.journald[0]: insufficient permissions"},
		{"an event log it cannot read", func(s *contract.Status) {
			s.Reporters["logs"] = &contract.Component{LastOK: statusNow, WinEvents: []contract.WinEventLog{{Entry: "logs.windows_events[0]", LastError: "access denied"}}}
		}, contract.VerdictDegraded, "logs.windows_events[0]: access denied"},
		{"a hook skipped", func(s *contract.Status) { s.Last["deploy"].Warnings = []string{"x: not executable"} }, contract.VerdictOK, ""},
		{"an event failed", func(s *contract.Status) { s.Last["deploy"].Result = string(state.Failed) }, contract.VerdictFailing, "deploy deploy-000002 failed"},
		{"not running", func(s *contract.Status) { s.Agent.Running = false }, contract.VerdictFailing, "the agent is not running"},
		{"instance unknown", func(s *contract.Status) {
			s.Identity = contract.Instance{}
			s.Discovery = &contract.Component{LastError: "IMDS unreachable"}
		}, contract.VerdictFailing, "the instance is not known: IMDS unreachable"},
		// Stale: a part whose last success is older than StaleAfter(every) (3 intervals
		// and one more for the lazy write: 4 min at 1 min), with no error to show.
		{"a source within its staleness bound", func(s *contract.Status) {
			s.Sources["metadata"] = &contract.Component{EverySeconds: 60, LastOK: statusNow.Add(-3 * time.Minute)}
		}, contract.VerdictOK, ""},
		{"a stale source", func(s *contract.Status) {
			s.Sources["metadata"] = &contract.Component{EverySeconds: 60, LastOK: statusNow.Add(-5 * time.Minute)}
		}, contract.VerdictDegraded, "source metadata: STALE: last ok 5m ago, expected every 1m0s"},
		{"a source whose first call never returned", func(s *contract.Status) {
			s.Sources["metadata"] = &contract.Component{EverySeconds: 60, Since: statusNow.Add(-10 * time.Minute)}
		}, contract.VerdictDegraded, "source metadata: STALE: never ok in 10m, expected every 1m0s"},
		{"a stale heartbeat", func(s *contract.Status) {
			s.Reporters["heartbeat"] = &contract.Component{EverySeconds: 60, LastOK: statusNow.Add(-5 * time.Minute)}
		}, contract.VerdictFailing, "reporter heartbeat: STALE: last ok 5m ago, expected every 1m0s; the heartbeat alarm may act on this instance"},
		{"stale means nothing when the agent is not running", func(s *contract.Status) {
			s.Agent.Running = false
			s.Sources["metadata"] = &contract.Component{EverySeconds: 60, LastOK: statusNow.Add(-5 * time.Minute)}
		}, contract.VerdictFailing, "the agent is not running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok()
			tt.change(&s)
			markStale(&s, statusNow)
			v := verdict(s, statusNow)
			if v.Level != tt.level || (tt.reason != "" && (len(v.Reasons) == 0 || v.Reasons[0] != tt.reason)) || (tt.reason == "" && len(v.Reasons) > 0) {
				t.Errorf("verdict %+v, want %s first for %q", v, tt.level, tt.reason)
			}
		})
	}
}
