package report

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
)

// TestLocalSinkPublishWritesTheContractDetail: each line of events.jsonl is the public
// detail, as EventBridge gets it, never the internal notification.
func TestLocalSinkPublishWritesTheContractDetail(t *testing.T) {
	sink := &LocalSink{Dir: t.TempDir()}
	ns := []Notification{
		{Kind: KindEvent, Time: t0, Instance: testInstance, Event: &state.Outcome{ID: "setup-000001", Kind: event.Setup,
			Result: state.Succeeded, End: t0}},
		{Kind: KindAlarm, Time: t0, Instance: testInstance, Alarm: &AlarmChange{Name: "stackhand-heartbeat-i-0abc", Change: "created"}},
	}
	if err := sink.Publish(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(sink.Dir, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != len(ns) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(ns), b)
	}
	for i, n := range ns {
		want, _ := json.Marshal(n.Detail())
		if lines[i] != string(want) || !strings.HasPrefix(lines[i], `{"schema_version":1,`) {
			t.Errorf("line %d = %s, want %s", i+1, lines[i], want)
		}
	}
}
