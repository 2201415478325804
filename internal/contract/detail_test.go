package contract_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/contract"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/report"
	"github.com/stackhand/stackhand/internal/state"
	"github.com/stackhand/stackhand/internal/status"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json with the current output")

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// notifications returns one notification of each kind, as the reporters make them, with
// every internal field set (TestDetailFixturesSetEveryField keeps it so), so that the
// golden files show every public key.
func notifications() map[string]report.Notification {
	in := event.Instance{InstanceID: "i-0abc1234def567890", Region: "eu-west-1", AvailabilityZone: "eu-west-1a",
		PrivateIP: "10.0.1.23", PublicIP: "203.0.113.7", InstanceType: "m7g.large", LaunchTime: t0.Add(-time.Hour),
		Hostname: "ip-10-0-1-23.eu-west-1.compute.internal", Stack: "prod-web", LogicalID: "WebGroup",
		AutoScalingGroup: "prod-web-WebGroup-1A2B3C4D"}
	start := t0.Add(-5*time.Minute - 1500*time.Millisecond)
	o := state.Outcome{ID: "deploy-000042", Kind: event.Deploy, Rule: "app-config",
		Reason: "metadata AWS::CloudFormation::Init.config changed (rule app-config)",
		Trigger: event.Trigger{Type: "watch", Detail: "cfn-hup path Resources.WebGroup.Metadata", Rules: []string{"app-config"},
			Requests: []string{"req-7f3a"}},
		Retry: true, Result: state.Failed, Start: start, End: t0, Duration: state.Duration(t0.Sub(start)),
		Failed: "20-restart", Error: "hook 20-restart timed out after 5m0s", Tail: "restarting app\nwaiting for port 8080\n",
		Hooks: []state.HookOutcome{
			{Name: "10-fetch", ExitCode: 0, Duration: state.Duration(1500 * time.Millisecond),
				LogFile: "/var/lib/stackhand/runs/deploy-000042/10-fetch.log"},
			{Name: "cfn-hup:cfn-auto-reloader-hook", ExitCode: 0, Duration: state.Duration(800 * time.Millisecond),
				Builtin: true, Changes: []string{"file /etc/app.conf", "service sysvinit app restarted"}},
			{Name: "15-secrets", ExitCode: -1, Refused: "owned by uid 1000, not by root"},
			{Name: "20-restart", ExitCode: -1, Duration: state.Duration(5 * time.Minute), TimedOut: true,
				Error: "timed out after 5m0s", LogFile: "/var/lib/stackhand/runs/deploy-000042/20-restart.log"},
		},
		Warnings: []string{"hooks directory /etc/stackhand/hooks.d/deploy.d has no executable hooks"},
	}
	return map[string]report.Notification{
		contract.KindEvent: {Kind: report.KindEvent, Time: t0, Instance: in, Event: &o},
		contract.KindHealth: {Kind: report.KindHealth, Time: t0, Instance: in, Health: &report.Verdict{
			Status: report.MarkedUnhealthy, Failures: 3, Checks: []status.Check{
				{Name: "web", OK: false, Failures: 3, LastRun: t0.Add(-time.Second),
					LastError: "GET http://127.0.0.1:8080/health: 503 Service Unavailable"},
				{Name: "db", OK: true, LastRun: t0.Add(-time.Second)},
			}}},
		contract.KindAlarm: {Kind: report.KindAlarm, Time: t0, Instance: in, Alarm: &report.AlarmChange{
			Name: "stackhand-heartbeat-i-0abc1234def567890", Change: "deleted", Action: "reboot",
			Reason: "the instance is terminating"}},
	}
}

func golden(kind string) string { return filepath.Join("testdata", kind+".golden.json") }

// TestDetailGolden: each kind's detail, built from internal values as the sinks build it,
// is byte for byte its golden file. A difference is a change to what fleets' rules match
// on: if it is meant, follow the compatibility rule in the package doc, update the README's
// schema tables, and rewrite the files with -update.
func TestDetailGolden(t *testing.T) {
	for kind, n := range notifications() {
		t.Run(kind, func(t *testing.T) {
			got, err := json.MarshalIndent(n.Detail(), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			if *update {
				if err := os.WriteFile(golden(kind), got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden(kind))
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the %s detail differs from %s; the public contract changed:\n--- got\n%s--- want\n%s", kind, golden(kind), got, want)
			}
			if dt := contract.DetailType(kind); dt == "" {
				t.Errorf("kind %q has no detail-type", kind)
			}
		})
	}
}

// TestDetailWireForm: on the wire (compact, as PutEvents and events.jsonl carry it) the
// version comes first, and a Go consumer reading the detail back gets the same document.
func TestDetailWireForm(t *testing.T) {
	for kind, n := range notifications() {
		b, err := json.Marshal(n.Detail())
		if err != nil {
			t.Fatal(err)
		}
		if prefix := `{"schema_version":1,"kind":"` + kind + `",`; !strings.HasPrefix(string(b), prefix) {
			t.Errorf("%s detail %s does not start with %s", kind, b, prefix)
		}
		var d contract.Detail
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: read back: %v", kind, err)
		}
		if again, _ := json.Marshal(d); !bytes.Equal(again, b) {
			t.Errorf("%s: read back and written again:\n%s\nwant\n%s", kind, again, b)
		}
	}
}

