package logship

import (
	"testing"
	"time"
)

const sampleWinEvent = `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Service Control Manager' Guid='{555908d1-a6d7-4695-8e1e-26931d2012f4}' EventSourceName='Service Control Manager'/><EventID Qualifiers='16384'>7036</EventID><Version>0</Version><Level>4</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x8080000000000000</Keywords><TimeCreated SystemTime='2026-12-05T09:12:34.5678901Z'/><EventRecordID>123456</EventRecordID><Correlation/><Execution ProcessID='700' ThreadID='812'/><Channel>System</Channel><Computer>EC2AMAZ-ABC</Computer><Security/></System><EventData><Data Name='param1'>Windows Update</Data><Data Name='param2'>running</Data></EventData></Event>`

func TestParseWinEvent(t *testing.T) {
	ev, err := ParseWinEvent([]byte(sampleWinEvent))
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 12, 5, 9, 12, 34, 567890100, time.UTC)
	if ev.Provider != "Service Control Manager" || ev.EventID != 7036 || ev.Level != 4 ||
		ev.RecordID != 123456 || ev.Channel != "System" || ev.Computer != "EC2AMAZ-ABC" || !ev.Time.Equal(want) {
		t.Errorf("parsed %+v", ev)
	}
	if len(ev.EventData) != 2 || ev.EventData[0] != (WinEventData{"param1", "Windows Update"}) || ev.EventData[1] != (WinEventData{"param2", "running"}) {
		t.Errorf("EventData = %+v", ev.EventData)
	}
}

func TestParseWinEventRejects(t *testing.T) {
	for _, in := range []string{
		``,
		`<Event><System></System></Event>`,
		`<Event><System><EventRecordID>x</EventRecordID></System></Event>`,
		`<Event><System><EventRecordID>5</EventRecordID><EventID>-1</EventID></System></Event>`,
		`<Event><System><EventRecordID>5</EventRecordID><Level>hi</Level></System></Event>`,
	} {
		if ev, err := ParseWinEvent([]byte(in)); err == nil {
			t.Errorf("ParseWinEvent(%q) = %+v, want an error", in, ev)
		}
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(sampleWinEvent))
	f.Add([]byte(`<Event><System><EventRecordID>1</EventRecordID></System></Event>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ParseWinEvent(b)
		if err == nil && ev.RecordID == 0 {
			t.Errorf("accepted an event without a record id: %q", b)
		}
	})
}
