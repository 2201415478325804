// Package imdsmock runs the Amazon EC2 Metadata Mock (github.com/aws/amazon-ec2-metadata-mock,
// pinned at v1.12.0 in tools/imds.mod) for tests: IMDSv2 only, on a free 127.0.0.1 port,
// configured for one instance, and stopped when the test ends.
//
// What the mock v1.12.0 does, read in its source (pkg/config, pkg/mock, pkg/cmd):
//
//   - It serves meta-data (instance-id, placement/*, local-ipv4, public-ipv4,
//     instance-type, hostname, local-hostname, iam/security-credentials/<role>, ...),
//     dynamic/instance-identity/{document,pkcs7,signature} and user-data, each at a path
//     its config file may change; a path set to "" is not served (404), which is how
//     Config removes public-ipv4, the instance role or the instance tags.
//   - Instance tags: exactly two slots, config keys metadata.paths.tags-instance-name and
//     metadata.paths.tags-instance-test (paths) with metadata.values of the same names;
//     the tag key is the last element of the path, so any key fits. tags/instance lists
//     them; with the slots emptied it answers 404, as EC2 does when instance tags in
//     metadata are off. Ask for "tags/instance" without a trailing slash.
//   - The identity document is its own config value and does not follow the meta-data
//     values: Config writes both.
//   - Events are timed from the mock's start, in whole seconds: spot/instance-action
//     after mock-delay-sec, events/recommendations/rebalance after rebalance-delay-sec,
//     autoscaling/target-lifecycle-state turns from InService to Terminated after
//     asg-termination-delay-sec. Each delay defaults to 0, so a mock started with no
//     config fires all of them at once. Config turns each one off with a delay of ten
//     years unless asked for it. Start a fresh mock per scenario.
//   - The spot and ASG answers are given to at most mock-ip-count (2) client IPs; all
//     tests come from 127.0.0.1, so that is one.
//   - Its token and route tables are plain maps written by every request: concurrent
//     requests can crash it (concurrent map writes). The SDK's IMDS client asks for
//     one token and reuses it; do not hammer one mock from many goroutines.
//   - A path it does not serve is answered with the list of served paths that contain it
//     as a substring (its "directory listing"), so "public-ipv4" alone would list the
//     per-MAC "public-ipv4s": Config removes those too.
//   - --asg-termination-trigger-time is declared as an integer flag though documented as
//     RFC 3339, so only the delay form is usable.
//   - It reads AEMM_* environment variables and $HOME/aemm-config.json; Start passes -c and
//     drops AEMM_* from its environment.
//
// The mock keeps no count of what it was asked, so Mock.URL is a counting proxy in this
// process in front of it: Requests and Conns say how many HTTP requests and TCP
// connections a client made, which the idle-cost tests and benchmarks assert on.
package imdsmock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// MockPackage is the mock's main package, pinned in tools/imds.mod.
const MockPackage = "github.com/aws/amazon-ec2-metadata-mock/cmd"

// never is the delay, in seconds, that keeps a mock event from firing: ten years.
const never = 10 * 365 * 24 * 3600

