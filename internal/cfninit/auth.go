package cfninit

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// parseAuth reads AWS::CloudFormation::Authentication: user-named entries of type S3
// (accessKeyId and secretKey, or roleName; buckets) or basic (username, password,
// uris). The type is matched in any case and an entry cfn-init cannot use is skipped
// with a warning, as cfn-init's AuthenticationConfig does (auth.py). No value of an
// entry reaches an error or a warning: only key names and JSON kinds.
func (p *parser) parseAuth(n *node) error {
	if n.kind != kObject {
		return errf(AuthKey, "is %s; it must be an object of named entries", n.kind)
	}
	for _, name := range n.keys {
		ap := AuthKey + "." + name
		e := n.vals[name]
		if e.kind != kObject {
			return errf(ap, "is %s; an entry is an object with type and its credentials", e.kind)
		}
		a := &Auth{Name: name}
		var typ string
		if t, ok := e.vals["type"]; ok {
			if t.kind != kString {
				return errf(ap+".type", "is %s; it must be \"S3\" or \"basic\"", t.kind)
			}
			typ = strings.ToLower(strings.TrimSpace(t.str))
		}
		switch typ {
		case "s3":
			a.Type = "S3"
		case "basic":
			a.Type = "basic"
		default:
			p.warnf(ap+".type", "is neither S3 nor basic; the entry is skipped, as cfn-init skips it")
			continue
		}
		for _, k := range e.keys {
			v, kp := e.vals[k], ap+"."+k
			var err error
			switch k {
			case "type":
			case "accessKeyId":
				a.AccessKeyID, err = secretString(v, kp)
			case "secretKey":
				a.SecretKey, err = secretString(v, kp)
			case "username":
				a.Username, err = secretString(v, kp)
			case "password":
				a.Password, err = secretString(v, kp)
			case "buckets":
				a.Buckets, err = strList(v, kp)
			case "uris":
				a.URIs, err = strList(v, kp)
			case "roleName":
				a.RoleName, err = p.roleName(v, kp)
			default:
				p.unknown(ap, k)
			}
			if err != nil {
				return err
			}
		}
		if a.Type == "S3" {
			keys := a.AccessKeyID != "" && a.SecretKey != ""
			switch {
			case !keys && a.RoleName == "":
				p.warnf(ap, "an S3 entry needs accessKeyId and secretKey, or roleName; the entry is skipped, as cfn-init skips it")
				continue
			case keys && a.RoleName != "":
				// auth.py prefers the keys; the role is not used.
				p.warnf(ap+".roleName", "is not used: the entry has accessKeyId and secretKey, which cfn-init prefers")
			}
			for _, k := range []string{"username", "password", "uris"} {
				if _, ok := e.vals[k]; ok {
					p.warnf(ap+"."+k, "is not used by an S3 entry")
				}
			}
		} else {
			for _, k := range []string{"accessKeyId", "secretKey", "roleName", "buckets"} {
				if _, ok := e.vals[k]; ok {
					p.warnf(ap+"."+k, "is not used by a basic entry")
				}
			}
		}
		p.in.Auth[name] = a
	}
	return nil
}

// secretString reads a credential without ever quoting it.
func secretString(n *node, path string) (string, error) {
	switch n.kind {
	case kString, kNumber:
		return n.str, nil
	}
	return "", errf(path, "is %s; it must be a string", n.kind)
}

// roleName takes a string; a list of one (seen in templates that pass a Ref through a
// list) is taken with a warning.
func (p *parser) roleName(n *node, path string) (string, error) {
	switch {
	case n.kind == kString:
		return n.str, nil
	case n.kind == kArray && len(n.arr) == 1 && n.arr[0].kind == kString:
		p.warnf(path, "is a list of one; its element is used (give it as a string)")
		return n.arr[0].str, nil
	}
	return "", errf(path, "is %s; give the name of the instance profile's role as a string", n.kind)
}

