package cfninit

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Parse reads a resource's Metadata: the JSON object that holds
// "AWS::CloudFormation::Init" and maybe "AWS::CloudFormation::Authentication". For
// `--metadata FILE` convenience it also takes a whole resource ({"Type": ...,
// "Metadata": {...}}) and reads its Metadata.
//
// Keys cfn-init ignores (an unknown key in a config, a file, a command...) become
// Warnings naming their JSON path; what cfn-init would stop on, or what would do
// something other than the author meant, is an error naming its path and how to fix it.
// No error or warning holds a password or a secret key.
func Parse(metadata []byte) (*Init, error) {
	// A file saved by a Windows editor may start with a byte order mark.
	root, err := decodeTree(bytes.TrimPrefix(metadata, []byte("\xef\xbb\xbf")))
	if err != nil {
		return nil, fmt.Errorf("metadata is %v", err)
	}
	if root.kind != kObject {
		return nil, fmt.Errorf("metadata is %s, not a JSON object; give the resource's Metadata, which holds %s", root.kind, InitKey)
	}
	meta := root
	if _, ok := root.vals[InitKey]; !ok {
		if m, ok := root.vals["Metadata"]; ok && m.kind == kObject {
			meta = m // a whole resource
		}
	}
	initN, ok := meta.vals[InitKey]
	if !ok {
		keys := "none"
		if len(meta.keys) > 0 {
			keys = strings.Join(meta.keys, ", ")
		}
		if _, ok := meta.vals["Resources"]; ok {
			return nil, fmt.Errorf("metadata has no %s key but Resources: it looks like a whole template; give one resource (or its Metadata, as cfn-get-metadata prints it)", InitKey)
		}
		return nil, fmt.Errorf("metadata has no %s key (its keys: %s); give the Metadata of the resource that carries the Init block (cfn-init's -r), or the resource itself", InitKey, keys)
	}
	if initN.kind != kObject {
		return nil, fmt.Errorf("%s is %s; it must be an object of config keys (and configSets)", InitKey, initN.kind)
	}
	if len(initN.keys) == 0 {
		// cfn-init refuses an empty block as a missing one (construction.py, Contractor).
		return nil, fmt.Errorf("%s is empty; give it a config key (\"config\": {...})", InitKey)
	}

	p := &parser{in: &Init{
		ConfigSets: map[string][]SetItem{},
		Configs:    map[string]*Config{},
		Auth:       map[string]*Auth{},
	}}
	if a, ok := meta.vals[AuthKey]; ok && a.kind != kNull {
		if err := p.parseAuth(a); err != nil {
			return nil, err
		}
	}
	for _, k := range initN.keys {
		if k == configSetsKey {
			continue
		}
		c, err := p.parseConfig(k, initN.vals[k], InitKey+"."+k)
		if err != nil {
			return nil, err
		}
		p.in.Configs[k] = c
	}
	if cs, ok := initN.vals[configSetsKey]; ok {
		if err := p.parseConfigSets(cs, InitKey+"."+configSetsKey); err != nil {
			return nil, err
		}
	} else {
		// No configSets: one set "default" holding "config"; without a "config" key
		// cfn-init runs an empty one (construction.py, Contractor.__init__).
		p.in.ConfigSets["default"] = []SetItem{{Config: "config"}}
		if _, ok := p.in.Configs["config"]; !ok {
			p.in.Configs["config"] = &Config{Name: "config"}
			p.warnf(InitKey, "has neither configSets nor a config key, so cfn-init runs nothing (configs here: %s); name one in configSets, or call the key config", strings.Join(initN.keys, ", "))
		}
	}
	return p.in, nil
}

const configSetsKey = "configSets"

type parser struct {
	in *Init
}

func (p *parser) warnf(path, format string, args ...any) {
	p.in.Warnings = append(p.in.Warnings, path+": "+fmt.Sprintf(format, args...))
}

func (p *parser) unknown(path, key string) {
	p.warnf(path+"."+key, "unknown key, ignored (cfn-init ignores it; check its spelling)")
}

func errf(path, format string, args ...any) error {
	return fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...))
}

