package logship

import (
	"encoding/xml"
	"fmt"
	"strconv"
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
	// Message is the event's message as its provider words it (RenderingInfo/Message,
	// present when the event was rendered with EvtFormatMessageXml); empty when the
	// provider's message table could not be read.
	Message string
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
	Message string `xml:"RenderingInfo>Message"`
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
	ev.Message = strings.TrimSpace(x.Message)
	return ev, nil
}

// winEventText is the event in event_format text, the CloudWatch agent's one line:
// [channel] [level] [event id] [provider] [computer] [message]. A message with %1, %2
// ... left in it (a provider whose message table did not fill them) gets the event's
// data values there; an event with no message at all shows its data values.
func winEventText(ev WinEvent) string {
	msg := ev.Message
	if msg == "" {
		var parts []string
		for _, d := range ev.EventData {
			if d.Name != "" {
				parts = append(parts, d.Name+"="+d.Value)
			} else {
				parts = append(parts, d.Value)
			}
		}
		msg = strings.Join(parts, " ")
	} else if strings.Contains(msg, "%") {
		// From the highest number down, so that %1 does not take the start of %10.
		for i := len(ev.EventData); i >= 1; i-- {
			msg = strings.ReplaceAll(msg, "%"+strconv.Itoa(i), ev.EventData[i-1].Value)
		}
	}
	return fmt.Sprintf("[%s] [%s] [%d] [%s] [%s] [%s]", ev.Channel, WinEventLevelName(ev.Level), ev.EventID, ev.Provider, ev.Computer, msg)
}
