package contract_test

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/contract"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/status"
	"github.com/stackhand/stackhand/internal/testenv"
)

// statusGolden compares got with testdata/<name>, or rewrites that file with -update.
func statusGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	testenv.Golden(t, filepath.Join("testdata", name), got, *update,
		"that is a change of contract (add fields only; a rename, removal or new type is a new version)")
}

var statusAt = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

// fullState sets every field of every internal struct status --json is built from, so
// that every public key appears in the golden file.
func fullState() (*state.State, *status.Snapshot) {
	in := event.Instance{InstanceID: "i-0123456789abcdef0", Region: "eu-west-1", AvailabilityZone: "eu-west-1b",
		PrivateIP: "10.0.1.17", PublicIP: "203.0.113.7", InstanceType: "t3.small", LaunchTime: statusAt.Add(-48 * time.Hour),
		Hostname: "ip-10-0-1-17", Stack: "shop-prod", LogicalID: "WebServerGroup", AutoScalingGroup: "shop-prod-web"}
	tr := event.Trigger{Type: "watch", Detail: "metadata", Rules: []string{"release"}, Requests: []string{"req-1"}}
	st := state.New()
	st.Identity = in
	st.UpdatedAt = statusAt
	st.Setup = state.Setup{InstanceID: in.InstanceID, Done: true, At: statusAt.Add(-47 * time.Hour), EventID: "setup-000001"}
	st.Lifecycle = state.Lifecycle{State: "InService", Detail: "target lifecycle state InService", SeenAt: statusAt.Add(-time.Minute),
		ShutdownDone: true, ShutdownFor: in.InstanceID, RebalanceAt: statusAt.Add(-time.Hour)}
	st.Record(state.Outcome{ID: "deploy-000009", Kind: event.Deploy, Rule: "app", Reason: "release changed", Trigger: tr,
		Retry: true, Result: state.Failed, Start: statusAt.Add(-time.Minute), End: statusAt.Add(-50 * time.Second),
		Duration: state.Duration(10 * time.Second), Failed: "20-migrate", Error: "hook 20-migrate exited with status 1",
		Tail: "migration failed\n", Warnings: []string{"30-x: not executable, skipped"},
		Hooks: []state.HookOutcome{{Name: "20-migrate", ExitCode: 1, Duration: state.Duration(9 * time.Second), TimedOut: true,
			Refused: "writable by others", Error: "killed", LogFile: "/var/log/stackhand/hooks/deploy-000009/20-migrate.log",
			Builtin: true, Changes: []string{"file /etc/app.conf"}}}})
	p := state.Pending{ID: "configure-000010", Kind: event.Configure, Rule: "app", Reasons: []string{"peers changed"}, Trigger: tr,
		Explicit: true, Retry: true, Queued: statusAt.Add(-2 * time.Minute), Started: statusAt.Add(-time.Minute), Interruptions: 1}
	st.Running = &p
	st.Queue = []state.Pending{p}
	st.Retries = map[string]*state.Retry{"deploy/app": {Kind: event.Deploy, Rule: "app", Attempts: 2, NotBefore: statusAt.Add(2 * time.Minute),
		Automatic: true, Fingerprint: "app|release=v2", LastEventID: "deploy-000009", LastError: "hook 20-migrate exited with status 1"}}
	st.Apps = map[string]*state.App{"web": {Revision: "v41", Release: "20261204T150000Z-v41", Result: state.AppRolledBack, At: statusAt,
		Error: "rolled back to 20261204T150000Z-v41: check http://127.0.0.1:8080/health: HTTP 503", Desired: "v42", FailedRevision: "v42"}}
	c := &status.Component{LastOK: statusAt.Add(-time.Minute), LastError: "throttled", ErrorAt: statusAt, Detail: "detail",
		Attempts: 3, NextTry: statusAt.Add(8 * time.Second), Counters: map[string]int64{"sent": 7}, Every: time.Minute, Since: statusAt.Add(-time.Hour),
		Checks: []status.Check{{Name: "web", OK: false, Failures: 2, LastRun: statusAt, LastError: "HTTP 503"}},
		Files: []status.File{{Path: "/var/log/app.log", Group: "g", Stream: "s", Shipped: 10, Size: 20, LagSeconds: 1.5,
			LastError: "denied", ErrorAt: statusAt}},
		Journals: []status.Journal{{Entry: "logs.journald[0]", What: "journal (priority info)", Group: "g", Stream: "s", Shipped: 5,
			Pending: 1, VacuumedUnshipped: 2, LastEntry: statusAt, Cursor: "s=1;i=2", LastError: "denied", ErrorAt: statusAt}},
		WinEvents: []status.WinEventLog{{Entry: "logs.windows_events[0]", What: "event log (channel System, levels ERROR, xml)", Group: "g",
			Stream: "s", Shipped: 5, Pending: 1, ClearedUnshipped: 2, LastEvent: statusAt, RecordID: 4711, LastError: "denied", ErrorAt: statusAt}}}
	parts := &status.Snapshot{Version: status.Version, UpdatedAt: statusAt, PID: 4242, Discovery: c,
		Sources: map[string]*status.Component{"metadata": c}, Reporters: map[string]*status.Component{"logs": c}}
	return st, parts
}

func TestStatusGolden(t *testing.T) {
	st, parts := fullState()
	s := contract.NewStatus("/var/lib/stackhand", st, parts, true, 4242)
	s.Verdict = contract.Verdict{Level: contract.VerdictFailing, Reasons: []string{"deploy deploy-000009 failed"}}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	statusGolden(t, "status.golden.json", append(b, '\n'))
}

