package logship

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/status"
	"github.com/stackhand/stackhand/internal/testenv"
)

func TestShipperExpandsPlaceholders(t *testing.T) {
	s := &Shipper{o: ShipperOptions{Hostname: "ip-10-0-0-1",
		Instance: event.Instance{InstanceID: "i-0abc", PrivateIP: "10.0.0.1",
			Stack:  "arn:aws:cloudformation:eu-west-1:123456789012:stack/shop-prod/0f1e2d3c",
			Region: "eu-west-1", AvailabilityZone: "eu-west-1b", InstanceType: "c6g.large", AutoScalingGroup: "web asg (blue)",
		},
		// A tag's value is text: a placeholder in it is not expanded (its braces become
		// _, as any character a log group cannot hold), and a missing tag is nothing.
		Tags: map[string]string{"Env": "prod", "team name": "pay ments/{instance_id}/ a.b:c*d"}}}
	for in, want := range map[string]string{
		"{instance_id}/{file_name}":              "i-0abc/app.log",
		"{hostname}-{ip_address}":                "ip-10-0-0-1-10.0.0.1",
		"/fleet/{stack}":                         "/fleet/shop-prod",
		"{local_hostname}":                       "ip-10-0-0-1",
		"plain":                                  "plain",
		"{unknown}/{instance_id}":                "{unknown}/i-0abc",
		"{instance_id}{instance_id}x":            "i-0abci-0abcx",
		"/{region}/{az}/{instance_type}":         "/eu-west-1/eu-west-1b/c6g.large",
		"/asg/{asg}":                             "/asg/web_asg__blue_",
		"/{tag:Env}/{tag:team name}/{tag:Nope}/": "/prod/pay_ments/_instance_id_/_a.b_c_d//",
		"{{tag:Env}":                             "{prod",
		"{tag:Env":                               "{tag:Env",
	} {
		if got := s.expand(in, "/var/log/app/app.log"); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

// The placeholders validate accepts in a group or stream name are those the shipper
// expands: no name validate passes reaches CloudWatch Logs with braces in it.
func TestShipperExpandsEveryPlaceholderValidateAccepts(t *testing.T) {
	s := &Shipper{o: ShipperOptions{Hostname: "h", Instance: event.Instance{InstanceID: "i-1", PrivateIP: "10.0.0.1", Stack: "s",
		AutoScalingGroup: "g", AvailabilityZone: "eu-west-1a", InstanceType: "t3.micro", Region: "eu-west-1"}}}
	for _, ph := range config.LogNamePlaceholders {
		if got := s.expand(ph, "/var/log/a.log"); got == "" || strings.ContainsAny(got, "{}") {
			t.Errorf("expand(%q) = %q: validate accepts it, the shipper does not expand it", ph, got)
		}
	}
}

// readLocal returns the messages of a LocalLogs stream.
func readLocal(t *testing.T, dir, group, stream string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, url.PathEscape(group), url.PathEscape(stream)+".jsonl"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct{ Message string }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Message)
	}
	return out
}

