//go:build windows

package logship

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The Windows Event Log API (wevtapi.dll): a pull subscription signalled through an event
// object, each event rendered as XML, with its message when the provider has one.
// Values from the Windows SDK's winevt.h.
var (
	wevtapi                      = windows.NewLazySystemDLL("wevtapi.dll")
	procEvtSubscribe             = wevtapi.NewProc("EvtSubscribe")
	procEvtQuery                 = wevtapi.NewProc("EvtQuery")
	procEvtNext                  = wevtapi.NewProc("EvtNext")
	procEvtRender                = wevtapi.NewProc("EvtRender")
	procEvtFormatMessage         = wevtapi.NewProc("EvtFormatMessage")
	procEvtOpenPublisherMetadata = wevtapi.NewProc("EvtOpenPublisherMetadata")
	procEvtClose                 = wevtapi.NewProc("EvtClose")
)

const (
	evtSubscribeStartAtOldestRecord = 2     // EVT_SUBSCRIBE_FLAGS
	evtQueryChannelPath             = 0x1   // EVT_QUERY_FLAGS
	evtQueryForwardDirection        = 0x100 // EVT_QUERY_FLAGS
	evtRenderEventXML               = 1     // EVT_RENDER_FLAGS
	evtFormatMessageXML             = 9     // EVT_FORMAT_MESSAGE_FLAGS

	errEvtChannelNotFound           = windows.Errno(15007)
	errEvtInvalidQuery              = windows.Errno(15001)
	errEvtMessageNotFound           = windows.Errno(15027)
	errEvtMessageIDNotFound         = windows.Errno(15028)
	errEvtUnresolvedValueInsert     = windows.Errno(15029)
	errEvtUnresolvedParameterInsert = windows.Errno(15030)
	errEvtPublisherMetadataNotFound = windows.Errno(15002)
	evtNextTimeoutMillis            = 1000
	maxRenderChars                  = 1 << 20 // an event's XML longer than this is refused
)

// systemWinEvents is the event log of this host.
func systemWinEvents() winEventSource { return wevtSource{} }

type wevtSource struct{}

// explain adds, to the errors an operator can act on, what to do.
func explain(channel string, err error) error {
	switch {
	case errors.Is(err, errEvtChannelNotFound):
		return fmt.Errorf("no channel %q on this host: check event_name (wevtutil el lists the channels): %w", channel, err)
	case errors.Is(err, windows.ERROR_ACCESS_DENIED):
		return fmt.Errorf("reading %s was refused: the agent reads event logs as LocalSystem, or as a member of Event Log Readers: %w", channel, err)
	case errors.Is(err, errEvtInvalidQuery):
		return fmt.Errorf("the event log refused the query (event_levels or event_ids): %w", err)
	}
	return err
}

func (wevtSource) Subscribe(channel, query string) (winEventSub, error) {
	ch, err := windows.UTF16PtrFromString(channel)
	if err != nil {
		return nil, err
	}
	q, err := windows.UTF16PtrFromString(query)
	if err != nil {
		return nil, err
	}
	// Manual reset: Next resets it before it looks, so a signal after that is kept.
	signal, err := windows.CreateEvent(nil, 1, 1, nil)
	if err != nil {
		return nil, fmt.Errorf("CreateEvent: %w", err)
	}
	h, _, callErr := procEvtSubscribe.Call(0, uintptr(signal), uintptr(unsafe.Pointer(ch)), uintptr(unsafe.Pointer(q)),
		0, 0, 0, evtSubscribeStartAtOldestRecord)
	if h == 0 {
		_ = windows.CloseHandle(signal)
		return nil, explain(channel, callErr)
	}
	return &wevtSub{h: h, signal: signal, publishers: map[string]uintptr{}}, nil
}

func (wevtSource) Oldest(channel string) (uint64, error) {
	ch, err := windows.UTF16PtrFromString(channel)
	if err != nil {
		return 0, err
	}
	all, _ := windows.UTF16PtrFromString("*")
	h, _, callErr := procEvtQuery.Call(0, uintptr(unsafe.Pointer(ch)), uintptr(unsafe.Pointer(all)), evtQueryChannelPath|evtQueryForwardDirection)
	if h == 0 {
		return 0, explain(channel, callErr)
	}
	defer evtClose(h)
	evs, err := evtNext(h, 1)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	defer evtClose(evs[0])
	var buf []uint16
	x, err := renderXML(evs[0], &buf)
	if err != nil {
		return 0, err
	}
	ev, err := ParseWinEvent(x)
	if err != nil {
		return 0, err
	}
	return ev.RecordID, nil
}

type wevtSub struct {
	h          uintptr
	signal     windows.Handle
	buf        []uint16
	publishers map[string]uintptr // provider name -> publisher metadata handle (0: none)
}

