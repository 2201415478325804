package state

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/event"
)

// FuzzDecode feeds decode arbitrary state files. It must not panic; an error must name the
// file; and what it accepts must survive the save and reopen the agent does at every event:
// encoding the decoded state and decoding that again gives the same encoding.
func FuzzDecode(f *testing.F) {
	st := New()
	st.Seq = 7
	st.Setup = Setup{InstanceID: "i-1", Done: true}
	st.Applied["release|release"] = []byte(`"v2"`)
	st.Record(Outcome{ID: "deploy-000007", Kind: event.Deploy, Result: Succeeded, Duration: Duration(1500 * time.Millisecond)})
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version": 99}`))
	f.Add([]byte(`{"applied": {"a": null}, "last": {"deploy": null}, "queue": null}`))
	f.Add([]byte(`{"seq": 1`))
	const path = "/var/lib/stackhand/state.json"
	f.Fuzz(func(t *testing.T, in []byte) {
		st, err := decode(in, path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if st.Applied == nil || st.Last == nil || st.Queue == nil || st.Peers == nil {
			t.Fatalf("decode left a nil collection: %+v", st)
		}
		first, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			t.Fatalf("a state decode accepts cannot be saved: %v", err)
		}
		again, err := decode(first, path)
		if err != nil {
			t.Fatalf("the saved state does not decode: %v\n%s", err, first)
		}
		second, err := json.MarshalIndent(again, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("decode(encode(x)) changed the state:\n%s\nthen\n%s", first, second)
		}
	})
}
