package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stackhand/stackhand/internal/cfnpath"
	"github.com/stackhand/stackhand/internal/trust"
)

// CfnHup is a cfn-hup configuration directory (/etc/cfn): cfn-hup.conf's [main] and the
// hooks of hooks.conf and hooks.d/*.conf.
type CfnHup struct {
	Main  CfnMain
	Hooks []CfnHook
	// Warnings are what stackhand reads differently from cfn-hup or leaves out; the agent
	// logs them at start.
	Warnings []Problem
}

// CfnMain is cfn-hup.conf's [main] section, with cfn-hup's defaults for what it leaves out.
type CfnMain struct {
	Stack          string        // required: stack name or ARN
	Region         string        // default us-east-1
	Interval       time.Duration // written in minutes; default 15m, at least 1m
	CredentialFile string
	Role           string
	Umask          uint32 // default 0o022
	Verbose        bool
	URL            string // CloudFormation endpoint override
	// Set holds the keys written in the file, so that defaults are not taken for choices.
	Set map[string]bool
	// Origin is "file:line" of the [main] header.
	Origin string
}

// CfnHook is one hook section.
type CfnHook struct {
	Name string // the section name
	// On is what fires the hook, from triggers: add, update, remove (post.add, ...).
	On     []string
	Path   cfnpath.Path
	Action string // run by the shell
	RunAs  string // empty: the agent's user
	// Origin is "file:line" of the section's first header.
	Origin string
}

// mainKeys are the [main] keys stackhand reads.
var mainKeys = []string{"stack", "region", "interval", "credential-file", "role", "umask", "verbose", "url"}

// LoadCfnHup reads the cfn-hup configuration in dir: cfn-hup.conf (required; a missing file
// gives an error for which errors.Is(err, fs.ErrNotExist) holds), hooks.conf when present,
// and hooks.d/*.conf in lexical order, each merged over the sections read before it.
//
// Problems that would stop cfn-hup too are returned as a *Errors; the CfnHup is returned
// with it anyway, so that its Warnings can be logged.
func LoadCfnHup(dir string) (*CfnHup, error) {
	h := &CfnHup{}
	var errs []Problem

	// cfn-hup's actions run as root: its files are read only if only root (or the
	// agent's user) can change them, as package trust checks.
	mainPath := filepath.Join(dir, "cfn-hup.conf")
	data, err := trust.ReadFile(mainPath, mainPath, os.Geteuid())
	if err != nil {
		return nil, fmt.Errorf("read cfn-hup config: %w", err)
	}
	mdoc := newINI()
	e, w := mdoc.parse(data, mainPath)
	errs, h.Warnings = append(errs, e...), append(h.Warnings, w...)
	errs = append(errs, h.readMain(mdoc, mainPath)...)

	hdoc := newINI()
	var files []string
	hooksConf := filepath.Join(dir, "hooks.conf")
	if _, err := os.Stat(hooksConf); err == nil {
		files = append(files, hooksConf)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read cfn-hup hooks: %w", err)
	}
	hooksDir := filepath.Join(dir, "hooks.d")
	entries, err := os.ReadDir(hooksDir) // sorted by name
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read cfn-hup hooks: %w", err)
	}
	for _, ent := range entries {
		p := filepath.Join(hooksDir, ent.Name())
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			continue
		}
		if !strings.HasSuffix(ent.Name(), ".conf") {
			h.Warnings = append(h.Warnings, Problem{p, 0, "not read: stackhand reads only the *.conf files in hooks.d (cfn-hup read every file); rename it to end in .conf if it holds hooks"})
			continue
		}
		files = append(files, p)
	}
	for _, f := range files {
		data, err := trust.ReadFile(f, f, os.Geteuid())
		if err != nil {
			return nil, fmt.Errorf("read cfn-hup hooks: %w", err)
		}
		e, w := hdoc.parse(data, f)
		errs, h.Warnings = append(errs, e...), append(h.Warnings, w...)
	}
	errs = append(errs, h.readHooks(hdoc)...)
	sortProblems(h.Warnings)
	if len(h.Hooks) == 0 {
		h.Warnings = append(h.Warnings, Problem{dir, 0, "no usable cfn-hup hooks in hooks.conf or hooks.d/*.conf; only the watch rules of stackhand.yaml will run"})
	}
	if len(errs) > 0 {
		sortProblems(errs)
		es := Errors(errs)
		return h, &es
	}
	return h, nil
}