// TestDetailFixturesSetEveryField: every internal field a detail is built from is set in
// some fixture, so that a new field, once mapped, shows in the golden files.
func TestDetailFixturesSetEveryField(t *testing.T) {
	set := map[string]bool{}
	for _, n := range notifications() {
		setPaths(reflect.ValueOf(n), "Notification", set)
	}
	for _, p := range typePaths(reflect.TypeFor[report.Notification](), "Notification", goName) {
		if !set[p] {
			t.Errorf("no fixture sets %s: set it in notifications() so the golden files show what it becomes", p)
		}
	}
}

// TestDetailGoldenHasEveryKey: every public key appears in some golden file, so that the
// golden files document the whole contract.
func TestDetailGoldenHasEveryKey(t *testing.T) {
	seen := map[string]bool{}
	for kind := range notifications() {
		b, err := os.ReadFile(golden(kind))
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", golden(kind), err)
		}
		keyPaths(doc, "detail", seen)
	}
	for _, p := range typePaths(reflect.TypeFor[contract.Detail](), "detail", jsonKey) {
		if !seen[p] {
			t.Errorf("no golden file shows %s: set the internal field it comes from in notifications() and run -update", p)
		}
	}
}

// schema maps each internal struct a Detail is built from to the public type it becomes:
// each internal Go field to the JSON key it is published under, or to why it is not
// published. The conversion functions make a renamed or removed internal field a compile
// error; this table makes a new one a test failure, so that nothing reaches (or fails to
// reach) fleets' rules without someone deciding it. Internal JSON tags play no part: they
// may change freely.
var schema = []struct {
	internal, public reflect.Type
	// fields maps an internal Go field to its public JSON key.
	fields map[string]string
	// private maps an internal Go field to why it stays inside.
	private map[string]string
	// extra lists public keys no internal field of this type feeds.
	extra []string
}{
	{internal: reflect.TypeFor[report.Notification](), public: reflect.TypeFor[contract.Detail](),
		fields: map[string]string{"Kind": "kind", "Time": "time", "Instance": "instance", "Event": "event",
			"Health": "health", "Alarm": "alarm"},
		extra: []string{"schema_version"}},
	{internal: reflect.TypeFor[event.Instance](), public: reflect.TypeFor[contract.Instance](),
		fields: map[string]string{"InstanceID": "instance_id", "Region": "region", "AvailabilityZone": "az",
			"PrivateIP": "private_ip", "PublicIP": "public_ip", "InstanceType": "instance_type", "LaunchTime": "launch_time",
			"Hostname": "hostname", "Stack": "stack", "LogicalID": "logical_id", "AutoScalingGroup": "autoscaling_group"}},
	{internal: reflect.TypeFor[state.Outcome](), public: reflect.TypeFor[contract.Event](),
		fields: map[string]string{"ID": "id", "Kind": "event", "Rule": "rule", "Reason": "reason", "Trigger": "trigger",
			"Retry": "retry", "Result": "result", "Start": "start", "End": "end", "Duration": "duration",
			"Failed": "failed_hook", "Error": "error", "Tail": "output_tail", "Hooks": "hooks", "Warnings": "warnings"}},
	{internal: reflect.TypeFor[event.Trigger](), public: reflect.TypeFor[contract.Trigger](),
		fields: map[string]string{"Type": "type", "Detail": "detail", "Rules": "rules", "Requests": "requests"}},
	{internal: reflect.TypeFor[state.HookOutcome](), public: reflect.TypeFor[contract.Hook](),
		fields: map[string]string{"Name": "name", "ExitCode": "exit_code", "Duration": "duration", "TimedOut": "timed_out",
			"Refused": "refused", "Error": "error", "LogFile": "log_file",
			"Builtin": "builtin", "Changes": "changes"}},
	{internal: reflect.TypeFor[report.Verdict](), public: reflect.TypeFor[contract.Health](),
		fields: map[string]string{"Status": "status", "Failures": "failures", "Checks": "checks"}},
	{internal: reflect.TypeFor[status.Check](), public: reflect.TypeFor[contract.Check](),
		fields: map[string]string{"Name": "name", "OK": "ok", "Failures": "failures", "LastRun": "last_run",
			"LastError": "last_error"}},
	{internal: reflect.TypeFor[report.AlarmChange](), public: reflect.TypeFor[contract.Alarm](),
		fields: map[string]string{"Name": "name", "Change": "change", "Action": "action", "Reason": "reason"}},
}

