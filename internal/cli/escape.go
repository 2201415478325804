package cli

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// terminalSafe wraps w so that what a hook wrote (its output tail, an error that quotes
// it, an event's reason) cannot drive the operator's terminal: as journalctl does,
// control characters are shown escaped — ESC as the four characters \x1b, a C1 control as
// \u009b, an invalid UTF-8 byte as \xff — while newline and tab, which multi-line tails
// need, are kept. Every text-mode write of status and trigger goes through it.
func terminalSafe(w io.Writer) io.Writer {
	if _, ok := w.(escaper); ok {
		return w
	}
	return escaper{w}
}

type escaper struct{ w io.Writer }

func (e escaper) Write(p []byte) (int, error) {
	if _, err := e.w.Write(escapeControl(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// escapeControl returns p with its control characters escaped; see terminalSafe. It
// returns p itself when there is nothing to escape.
func escapeControl(p []byte) []byte {
	clean := true
	for _, c := range p {
		if c < 0x20 && c != '\n' && c != '\t' || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return p
	}
	out := make([]byte, 0, len(p)+16)
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		switch {
		case r == utf8.RuneError && size <= 1:
			out = fmt.Appendf(out, `\x%02x`, p[0])
		case r == '\n' || r == '\t':
			out = append(out, byte(r))
		case r < 0x20 || r == 0x7f:
			out = fmt.Appendf(out, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f:
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, p[:size]...)
		}
		p = p[size:]
	}
	return out
}