// Config describes the instance the mock pretends to be. Empty fields take the defaults
// below (an m5.large in us-east-1a).
type Config struct {
	InstanceID       string // i-0123456789abcdef0
	AvailabilityZone string // us-east-1a
	Region           string // us-east-1
	LocalIPv4        string // 10.0.1.23
	PublicIPv4       string // 203.0.113.7; see NoPublicIPv4
	NoPublicIPv4     bool   // serve no public-ipv4 (404), as for an instance in a private subnet
	InstanceType     string // m5.large
	Hostname         string // ip-10-0-1-23.ec2.internal
	AccountID        string // 123456789012
	PendingTime      time.Time
	// Tags are the instance tags in metadata, at most two (the mock has two slots).
	// Nil means instance tags in metadata are off: tags/instance answers 404.
	Tags map[string]string
	// Role is the instance profile role whose credentials iam/security-credentials/
	// serves (default stackhand-test-role, credentials valid for 6 h from Start).
	Role string
	// NoRole serves no role at all: the instance has no credentials.
	NoRole bool

	// ASGTerminationAfter, when set, turns autoscaling/target-lifecycle-state to
	// Terminated that long after the mock starts (whole seconds). Zero: never.
	ASGTerminationAfter time.Duration
	// SpotInterruptionAfter, when set, serves spot/instance-action (SpotAction, default
	// terminate) that long after the mock starts. Zero: never.
	SpotInterruptionAfter time.Duration
	SpotAction            string
	// RebalanceAfter, when set, serves events/recommendations/rebalance that long after
	// the mock starts. Zero: never.
	RebalanceAfter time.Duration
	// LifeCycle is the purchasing option meta-data/instance-life-cycle serves: "spot"
	// when a spot notice or a rebalance recommendation is asked for (AWS sends those to
	// Spot Instances only), else "on-demand" (the mock's default).
	LifeCycle string
}

// Mock is a running metadata mock.
type Mock struct {
	// URL is the endpoint, for AWS_EC2_METADATA_SERVICE_ENDPOINT ("http://127.0.0.1:<port>").
	URL string
	// Config is the configuration it runs with, defaults filled in.
	Config Config

	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}

	proxy *http.Server
	mu    sync.Mutex
	reqs  []Request
	conns int
}

// Request is one HTTP request the mock was asked, as the counting proxy saw it.
type Request struct {
	Time   time.Time
	Method string
	Path   string // "/latest/api/token", "/latest/meta-data/instance-id"
}

// Requests returns the requests made to the mock so far, oldest first (the readiness
// probes Start makes are not among them).
func (m *Mock) Requests() []Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.reqs)
}

// Conns returns how many TCP connections clients opened to the mock so far: a client that
// reuses its connection opens one.
func (m *Mock) Conns() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conns
}

// Output returns what the mock has printed so far (it logs every request).
func (m *Mock) Output() string { return m.out.String() }

// Start runs a metadata mock for cfg and stops it when the test ends. The mock binary
// is built once per imds.mod version into the user cache directory and reused.
func Start(t testing.TB, cfg Config) *Mock {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatalf("imdsmock: %v", err)
	}
	cfg = cfg.withDefaults()
	if len(cfg.Tags) > 2 {
		t.Fatalf("imdsmock: %d tags: the metadata mock has room for two", len(cfg.Tags))
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "aemm-config.json")
	data, err := json.MarshalIndent(cfg.mockConfig(time.Now()), "", "  ")
	if err != nil {
		t.Fatalf("imdsmock: %v", err)
	}
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		t.Fatalf("imdsmock: %v", err)
	}

	var lastErr error
	for range 3 { // a free port can be taken between choosing it and the mock binding it
		m, err := start(bin, cfgPath, dir, cfg)
		if err == nil {
			t.Cleanup(func() {
				m.stop()
				m.stopProxy()
				if t.Failed() {
					t.Logf("metadata mock output (tail):\n%s", tail(m.Output(), 4000))
				}
			})
			return m
		}
		lastErr = err
	}
	t.Fatalf("imdsmock: %v", lastErr)
	return nil
}

func start(bin, cfgPath, dir string, cfg Config) (*Mock, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{
		"-c", cfgPath,
		"-n", "127.0.0.1",
		"-p", strconv.Itoa(port),
		"-I", // IMDSv2 only: every path needs a session token
		"--mock-delay-sec", seconds(cfg.SpotInterruptionAfter),
		"--rebalance-delay-sec", seconds(cfg.RebalanceAfter),
		"--asg-termination-delay-sec", seconds(cfg.ASGTerminationAfter),
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = mockEnv(dir)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start metadata mock: %w", err)
	}
	m := &Mock{URL: "http://127.0.0.1:" + strconv.Itoa(port), Config: cfg, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(m.done) }()
	if err := m.waitReady(10 * time.Second); err != nil {
		m.stop()
		return nil, fmt.Errorf("%w\n%s", err, tail(out.String(), 2000))
	}
	if err := m.startProxy(); err != nil {
		m.stop()
		return nil, err
	}
	return m, nil
}

