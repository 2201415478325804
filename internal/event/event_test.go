package event

import (
	"encoding/json"
	"testing"
)

// The typed constants are part of the hook payload, the state file and status --json:
// they must encode as the bare strings they always were.
func TestVocabularyEncodesAsPlainStrings(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{Trigger{Type: TriggerFirstStart}, `{"type":"first-start"}`},
		{Trigger{Type: TriggerSetup}, `{"type":"setup"}`},
		{Trigger{Type: TriggerWatch, Rules: []string{"release"}}, `{"type":"watch","rules":["release"]}`},
		{Trigger{Type: TriggerPeers}, `{"type":"peers"}`},
		{Trigger{Type: TriggerLifecycle, Detail: "Terminated"}, `{"type":"lifecycle","detail":"Terminated"}`},
		{Trigger{Type: TriggerRequest, Requests: []string{"r-1"}}, `{"type":"request","requests":["r-1"]}`},
		{Trigger{Type: TriggerSystem}, `{"type":"system"}`},
		{[]Result{Succeeded, Failed, Dropped, Superseded, Interrupted}, `["succeeded","failed","dropped","superseded","interrupted"]`},
		{[]ShutdownCause{CauseTerminated, CauseSpotInterruption, CauseSystem}, `["Terminated","spot-interruption","system"]`},
		{Health, `"health"`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.v)
		if err != nil || string(got) != tt.want {
			t.Errorf("json.Marshal(%#v) = %s, %v; want %s", tt.v, got, err, tt.want)
		}
	}
}

func TestHealthIsNotALifecycleEvent(t *testing.T) {
	if k, err := ParseKind(string(Health)); err == nil {
		t.Errorf("ParseKind(%q) = %q, nil; want an error: health is not a lifecycle event", Health, k)
	}
	for _, k := range Kinds {
		if k == Health {
			t.Errorf("Kinds holds %q", Health)
		}
	}
}
