package service

import (
	"bytes"
	"fmt"
	"strings"
)

// renderUnit returns the unit template with its ExecStart line running binary with
// config. The template is returned unchanged when both are the defaults.
func renderUnit(template []byte, binary, config string) ([]byte, error) {
	if binary == DefaultBinaryPath && config == DefaultConfigPath {
		return template, nil
	}
	for _, p := range []string{binary, config} {
		if strings.ContainsAny(p, "\n\r\x00") {
			return nil, fmt.Errorf("path %q: a systemd unit cannot hold a newline or NUL", p)
		}
	}
	lines := bytes.SplitAfter(template, []byte("\n"))
	found := 0
	for i, l := range lines {
		if !bytes.HasPrefix(l, []byte("ExecStart=")) {
			continue
		}
		found++
		nl := ""
		if bytes.HasSuffix(l, []byte("\n")) {
			nl = "\n"
		}
		lines[i] = []byte("ExecStart=" + systemdQuote(binary) + " run --config " + systemdQuote(config) + nl)
	}
	if found != 1 {
		return nil, fmt.Errorf("systemd unit template has %d ExecStart= lines, want 1", found)
	}
	return bytes.Join(lines, nil), nil
}

// systemdQuote makes s one word of an ExecStart= command line: % and $ are doubled so
// systemd expands neither a specifier nor a variable, and a word with blanks, quotes or
// backslashes is double-quoted with C-style escapes.
func systemdQuote(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	s = strings.ReplaceAll(s, "$", "$$")
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
