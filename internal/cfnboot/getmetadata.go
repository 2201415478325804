package cfnboot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// GetMetadataOptions is cfn-get-metadata's command line.
type GetMetadataOptions struct {
	Stack    string
	Resource string
	// Key is a dotted path into the Metadata (parent.child.leaf; "\." is a dot inside a
	// key), as cfn-get-metadata's -k.
	Key     string
	Verbose bool
	AWS     AWSFlags
}

func getMetadataOptions(o *GetMetadataOptions) []option {
	opts := []option{
		{short: 's', long: "stack", arg: "STACK", help: "the stack's name or id", set: str(&o.Stack)},
		{short: 'r', long: "resource", arg: "LOGICAL_ID", help: "the logical id of the resource whose Metadata is printed", set: str(&o.Resource)},
		{short: 'k', long: "key", arg: "PATH", help: `print only the value at PATH, dotted (parent.child.leaf; \. for a dot inside a key)`, set: str(&o.Key)},
		{short: 'v', long: "verbose", help: "log the AWS setup to stderr", set: flagOn(&o.Verbose)},
	}
	return append(opts, awsOptions(&o.AWS, 'u')...)
}

// ParseGetMetadataArgs parses cfn-get-metadata's command line (without the program name).
func ParseGetMetadataArgs(args []string) (GetMetadataOptions, error) {
	var o GetMetadataOptions
	pos, err := parseOptions(getMetadataOptions(&o), args)
	if err != nil {
		return o, err
	}
	if len(pos) > 0 {
		return o, usagef("unexpected argument %q (the key goes with -k)", pos[0])
	}
	if o.Stack == "" || o.Resource == "" {
		return o, usagef("give both --stack and --resource")
	}
	return o, o.AWS.check()
}

// GetMetadataHelp writes cfn-get-metadata's help.
func GetMetadataHelp(w io.Writer, prog string) {
	fmt.Fprintf(w, `Usage: %s --stack STACK --resource LOGICAL_ID [-k PATH] [options]

stackhand's cfn-get-metadata: prints a resource's Metadata (cloudformation:DescribeStackResource)
as indented JSON, or only the value at -k: a string is printed as it is, anything else as JSON.
`, prog)
	var o GetMetadataOptions
	printOptions(w, getMetadataOptions(&o))
	fmt.Fprint(w, `
Exit codes:
  0  printed
  1  the resource, its Metadata or the key is not there, or AWS refused (the reason is printed)
  2  usage
`)
}

// GetMetadata prints the Metadata, or the value at opts.Key.
func GetMetadata(ctx context.Context, opts GetMetadataOptions, env Env) error {
	e, err := loadAWS(ctx, &opts.AWS, env)
	if err != nil {
		return err
	}
	md, err := describeResource(ctx, e.CloudFormation(), opts.Stack, opts.Resource)
	if err != nil {
		return err
	}
	return printMetadata(env.stdout(), md, opts.Key, opts.Resource)
}

// printMetadata writes the value at key (the whole Metadata for "") as cfn-get-metadata
// does: a string as is, anything else as JSON indented by 4, in the document's own key
// order.
func printMetadata(w io.Writer, md []byte, key, resource string) error {
	v := json.RawMessage(bytes.TrimSpace(md))
	if !json.Valid(v) {
		return fmt.Errorf("the Metadata of %s is not JSON", resource)
	}
	if key != "" {
		var walked []string
		for _, k := range splitKey(key) {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(v, &obj); err != nil {
				at := "the Metadata"
				if len(walked) > 0 {
					at = strings.Join(walked, ".")
				}
				return fmt.Errorf("%s is not present in the metadata for %s: %s is not an object", key, resource, at)
			}
			next, ok := obj[k]
			if !ok {
				return fmt.Errorf("%s is not present in the metadata for %s", key, resource)
			}
			v = next
			walked = append(walked, k)
		}
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		_, err := fmt.Fprintln(w, s)
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, v, "", "    "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}

// splitKey splits a -k path on dots not preceded by a backslash, then drops the
// backslash of each "\." (cfnbootstrap/util.py extract_value).
func splitKey(key string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(key); i++ {
		switch {
		case key[i] == '\\' && i+1 < len(key) && key[i+1] == '.':
			cur.WriteByte('.')
			i++
		case key[i] == '.':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(key[i])
		}
	}
	return append(parts, cur.String())
}
