package cfnboot

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNeedsShell marks an error of SplitCommandLine about shell syntax it does not run
// in-process (a pipe, a list, a redirection, an expansion): the caller runs the line
// with the shell instead.
var ErrNeedsShell = errors.New("needs a shell")

// ShellSyntaxError is a line SplitCommandLine could not turn into an argument vector.
type ShellSyntaxError struct {
	Line   string
	Offset int    // byte offset of the problem in Line
	What   string // what was found ("a pipe |", "an unterminated single quote")
	shell  bool   // a shell could run it (ErrNeedsShell); false: a shell would refuse it too
}

func (e *ShellSyntaxError) Error() string {
	if e.shell {
		return fmt.Sprintf("%s at offset %d of %q: run by a shell, not in-process", e.What, e.Offset, e.Line)
	}
	return fmt.Sprintf("%s at offset %d of %q", e.What, e.Offset, e.Line)
}

// Is makes errors.Is(err, ErrNeedsShell) true for syntax a shell runs.
func (e *ShellSyntaxError) Is(target error) bool { return e.shell && target == ErrNeedsShell }

// SplitCommandLine splits a command line into words as a POSIX shell would for a simple
// command: blanks separate words; single quotes keep everything literally; double quotes
// keep everything but a backslash before $ ` " \ or a newline; a backslash outside quotes
// keeps the next character (and a backslash-newline joins lines). Anything that makes
// the line more than one simple command with literal words — ; & | < > ( ) a newline,
// $ and ` (expansions, also inside double quotes), a glob character (* ? [) or ~ or #
// at the start of a word — is reported with ErrNeedsShell, so that the caller gives the
// line to a shell rather than run it differently from one. An unterminated quote is an
// error a shell would refuse too.
func SplitCommandLine(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	needs := func(i int, what string) error {
		return &ShellSyntaxError{Line: line, Offset: i, What: what, shell: true}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch c {
		case ' ', '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case '\\':
			if i+1 >= len(line) {
				// A trailing backslash is kept literally, as sh -c does.
				cur.WriteByte('\\')
				inWord = true
				continue
			}
			i++
			if line[i] == '\n' {
				continue // line continuation
			}
			cur.WriteByte(line[i])
			inWord = true
		case '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, &ShellSyntaxError{Line: line, Offset: i, What: "an unterminated single quote"}
			}
			cur.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				switch line[j] {
				case '\\':
					if j+1 < len(line) && strings.IndexByte("$`\"\\\n", line[j+1]) >= 0 {
						j++
						if line[j] != '\n' {
							cur.WriteByte(line[j])
						}
						continue
					}
					cur.WriteByte('\\')
				case '$', '`':
					return nil, needs(j, fmt.Sprintf("an expansion %c inside double quotes", line[j]))
				default:
					cur.WriteByte(line[j])
				}
			}
			if j >= len(line) {
				return nil, &ShellSyntaxError{Line: line, Offset: i, What: "an unterminated double quote"}
			}
			i = j
			inWord = true
		case ';':
			return nil, needs(i, "a command separator ;")
		case '&':
			return nil, needs(i, "a list or background operator &")
		case '|':
			return nil, needs(i, "a pipe |")
		case '<', '>':
			return nil, needs(i, fmt.Sprintf("a redirection %c", c))
		case '(', ')':
			return nil, needs(i, fmt.Sprintf("a subshell %c", c))
		case '\n', '\r':
			return nil, needs(i, "a newline (several commands)")
		case '$':
			return nil, needs(i, "an expansion $")
		case '`':
			return nil, needs(i, "a command substitution `")
		case '*', '?', '[':
			return nil, needs(i, fmt.Sprintf("a glob character %c", c))
		case '~', '#':
			if !inWord {
				what := "a tilde expansion ~"
				if c == '#' {
					what = "a comment #"
				}
				return nil, needs(i, what)
			}
			cur.WriteByte(c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	// NAME=value before the command is an assignment to the command's environment.
	if len(words) > 0 {
		if name, _, ok := strings.Cut(words[0], "="); ok && isName(name) {
			return nil, needs(0, "a variable assignment "+name+"=")
		}
	}
	return words, nil
}

// isName reports whether s is a shell variable name.
func isName(s string) bool {
	for i, c := range s {
		if c != '_' && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && (i == 0 || !(c >= '0' && c <= '9')) {
			return false
		}
	}
	return s != ""
}