// TestShipperShipsAndResumes runs two entries and the agent's own log through a shipper
// into LocalLogs, stops it, appends, and runs a new one: every line arrives once.
func TestShipperShipsAndResumes(t *testing.T) {
	dir := t.TempDir()
	logDir := filepath.Join(dir, "log")
	appDir := filepath.Join(dir, "app")
	for _, d := range []string{logDir, appDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	appendLines := func(path string, from, to int) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		for i := from; i < to; i++ {
			fmt.Fprintf(f, "seq=%06d %s\n", i, filepath.Base(path))
		}
		f.Close()
	}
	appendLines(filepath.Join(appDir, "a.log"), 0, 100)
	appendLines(filepath.Join(appDir, "b.log"), 0, 50)
	appendLines(filepath.Join(logDir, "agent.log"), 0, 10)
	cfg := config.Default()
	cfg.StateDir, cfg.LogDir = filepath.Join(dir, "state"), logDir
	cfg.Logs.ForceFlushInterval = config.Duration(time.Second)
	tr := true
	cfg.Logs.Files = []config.LogFile{{FilePath: filepath.Join(appDir, "*.log"), LogGroupName: "/fleet/{stack}",
		LogStreamName: "{instance_id}/{file_name}", Encoding: "utf-8", FromBeginning: &tr}}
	client := &LocalLogs{Dir: filepath.Join(dir, "out")}
	var last status.Component
	statuses := make(chan status.Component, 100)
	run := func() {
		sh, err := NewShipper(ShipperOptions{Config: cfg, Instance: event.Instance{InstanceID: "i-0abc", Stack: "shop"},
			Client: client, Status: func(h status.Component) {
				select {
				case statuses <- h:
				default:
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- sh.Run(ctx) }()
		deadline := time.Now().Add(20 * time.Second)
		for !sh.shipped() || len(sh.Status().Files) < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("not shipped: %+v", sh.Status())
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		last = sh.Status()
	}
	run()
	appendLines(filepath.Join(appDir, "a.log"), 100, 130)
	run()
	for stream, n := range map[string]int{"i-0abc/a.log": 130, "i-0abc/b.log": 50} {
		got := readLocal(t, client.Dir, "/fleet/shop", stream)
		if len(got) != n {
			t.Fatalf("%s: %d lines, want %d", stream, len(got), n)
		}
		for i, m := range got {
			if want := fmt.Sprintf("seq=%06d", i); m[:10] != want {
				t.Fatalf("%s line %d = %q, want %s...", stream, i, m, want)
			}
		}
	}
	if got := readLocal(t, client.Dir, "/fleet/shop", "i-0abc/agent"); len(got) != 10 {
		t.Fatalf("agent stream: %d lines, want 10", len(got))
	}
	if last.Counters["sent"] != 30 || last.LastError != "" || len(last.Files) != 3 {
		t.Fatalf("status after the second run = %+v", last)
	}
	for _, f := range last.Files {
		if f.Shipped != f.Size || f.Group != "/fleet/shop" {
			t.Errorf("file status %+v", f)
		}
	}
}

// syncBuffer is testenv.Buffer: written and read at the same time.
type syncBuffer = testenv.Buffer

// duplicateKeys returns the top-level keys that occur more than once in a JSON object.
func duplicateKeys(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("log line is not a JSON object: %q", line)
	}
	seen := map[string]bool{}
	var dups []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		k := tok.(string)
		if seen[k] {
			dups = append(dups, k)
		}
		seen[k] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
	}
	return dups
}

// TestShipperLogLinesNameFilePathOnce: a tailer's log line, as the agent writes it (JSON),
// carries the entry's file_path key once: a JSON object with a key twice is read
// differently by different tools (the first or the last wins).
func TestShipperLogLinesNameFilePathOnce(t *testing.T) {
	dir := t.TempDir()
	appDir := filepath.Join(dir, "app")
	if err := os.MkdirAll(filepath.Join(appDir, "dir.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.StateDir, cfg.LogDir = filepath.Join(dir, "state"), filepath.Join(dir, "log")
	cfg.Logs.Files = []config.LogFile{{FilePath: filepath.Join(appDir, "*.log"), LogGroupName: "g", LogStreamName: "s"}}
	var out syncBuffer
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&out), zapcore.DebugLevel))
	sh, err := NewShipper(ShipperOptions{Config: cfg, Instance: event.Instance{InstanceID: "i-0abc"},
		Client: &LocalLogs{Dir: filepath.Join(dir, "out")}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sh.Run(ctx) }()
	testenv.WaitFor(t, "the tailer's warning about dir.log", func() bool {
		return strings.Contains(out.String(), "matches a directory")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(out.String()) {
		if !strings.Contains(line, `"file_path"`) {
			continue
		}
		if dups := duplicateKeys(t, line); len(dups) > 0 {
			t.Errorf("keys %v more than once in %s", dups, line)
		}
	}
}

// TestShipperStreamCompressionFirstEntryWins: two entries whose names differ as written
// (so validation lets them be) but meet once expanded, with different compressions: the
// stream goes the way of the first entry to reach it, and the other is warned about
// once; every line of both arrives. The agent's own streams take logs.compression.
func TestShipperStreamCompressionFirstEntryWins(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i := range 50 {
			fmt.Fprintf(&b, "%s line %d\n", d, i)
		}
		if err := os.WriteFile(filepath.Join(dir, d, "x.log"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	cfg.StateDir, cfg.LogDir = filepath.Join(dir, "state"), filepath.Join(dir, "log")
	cfg.Logs.Compression = "gzip"
	cfg.Logs.Files = []config.LogFile{
		{FilePath: filepath.Join(dir, "a", "*.log"), LogGroupName: "g", LogStreamName: "{instance_id}", Compression: "huffman"},
		{FilePath: filepath.Join(dir, "b", "*.log"), LogGroupName: "g", LogStreamName: "i-0abc", Compression: "none"},
	}
	var out syncBuffer
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&out), zapcore.DebugLevel))
	client := &LocalLogs{Dir: filepath.Join(dir, "out")}
	sh, err := NewShipper(ShipperOptions{Config: cfg, Instance: event.Instance{InstanceID: "i-0abc"}, Client: client, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sh.Run(ctx) }()
	testenv.WaitFor(t, "both files shipped", func() bool { return len(readLocal(t, client.Dir, "g", "i-0abc")) == 100 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	key := StreamKey{Group: "g", Stream: "i-0abc"}
	sh.batcher.mu.RLock()
	got := sh.batcher.streams[key].comp
	sh.batcher.mu.RUnlock()
	if got != HuffmanOnly && got != NoCompression {
		t.Fatalf("stream compression %s, want one of the two entries'", got)
	}
	logged := out.String()
	if n := strings.Count(logged, "different compressions"); n != 1 {
		t.Fatalf("%d warnings about the two compressions, want 1:\n%s", n, logged)
	}
	if used := fmt.Sprintf(`"used":"logs.files[%d]: %s"`, map[Compression]int{HuffmanOnly: 0, NoCompression: 1}[got], got); !strings.Contains(logged, used) {
		t.Errorf("the warning does not say %s, the stream's:\n%s", used, logged)
	}
	// The agent's own streams follow logs.compression, whatever the entries say.
	for _, e := range sh.entries[2:] {
		if e.Compression != "gzip" {
			t.Errorf("%s ships with compression %q, want logs.compression's gzip", e.FilePath, e.Compression)
		}
	}
	if len(sh.entries) != 4 {
		t.Errorf("%d entries, want the two and the agent's own two", len(sh.entries))
	}
}