// startProxy puts the counting proxy in front of the mock and points URL at it.
func (m *Mock) startProxy() error {
	target, err := url.Parse(m.URL)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("imdsmock: counting proxy: %w", err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	m.proxy = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.mu.Lock()
			m.reqs = append(m.reqs, Request{Time: time.Now(), Method: r.Method, Path: r.URL.Path})
			m.mu.Unlock()
			rp.ServeHTTP(w, r)
		}),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				m.mu.Lock()
				m.conns++
				m.mu.Unlock()
			}
		},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = m.proxy.Serve(l) }()
	m.URL = "http://" + l.Addr().String()
	return nil
}

func (m *Mock) stopProxy() {
	if m.proxy != nil {
		_ = m.proxy.Close()
	}
}

// waitReady polls for a session token until the mock gives one.
func (m *Mock) waitReady(limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-m.done:
			return errors.New("metadata mock exited before answering")
		default:
		}
		req, _ := http.NewRequest(http.MethodPut, m.URL+"/latest/api/token", nil)
		req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("metadata mock did not answer at %s within %s", m.URL, limit)
}

func (m *Mock) stop() {
	select {
	case <-m.done:
		return
	default:
	}
	_ = m.cmd.Process.Kill()
	<-m.done
}

func (c Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.InstanceID, "i-0123456789abcdef0")
	def(&c.AvailabilityZone, "us-east-1a")
	def(&c.Region, "us-east-1")
	def(&c.LocalIPv4, "10.0.1.23")
	def(&c.PublicIPv4, "203.0.113.7")
	def(&c.InstanceType, "m5.large")
	def(&c.Hostname, "ip-"+strings.ReplaceAll(c.LocalIPv4, ".", "-")+".ec2.internal")
	def(&c.AccountID, "123456789012")
	def(&c.Role, "stackhand-test-role")
	def(&c.SpotAction, "terminate")
	if c.SpotInterruptionAfter > 0 || c.RebalanceAfter > 0 {
		def(&c.LifeCycle, "spot")
	}
	def(&c.LifeCycle, "on-demand")
	if c.PendingTime.IsZero() {
		c.PendingTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	}
	return c
}