// TestDetailSchemaMapsEveryInternalField: every field of every internal struct a detail is
// built from is either published under a key of the public type or listed as private, and
// every public key comes from somewhere.
func TestDetailSchemaMapsEveryInternalField(t *testing.T) {
	rows := map[reflect.Type]bool{}
	publics := map[reflect.Type]bool{}
	for _, r := range schema {
		rows[r.internal], publics[r.public] = true, true
		keys := map[string]bool{}
		for i := range r.public.NumField() {
			keys[jsonKey(r.public.Field(i))] = true
		}
		fed := map[string]string{}
		for i := range r.internal.NumField() {
			f := r.internal.Field(i)
			key, mapped := r.fields[f.Name]
			_, private := r.private[f.Name]
			switch {
			case mapped && private:
				t.Errorf("%s.%s is both mapped and private in the schema table", r.internal, f.Name)
			case !mapped && !private:
				t.Errorf("%s.%s is new or renamed and not in the schema table: map it in internal/contract (the public type %s, "+
					"its conversion, the README's schema tables) or list it as private in this test", r.internal, f.Name, r.public)
			case mapped && !keys[key]:
				t.Errorf("%s.%s is mapped to %q, which %s does not have", r.internal, f.Name, key, r.public)
			case mapped && fed[key] != "":
				t.Errorf("%s.%s and %s.%s are both mapped to %q", r.internal, fed[key], r.internal, f.Name, key)
			case mapped:
				fed[key] = f.Name
			}
		}
		for _, names := range []map[string]string{r.fields, r.private} {
			for name := range names {
				if _, ok := r.internal.FieldByName(name); !ok {
					t.Errorf("the schema table names %s.%s, which no longer exists: if it was renamed, the public key "+
						"keeps its name; update the conversion in internal/contract and the table", r.internal, name)
				}
			}
		}
		for key := range keys {
			if fed[key] == "" && !slices.Contains(r.extra, key) {
				t.Errorf("public key %q of %s comes from no field of %s", key, r.public, r.internal)
			}
		}
	}
	// Every struct the internal values and the public document hold has its row.
	for _, c := range []struct {
		root reflect.Type
		have map[reflect.Type]bool
	}{{reflect.TypeFor[report.Notification](), rows}, {reflect.TypeFor[contract.Detail](), publics}} {
		for _, st := range structs(c.root) {
			if !c.have[st] {
				t.Errorf("%s holds %s, which has no row in the schema table", c.root, st)
			}
		}
	}
}

func TestDetailType(t *testing.T) {
	for kind, want := range map[string]string{contract.KindEvent: "Stackhand Lifecycle Event",
		contract.KindHealth: "Stackhand Health Verdict", contract.KindAlarm: "Stackhand Heartbeat Alarm", "other": ""} {
		if got := contract.DetailType(kind); got != want {
			t.Errorf("DetailType(%q) = %q, want %q", kind, got, want)
		}
	}
}

// leaf reports whether t is written as one JSON value rather than walked field by field.
func leaf(t reflect.Type) bool {
	return t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]()
}

// elem strips pointers and slices from t.
func elem(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t
}

func goName(f reflect.StructField) string { return f.Name }

func jsonKey(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// typePaths lists the path of every field under t, named by name, slices as "[]".
func typePaths(t reflect.Type, path string, name func(reflect.StructField) string) []string {
	var out []string
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice {
			path += "[]"
		}
		t = t.Elem()
	}
	if leaf(t) {
		return nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		p := path + "." + name(f)
		out = append(out, p)
		out = append(out, typePaths(f.Type, p, name)...)
	}
	return out
}

// setPaths records the path (as typePaths with goName) of every non-zero field under v.
func setPaths(v reflect.Value, path string, set map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			setPaths(v.Elem(), path, set)
		}
	case reflect.Slice:
		for i := range v.Len() {
			setPaths(v.Index(i), path+"[]", set)
		}
	case reflect.Struct:
		if leaf(v.Type()) {
			return
		}
		for i := range v.NumField() {
			p := path + "." + v.Type().Field(i).Name
			if !v.Field(i).IsZero() {
				set[p] = true
			}
			setPaths(v.Field(i), p, set)
		}
	}
}

// keyPaths records the path of every key in a decoded JSON document.
func keyPaths(doc any, path string, seen map[string]bool) {
	switch d := doc.(type) {
	case map[string]any:
		for k, v := range d {
			seen[path+"."+k] = true
			keyPaths(v, path+"."+k, seen)
		}
	case []any:
		for _, v := range d {
			keyPaths(v, path+"[]", seen)
		}
	}
}

// structs lists the struct types t and its fields hold, t included, leaves excluded.
func structs(t reflect.Type) []reflect.Type {
	var out []reflect.Type
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		t = elem(t)
		if leaf(t) || slices.Contains(out, t) {
			return
		}
		out = append(out, t)
		for i := range t.NumField() {
			walk(t.Field(i).Type)
		}
	}
	walk(t)
	return out
}