// publicFields maps each field of the internal structs status --json is built from to the
// public key it becomes, or to "" where it is deliberately left out. A field added to or
// renamed in an internal struct fails TestEveryInternalFieldIsMappedOrPrivate until it
// is placed here: renaming inside never changes the contract silently.
var statusFields = map[reflect.Type]map[string]string{
	reflect.TypeFor[event.Instance](): {"InstanceID": "instance_id", "Region": "region", "AvailabilityZone": "az",
		"PrivateIP": "private_ip", "PublicIP": "public_ip", "InstanceType": "instance_type", "LaunchTime": "launch_time",
		"Hostname": "hostname", "Stack": "stack", "LogicalID": "logical_id", "AutoScalingGroup": "autoscaling_group"},
	reflect.TypeFor[event.Trigger](): {"Type": "type", "Detail": "detail", "Rules": "rules", "Requests": "requests"},
	reflect.TypeFor[state.Setup]():   {"InstanceID": "instance_id", "Done": "done", "At": "at", "EventID": "event_id"},
	reflect.TypeFor[state.Lifecycle](): {"State": "state", "Detail": "detail", "SeenAt": "seen_at",
		"ShutdownDone": "shutdown_done", "ShutdownFor": "shutdown_for", "RebalanceAt": "rebalance_at"},
	reflect.TypeFor[state.Pending](): {"ID": "id", "Kind": "event", "Rule": "rule", "Reasons": "reasons", "Trigger": "trigger",
		"Explicit": "explicit", "Retry": "retry", "Queued": "queued", "Started": "started",
		"Interruptions": "interruptions", "Fingerprint": "", "Rollback": ""},
	reflect.TypeFor[state.App](): {"Revision": "revision", "Release": "release", "Result": "result", "At": "at", "Error": "error",
		"Desired": "desired_revision", "FailedRevision": "failed_revision"},
	reflect.TypeFor[state.Outcome](): {"ID": "id", "Kind": "event", "Rule": "rule", "Reason": "reason", "Trigger": "trigger",
		"Retry": "retry", "Result": "result", "Start": "start", "End": "end", "Duration": "duration", "Failed": "failed_hook",
		"Error": "error", "Tail": "output_tail", "Hooks": "hooks", "Warnings": "warnings"},
	reflect.TypeFor[state.HookOutcome](): {"Name": "name", "ExitCode": "exit_code", "Duration": "duration",
		"TimedOut": "timed_out", "Refused": "refused", "Error": "error", "LogFile": "log_file",
		"Builtin": "builtin", "Changes": "changes"},
	reflect.TypeFor[state.Retry](): {"Kind": "event", "Rule": "rule", "Attempts": "attempts", "NotBefore": "next_attempt",
		"Automatic": "", "Fingerprint": "", "LastEventID": "last_event_id", "LastError": "last_error"},
	reflect.TypeFor[status.Component](): {"LastOK": "last_ok", "LastError": "last_error", "ErrorAt": "error_at",
		"Detail": "detail", "Attempts": "attempts", "NextTry": "next_try", "Counters": "counters", "Checks": "checks", "Files": "files",
		"Journals": "journals", "WinEvents": "windows_events", "Every": "every_seconds", "Since": "since"},
	reflect.TypeFor[status.Check](): {"Name": "name", "OK": "ok", "Failures": "failures", "LastRun": "last_run", "LastError": "last_error"},
	reflect.TypeFor[status.File](): {"Path": "path", "Group": "group", "Stream": "stream", "Shipped": "shipped", "Size": "size",
		"LagSeconds": "lag_seconds", "LastError": "last_error", "ErrorAt": "error_at"},
	reflect.TypeFor[status.Journal](): {"Entry": "entry", "What": "what", "Group": "group", "Stream": "stream", "Shipped": "shipped",
		"Pending": "pending", "VacuumedUnshipped": "vacuumed_unshipped", "LastEntry": "last_entry", "Cursor": "cursor",
		"LastError": "last_error", "ErrorAt": "error_at"},
	reflect.TypeFor[status.WinEventLog](): {"Entry": "entry", "What": "what", "Group": "group", "Stream": "stream", "Shipped": "shipped",
		"Pending": "pending", "ClearedUnshipped": "cleared_unshipped", "LastEvent": "last_event", "RecordID": "record_id",
		"LastError": "last_error", "ErrorAt": "error_at"},
}

func TestEveryInternalFieldIsMappedOrPrivate(t *testing.T) {
	st, parts := fullState()
	b, err := json.Marshal(contract.NewStatus("/d", st, parts, true, 1))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	collectKeys(t, b, keys)
	for typ, fields := range statusFields {
		for i := range typ.NumField() {
			f := typ.Field(i)
			key, ok := fields[f.Name]
			if !ok {
				t.Errorf("%s.%s is not in statusFields: map it to a key of the contract types (or to \"\" to keep it private)", typ, f.Name)
				continue
			}
			if key != "" && !keys[key] {
				t.Errorf("%s.%s maps to %q, which status --json does not print", typ, f.Name, key)
			}
		}
		for name := range fields {
			if _, ok := typ.FieldByName(name); !ok {
				t.Errorf("statusFields names %s.%s, which no longer exists: the internal field was renamed; keep the public key", typ, name)
			}
		}
	}
}

func collectKeys(t *testing.T, b []byte, keys map[string]bool) {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				keys[k] = true
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}
