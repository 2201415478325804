package source

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/cfnpath"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/event"
)

// FuzzParseRequest feeds the request spool arbitrary request files. It must not panic; an
// error must name the file (it is the answer `stackhand trigger` shows); a request it
// accepts has the file's id and a known event, and reads back the same once written again
// as Submit writes it.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"id":"req-1","event":"deploy","reason":"release","user":"ops","time":"2026-11-21T10:00:00Z"}`), "req-1")
	f.Add([]byte(`{"id":"req-typo","event":"deploi"}`), "req-typo")
	f.Add([]byte(`{"id":"other","event":"setup"}`), "req-2")
	f.Add([]byte(`{"id":"req-3","event":"configure","time":"not a time"}`), "req-3")
	f.Add([]byte(`[]`), "req-4")
	f.Fuzz(func(t *testing.T, b []byte, id string) {
		path := filepath.Join("/var/lib/stackhand", RequestsDir, id+".json")
		req, err := parseRequest(b, path, id)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file %s: %v", path, err)
			}
			return
		}
		if req.ID != id {
			t.Fatalf("accepted request id %q from the file of %q", req.ID, id)
		}
		if _, err := event.ParseKind(string(req.Event)); err != nil {
			t.Fatalf("accepted an unknown event: %v", err)
		}
		first, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("an accepted request cannot be written again: %v", err)
		}
		again, err := parseRequest(first, path, id)
		if err != nil {
			t.Fatalf("the request written again is refused: %v\n%s", err, first)
		}
		if second, _ := json.Marshal(again); string(second) != string(first) {
			t.Fatalf("decode(encode(x)) changed the request:\n%s\nthen\n%s", first, second)
		}
	})
}

// FuzzLocalFiles feeds the local-mode readers arbitrary instance.json, metadata.json,
// tags.json, peers.json and lifecycle files. None may panic; an error must name the file
// (status and the log show it, and nothing changes until the file is fixed); and what
// each accepts keeps its promise: an identity has every default filled, peers are sorted,
// unique and have ids, a metadata reading has a value or an error naming the file for
// every rule.
func FuzzLocalFiles(f *testing.F) {
	names := []string{InstanceFile, MetadataFile, TagsFile, PeersFile, LifecycleFile}
	for i, b := range [][]byte{
		[]byte(`{"instance_id":"i-0a","region":"eu-west-1","private_ip":"10.0.0.1"}`),
		[]byte(`{"release":"v2","app":{"port":8080}}`),
		[]byte(`{"Role":"web"}`),
		[]byte(`[{"instance_id":"i-0b"},{"instance_id":"i-0a"}]`),
		[]byte("spot 2026-11-21T10:00:00Z\n"),
	} {
		f.Add(uint8(i), b)
	}
	f.Add(uint8(3), []byte(`[{"instance_id":"i-0a"},{"instance_id":"i-0a"}]`))
	f.Add(uint8(3), []byte("[\n{\"instance_id\": 5}]"))
	f.Add(uint8(4), []byte("Terminated"))
	f.Add(uint8(4), []byte("spot tomorrow"))
	f.Add(uint8(1), []byte(`{"release":`))
	dir := f.TempDir()
	rel, err := cfnpath.Parse("Resources.Web.Metadata.release")
	if err != nil {
		f.Fatal(err)
	}
	port, err := cfnpath.Parse("Resources.Web.Metadata.app.port")
	if err != nil {
		f.Fatal(err)
	}
	rules := []MetadataRule{{Name: "release", Path: rel}, {Name: "port", Path: port}}
	l := Local{Dir: dir, Clock: clock.NewFake(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		name := names[int(which)%len(names)]
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		namesFile := func(err error) {
			t.Helper()
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("%s: error does not name the file %s: %v", name, path, err)
			}
		}
		switch name {
		case InstanceFile:
			in, err := LocalIdentity{Local: l}.Read()
			if err != nil {
				namesFile(err)
			}
			for _, v := range []string{in.InstanceID, in.Region, in.AvailabilityZone, in.PrivateIP, in.InstanceType} {
				if strings.TrimSpace(v) == "" {
					t.Fatalf("identity with an empty field: %+v", in)
				}
			}
		case MetadataFile:
			vals, err := LocalMetadata{Local: l, Rules: rules}.Read()
			if err != nil {
				namesFile(err)
				return
			}
			for _, r := range rules {
				o, ok := vals[r.Name]
				if !ok {
					t.Fatalf("no reading for rule %s: %+v", r.Name, vals)
				}
				if o.Err != nil {
					namesFile(o.Err)
				}
			}
		case TagsFile:
			tags, err := LocalTags{Local: l}.Read()
			if err != nil {
				namesFile(err)
			} else if tags == nil {
				t.Fatal("tags read as nil without an error")
			}
		case PeersFile:
			peers, err := LocalPeers{Local: l}.Read()
			if err != nil {
				namesFile(err)
				return
			}
			ids := make([]string, len(peers))
			for i, p := range peers {
				ids[i] = p.InstanceID
			}
			if !slices.IsSorted(ids) || slices.Contains(ids, "") || len(slices.Compact(slices.Clone(ids))) != len(ids) {
				t.Fatalf("peers not sorted, unique and named: %q", ids)
			}
		case LifecycleFile:
			lc, err := LocalLifecycle{Local: l}.Read()
			if err != nil {
				namesFile(err)
			} else if lc.State == "" {
				t.Fatalf("lifecycle with no state: %+v", lc)
			}
		}
	})
}
