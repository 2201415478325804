package config

import (
	"fmt"
	"strings"
	"time"
)

// Encodings a logs.files entry may name, by the canonical name Encoding returns.
const (
	EncodingUTF8   = "utf-8"
	EncodingLatin1 = "latin-1"
)

// Encoding returns the canonical name of a logs.files encoding ("" is utf-8), or an
// error naming the ones supported.
func Encoding(name string) (string, error) {
	switch strings.ToLower(name) {
	case "", "utf-8", "utf8":
		return EncodingUTF8, nil
	case "latin-1", "latin1", "iso-8859-1", "iso8859-1":
		return EncodingLatin1, nil
	}
	return "", fmt.Errorf("encoding %q is not supported; use utf-8 or latin-1 (iso-8859-1)", name)
}

// TimestampLayout returns the Go time layout of a logs.files timestamp_format: the format
// itself when it is a Go layout ("2006-01-02 15:04:05"), or the conversion of the
// CloudWatch agent's strftime form ("%Y-%m-%d %H:%M:%S"). A format with no date or time
// field in it is an error.
func TimestampLayout(format string) (string, error) {
	layout := format
	if strings.Contains(format, "%") {
		var err error
		if layout, err = strftimeLayout(format); err != nil {
			return "", err
		}
	}
	if time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC).Format(layout) == layout {
		return "", fmt.Errorf("timestamp_format %q has no date or time field; write a Go layout such as \"2006-01-02 15:04:05\" or strftime such as \"%%Y-%%m-%%d %%H:%%M:%%S\"", format)
	}
	return layout, nil
}

// strftimeLayout converts the CloudWatch agent's strftime timestamp_format to a Go layout.
func strftimeLayout(f string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(f) {
			return "", fmt.Errorf("timestamp_format %q ends with a lone %%", f)
		}
		pad := true
		if f[i] == '-' && i+1 < len(f) {
			pad = false
			i++
		}
		var s string
		switch f[i] {
		case 'Y':
			s = "2006"
		case 'y':
			s = "06"
		case 'm':
			s = pick(pad, "01", "1")
		case 'd', 'e':
			// _2 parses "09", " 9" and "9" alike, as day fields in logs come.
			s = "_2"
		case 'H', 'k':
			s = "15"
		case 'I', 'l':
			s = pick(pad && f[i] == 'I', "03", "3")
		case 'M':
			s = pick(pad, "04", "4")
		case 'S':
			s = pick(pad, "05", "5")
		case 'f':
			if i < 2 || (f[i-2] != '.' && f[i-2] != ',') {
				return "", fmt.Errorf("timestamp_format %q: %%f must follow a . or a ,", f)
			}
			s = "000000"
		case 'L':
			if i < 2 || (f[i-2] != '.' && f[i-2] != ',') {
				return "", fmt.Errorf("timestamp_format %q: %%L must follow a . or a ,", f)
			}
			s = "000"
		case 'b', 'h':
			s = "Jan"
		case 'B':
			s = "January"
		case 'a':
			s = "Mon"
		case 'A':
			s = "Monday"
		case 'p':
			s = "PM"
		case 'z':
			s = "-0700"
		case 'Z':
			s = "MST"
		case 'j':
			s = "002"
		case 'T':
			s = "15:04:05"
		case 'F':
			s = "2006-01-02"
		case 'D':
			s = "01/02/06"
		case 'R':
			s = "15:04"
		case '%':
			s = "%"
		default:
			return "", fmt.Errorf("timestamp_format %q: %%%c is not supported; use %%Y %%y %%m %%d %%e %%H %%I %%M %%S %%f %%b %%B %%a %%A %%p %%z %%Z %%j %%T %%F", f, f[i])
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}