// AuthFor is the Authentication entry that applies to a URL, as the docs define it
// (aws-resource-authentication): the entry named (a file's `authentication`) when it
// exists, else an S3 entry whose buckets hold the URL's bucket (virtual-hosted or
// path-style S3 URL), else a basic entry one of whose uris the URL is at or under. Nil
// when none applies. S3 is looked at first because cfn-init's signer, applied last,
// wins (auth.py, DefaultAuth); entries of a kind are tried by name, for a stable answer.
func (in *Init) AuthFor(rawURL, name string) *Auth {
	if name != "" {
		if a := in.Auth[name]; a != nil {
			return a
		}
	}
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || u.Host == "" {
		return nil
	}
	names := make([]string, 0, len(in.Auth))
	for n := range in.Auth {
		names = append(names, n)
	}
	sort.Strings(names)
	if bucket := S3Bucket(u); bucket != "" {
		for _, n := range names {
			a := in.Auth[n]
			if a.Type != "S3" {
				continue
			}
			for _, b := range a.Buckets {
				if strings.EqualFold(strings.TrimSpace(b), bucket) {
					return a
				}
			}
		}
	}
	for _, n := range names {
		a := in.Auth[n]
		if a.Type != "basic" {
			continue
		}
		for _, uri := range a.URIs {
			if uriCovers(uri, u) {
				return a
			}
		}
	}
	return nil
}

// S3Bucket is the bucket an S3 URL addresses: the host's labels before the "s3" or
// "s3-<region>" label (https://bucket.s3.us-east-1.amazonaws.com/key) or, when the host
// starts with it, the path's first segment (https://s3.amazonaws.com/bucket/key). ""
// when the URL is not an S3 one. The hosts are those cfn-init recognises
// (endpoint_tool.py): s3[.-]<region>.amazonaws.com[.cn] with or without a bucket.
func S3Bucket(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	var rest string
	switch {
	case strings.HasSuffix(host, ".amazonaws.com"):
		rest = strings.TrimSuffix(host, ".amazonaws.com")
	case strings.HasSuffix(host, ".amazonaws.com.cn"):
		rest = strings.TrimSuffix(host, ".amazonaws.com.cn")
	default:
		return ""
	}
	labels := strings.Split(rest, ".")
	at := -1
	for i := len(labels) - 1; i >= 0; i-- {
		if labels[i] == "s3" || strings.HasPrefix(labels[i], "s3-") {
			at = i
			break
		}
	}
	switch {
	case at < 0:
		return ""
	case at > 0:
		return strings.Join(labels[:at], ".")
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	return seg
}

// uriCovers tells whether an entry of `uris` covers u: the same host (and port), the
// same scheme when the entry gives one (the docs' own example gives none:
// "example.com/test"), and a path at or under the entry's path segment by segment, so
// that http://example.com/test covers /test/x but not /testing, and a host never
// covers another host that merely starts like it.
func uriCovers(entry string, u *url.URL) bool {
	e := strings.TrimSpace(entry)
	if e == "" {
		return false
	}
	withScheme := strings.Contains(e, "://")
	if !withScheme {
		e = "scheme-less://" + e
	}
	eu, err := url.Parse(e)
	if err != nil || eu.Host == "" {
		return false
	}
	if withScheme && !strings.EqualFold(eu.Scheme, u.Scheme) {
		return false
	}
	if !sameHostPort(eu, u) {
		return false
	}
	ep := strings.TrimSuffix(eu.Path, "/")
	if ep == "" {
		return true
	}
	return u.Path == ep || strings.HasPrefix(u.Path, ep+"/")
}

func sameHostPort(a, b *url.URL) bool {
	if !strings.EqualFold(a.Hostname(), b.Hostname()) {
		return false
	}
	pa, pb := a.Port(), b.Port()
	if pa == "" || pb == "" {
		// A port only one side gives matches the other's scheme default.
		def := func(u *url.URL) string {
			switch strings.ToLower(u.Scheme) {
			case "http":
				return "80"
			case "https":
				return "443"
			}
			return ""
		}
		if pa == "" {
			pa = def(a)
		}
		if pb == "" {
			pb = def(b)
		}
		if pa == "" || pb == "" {
			return true
		}
	}
	return pa == pb
}

// String names an entry for logs: its name and type, never its credentials, so that
// printing one with %v or %s cannot leak a secret.
func (a Auth) String() string {
	return fmt.Sprintf("authentication %s (%s)", a.Name, a.Type)
}

// GoString keeps %#v from printing the credentials too.
func (a Auth) GoString() string { return a.String() }
