// Package cfninit is stackhand's built-in AWS::CloudFormation::Init interpreter: what
// aws-cfn-bootstrap's cfn-init does, in Go, so that a fleet needs no Python on its
// instances. Parse reads a resource's Metadata into an Init; Resolve turns the configSets
// asked for into the ordered list of configs; a Runner applies each config in cfn-init's
// order: packages, groups, users, sources, files, commands, services.
//
// Behaviour follows AWS's documentation of AWS::CloudFormation::Init,
// AWS::CloudFormation::Authentication and the helper scripts; where it is silent, what
// aws-cfn-bootstrap does (each such place cites where it was learned).
package cfninit

// Keys of a resource's Metadata that cfn-init reads.
const (
	InitKey = "AWS::CloudFormation::Init"
	AuthKey = "AWS::CloudFormation::Authentication"
)

// Init is a parsed AWS::CloudFormation::Init block (and the resource's
// AWS::CloudFormation::Authentication block beside it).
type Init struct {
	// ConfigSets by name. Without a configSets key, the one set "default" lists the config
	// "config", as cfn-init does.
	ConfigSets map[string][]SetItem
	// Configs by key.
	Configs map[string]*Config
	// Auth by the name files and sources give in `authentication`.
	Auth map[string]*Auth
	// Warnings: what cfn-init ignores and a person should know, each naming its JSON
	// path (an unknown key, a configSet naming a config that does not exist, ...).
	Warnings []string
}

// SetItem is one entry of a configSet: a config key, or a reference to another set.
type SetItem struct {
	Config    string // a config key, when ConfigSet is empty
	ConfigSet string // {"ConfigSet": "name"}
}

// Config is one config key of the Init block, its sections in the order cfn-init applies
// them. Each section's entries are in the order cfn-init runs them.
type Config struct {
	Name     string
	Packages []PackageSet // by manager, in cfn-init's manager order
	Groups   []Group      // by name
	Users    []User       // by name
	Sources  []Source     // by target directory
	Files    []File       // by path
	Commands []Command    // by name, alphabetically
	Services []Service    // by manager, then name
}

// PackageSet is the packages of one manager: apt, yum, rpm, python, rubygems, msi.
type PackageSet struct {
	Manager  string
	Packages []Package // by name
}

// Package is a package and the versions wanted: none means any; for rpm and msi the one
// "version" is the package's location (a path or URL).
type Package struct {
	Name     string
	Versions []string
}

// Group is an entry of groups.
type Group struct {
	Name string
	GID  *int
}

// User is an entry of users.
type User struct {
	Name    string
	UID     *int
	Groups  []string
	HomeDir string
}

// Source is an entry of sources: an archive unpacked over Target.
type Source struct {
	Target string
	URL    string
	// Auth names the Authentication entry to use, when one matches (by bucket or URI).
	Auth string
}

// File is an entry of files.
type File struct {
	Path string
	// Content is the text to write: the string as given, or the JSON value re-encoded
	// (as cfn-init's Python json.dump writes it) when ContentIsJSON. For a symlink
	// (Mode 120xxx) it is the link's target. Nil when the file comes from Source.
	Content       *string
	ContentIsJSON bool
	Source        string // a URL, when the content is fetched
	Encoding      string // "plain" (default) or "base64"
	Mode          string // six octal digits, "" when not given; 120xxx makes a symlink
	Owner, Group  string
	Auth          string // authentication name: the one given if defined, else the entry matching Source
	// Context is the Mustache context for Render (values: map[string]any, []any,
	// string, json.Number, bool, nil); nil when the content is not a template.
	Context map[string]any
}

// Command is an entry of commands.
type Command struct {
	Name string
	// Shell is the command as a string, run by the shell; Args the list form, run
	// without one. Exactly one is set.
	Shell               string
	Args                []string
	Env                 map[string]string
	Cwd                 string
	Test                string
	IgnoreErrors        bool
	WaitAfterCompletion string // "" (default), "forever", or seconds
}

// Service is an entry of services.sysvinit or services.windows.
type Service struct {
	Manager       string // "sysvinit" or "windows"
	Name          string
	Enabled       *bool
	EnsureRunning *bool
	// What restarts the service when changed in this run.
	Files    []string
	Sources  []string
	Packages map[string][]string // manager -> names
	Commands []string
}

// Auth is an entry of AWS::CloudFormation::Authentication. Secrets are never logged.
type Auth struct {
	Name        string
	Type        string // "S3" or "basic"
	AccessKeyID string
	SecretKey   string
	Buckets     []string
	RoleName    string
	Username    string
	Password    string
	URIs        []string
}