func (s *wevtSub) Next(ctx context.Context, n int, wait time.Duration) ([][]byte, error) {
	_ = windows.ResetEvent(s.signal)
	evs, err := evtNext(s.h, n)
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		// Nothing now: wait for the signal, at most wait, then look once more.
		ms := uint32(max(wait.Milliseconds(), 1))
		if ev, err := windows.WaitForSingleObject(s.signal, ms); err != nil {
			return nil, fmt.Errorf("WaitForSingleObject: %w", err)
		} else if ev != windows.WAIT_OBJECT_0 || ctx.Err() != nil {
			return nil, nil
		}
		if evs, err = evtNext(s.h, n); err != nil {
			return nil, err
		}
	}
	out := make([][]byte, 0, len(evs))
	for _, e := range evs {
		b, err := s.render(e)
		evtClose(e)
		if err != nil {
			// The rest of the batch is closed and read again after the last one read.
			for _, rest := range evs[len(out)+1:] {
				evtClose(rest)
			}
			return out, err
		}
		out = append(out, b)
	}
	return out, nil
}

// render returns the event as XML with its message (EvtFormatMessageXml), or without it
// (EvtRenderEventXml) when the provider's messages cannot be read.
func (s *wevtSub) render(e uintptr) ([]byte, error) {
	x, err := renderXML(e, &s.buf)
	if err != nil {
		return nil, err
	}
	ev, err := ParseWinEvent(x)
	if err != nil || ev.Provider == "" {
		return x, nil
	}
	pm, ok := s.publishers[ev.Provider]
	if !ok {
		name, _ := windows.UTF16PtrFromString(ev.Provider)
		pm, _, _ = procEvtOpenPublisherMetadata.Call(0, uintptr(unsafe.Pointer(name)), 0, 0, 0)
		s.publishers[ev.Provider] = pm // 0 remembered too: not opened again for each event
	}
	if pm == 0 {
		return x, nil
	}
	if f, err := formatXML(pm, e, &s.buf); err == nil {
		return f, nil
	}
	return x, nil
}

func (s *wevtSub) Close() error {
	for _, pm := range s.publishers {
		if pm != 0 {
			evtClose(pm)
		}
	}
	evtClose(s.h)
	return windows.CloseHandle(s.signal)
}

// evtNext returns up to size event handles of the result set, none when it holds no more.
func evtNext(h uintptr, size int) ([]uintptr, error) {
	hs := make([]uintptr, size)
	var n uint32
	ok, _, callErr := procEvtNext.Call(h, uintptr(size), uintptr(unsafe.Pointer(&hs[0])), evtNextTimeoutMillis, 0, uintptr(unsafe.Pointer(&n)))
	if ok == 0 {
		if errors.Is(callErr, windows.ERROR_NO_MORE_ITEMS) || errors.Is(callErr, windows.ERROR_TIMEOUT) {
			return nil, nil
		}
		return nil, fmt.Errorf("EvtNext: %w", callErr)
	}
	return hs[:n], nil
}

func evtClose(h uintptr) { _, _, _ = procEvtClose.Call(h) }

// renderXML renders event e as XML (EvtRender takes and reports its buffer in bytes).
func renderXML(e uintptr, buf *[]uint16) ([]byte, error) {
	for {
		if len(*buf) == 0 {
			*buf = make([]uint16, 4096)
		}
		var used, props uint32
		ok, _, callErr := procEvtRender.Call(0, e, evtRenderEventXML, uintptr(len(*buf)*2), uintptr(unsafe.Pointer(&(*buf)[0])),
			uintptr(unsafe.Pointer(&used)), uintptr(unsafe.Pointer(&props)))
		if ok != 0 {
			return []byte(windows.UTF16ToString((*buf)[:used/2])), nil
		}
		if !errors.Is(callErr, windows.ERROR_INSUFFICIENT_BUFFER) || int(used/2) > maxRenderChars {
			return nil, fmt.Errorf("EvtRender: %w", callErr)
		}
		*buf = make([]uint16, used/2+1)
	}
}

// formatXML renders event e with its message through the publisher metadata pm
// (EvtFormatMessage takes and reports its buffer in characters). A message whose
// inserts could not all be resolved is still the event's message.
func formatXML(pm, e uintptr, buf *[]uint16) ([]byte, error) {
	for {
		var used uint32
		ok, _, callErr := procEvtFormatMessage.Call(pm, e, 0, 0, 0, evtFormatMessageXML, uintptr(len(*buf)),
			uintptr(unsafe.Pointer(&(*buf)[0])), uintptr(unsafe.Pointer(&used)))
		switch {
		case ok != 0:
		case errors.Is(callErr, windows.ERROR_INSUFFICIENT_BUFFER) && int(used) <= maxRenderChars:
			*buf = make([]uint16, used+1)
			continue
		case used > 0 && (errors.Is(callErr, errEvtUnresolvedValueInsert) || errors.Is(callErr, errEvtUnresolvedParameterInsert) ||
			errors.Is(callErr, errEvtMessageNotFound) || errors.Is(callErr, errEvtMessageIDNotFound)):
		default:
			return nil, fmt.Errorf("EvtFormatMessage: %w", callErr)
		}
		return []byte(windows.UTF16ToString((*buf)[:min(int(used), len(*buf))])), nil
	}
}