// mockConfig returns the mock's config file content for c (keys as in the mock's
// pkg/config/defaults/aemm-metadata-default-values.json).
func (c Config) mockConfig(now time.Time) map[string]any {
	paths := map[string]any{}
	values := map[string]any{
		"instance-id":                 c.InstanceID,
		"placement-availability-zone": c.AvailabilityZone,
		"placement-region":            c.Region,
		"local-ipv4":                  c.LocalIPv4,
		"public-ipv4":                 c.PublicIPv4,
		"instance-type":               c.InstanceType,
		"hostname":                    c.Hostname,
		"local-hostname":              c.Hostname,
		"mac-local-ipv4s":             c.LocalIPv4,
		"instance-life-cycle":         c.LifeCycle,
	}
	if c.NoPublicIPv4 {
		// The mock answers an unknown path with the served paths that contain it as a
		// substring, so the per-MAC public-ipv4s must go too for public-ipv4 to be 404.
		paths["public-ipv4"] = ""
		paths["public-hostname"] = ""
		paths["mac-public-ipv4s"] = ""
		paths["mac-public-hostname"] = ""
		paths["mac-ipv4-associations"] = ""
	}
	if c.NoRole {
		paths["iam-info"] = ""
		paths["iam-security-credentials-role"] = ""
		paths["iam-security-credentials"] = ""
	} else {
		values["iam-security-credentials-role"] = c.Role
		values["iam-info"] = map[string]any{
			"Code":               "Success",
			"LastUpdated":        now.UTC().Format(time.RFC3339),
			"InstanceProfileArn": "arn:aws:iam::" + c.AccountID + ":instance-profile/" + c.Role,
			"InstanceProfileId":  "AIPAEXAMPLEPROFILEID",
		}
		values["iam-security-credentials"] = map[string]any{
			"Code":            "Success",
			"LastUpdated":     now.UTC().Format(time.RFC3339),
			"Type":            "AWS-HMAC",
			"AccessKeyId":     "ASIAIMDSMOCKEXAMPLE",
			"SecretAccessKey": "imdsmock/secret/example",
			"Token":           "imdsmock-session-token",
			"Expiration":      now.Add(6 * time.Hour).UTC().Format(time.RFC3339),
		}
	}
	// The two tag slots; an unused slot is emptied so that it is not served.
	slots := []string{"tags-instance-name", "tags-instance-test"}
	keys := make([]string, 0, len(c.Tags))
	for k := range c.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, slot := range slots {
		if i < len(keys) {
			paths[slot] = "/latest/meta-data/tags/instance/" + keys[i]
			values[slot] = c.Tags[keys[i]]
		} else {
			paths[slot] = ""
		}
	}
	return map[string]any{
		"metadata": map[string]any{"paths": paths, "values": values},
		"dynamic": map[string]any{"values": map[string]any{
			"instance-identity-document": map[string]any{
				"accountId":        c.AccountID,
				"imageId":          "ami-0123456789abcdef0",
				"availabilityZone": c.AvailabilityZone,
				"version":          "2017-09-30",
				"privateIp":        c.LocalIPv4,
				"instanceId":       c.InstanceID,
				"pendingTime":      c.PendingTime.UTC().Format(time.RFC3339),
				"architecture":     "x86_64",
				"instanceType":     c.InstanceType,
				"region":           c.Region,
			},
		}},
		"spot": map[string]any{"action": c.SpotAction},
	}
}

func seconds(d time.Duration) string {
	if d <= 0 {
		return strconv.Itoa(never)
	}
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// mockEnv is the test's environment without AEMM_* (which the mock reads as config),
// with HOME in the test's temp dir.
func mockEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AEMM_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home)
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary returns the path of the metadata mock binary, building it the first time in a
// process (go build -modfile=<repo>/tools/imds.mod). The binary is kept in the user cache
// directory under a name derived from tools/imds.mod and imds.sum, so later runs reuse it.
func Binary() (string, error) {
	buildOnce.Do(func() { buildPath, buildErr = build() })
	return buildPath, buildErr
}

func build() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	modfile := filepath.Join(root, "tools", "imds.mod")
	h := sha256.New()
	for _, f := range []string{modfile, filepath.Join(root, "tools", "imds.sum")} {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "stackhand")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	bin := filepath.Join(dir, "ec2-metadata-mock-"+hex.EncodeToString(h.Sum(nil))[:16]+exe)
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	tmp, err := os.CreateTemp(dir, "ec2-metadata-mock-*"+exe)
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), "build", "-modfile="+modfile, "-o", tmp.Name(), MockPackage)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the metadata mock (%s): %w\n%s", strings.Join(cmd.Args, " "), err, out.String())
	}
	// Rename is atomic, so test binaries building at the same time do not see half a file.
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// goTool finds the go command: on PATH, else where `go env GOROOT` would put it for the
// toolchain that runs the tests (GOROOT is set by `go test` for its children).
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

// repoRoot finds the directory holding tools/imds.mod, from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tools", "imds.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("tools/imds.mod not found in the working directory or above")
		}
		dir = parent
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// lockedBuffer is a bytes.Buffer safe for the mock's output goroutines and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