// readMain fills h.Main from [main] and returns its errors.
func (h *CfnHup) readMain(doc *iniDoc, file string) []Problem {
	m := &h.Main
	*m = CfnMain{Region: "us-east-1", Interval: 15 * time.Minute, Umask: 0o022, Set: map[string]bool{}}
	sec := doc.byName["main"]
	if sec == nil {
		return []Problem{{file, 0, "no [main] section: cfn-hup.conf needs [main] with at least stack=<stack name or ARN>"}}
	}
	m.Origin = origin(sec.file, sec.line)
	var errs []Problem
	get := func(key string) (string, *iniValue, bool) {
		val, at, ok, prob := doc.get(sec, key)
		if prob != nil {
			errs = append(errs, *prob)
			return "", nil, false
		}
		if ok {
			m.Set[key] = true
		}
		return strings.TrimSpace(val), at, ok
	}

	before := len(errs)
	if v, _, ok := get("stack"); ok && v != "" {
		m.Stack = v
	} else if len(errs) == before {
		errs = append(errs, Problem{sec.file, sec.line, "[main] has no stack: add stack=<stack name or ARN>, as cfn-hup requires"})
	}
	if v, _, ok := get("region"); ok && v != "" {
		m.Region = v
	}
	if v, at, ok := get("interval"); ok {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			errs = append(errs, Problem{at.file, at.line, fmt.Sprintf("interval %q is not a whole number of minutes; write e.g. interval=5", v)})
		case n < 1:
			errs = append(errs, Problem{at.file, at.line, fmt.Sprintf("interval is %d; it is in minutes and the minimum is 1 (cfn-hup refuses less too)", n)})
		default:
			m.Interval = time.Duration(n) * time.Minute
		}
	}
	if v, _, ok := get("credential-file"); ok {
		m.CredentialFile = v
	}
	if v, _, ok := get("role"); ok {
		m.Role = v
	}
	if v, at, ok := get("umask"); ok {
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(v, "0o"), "0O"), 8, 32)
		if err != nil || n > 0o777 {
			errs = append(errs, Problem{at.file, at.line, fmt.Sprintf("umask %q is not an octal mode from 0 to 0777; write e.g. umask=022", v)})
		} else {
			m.Umask = uint32(n)
		}
	}
	if v, at, ok := get("verbose"); ok {
		// cfn-hup's util.interpret_boolean: true, yes, y and 1 are true, anything else false.
		switch strings.ToLower(v) {
		case "true", "yes", "y", "1":
			m.Verbose = true
		case "false", "no", "n", "0", "":
		default:
			h.Warnings = append(h.Warnings, Problem{at.file, at.line, fmt.Sprintf("verbose %q is read as false; write true or false", v)})
		}
	}
	if v, _, ok := get("url"); ok {
		m.URL = v
	}
	for _, key := range sec.keys {
		switch {
		case slices.Contains(mainKeys, key):
		case key == "multi-threaded" || key == "sqs_url":
			v := sec.values[key]
			h.Warnings = append(h.Warnings, Problem{v.file, v.line, key + " is only used by cfn-hup's on.command hooks, which stackhand does not support; ignored"})
		default:
			v := sec.values[key]
			h.Warnings = append(h.Warnings, Problem{v.file, v.line, fmt.Sprintf("unknown key %q in [main], ignored; known keys: %s", key, strings.Join(mainKeys, ", "))})
		}
	}
	return errs
}

// hookKeys are the keys of a hook section.
var hookKeys = []string{"triggers", "path", "action", "runas"}

// triggerChanges maps cfn-hup's triggers to stackhand's change kinds.
var triggerChanges = map[string]string{"post.add": "add", "post.update": "update", "post.remove": "remove"}

