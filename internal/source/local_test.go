package source

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/cfnpath"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/event"
)

// writeLocal writes content into name in dir; a nil content writes nothing (missing file).
func writeLocal(t *testing.T, dir, name string, content *string) {
	t.Helper()
	if content == nil {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(*content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func ptr(s string) *string { return &s }

// checkErr fails unless err is nil when want is empty, or contains every part of want.
func checkErr(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestLocalIdentityRead(t *testing.T) {
	host, _ := os.Hostname()
	defaults := event.Instance{
		InstanceID: "i-0000000000000local", Region: "local", AvailabilityZone: "local-1a",
		PrivateIP: "127.0.0.1", InstanceType: "local", Hostname: host,
	}
	tests := []struct {
		name     string
		content  *string
		override event.Instance
		want     event.Instance
		wantErr  []string
	}{
		{name: "missing file gives the defaults", want: defaults},
		{name: "empty object gives the defaults", content: ptr("{}"), want: defaults},
		{
			name:    "values from the file",
			content: ptr(`{"instance_id": "i-0abc", "region": "eu-west-1", "az": "eu-west-1b", "private_ip": "10.0.0.7", "instance_type": "t3.micro", "hostname": "web-1", "autoscaling_group": "web"}`),
			want: event.Instance{InstanceID: "i-0abc", Region: "eu-west-1", AvailabilityZone: "eu-west-1b",
				PrivateIP: "10.0.0.7", InstanceType: "t3.micro", Hostname: "web-1", AutoScalingGroup: "web"},
		},
		{
			name:    "blank values are replaced by the defaults",
			content: ptr(`{"instance_id": "  ", "region": ""}`),
			want:    defaults,
		},
		{
			name:     "the config overrides stack, region and logical id",
			content:  ptr(`{"instance_id": "i-0abc", "region": "eu-west-1", "stack": "from-file"}`),
			override: event.Instance{Stack: "demo", Region: "us-east-2", LogicalID: "WebServer"},
			want: event.Instance{InstanceID: "i-0abc", Region: "us-east-2", AvailabilityZone: "local-1a",
				PrivateIP: "127.0.0.1", InstanceType: "local", Hostname: host, Stack: "demo", LogicalID: "WebServer"},
		},
		{
			name:    "invalid JSON names the file and line and gives the defaults",
			content: ptr("{\n  \"instance_id\": \"i-0abc\",\n}\n"),
			want:    defaults,
			wantErr: []string{"instance.json:3:", "not valid JSON"},
		},
		{
			name:    "wrong type names the field",
			content: ptr("{\n  \"instance_id\": \"i-0abc\",\n  \"region\": 5\n}\n"),
			want:    event.Instance{InstanceID: "i-0abc", Region: "local", AvailabilityZone: "local-1a", PrivateIP: "127.0.0.1", InstanceType: "local", Hostname: host},
			wantErr: []string{"instance.json:3:", `"region" must be string, not number`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeLocal(t, dir, InstanceFile, tt.content)
			got, err := LocalIdentity{Local: Local{Dir: dir}, Override: tt.override}.Read()
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("identity:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLocalTagsRead(t *testing.T) {
	tests := []struct {
		name    string
		content *string
		want    map[string]string
		wantErr []string
	}{
		{name: "missing file means no tags", want: map[string]string{}},
		{name: "empty object", content: ptr("{}"), want: map[string]string{}},
		{name: "tags", content: ptr(`{"Role": "web", "Env": "prod"}`), want: map[string]string{"Role": "web", "Env": "prod"}},
		{
			name:    "invalid JSON",
			content: ptr("{\n  \"Role\": \"web\"\n  \"Env\": \"prod\"\n}\n"),
			wantErr: []string{"tags.json:3:", "not valid JSON"},
		},
		{
			name:    "a tag value that is a number",
			content: ptr("{\n  \"Role\": \"web\",\n  \"Count\": 3\n}\n"),
			wantErr: []string{"tags.json:3:", "must be string, not number"},
		},
		{
			name:    "an array instead of an object",
			content: ptr(`["Role"]`),
			wantErr: []string{"tags.json:1:", "not array"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeLocal(t, dir, TagsFile, tt.content)
			got, err := LocalTags{Local{Dir: dir}}.Read()
			checkErr(t, err, tt.wantErr)
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tags = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLocalPeersRead(t *testing.T) {
	tests := []struct {
		name    string
		content *string
		want    []string // instance ids, in order
		wantErr []string
	}{
		{name: "missing file means no peers", want: []string{}},
		{name: "empty array", content: ptr("[]"), want: []string{}},
		{
			name:    "peers are sorted by instance id",
			content: ptr(`[{"instance_id": "i-c", "private_ip": "10.0.0.3"}, {"instance_id": "i-a"}, {"instance_id": "i-b"}]`),
			want:    []string{"i-a", "i-b", "i-c"},
		},
		{
			name:    "a peer without instance_id",
			content: ptr(`[{"instance_id": "i-a"}, {"private_ip": "10.0.0.2"}]`),
			wantErr: []string{"peers.json", "peer 2 has no instance_id"},
		},
		{
			name:    "a peer listed twice",
			content: ptr(`[{"instance_id": "i-a"}, {"instance_id": "i-b"}, {"instance_id": "i-a"}]`),
			wantErr: []string{"peers.json", "instance_id i-a is listed twice"},
		},
		{
			name:    "invalid JSON",
			content: ptr("[\n  {\"instance_id\": \"i-a\"},\n  {\"instance_id\": \"i-b\"\n]\n"),
			wantErr: []string{"peers.json:4:", "not valid JSON"},
		},
		{
			name:    "an instance id that is a number",
			content: ptr("[\n  {\"instance_id\": 5}\n]\n"),
			wantErr: []string{"peers.json:2:", `"instance_id" must be string, not number`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeLocal(t, dir, PeersFile, tt.content)
			got, err := LocalPeers{Local{Dir: dir}}.Read()
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			ids := []string{}
			for _, p := range got {
				ids = append(ids, p.InstanceID)
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("peers = %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestLocalLifecycleRead(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		content *string
		want    Lifecycle
		wantErr []string
	}{
		{name: "missing file means InService", want: Lifecycle{State: InService}},
		{name: "empty file means InService", content: ptr("\n"), want: Lifecycle{State: InService}},
		{name: "InService", content: ptr("InService\n"), want: Lifecycle{State: InService, Detail: "target lifecycle state InService"}},
		{name: "terminated in lower case", content: ptr("terminated"), want: Lifecycle{State: Terminated, Detail: "target lifecycle state Terminated"}},
		{name: "warm pool state", content: ptr("warmed:stopped"), want: Lifecycle{State: "Warmed:Stopped", Detail: "target lifecycle state Warmed:Stopped"}},
		{
			name:    "spot without a time gives two minutes from now",
			content: ptr("spot\n"),
			want:    Lifecycle{State: InService, Spot: true, Deadline: now.Add(SpotNotice), Detail: "spot interruption notice"},
		},
		{
			name:    "spot with its time",
			content: ptr("SPOT 2026-11-21T10:05:00Z\n"),
			want:    Lifecycle{State: InService, Spot: true, Deadline: time.Date(2026, 11, 21, 10, 5, 0, 0, time.UTC), Detail: "spot interruption notice"},
		},
		{
			name:    "spot with a time that is not RFC 3339",
			content: ptr("spot tomorrow"),
			wantErr: []string{"lifecycle", `"tomorrow" is not an RFC 3339 time`},
		},
		{
			name:    "garbage lists the valid words",
			content: ptr("terminating"),
			wantErr: []string{"lifecycle", `unknown lifecycle state "terminating"`, "InService", "Terminated", "Standby", "Detached", "spot"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeLocal(t, dir, LifecycleFile, tt.content)
			got, err := LocalLifecycle{Local{Dir: dir, Clock: clock.NewFake(now)}}.Read()
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			if !got.Deadline.Equal(tt.want.Deadline) {
				t.Errorf("deadline = %v, want %v", got.Deadline, tt.want.Deadline)
			}
			got.Deadline, tt.want.Deadline = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("lifecycle = %+v, want %+v", got, tt.want)
			}
			if got.Terminating() != (got.State == Terminated || got.Spot) {
				t.Errorf("Terminating() = %v for %+v", got.Terminating(), got)
			}
		})
	}
}

func mustParse(t *testing.T, s string) cfnpath.Path {
	t.Helper()
	p, err := cfnpath.Parse(s)
	if err != nil {
		t.Fatalf("cfnpath.Parse(%q): %v", s, err)
	}
	return p
}

func subRule(t *testing.T, name, sub string) MetadataRule {
	t.Helper()
	keys, err := cfnpath.ParseSub(sub)
	if err != nil {
		t.Fatal(err)
	}
	return MetadataRule{Name: name, Path: cfnpath.Path{LogicalID: "WebServer", Field: cfnpath.Metadata, Sub: keys}}
}

func TestLocalMetadataRead(t *testing.T) {
	const meta = `{
  "release": "v2",
  "count": 0,
  "nothing": null,
  "AWS::CloudFormation::Init": {"config": {"packages": {"yum": {"nginx": []}}, "files": {}}}
}
`
	type obs struct {
		present bool
		value   string
		err     string // substring of Observed.Err; "" = no error
	}
	tests := []struct {
		name    string
		content *string
		rules   func(t *testing.T) []MetadataRule
		want    map[string]obs
		wantErr []string
	}{
		{
			name:  "missing file: every value absent",
			rules: func(t *testing.T) []MetadataRule { return []MetadataRule{subRule(t, "release", "release")} },
			want:  map[string]obs{"release": {}},
		},
		{
			name:    "values, absent keys, null and zero",
			content: ptr(meta),
			rules: func(t *testing.T) []MetadataRule {
				return []MetadataRule{subRule(t, "release", "release"), subRule(t, "count", "count"),
					subRule(t, "nothing", "nothing"), subRule(t, "gone", "gone.deeper")}
			},
			want: map[string]obs{
				"release": {present: true, value: `"v2"`},
				"count":   {present: true, value: `0`},
				"nothing": {},
				"gone":    {},
			},
		},
		{
			name:    "cfn-hup style full path",
			content: ptr(meta),
			rules: func(t *testing.T) []MetadataRule {
				return []MetadataRule{{Name: "cfn-hup:cfn-auto-reloader-hook", Path: mustParse(t, "Resources.X.Metadata.AWS::CloudFormation::Init.config")}}
			},
			want: map[string]obs{
				"cfn-hup:cfn-auto-reloader-hook": {present: true, value: `{"files":{},"packages":{"yum":{"nginx":[]}}}`},
			},
		},
		{
			name:    "whole Metadata",
			content: ptr(`{"b": 1, "a": 2}`),
			rules: func(t *testing.T) []MetadataRule {
				return []MetadataRule{{Name: "all", Path: mustParse(t, "Resources.X.Metadata")}}
			},
			want: map[string]obs{"all": {present: true, value: `{"a":2,"b":1}`}},
		},
		{
			name:    "a path through a string is an error of that rule only",
			content: ptr(meta),
			rules: func(t *testing.T) []MetadataRule {
				return []MetadataRule{subRule(t, "deep", "release.version"), subRule(t, "release", "release")}
			},
			want: map[string]obs{
				"deep":    {err: "Metadata.release is a string, not an object"},
				"release": {present: true, value: `"v2"`},
			},
		},
		{
			name:    "PhysicalResourceId is not served in local mode",
			content: ptr(meta),
			rules: func(t *testing.T) []MetadataRule {
				return []MetadataRule{{Name: "phys", Path: mustParse(t, "Resources.X.PhysicalResourceId")}}
			},
			want: map[string]obs{"phys": {err: "local mode serves only Metadata paths, not PhysicalResourceId"}},
		},
		{
			name:    "invalid JSON names the file and line",
			content: ptr("{\n  \"release\": \"v2\",\n}\n"),
			rules:   func(t *testing.T) []MetadataRule { return []MetadataRule{subRule(t, "release", "release")} },
			wantErr: []string{"metadata.json:3:", "not valid JSON", "fix the file"},
		},
		{
			// An empty file is most likely one being written: it must not read as "every
			// value removed", which would run undeploy.
			name:    "an empty file is an error, not absent values",
			content: ptr(""),
			rules:   func(t *testing.T) []MetadataRule { return []MetadataRule{subRule(t, "release", "release")} },
			wantErr: []string{"metadata.json:1:", "not valid JSON"},
		},
		{
			name:    "trailing data after the object",
			content: ptr("{\"release\": \"v2\"}\n{}\n"),
			rules:   func(t *testing.T) []MetadataRule { return []MetadataRule{subRule(t, "release", "release")} },
			wantErr: []string{"metadata.json:2:", "not valid JSON"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeLocal(t, dir, MetadataFile, tt.content)
			got, err := LocalMetadata{Local: Local{Dir: dir}, Rules: tt.rules(t)}.Read()
			checkErr(t, err, tt.wantErr)
			if err != nil {
				if got != nil {
					t.Errorf("values %v returned with an error", got)
				}
				return
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %d values, want %d: %v", len(got), len(tt.want), got)
			}
			for name, w := range tt.want {
				o, ok := got[name]
				if !ok {
					t.Errorf("no value for rule %s", name)
					continue
				}
				if o.Present != w.present || string(o.Value) != w.value {
					t.Errorf("rule %s = (present %v, %s), want (present %v, %s)", name, o.Present, o.Value, w.present, w.value)
				}
				switch {
				case w.err == "" && o.Err != nil:
					t.Errorf("rule %s: unexpected error %v", name, o.Err)
				case w.err != "" && (o.Err == nil || !strings.Contains(o.Err.Error(), w.err)):
					t.Errorf("rule %s: error %v, want one containing %q", name, o.Err, w.err)
				case w.err != "" && !strings.Contains(o.Err.Error(), "rule "+name):
					t.Errorf("rule %s: error %q does not name the rule", name, o.Err)
				}
			}
		})
	}
}

func TestLocalFileTooLarge(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{InstanceFile, MetadataFile, TagsFile, PeersFile, LifecycleFile} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		// A sparse file: 17 MiB of zero bytes without writing them.
		if err := f.Truncate(17 << 20); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	l := Local{Dir: dir}
	reads := map[string]func() error{
		InstanceFile:  func() error { _, err := LocalIdentity{Local: l}.Read(); return err },
		MetadataFile:  func() error { _, err := LocalMetadata{Local: l}.Read(); return err },
		TagsFile:      func() error { _, err := LocalTags{l}.Read(); return err },
		PeersFile:     func() error { _, err := LocalPeers{l}.Read(); return err },
		LifecycleFile: func() error { _, err := LocalLifecycle{l}.Read(); return err },
	}
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			checkErr(t, read(), []string{filepath.Join(dir, name), "larger than 16 MiB"})
		})
	}
}

func TestLocalFileExactlyAtLimitIsRead(t *testing.T) {
	dir := t.TempDir()
	// A JSON string padded with spaces up to the limit exactly.
	b := []byte(`{"Role": "web"}`)
	b = append(b, make([]byte, maxLocalFile-len(b))...)
	for i := len(`{"Role": "web"}`); i < len(b); i++ {
		b[i] = ' '
	}
	if err := os.WriteFile(filepath.Join(dir, TagsFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	tags, err := LocalTags{Local{Dir: dir}}.Read()
	if err != nil || tags["Role"] != "web" {
		t.Fatalf("Read = %v, %v; want Role=web", tags, err)
	}
}

func TestLocalUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	// A directory where the file should be: open works, reading fails.
	if err := os.Mkdir(filepath.Join(dir, TagsFile), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := LocalTags{Local{Dir: dir}}.Read()
	checkErr(t, err, []string{filepath.Join(dir, TagsFile)})
}

func TestObservedValueIsCanonical(t *testing.T) {
	dir := t.TempDir()
	writeLocal(t, dir, MetadataFile, ptr(`{"release": {"z": 1, "a": "<b>", "n": 1.50}}`))
	got, err := LocalMetadata{Local: Local{Dir: dir}, Rules: []MetadataRule{subRule(t, "release", "release")}}.Read()
	if err != nil {
		t.Fatal(err)
	}
	want := json.RawMessage(`{"a":"<b>","n":1.50,"z":1}`)
	if string(got["release"].Value) != string(want) {
		t.Errorf("value = %s, want %s", got["release"].Value, want)
	}
}
