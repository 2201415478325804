package logship

import (
	"strconv"
	"unicode/utf8"
)

// splitMarker starts the suffix that ends each part of a split message:
// " [stackhand: split 2/3]".
const splitMarker = " [stackhand: split "

func decimalLen(v uint32) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

// splitSuffixLen is the length of the suffix of part i of n.
func splitSuffixLen(i, n uint32) int {
	return len(splitMarker) + decimalLen(i) + 1 + decimalLen(n) + 1
}

func appendSplitSuffix(buf []byte, i, n uint32) []byte {
	buf = append(buf, splitMarker...)
	buf = strconv.AppendUint(buf, uint64(i), 10)
	buf = append(buf, '/')
	buf = strconv.AppendUint(buf, uint64(n), 10)
	return append(buf, ']')
}

// splitMessage cuts msg, valid UTF-8 longer than limit bytes as cut counts them, into
// parts that are each, with their suffix, at most limit bytes, cut only between
// characters, and calls fn on each in order with its 1-based number and the count. It
// stops at fn's first error. cut(msg, room) says where a part of at most room bytes
// ends: cutAt counts the bytes of the message, cutEscaped those of its JSON.
func splitMessage(msg []byte, limit int, cut func([]byte, int) int, fn func(part []byte, i, n uint32) error) error {
	// The room for text in a part depends on the count's digits, and the count on the
	// room: start from a guess and redo until they agree (at most a few turns).
	n := uint32(1)
	for {
		got := countParts(msg, limit-splitSuffixLen(n, n), cut)
		if got == n {
			break
		}
		n = got
	}
	room := limit - splitSuffixLen(n, n)
	for i := uint32(1); len(msg) > 0; i++ {
		end := cut(msg, room)
		if err := fn(msg[:end], i, n); err != nil {
			return err
		}
		msg = msg[end:]
	}
	return nil
}

func countParts(msg []byte, room int, cut func([]byte, int) int) uint32 {
	var n uint32
	for len(msg) > 0 {
		msg = msg[cut(msg, room):]
		n++
	}
	return n
}

// cutAt returns where to end a part of msg of at most room bytes: room, moved back to
// the start of the character it falls in (never to 0).
func cutAt(msg []byte, room int) int {
	if len(msg) <= room {
		return len(msg)
	}
	end := room
	for end > room-utf8.UTFMax && end > 1 && !utf8.RuneStart(msg[end]) {
		end--
	}
	return end
}

// cutEscaped returns where to end a part of msg (valid UTF-8) whose JSON escaping takes at
// most room bytes: after the last whole character that fits (never at 0).
func cutEscaped(msg []byte, room int) int {
	used := 0
	for i := 0; i < len(msg); {
		c, size := escapedLen(msg[i:])
		if used+c > room {
			if i == 0 {
				return size
			}
			return i
		}
		used += c
		i += size
	}
	return len(msg)
}
