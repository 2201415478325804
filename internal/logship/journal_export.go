package logship

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// journalctl -o export writes each journal entry as its fields, one after another, and
// ends the entry with an empty line (systemd's "Journal Export Format"). A field whose
// value is printable text on one line is NAME=value and a newline. Any other value is
// binary: NAME, a newline, the value's length as a 64-bit little-endian integer, the
// value's bytes, and a newline.

// maxJournalField bounds the bytes kept of one field's value: a longer one (journald
// itself stores up to 768 MiB, DataSizeMax) is cut there, its rest read and thrown away.
// CloudWatch Logs takes at most 256 KiB per event; the batcher splits longer messages
// into parts of that size, so 1 MiB keeps four parts of a huge message.
const maxJournalField = 1 << 20

// journalEntry is what log shipping keeps of one exported entry.
type journalEntry struct {
	cursor   string
	realtime int64  // __REALTIME_TIMESTAMP, microseconds since the epoch; 0 if absent
	message  []byte // MESSAGE, without a trailing newline; nil if the entry has none
	cut      bool   // MESSAGE was longer than maxJournalField
}

// errExport is a stream that does not follow the export format.
var errExport = errors.New("journalctl's export output is malformed")

// readExportEntry reads the next entry from r into e, reusing e's buffers. It returns
// io.EOF when r ends between entries, and an error wrapping errExport (or r's own) when
// the stream is malformed or ends inside an entry.
func readExportEntry(r *bufio.Reader, e *journalEntry) error {
	e.cursor, e.realtime, e.message, e.cut = "", 0, e.message[:0], false
	hasMessage := false
	fields := 0
	for {
		line, cut, err := readFieldLine(r)
		if err != nil {
			if err == io.EOF && fields == 0 && len(line) == 0 {
				return io.EOF
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("%w: %w", errExport, err)
		}
		if len(line) == 0 {
			if fields == 0 {
				continue // a stray blank line between entries
			}
			if !hasMessage {
				e.message = nil
			}
			return nil
		}
		fields++
		name, value, text := bytes.Cut(line, []byte{'='})
		if !text {
			// A binary field: its length, its bytes, a newline.
			var size [8]byte
			if _, err := io.ReadFull(r, size[:]); err != nil {
				return fmt.Errorf("%w: field %.64q: length: %w", errExport, name, unexpected(err))
			}
			n := binary.LittleEndian.Uint64(size[:])
			keep := min(n, maxJournalField)
			isMessage := string(name) == "MESSAGE"
			var dst []byte
			if isMessage {
				dst = grow(e.message[:0], int(keep))
			}
			if err := readValue(r, dst, keep, n); err != nil {
				return fmt.Errorf("%w: field %.64q: %d bytes: %w", errExport, name, n, unexpected(err))
			}
			if b, err := r.ReadByte(); err != nil || b != '\n' {
				return fmt.Errorf("%w: field %.64q: no newline after its %d bytes", errExport, name, n)
			}
			if isMessage {
				e.message, e.cut, hasMessage = dst, n > keep, true
			}
			continue
		}
		switch string(name) {
		case "__CURSOR":
			e.cursor = string(value)
		case "__REALTIME_TIMESTAMP":
			if v, err := strconv.ParseInt(string(value), 10, 64); err == nil && v > 0 {
				e.realtime = v
			}
		case "MESSAGE":
			if len(value) > maxJournalField {
				value, cut = value[:maxJournalField], true
			}
			e.message, e.cut, hasMessage = append(e.message[:0], value...), cut, true
		}
	}
}

// maxFieldLine bounds the bytes kept of a text field's line: its name, =, and value.
const maxFieldLine = maxJournalField + 256

// readFieldLine returns the next line of r without its newline, at most maxFieldLine
// bytes of it (cut reports a longer one); the slice is valid until the next read.
func readFieldLine(r *bufio.Reader) (line []byte, cut bool, err error) {
	var long []byte
	for {
		frag, err := r.ReadSlice('\n')
		switch {
		case err == nil:
			frag = frag[:len(frag)-1]
			if long == nil {
				return frag, cut, nil
			}
			if room := maxFieldLine - len(long); len(frag) > room {
				frag, cut = frag[:room], true
			}
			return append(long, frag...), cut, nil
		case errors.Is(err, bufio.ErrBufferFull):
			if room := maxFieldLine - len(long); len(frag) > room {
				frag, cut = frag[:room], true
			}
			long = append(long, frag...)
		default:
			return append(long, frag...), cut, err
		}
	}
}

// readValue reads an n-byte binary value, keeping its first len(dst) (keep) bytes.
func readValue(r *bufio.Reader, dst []byte, keep, n uint64) error {
	if dst != nil {
		if _, err := io.ReadFull(r, dst[:keep]); err != nil {
			return err
		}
	} else {
		keep = 0
	}
	if rest := n - keep; rest > 0 {
		got, err := r.Discard(int(min(rest, 1<<62)))
		if err != nil {
			return err
		}
		if uint64(got) != rest {
			return io.ErrUnexpectedEOF
		}
	}
	return nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// journalCursor is what a journal cursor says of its entry's place: the sequence number
// and the id of the sequence it counts in (s= and i= of "s=…;i=…;b=…;m=…;t=…;x=…").
type journalCursor struct {
	seqnumID string
	seqnum   uint64
	ok       bool
}

func parseJournalCursor(c string) journalCursor {
	var jc journalCursor
	hasSeq := false
	for part := range strings.SplitSeq(c, ";") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "s":
			jc.seqnumID = v
		case "i":
			n, err := strconv.ParseUint(v, 16, 64)
			if err != nil {
				return journalCursor{}
			}
			jc.seqnum, hasSeq = n, true
		}
	}
	if jc.seqnumID == "" || !hasSeq {
		return journalCursor{}
	}
	jc.ok = true
	return jc
}