// object is n as an object; a null or an empty list counts as an empty section, as
// cfn-init skips any falsy section.
func object(n *node, path, what string) (*node, error) {
	switch {
	case n.kind == kObject:
		return n, nil
	case n.kind == kNull, n.kind == kArray && len(n.arr) == 0:
		return &node{kind: kObject, vals: map[string]*node{}}, nil
	}
	return nil, errf(path, "is %s; it must be an object (%s)", n.kind, what)
}

func str(n *node, path string) (string, error) {
	if n.kind != kString {
		return "", errf(path, "is %s; it must be a string", n.kind)
	}
	return n.str, nil
}

// text takes a string, or a number or boolean as the text a template meant.
func text(n *node, path string) (string, error) {
	switch n.kind {
	case kString, kNumber:
		return n.str, nil
	case kBool:
		return strconv.FormatBool(n.b), nil
	}
	return "", errf(path, "is %s; it must be a string", n.kind)
}

// strList takes a list of strings, or one string as a list of one.
func strList(n *node, path string) ([]string, error) {
	switch n.kind {
	case kNull:
		return nil, nil
	case kString:
		return []string{n.str}, nil
	case kArray:
		out := make([]string, 0, len(n.arr))
		for i, e := range n.arr {
			s, err := text(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errf(path, "is %s; it must be a list of strings", n.kind)
}

// boolean reads a flag as cfn-init's util.interpret_boolean does: true, 1, "true",
// "yes", "y", "1" (any case, spaces trimmed) are true and everything else false. A
// value that is neither a clear yes nor a clear no is false with a warning.
func (p *parser) boolean(n *node, path string) *bool {
	v := false
	switch n.kind {
	case kBool:
		v = n.b
	case kNumber:
		// Python compares numbers by value: 1.0 is in cfn-init's set of trues.
		f, _ := strconv.ParseFloat(n.str, 64)
		v = f == 1
		if !v && f != 0 {
			p.warnf(path, "%s is neither 0 nor 1; taken as false, as cfn-init does", n.str)
		}
	case kString:
		s := strings.ToLower(strings.TrimSpace(n.str))
		switch s {
		case "true", "yes", "y", "1":
			v = true
		case "false", "no", "n", "0", "":
		default:
			p.warnf(path, "%q is not true or false; taken as false, as cfn-init does", n.str)
		}
	case kNull:
	default:
		p.warnf(path, "is %s, not true or false; taken as false, as cfn-init does", n.kind)
	}
	return &v
}

var digits = regexp.MustCompile(`^[0-9]+$`)

// number reads a non-negative whole number given as 45 or "45" (uid, gid).
func number(n *node, path string) (*int, error) {
	s := strings.TrimSpace(n.str)
	if (n.kind == kNumber || n.kind == kString) && digits.MatchString(s) {
		if v, err := strconv.Atoi(s); err == nil && v <= 1<<31-1 {
			return &v, nil
		}
	}
	if n.kind == kString || n.kind == kNumber {
		return nil, errf(path, "%q is not a whole number from 0 to 2147483647", n.str)
	}
	return nil, errf(path, "is %s; it must be a whole number like 45 or \"45\"", n.kind)
}

// sortedKeys gives an object's keys in byte order, the order cfn-init's sorted() gives
// Python 3 strings (by code point, which is UTF-8's byte order): "10" before "9".
func sortedKeys(n *node) []string {
	k := append([]string(nil), n.keys...)
	sort.Strings(k)
	return k
}

var configSections = []string{"packages", "groups", "users", "sources", "files", "commands", "services"}

func (p *parser) parseConfig(name string, n *node, path string) (*Config, error) {
	if n.kind != kObject {
		return nil, errf(path, "is %s; a config must be an object of sections (%s)", n.kind, strings.Join(configSections, ", "))
	}
	c := &Config{Name: name}
	for _, k := range n.keys {
		v, sp := n.vals[k], path+"."+k
		var err error
		switch k {
		case "packages":
			c.Packages, err = p.parsePackages(v, sp)
		case "groups":
			c.Groups, err = p.parseGroups(v, sp)
		case "users":
			c.Users, err = p.parseUsers(v, sp)
		case "sources":
			c.Sources, err = p.parseSources(v, sp)
		case "files":
			c.Files, err = p.parseFiles(v, sp)
		case "commands":
			c.Commands, err = p.parseCommands(v, sp)
		case "services":
			c.Services, err = p.parseServices(v, sp)
		default:
			p.unknown(path, k)
		}
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// managerOrder is the order cfn-init installs packages in: construction.py's _pkgOrder
// (msi, dpkg, rpm, apt, yum) first, the other managers after them by name (_pkgsort),
// which puts python before rubygems. AWS's docs say the same more loosely: "rpm,
// yum/apt, and then rubygems and python" (aws-resource-init, Packages).
var managerOrder = map[string]int{"msi": 0, "rpm": 1, "apt": 2, "yum": 3, "python": 4, "rubygems": 5}

func (p *parser) parsePackages(n *node, path string) ([]PackageSet, error) {
	n, err := object(n, path, "package manager -> packages")
	if err != nil {
		return nil, err
	}
	var sets []PackageSet
	for _, mgr := range n.keys {
		mp := path + "." + mgr
		if _, ok := managerOrder[mgr]; !ok {
			p.warnf(mp, "cfn-init has no package manager %q and skips it; the managers are apt, msi, python, rpm, rubygems, yum", mgr)
			continue
		}
		pk, err := object(n.vals[mgr], mp, "package name -> versions")
		if err != nil {
			return nil, err
		}
		set := PackageSet{Manager: mgr}
		for _, name := range sortedKeys(pk) {
			vp := mp + "." + name
			vers, err := versions(pk.vals[name], vp)
			if err != nil {
				return nil, err
			}
			if (mgr == "rpm" || mgr == "msi") && len(vers) == 0 {
				return nil, errf(vp, "gives no location: for %s the value is the package's path or URL", mgr)
			}
			set.Packages = append(set.Packages, Package{Name: name, Versions: vers})
		}
		sets = append(sets, set)
	}
	sort.SliceStable(sets, func(i, j int) bool { return managerOrder[sets[i].Manager] < managerOrder[sets[j].Manager] })
	return sets, nil
}

// versions reads [] / "" (any version), "1.2" (one) or ["1.2", "1.3"] (several), as
// the docs define them (aws-resource-init, Specifying versions). Empty strings in a
// list mean any version (apt_tool.py installs the bare name for them) and are dropped.
func versions(n *node, path string) ([]string, error) {
	switch n.kind {
	case kNull:
		return nil, nil
	case kString, kNumber:
		if strings.TrimSpace(n.str) == "" {
			return nil, nil
		}
		return []string{n.str}, nil
	case kArray:
		var out []string
		for i, e := range n.arr {
			if e.kind != kString && e.kind != kNumber {
				return nil, errf(fmt.Sprintf("%s[%d]", path, i), "is %s; a version is a string like \"1.2\"", e.kind)
			}
			if strings.TrimSpace(e.str) != "" {
				out = append(out, e.str)
			}
		}
		return out, nil
	}
	return nil, errf(path, "is %s; give [] for any version, \"1.2\" for one, or [\"1.2\", \"1.3\"]", n.kind)
}

func (p *parser) parseGroups(n *node, path string) ([]Group, error) {
	n, err := object(n, path, "group name -> {gid}")
	if err != nil {
		return nil, err
	}
	var out []Group
	for _, name := range sortedKeys(n) {
		gp := path + "." + name
		e, err := object(n.vals[name], gp, `{"gid": "45"} or {}`)
		if err != nil {
			return nil, err
		}
		g := Group{Name: name}
		for _, k := range e.keys {
			switch k {
			case "gid":
				if g.GID, err = number(e.vals[k], gp+".gid"); err != nil {
					return nil, err
				}
			default:
				p.unknown(gp, k)
			}
		}
		out = append(out, g)
	}
	return out, nil
}

func (p *parser) parseUsers(n *node, path string) ([]User, error) {
	n, err := object(n, path, "user name -> {uid, groups, homeDir}")
	if err != nil {
		return nil, err
	}
	var out []User
	for _, name := range sortedKeys(n) {
		up := path + "." + name
		e, err := object(n.vals[name], up, "{uid, groups, homeDir}")
		if err != nil {
			return nil, err
		}
		u := User{Name: name}
		for _, k := range e.keys {
			v, kp := e.vals[k], up+"."+k
			switch k {
			case "uid":
				u.UID, err = number(v, kp)
			case "groups":
				u.Groups, err = strList(v, kp)
			case "homeDir":
				u.HomeDir, err = str(v, kp)
			default:
				p.unknown(up, k)
			}
			if err != nil {
				return nil, err
			}
		}
		out = append(out, u)
	}
	return out, nil
}

var windowsAbs = regexp.MustCompile(`^([A-Za-z]:[\\/]|\\\\)`)

// absolute is a Linux or a Windows absolute path: cfn-init refuses a relative file
// path (file_tool.py) and a relative target would depend on cfn-init's directory.
func absolute(s string) bool {
	return strings.HasPrefix(s, "/") || windowsAbs.MatchString(s)
}

// httpURL checks a files' or sources' `source`: cfn-init fetches them over HTTP(S).
func httpURL(s, path, what string) error {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errf(path, "%q is not an http:// or https:// URL; %s", redact(s), what)
	}
	return nil
}

var userinfo = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@`)

// redact hides the user and password of a URL that carries them, for errors and logs,
// also when the rest of it does not parse.
func redact(s string) string {
	return userinfo.ReplaceAllString(s, "${1}xxxxx@")
}

func (p *parser) parseSources(n *node, path string) ([]Source, error) {
	n, err := object(n, path, "target directory -> archive URL")
	if err != nil {
		return nil, err
	}
	var out []Source
	for _, target := range sortedKeys(n) {
		sp := path + "." + target
		if !absolute(target) {
			return nil, errf(sp, "the target %q is not an absolute directory path", target)
		}
		u, err := str(n.vals[target], sp)
		if err != nil {
			return nil, err
		}
		// cfn-init also unpacks an archive already on disk (sources_tool.py reads a
		// local path); the docs define sources as URLs and so does stackhand.
		if err := httpURL(u, sp, "a source is an archive's URL (tar, tar.gz, tar.bz2, zip)"); err != nil {
			return nil, err
		}
		s := Source{Target: target, URL: u}
		if a := p.in.AuthFor(u, ""); a != nil {
			s.Auth = a.Name
		}
		out = append(out, s)
	}
	return out, nil
}

var octal = regexp.MustCompile(`^[0-7]{1,6}$`)

// fileMode reads `mode` into six octal digits. The docs ask for a string of six
// ("000644", "120644"); cfn-init parses any octal string (int(mode, 8) in
// file_tool.py), so "644" and "0644" are padded; a bare JSON number like 100644 (seen
// in templates) is read as the same digits.
func fileMode(n *node, path string) (string, error) {
	s := strings.TrimSpace(n.str)
	if n.kind == kNumber || n.kind == kString {
		for len(s) > 6 && s[0] == '0' {
			s = s[1:]
		}
		if octal.MatchString(s) {
			return strings.Repeat("0", 6-len(s)) + s, nil
		}
		return "", errf(path, "%q is not an octal mode of up to six digits; give it like \"000644\" (a file) or \"120777\" (a symlink)", n.str)
	}
	return "", errf(path, "is %s; give the mode as a string like \"000644\"", n.kind)
}

func (p *parser) parseFiles(n *node, path string) ([]File, error) {
	n, err := object(n, path, "path -> {content or source, mode, owner, group, ...}")
	if err != nil {
		return nil, err
	}
	var out []File
	for _, name := range sortedKeys(n) {
		f, err := p.parseFile(name, n.vals[name], path+"."+name)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func (p *parser) parseFile(name string, n *node, fp string) (File, error) {
	f := File{Path: name}
	if !absolute(name) {
		return f, errf(fp, "the path %q is not absolute; cfn-init writes only absolute paths", name)
	}
	e, err := object(n, fp, "{content or source, mode, owner, group, ...}")
	if err != nil {
		return f, err
	}
	var content *node
	for _, k := range e.keys {
		v, kp := e.vals[k], fp+"."+k
		switch k {
		case "content":
			if v.kind != kNull {
				content = v
			}
		case "source":
			if f.Source, err = str(v, kp); err == nil {
				err = httpURL(f.Source, kp, "a file's source is the URL to fetch it from")
			}
		case "encoding":
			var s string
			if s, err = str(v, kp); err == nil {
				f.Encoding = strings.ToLower(strings.TrimSpace(s))
				if f.Encoding != "plain" && f.Encoding != "base64" {
					err = errf(kp, "%q is not an encoding cfn-init knows; use plain or base64", s)
				}
			}
		case "mode":
			f.Mode, err = fileMode(v, kp)
		case "owner":
			f.Owner, err = text(v, kp)
		case "group":
			f.Group, err = text(v, kp)
		case "authentication":
			f.Auth, err = str(v, kp)
			if err == nil && f.Auth != "" && p.in.Auth[f.Auth] == nil {
				p.warnf(kp, "%q is not an entry of %s (or the entry was skipped); the URL's bucket or address decides, as in cfn-init", f.Auth, AuthKey)
				f.Auth = ""
			}
		case "context":
			switch v.kind {
			case kObject:
				f.Context = v.toAny().(map[string]any)
			case kNull:
			default:
				err = errf(kp, "is %s; the context of a Mustache template must be an object of names to values", v.kind)
			}
		default:
			p.unknown(fp, k)
		}
		if err != nil {
			return f, err
		}
	}
	if f.Encoding == "" {
		f.Encoding = "plain"
	}
	if content != nil && f.Source != "" {
		return f, errf(fp, "has both content and source; keep one (the docs forbid both)")
	}
	if content == nil && f.Source == "" {
		return f, errf(fp, "has neither content nor source; give the text in content or a URL in source")
	}
	if content != nil {
		if content.kind == kString {
			s := content.str
			f.Content = &s
			if f.Encoding == "base64" {
				if _, err := base64.StdEncoding.DecodeString(stripSpace(s)); err != nil {
					return f, errf(fp+".content", "is not valid base64 (%v); encode the bytes with base64 -w0", err)
				}
			}
		} else {
			// An object, list, number or boolean is written as JSON (file_tool.py,
			// json.dump), never as a template.
			var b strings.Builder
			content.pythonJSON(&b)
			s := b.String()
			f.Content, f.ContentIsJSON = &s, true
			if f.Context != nil {
				p.warnf(fp+".context", "is ignored: the content is JSON, not a template (as in cfn-init)")
				f.Context = nil
			}
		}
	}
	if strings.HasPrefix(f.Mode, "12") {
		// A symlink: the content is its target (aws-resource-init, Files).
		if f.Content == nil || f.ContentIsJSON || *f.Content == "" {
			return f, errf(fp, "mode %s makes a symlink, so content must be the link's target path", f.Mode)
		}
	} else if f.Mode != "" && f.Mode[:2] != "00" && f.Mode[:2] != "10" {
		p.warnf(fp+".mode", "%s has file type digits %s; cfn-init writes a regular file with permissions %s", f.Mode, f.Mode[:2], f.Mode[2:])
	}
	if f.Auth == "" && f.Source != "" {
		if a := p.in.AuthFor(f.Source, ""); a != nil {
			f.Auth = a.Name
		}
	}
	return f, nil
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

func (p *parser) parseCommands(n *node, path string) ([]Command, error) {
	n, err := object(n, path, "name -> {command, env, cwd, test, ignoreErrors, waitAfterCompletion}")
	if err != nil {
		return nil, err
	}
	var out []Command
	for _, name := range sortedKeys(n) {
		c, err := p.parseCommand(name, n.vals[name], path+"."+name)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (p *parser) parseCommand(name string, n *node, cp string) (Command, error) {
	c := Command{Name: name}
	e, err := object(n, cp, "{command, env, cwd, test, ignoreErrors, waitAfterCompletion}")
	if err != nil {
		return c, err
	}
	has := false
	for _, k := range e.keys {
		v, kp := e.vals[k], cp+"."+k
		switch k {
		case "command":
			has = true
			switch v.kind {
			case kString:
				c.Shell = v.str
				if strings.TrimSpace(v.str) == "" {
					err = errf(kp, "is empty; give the command to run")
				}
			case kArray:
				if len(v.arr) == 0 {
					err = errf(kp, "is an empty list; give the program and its arguments")
				}
				for i, a := range v.arr {
					if a.kind != kString {
						err = errf(fmt.Sprintf("%s[%d]", kp, i), "is %s; every element of a command list is a string (quote numbers: \"5\")", a.kind)
						break
					}
					c.Args = append(c.Args, a.str)
				}
			default:
				err = errf(kp, "is %s; give a string (run by the shell) or a list (run without one)", v.kind)
			}
		case "env":
			var o *node
			if o, err = object(v, kp, "variable -> value"); err == nil {
				c.Env = map[string]string{}
				for _, ek := range o.keys {
					if c.Env[ek], err = text(o.vals[ek], kp+"."+ek); err != nil {
						break
					}
				}
			}
		case "cwd":
			c.Cwd, err = str(v, kp)
		case "test":
			if v.kind == kArray {
				err = errf(kp, "is a list; cfn-init runs test through the shell: give it as a string")
			} else {
				c.Test, err = str(v, kp)
			}
		case "ignoreErrors":
			c.IgnoreErrors = *p.boolean(v, kp)
		case "waitAfterCompletion":
			c.WaitAfterCompletion, err = waitAfter(v, kp)
		case "runas", "defaults":
			// Undocumented keys of command_tool.py. Running the command as root
			// instead of as the user asked would be worse than stopping.
			err = errf(kp, "is an undocumented cfn-init key that stackhand does not support; to run as another user, put runuser -u USER -- ... (or su) in command")
		default:
			p.unknown(cp, k)
		}
		if err != nil {
			return c, err
		}
	}
	if !has {
		return c, errf(cp, "has no command; cfn-init stops on a command without one")
	}
	return c, nil
}

// waitAfter reads waitAfterCompletion: "forever" (any case) or whole seconds as a
// number or a string (command_tool.py, get_wait).
func waitAfter(n *node, path string) (string, error) {
	s := strings.TrimSpace(n.str)
	switch {
	case n.kind == kString && strings.EqualFold(s, "forever"):
		return "forever", nil
	case (n.kind == kString || n.kind == kNumber) && digits.MatchString(s):
		v, err := strconv.Atoi(s)
		if err == nil {
			return strconv.Itoa(v), nil
		}
	case n.kind == kNull:
		return "", nil
	}
	return "", errf(path, "must be \"forever\" or whole seconds like 0 or \"60\"")
}

var serviceManagers = map[string]bool{"sysvinit": true, "windows": true}

func (p *parser) parseServices(n *node, path string) ([]Service, error) {
	n, err := object(n, path, "sysvinit or windows -> services")
	if err != nil {
		return nil, err
	}
	var out []Service
	for _, mgr := range sortedKeys(n) {
		mp := path + "." + mgr
		if !serviceManagers[mgr] {
			p.warnf(mp, "cfn-init has no service manager %q and skips it; use sysvinit (Linux, systemd too) or windows", mgr)
			continue
		}
		m, err := object(n.vals[mgr], mp, "service name -> {enabled, ensureRunning, files, sources, packages, commands}")
		if err != nil {
			return nil, err
		}
		for _, name := range sortedKeys(m) {
			s, err := p.parseService(mgr, name, m.vals[name], mp+"."+name)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func (p *parser) parseService(mgr, name string, n *node, sp string) (Service, error) {
	s := Service{Manager: mgr, Name: name}
	e, err := object(n, sp, "{enabled, ensureRunning, files, sources, packages, commands}")
	if err != nil {
		return s, err
	}
	for _, k := range e.keys {
		v, kp := e.vals[k], sp+"."+k
		switch k {
		case "enabled":
			if v.kind != kNull {
				s.Enabled = p.boolean(v, kp)
			}
		case "ensureRunning":
			if v.kind != kNull {
				s.EnsureRunning = p.boolean(v, kp)
			}
		case "files":
			s.Files, err = strList(v, kp)
		case "sources":
			s.Sources, err = strList(v, kp)
		case "commands":
			s.Commands, err = strList(v, kp)
		case "packages":
			var o *node
			if o, err = object(v, kp, "manager -> list of package names"); err == nil && len(o.keys) > 0 {
				s.Packages = map[string][]string{}
				for _, pm := range o.keys {
					pv := o.vals[pm]
					if pv.kind == kObject {
						// {"yum": {"httpd": []}}, the packages section's shape: its names.
						s.Packages[pm] = append([]string(nil), pv.keys...)
						continue
					}
					if s.Packages[pm], err = strList(pv, kp+"."+pm); err != nil {
						break
					}
				}
			}
		default:
			p.unknown(sp, k)
		}
		if err != nil {
			return s, err
		}
	}
	return s, nil
}
