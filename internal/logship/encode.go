package logship

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// The PutLogEvents request body, written by hand instead of by the SDK's serializer: the
// SDK would need a []types.InputLogEvent with a *string and an *int64 per event (three
// allocations and a copy of every message), and a batch is up to 10,000 of them.
//
// The bytes are exactly what the SDK's own serializer writes for the same input, so the
// service sees no difference (encode_test.go compares them on random input):
//
//   - member order and names: service/cloudwatchlogs@v1.92.0 api_op_PutLogEvents.go
//     (PutLogEventsInput.SerializeMembers: entity, logEvents, logGroupName,
//     logStreamName, sequenceToken; unset members are left out) and types/types.go
//     (InputLogEvent.SerializeMembers: message, then timestamp);
//   - string escaping: smithy-go@v1.28.8 transport/http/protocol/internal/json
//     shape_serializer.go appendEscapedString: '"' and '\\' get a backslash; \n \r \t
//     their short forms; every other byte below 0x20 and DEL (0x7f) \u00xx (lower-case
//     hex); U+2028 and U+2029 \u2028 and \u2029; each byte that is not part of valid
//     UTF-8 becomes U+FFFD; everything else (HTML's < > & included) is written as is;
//   - numbers: strconv.AppendInt, no spaces anywhere.

const (
	bodyPrefix   = `{"logEvents":[`
	eventPrefix  = `{"message":"`
	eventMiddle  = `","timestamp":`
	bodyGroup    = `],"logGroupName":`
	bodyStream   = `,"logStreamName":`
	bodySuffix   = `}`
	jsonHexDigit = "0123456789abcdef"
)

// encodeChunk is how much encoded body encodePutLogEvents hands its flush at a time.
const encodeChunk = 32 << 10

// encodePutLogEvents appends to buf the JSON body of a PutLogEvents request that puts
// items, in their order, into the stream key, and returns the extended buffer. An
// item's message is its Msg followed, for a part of a split event, by its split
// marker. It allocates only when buf must grow. With a flush, the body goes out in
// pieces: each time buf holds encodeChunk bytes or more it is handed to flush, which
// returns the buffer to go on with; the last piece is returned.
func encodePutLogEvents(buf []byte, key StreamKey, items []entry, flush func([]byte) []byte) []byte {
	buf = append(buf, bodyPrefix...)
	for n := range items {
		it := &items[n]
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, eventPrefix...)
		buf = appendJSONStringBody(buf, it.Msg)
		if it.Parts > 0 {
			// The marker is ASCII without anything to escape.
			buf = appendSplitSuffix(buf, it.Part, it.Parts)
		}
		buf = append(buf, eventMiddle...)
		buf = strconv.AppendInt(buf, it.Time, 10)
		buf = append(buf, '}')
		if flush != nil && len(buf) >= encodeChunk {
			buf = flush(buf)
		}
	}
	buf = append(buf, bodyGroup...)
	buf = appendJSONString(buf, key.Group)
	buf = append(buf, bodyStream...)
	buf = appendJSONString(buf, key.Stream)
	buf = append(buf, bodySuffix...)
	return buf
}

func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	// A read-only view of s: no copy, the encoder never writes to its input.
	buf = appendJSONStringBody(buf, unsafe.Slice(unsafe.StringData(s), len(s)))
	return append(buf, '"')
}

// jsonSafe marks the ASCII bytes that are written as they are.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < 0x7f; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// unsafeWord reports whether any of the 8 bytes in w needs a closer look: a byte with
// its high bit set, below 0x20, '"', '\\' or DEL. (The classic "has a zero byte" bit
// tricks; a false positive only costs the slow loop a few bytes.)
func unsafeWord(w uint64) bool {
	less := (w - lo8*0x20) &^ w
	quote := w ^ (lo8 * '"')
	bslash := w ^ (lo8 * '\\')
	del := w ^ (lo8 * 0x7f)
	zero := func(x uint64) uint64 { return (x - lo8) &^ x }
	return (w|less|zero(quote)|zero(bslash)|zero(del))&hi8 != 0
}

// appendJSONStringBody appends s escaped as the SDK escapes it, without the quotes.
func appendJSONStringBody(buf, s []byte) []byte {
	i, start := 0, 0
	for {
		// Skip what is written as is: 8 bytes at a time, then byte by byte up to the
		// byte that needs a look.
		for i+8 <= len(s) && !unsafeWord(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
		}
		for i < len(s) && s[i] < utf8.RuneSelf && jsonSafe[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', jsonHexDigit[c>>4], jsonHexDigit[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, s[start:i]...)
			buf = append(buf, "\uFFFD"...)
			start = i + size
		case r == '\u2028' || r == '\u2029':
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', jsonHexDigit[r&0xf])
			start = i + size
		}
		i += size
	}
	return append(buf, s[start:]...)
}

// escapedLen returns how many bytes the first character of s (valid UTF-8, not empty)
// takes in the JSON body as appendJSONStringBody writes it, and its length in s.
func escapedLen(s []byte) (json, size int) {
	if c := s[0]; c < utf8.RuneSelf {
		switch {
		case jsonSafe[c]:
			return 1, 1
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
			return 2, 1
		}
		return 6, 1 // \u00xx
	}
	r, size := utf8.DecodeRune(s)
	switch {
	case r == utf8.RuneError && size == 1:
		return len("\uFFFD"), 1
	case r == '\u2028' || r == '\u2029':
		return 6, size
	}
	return size, size
}

// jsonExtra returns how many bytes longer than s its JSON escaping is: 0 for most log
// lines, found 8 bytes at a time.
func jsonExtra(s []byte) int {
	extra := 0
	for i := 0; ; {
		for i+8 <= len(s) && !unsafeWord(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
		}
		for i < len(s) && s[i] < utf8.RuneSelf && jsonSafe[s[i]] {
			i++
		}
		if i >= len(s) {
			return extra
		}
		json, size := escapedLen(s[i:])
		extra += json - size
		i += size
	}
}