// readHooks turns the hook sections of doc into h.Hooks and returns their errors.
func (h *CfnHup) readHooks(doc *iniDoc) []Problem {
	var errs []Problem
	for _, sec := range doc.sections {
		secAt := origin(sec.file, sec.line)
		for _, key := range sec.keys {
			v := sec.values[key]
			switch {
			case slices.Contains(hookKeys, key):
			case key == "singleton" || key == "send_result":
				h.Warnings = append(h.Warnings, Problem{v.file, v.line, fmt.Sprintf("%s in hook [%s] only applies to on.command hooks, which stackhand does not support; ignored", key, sec.name)})
			default:
				h.Warnings = append(h.Warnings, Problem{v.file, v.line, fmt.Sprintf("unknown key %q in hook [%s], ignored; hook keys are %s", key, sec.name, strings.Join(hookKeys, ", "))})
			}
		}

		vals := map[string]string{}
		ats := map[string]*iniValue{}
		var missing []string
		broken := false
		for _, key := range hookKeys {
			val, at, ok, prob := doc.get(sec, key)
			switch {
			case prob != nil:
				errs = append(errs, *prob)
				broken = true
			case ok:
				vals[key], ats[key] = val, at
			case key != "runas":
				missing = append(missing, key)
			}
		}
		if len(missing) > 0 {
			h.Warnings = append(h.Warnings, Problem{sec.file, sec.line, fmt.Sprintf("hook [%s] has no %s; skipped, as cfn-hup skips it: a hook needs triggers, path and action",
				sec.name, strings.Join(missing, " or "))})
			continue
		}
		if broken {
			continue
		}

		hook := CfnHook{Name: sec.name, Origin: secAt, Action: vals["action"], RunAs: strings.TrimSpace(vals["runas"])}
		trig := ats["triggers"]
		for _, t := range strings.Split(vals["triggers"], ",") {
			t = strings.TrimSpace(t)
			switch ch, ok := triggerChanges[t]; {
			case t == "":
			case ok:
				if !slices.Contains(hook.On, ch) {
					hook.On = append(hook.On, ch)
				}
			case t == "on.command":
				h.Warnings = append(h.Warnings, Problem{trig.file, trig.line, fmt.Sprintf("trigger on.command in hook [%s] is not supported (it needs cfn-hup's retired command service), skipped", sec.name)})
			default:
				errs = append(errs, Problem{trig.file, trig.line, fmt.Sprintf("hook [%s]: trigger %q is not known; use post.add, post.update or post.remove, separated by commas", sec.name, t)})
				broken = true
			}
		}
		path, err := cfnpath.Parse(strings.TrimSpace(vals["path"]))
		if err != nil {
			at := ats["path"]
			errs = append(errs, Problem{at.file, at.line, fmt.Sprintf("hook [%s]: %v", sec.name, err)})
			broken = true
		}
		hook.Path = path
		if strings.TrimSpace(hook.Action) == "" {
			at := ats["action"]
			h.Warnings = append(h.Warnings, Problem{at.file, at.line, fmt.Sprintf("hook [%s] has an empty action; skipped", sec.name)})
			continue
		}
		if broken {
			continue
		}
		if len(hook.On) == 0 {
			h.Warnings = append(h.Warnings, Problem{trig.file, trig.line, fmt.Sprintf("hook [%s] has no trigger stackhand runs; skipped", sec.name)})
			continue
		}
		h.Hooks = append(h.Hooks, hook)
	}
	return errs
}

// ApplyCfnHup merges a cfn-hup configuration into c. From [main] it takes stack, region,
// interval, credential-file, role, umask, verbose and url where stackhand.yaml did not set
// them and cfn-hup.conf did (cfn-hup's own defaults, such as region us-east-1 and a 15
// minute interval, are not imposed: stackhand's defaults are better guesses on an instance).
// Each hook becomes a watch rule named "cfn-hup:<section>"; applying the same hooks again
// replaces those rules.
func (c *Config) ApplyCfnHup(h *CfnHup) {
	m := h.Main
	if m.Set["stack"] && !c.IsSet("stack") {
		c.Stack = m.Stack
	}
	if m.Set["region"] && !c.IsSet("region") {
		c.Region = m.Region
	}
	if m.Set["interval"] && !c.IsSet("interval") && m.Interval >= time.Minute {
		c.Interval = Duration(m.Interval)
	}
	if m.Set["umask"] && c.Umask == nil {
		u := m.Umask
		c.Umask = &u
	}
	if m.Set["credential-file"] && c.CredentialFile == "" {
		c.CredentialFile = m.CredentialFile
	}
	if m.Set["role"] && c.Role == "" {
		c.Role = m.Role
	}
	if m.Set["verbose"] && m.Verbose {
		c.Verbose = true
	}
	if m.Set["url"] && c.CloudFormationURL == "" {
		c.CloudFormationURL = m.URL
	}
	for _, hook := range h.Hooks {
		r := WatchRule{
			Name:    CfnHupPrefix + hook.Name,
			Path:    hook.Path.Raw,
			On:      append([]string(nil), hook.On...),
			Command: hook.Action,
			RunAs:   hook.RunAs,
			CfnHup:  true,
			Origin:  hook.Origin,
		}
		replaced := false
		for i := range c.Watch {
			if c.Watch[i].Name == r.Name {
				c.Watch[i], replaced = r, true
			}
		}
		if !replaced {
			c.Watch = append(c.Watch, r)
		}
	}
}
