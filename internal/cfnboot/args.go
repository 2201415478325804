// Package cfnboot is stackhand's cfn-init, cfn-signal and cfn-get-metadata: the command
// lines of aws-cfn-bootstrap's helper scripts, parsed as they parse them, and what each
// does. The agent calls it too (a cfn-hup hook whose action is cfn-init runs in-process),
// so it must not import internal/cli.
package cfnboot

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// ErrHelp is returned by the Parse functions for -h or --help: print the help and stop
// with success.
var ErrHelp = errors.New("help requested")

// UsageError is a command line the script would refuse (exit code 2 with optparse).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

// option is one flag of a command: its short letter (0 when none), long name (without
// dashes), whether it takes a value, and where that goes. The scripts use Python's
// optparse, so the spellings it accepts are accepted here: "-s X", "-sX", "--stack X",
// "--stack=X", a unique prefix of a long name ("--res" for --resource), flags after
// positional arguments, and "--" ending the flags.
type option struct {
	short   byte
	long    string
	arg     string // the value's name in the help; "" for a switch
	help    string
	set     func(v string) error
	section string // the help's group ("AWS credentials", "Proxy", ...); "" for the main one
}

// parseOptions parses args against opts and returns the positional arguments.
func parseOptions(opts []option, args []string) ([]string, error) {
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(pos, args[i+1:]...), nil
		case a == "-h" || a == "--help":
			return nil, ErrHelp
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			o, err := findLong(opts, name)
			if err != nil {
				return nil, err
			}
			if o.arg == "" {
				if hasVal {
					return nil, usagef("--%s takes no value", o.long)
				}
				if err := o.set(""); err != nil {
					return nil, err
				}
				continue
			}
			if !hasVal {
				if i+1 >= len(args) {
					return nil, usagef("--%s requires a value (%s)", o.long, o.arg)
				}
				i++
				val = args[i]
			}
			if err := o.set(val); err != nil {
				return nil, err
			}
		case len(a) > 1 && a[0] == '-' && a != "-":
			// A cluster of short switches, the last of which may take the rest of the
			// word or the next argument as its value ("-v", "-vs stack", "-sstack").
			for j := 1; j < len(a); j++ {
				o := findShort(opts, a[j])
				if o == nil {
					return nil, usagef("no such option: -%c", a[j])
				}
				if o.arg == "" {
					if err := o.set(""); err != nil {
						return nil, err
					}
					continue
				}
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return nil, usagef("-%c requires a value (%s)", o.short, o.arg)
					}
					i++
					val = args[i]
				}
				if err := o.set(val); err != nil {
					return nil, err
				}
				break
			}
		default:
			pos = append(pos, a)
		}
	}
	return pos, nil
}

func findLong(opts []option, name string) (*option, error) {
	var matches []*option
	for i := range opts {
		if opts[i].long == name {
			return &opts[i], nil
		}
		if name != "" && strings.HasPrefix(opts[i].long, name) {
			matches = append(matches, &opts[i])
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return nil, usagef("no such option: --%s", name)
	}
	var names []string
	for _, m := range matches {
		names = append(names, "--"+m.long)
	}
	return nil, usagef("ambiguous option: --%s (%s?)", name, strings.Join(names, ", "))
}

func findShort(opts []option, c byte) *option {
	for i := range opts {
		if opts[i].short == c {
			return &opts[i]
		}
	}
	return nil
}

// str, flag and list are the setters of the options.
func str(p *string) func(string) error { return func(v string) error { *p = v; return nil } }
func flagOn(p *bool) func(string) error {
	return func(string) error { *p = true; return nil }
}

// printOptions writes the flags of opts grouped by section, in the order given.
func printOptions(w io.Writer, opts []option) {
	var sections []string
	seen := map[string]bool{}
	for _, o := range opts {
		if !seen[o.section] {
			seen[o.section] = true
			sections = append(sections, o.section)
		}
	}
	for _, sec := range sections {
		title := sec
		if title == "" {
			title = "Options"
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		for _, o := range opts {
			if o.section != sec {
				continue
			}
			var names []string
			if o.short != 0 {
				names = append(names, "-"+string(o.short))
			}
			names = append(names, "--"+o.long)
			line := "  " + strings.Join(names, ", ")
			if o.arg != "" {
				line += " " + o.arg
			}
			fmt.Fprintln(w, line)
			fmt.Fprintf(w, "        %s\n", o.help)
		}
	}
}

// AWSFlags are the AWS access options the three scripts share.
type AWSFlags struct {
	Region         string
	URL            string // CloudFormation endpoint (-u/--url)
	Role           string
	CredentialFile string
	AccessKey      string
	SecretKey      string // never logged or printed
	HTTPProxy      string
	HTTPSProxy     string
}

// awsOptions are the options setting f: cfn-bootstrap's credential and proxy groups
// (cfnbootstrap/util.py get_cred_options, get_proxy_options) with --region and --url.
func awsOptions(f *AWSFlags, urlShort byte) []option {
	const cred, proxy, svc = "AWS credentials (none needed on an instance: the instance role, or its identity document, is used)",
		"Proxy ([scheme://][user:password@]host:port)", "CloudFormation service"
	return []option{
		{long: "region", arg: "REGION", help: "the stack's region (default: AWS_REGION, the shared config, then the instance's region from IMDS)", set: str(&f.Region), section: svc},
		{short: urlShort, long: "url", arg: "URL", help: "the CloudFormation endpoint, for a private endpoint or a test stand-in (default: the region's)", set: str(&f.URL), section: svc},
		{short: 'f', long: "credential-file", arg: "FILE", help: "a file with AWSAccessKeyId= and AWSSecretKey= lines, readable only by its owner; wins over --role and the keys", set: str(&f.CredentialFile), section: cred},
		{long: "role", arg: "NAME", help: "the instance profile role whose credentials IMDS gives; wins over the keys", set: str(&f.Role), section: cred},
		{long: "access-key", arg: "KEY", help: "an AWS access key id (with --secret-key)", set: str(&f.AccessKey), section: cred},
		{long: "secret-key", arg: "KEY", help: "the secret key of --access-key (visible in ps to other users: prefer the instance role or --credential-file)", set: str(&f.SecretKey), section: cred},
		{long: "http-proxy", arg: "PROXY", help: "the proxy for http:// URLs", set: str(&f.HTTPProxy), section: proxy},
		{long: "https-proxy", arg: "PROXY", help: "the proxy for https:// URLs (the AWS calls)", set: str(&f.HTTPSProxy), section: proxy},
	}
}

// check reports a half-given key pair.
func (f *AWSFlags) check() error {
	if f.CredentialFile == "" && f.Role == "" && (f.AccessKey == "") != (f.SecretKey == "") {
		return usagef("--access-key and --secret-key go together: give both, or neither (then the instance role is used)")
	}
	return nil
}

// DropInName returns which aws-cfn-bootstrap program a program path names — "cfn-init"
// for /opt/aws/bin/cfn-init, cfn-init.exe or C:\cfn\bin\CFN-INIT.EXE; also cfn-signal
// and cfn-get-metadata — or "" for anything else. The agent uses it on a cfn-hup
// action's first word to run cfn-init in-process; the binary on its own argv[0].
func DropInName(argv0 string) string {
	base := filepath.Base(strings.ReplaceAll(argv0, `\`, "/"))
	if ext := filepath.Ext(base); strings.EqualFold(ext, ".exe") {
		base = base[:len(base)-len(ext)]
	}
	switch base = strings.ToLower(base); base {
	case "cfn-init", "cfn-signal", "cfn-get-metadata":
		return base
	}
	return ""
}
