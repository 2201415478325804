package logship

import (
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// WinEvent is the part of a rendered Windows event (EvtRender with
// EvtRenderEventXml) that shipping needs.
type WinEvent struct {
	Provider  string
	EventID   uint32
	Level     int
	Time      time.Time
	RecordID  uint64
	Channel   string
	Computer  string
	EventData []WinEventData
}

// WinEventData is one EventData/Data element: Name may be empty.
type WinEventData struct {
	Name  string
	Value string
}

type winEventXML struct {
	System struct {
		Provider struct {
			Name string `xml:"Name,attr"`
		} `xml:"Provider"`
		EventID     string `xml:"EventID"`
		Level       string `xml:"Level"`
		TimeCreated struct {
			SystemTime string `xml:"SystemTime,attr"`
		} `xml:"TimeCreated"`
		EventRecordID string `xml:"EventRecordID"`
		Channel       string `xml:"Channel"`
		Computer      string `xml:"Computer"`
	} `xml:"System"`
	EventData struct {
		Data []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		} `xml:"Data"`
	} `xml:"EventData"`
}

// ParseWinEvent parses an event's XML rendering. EventRecordID is required
// (it is the checkpoint); a missing or malformed TimeCreated leaves Time
// zero, and the caller stamps the event with the time it was read.
func ParseWinEvent(b []byte) (WinEvent, error) {
	var x winEventXML
	if err := xml.Unmarshal(b, &x); err != nil {
		return WinEvent{}, fmt.Errorf("event XML: %w", err)
	}
	s := x.System
	var ev WinEvent
	if _, err := fmt.Sscan(strings.TrimSpace(s.EventRecordID), &ev.RecordID); err != nil || ev.RecordID == 0 {
		return WinEvent{}, fmt.Errorf("event XML: EventRecordID %q is not a record id", s.EventRecordID)
	}
	if id := strings.TrimSpace(s.EventID); id != "" {
		if _, err := fmt.Sscan(id, &ev.EventID); err != nil {
			return WinEvent{}, fmt.Errorf("event XML: EventID %q is not a number", s.EventID)
		}
	}
	if l := strings.TrimSpace(s.Level); l != "" {
		if _, err := fmt.Sscan(l, &ev.Level); err != nil {
			return WinEvent{}, fmt.Errorf("event XML: Level %q is not a number", s.Level)
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s.TimeCreated.SystemTime)); err == nil {
		ev.Time = t.UTC()
	}
	ev.Provider = s.Provider.Name
	ev.Channel = strings.TrimSpace(s.Channel)
	ev.Computer = strings.TrimSpace(s.Computer)
	for _, d := range x.EventData.Data {
		ev.EventData = append(ev.EventData, WinEventData{Name: d.Name, Value: d.Value})
	}
	return ev, nil
}
