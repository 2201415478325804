package logship

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/testenv/journaltest"
)

// benchJournalLines is how many entries BenchmarkJournalLinesPerCPUSecond ships, and
// lines the file tailing beside it.
const benchJournalLines = 200_000

// benchShipTimeout bounds one shipping run: a journalctl that fails would otherwise be
// started again with backoff for ever.
const benchShipTimeout = 5 * time.Minute

// countingLogs is a LogsClient that stores every batch at once and counts its events,
// without decoding the body (a decoding sink's CPU would be counted as the agent's).
type countingLogs struct {
	events  atomic.Int64
	batches atomic.Int64
}

func (c *countingLogs) PutLogEvents(ctx context.Context, _ *awsenv.PutLogEventsInput) (*awsenv.PutLogEventsOutput, error) {
	if p, _ := ctx.Value(payloadKey{}).(*payload); p != nil {
		c.events.Add(int64(len(p.items)))
	}
	c.batches.Add(1)
	return &awsenv.PutLogEventsOutput{}, nil
}

func (c *countingLogs) CreateLogGroup(context.Context, *awsenv.CreateLogGroupInput) error { return nil }

func (c *countingLogs) CreateLogStream(context.Context, *awsenv.CreateLogStreamInput) error {
	return nil
}

func (c *countingLogs) PutRetentionPolicy(context.Context, *awsenv.PutRetentionPolicyInput) error {
	return nil
}

// ackerFunc is an Acker that is a function: the batcher is made before the reader it
// acknowledges to.
type ackerFunc func(SourceID, int64)

func (f ackerFunc) Ack(src SourceID, offset int64) { f(src, offset) }

// childrenCPU returns the CPU time (user and system) of the process's children that
// ended and were waited for.
func childrenCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchJournalEntries returns n short entries as journald records them from a small
// server's services: nginx access lines and an application's logfmt lines on stdout,
// sshd and cron through syslog, systemd's own, each with the trusted fields journald
// adds (_PID, _UID, _COMM, _EXE, _CMDLINE, _SYSTEMD_CGROUP, ...), 5 ms apart from
// start. No entry is below priority info, so a reader at info ships them all.
func benchJournalEntries(n int, start time.Time) []journaltest.Entry {
	type service struct {
		unit, ident, comm, exe, cmdline, transport, facility string
		uid                                                  int
		pids                                                 []int
	}
	services := []service{
		{"nginx.service", "nginx", "nginx", "/usr/sbin/nginx", "nginx: worker process", "stdout", "", 33, []int{812, 813}},
		{"app.service", "app", "app", "/opt/app/bin/app", "/opt/app/bin/app --config /etc/app/app.yaml", "stdout", "", 1001, []int{1204}},
		{"ssh.service", "sshd", "sshd", "/usr/sbin/sshd", "sshd: ec2-user [priv]", "syslog", "4", 0, []int{20431, 20517, 20602}},
		{"cron.service", "CRON", "cron", "/usr/sbin/cron", "/usr/sbin/CRON -f", "syslog", "9", 0, []int{30118, 30244}},
		{"init.scope", "systemd", "systemd", "/usr/lib/systemd/systemd", "/sbin/init", "journal", "3", 0, []int{1}},
	}
	paths := []string{"/api/v1/items", "/api/v1/users/profile", "/static/app.js", "/healthz", "/login", "/search"}
	users := []string{"ec2-user", "admin", "deploy"}
	r := newRand(11)
	out := make([]journaltest.Entry, n)
	for i := range out {
		var s service
		switch k := r.IntN(100); {
		case k < 40:
			s = services[0]
		case k < 75:
			s = services[1]
		case k < 85:
			s = services[2]
		case k < 90:
			s = services[3]
		default:
			s = services[4]
		}
		at := start.Add(time.Duration(i) * 5 * time.Millisecond)
		prio := 6
		var msg string
		switch s.ident {
		case "nginx":
			msg = fmt.Sprintf(`10.0.%d.%d - - "GET %s?id=%d HTTP/1.1" %d %d rt=0.%03d`, r.IntN(8), r.IntN(256),
				paths[r.IntN(len(paths))], r.IntN(1e6), []int{200, 200, 200, 304, 404}[r.IntN(5)], r.IntN(1e5), r.IntN(1000))
		case "app":
			switch k := r.IntN(20); {
			case k == 0:
				prio = 3
				msg = fmt.Sprintf(`level=error msg="payment failed" order=%06x err="upstream timeout" took=%dms`, r.IntN(1<<24), 1000+r.IntN(4000))
			case k < 3:
				prio = 4
				msg = fmt.Sprintf(`level=warn msg="slow query" table=orders rows=%d took=%dms`, r.IntN(5000), 200+r.IntN(800))
			default:
				msg = fmt.Sprintf(`level=info msg="order placed" order=%06x user=%d items=%d took=%dms`, r.IntN(1<<24), r.IntN(1e5), 1+r.IntN(9), r.IntN(60))
			}
		case "sshd":
			msg = fmt.Sprintf("Accepted publickey for %s from 10.0.%d.%d port %d ssh2: ED25519 SHA256:%016x",
				users[r.IntN(len(users))], r.IntN(8), r.IntN(256), 32768+r.IntN(28000), r.Uint64())
			if r.IntN(4) == 0 {
				prio = 5
				msg = fmt.Sprintf("Connection closed by 10.0.%d.%d port %d [preauth]", r.IntN(8), r.IntN(256), 32768+r.IntN(28000))
			}
		case "CRON":
			msg = fmt.Sprintf("(root) CMD (/usr/local/bin/backup --quick --slot %d)", r.IntN(24))
		default:
			n := 1 + r.IntN(500)
			msg = fmt.Sprintf("Started session-%d.scope - Session %d of User %s.", n, n, users[r.IntN(len(users))])
		}
		pid := s.pids[r.IntN(len(s.pids))]
		f := map[string]string{
			"_TRANSPORT":             s.transport,
			"SYSLOG_IDENTIFIER":      s.ident,
			"_PID":                   fmt.Sprint(pid),
			"_UID":                   fmt.Sprint(s.uid),
			"_GID":                   fmt.Sprint(s.uid),
			"_COMM":                  s.comm,
			"_EXE":                   s.exe,
			"_CMDLINE":               s.cmdline,
			"_CAP_EFFECTIVE":         "0",
			"_SYSTEMD_CGROUP":        "/system.slice/" + s.unit,
			"_SYSTEMD_SLICE":         "system.slice",
			"_SYSTEMD_INVOCATION_ID": fmt.Sprintf("%032x", len(s.unit)*7919),
		}
		switch s.transport {
		case "stdout":
			f["_STREAM_ID"] = fmt.Sprintf("%032x", pid*104729)
		case "syslog":
			f["SYSLOG_FACILITY"] = s.facility
			f["SYSLOG_PID"] = fmt.Sprint(pid)
			f["SYSLOG_TIMESTAMP"] = at.Format(time.Stamp) + " "
			f["_SOURCE_REALTIME_TIMESTAMP"] = fmt.Sprint(at.UnixMicro() - 37)
		default:
			f["_CAP_EFFECTIVE"] = "1ffffffffff"
			f["_SYSTEMD_CGROUP"] = "/init.scope"
			f["_SYSTEMD_SLICE"] = "-.slice"
			f["CODE_FILE"] = "src/core/unit.c"
			f["CODE_LINE"] = "5563"
			f["CODE_FUNC"] = "unit_log_success"
			f["_SOURCE_REALTIME_TIMESTAMP"] = fmt.Sprint(at.UnixMicro() - 120)
		}
		out[i] = journaltest.Entry{Time: at, Message: msg, Unit: s.unit, Priority: prio, Fields: f}
	}
	return out
}

// BenchmarkJournalLinesPerCPUSecond ships 200,000 short journal entries (written to a
// real journal file by systemd-journal-remote before the timer) as the agent does: the
// journalReader running the real journalctl -o export --follow, the batcher encoding
// and gzipping each batch, to a sink that counts the events. In the same run it ships
// the same messages as lines of a file (the Tailer), so that the two read as a ratio.
// It reports lines per CPU-second of the agent process (its own getrusage, user+sys),
// lines per CPU-second with journalctl's CPU added (RUSAGE_CHILDREN: reading the
// journal costs that too), journalctl's share, the file's lines per agent CPU-second,
// and the journal's CPU per line over the file's. The Go code runs on one processor,
// as the agent does (cli's agentProcs); journalctl is another process.
// Run: go test -run '^$' -bench Journal -benchtime 1x -count 5 ./internal/logship/
func BenchmarkJournalLinesPerCPUSecond(b *testing.B) {
	_, journalctl := journaltest.Tools(b)
	dir := b.TempDir()
	jdir := filepath.Join(dir, "journal")
	entries := benchJournalEntries(benchJournalLines, time.Now().Add(-time.Hour))
	journaltest.Write(b, jdir, "system.journal", entries...)
	logPath := filepath.Join(dir, "app.log")
	f, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for _, e := range entries {
		w.WriteString(e.Message + "\n")
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	entries = nil
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))

	var jSelf, jChild, fSelf, jWall time.Duration
	b.ResetTimer()
	for i := range b.N {
		self, child, wall := benchShipJournal(b, jdir, journalctl, filepath.Join(dir, fmt.Sprintf("state-j%d", i)))
		jSelf += self
		jChild += child
		jWall += wall
		b.StopTimer()
		fSelf += benchShipFile(b, logPath, filepath.Join(dir, fmt.Sprintf("state-f%d", i)))
		b.StartTimer()
	}
	n := float64(b.N) * benchJournalLines
	if jSelf <= 0 || fSelf <= 0 {
		return // no rusage
	}
	b.ReportMetric(n/jSelf.Seconds(), "journal-lines/agent-CPU-s")
	b.ReportMetric(n/(jSelf+jChild).Seconds(), "journal-lines/CPU-s-with-journalctl")
	b.ReportMetric(100*jChild.Seconds()/(jSelf+jChild).Seconds(), "journalctl-%-of-CPU")
	b.ReportMetric(n/fSelf.Seconds(), "file-lines/agent-CPU-s")
	b.ReportMetric((jSelf+jChild).Seconds()/fSelf.Seconds(), "journal-CPU/file-CPU")
	b.ReportMetric(n/jWall.Seconds(), "journal-lines/s")
}

// benchShipJournal ships every entry of the journal directory jdir through a
// journalReader (as NewShipper makes it) and a Batcher to a counting sink, and returns
// the agent's CPU, journalctl's and the wall time until every event was stored and
// journalctl had ended.
func benchShipJournal(b *testing.B, jdir, journalctl, state string) (self, child, wall time.Duration) {
	b.Helper()
	je := config.Journal{Priority: "info", Directory: jdir, StartAt: "beginning",
		LogGroupName: "/stackhand/bench", LogStreamName: "i-0123456789abcdef0/journal", Compression: "gzip"}
	rc, err := newRecordConfig(config.LogFile{Encoding: config.EncodingUTF8}, nil)
	if err != nil {
		b.Fatal(err)
	}
	sink := &countingLogs{}
	var j *journalReader
	bt := NewBatcher(BatcherOptions{Client: sink, Acker: ackerFunc(func(src SourceID, off int64) { j.Ack(src, off) }), Clock: clock.Real{}})
	rctx, stopRead := context.WithCancel(context.Background())
	bctx, stopBatch := context.WithCancel(context.Background())
	var read atomic.Int64
	j = &journalReader{name: "logs.journald[0]", entry: je, key: StreamKey{Group: je.LogGroupName, Stream: je.LogStreamName},
		src: SourceID(lastSourceID.Add(1)), rc: rc, ckp: journalCheckpointFile(state, je), clk: clock.Real{}, log: zap.NewNop(),
		exe: func() (string, error) { return journalctl, nil },
		put: func(ctx context.Context, k StreamKey, ev Event) error {
			err := bt.Put(ctx, k, ev)
			if read.Add(1) == benchJournalLines {
				// Everything is read: journalctl is stopped, and the batcher sends
				// what it holds at once rather than after the flush interval.
				stopRead()
				stopBatch()
			}
			return err
		}}
	j.pos.clk, j.pos.save = clock.Real{}, j.writeCheckpoint
	timeout := time.AfterFunc(benchShipTimeout, func() { stopRead(); stopBatch() })
	defer timeout.Stop()

	runtime.GC()
	s0, c0, start := processCPU(), childrenCPU(), time.Now()
	batched := make(chan error, 1)
	go func() { batched <- bt.Run(bctx) }()
	if err := j.Run(rctx); err != nil {
		b.Fatal(err)
	}
	if err := <-batched; err != nil {
		b.Fatal(err)
	}
	j.SyncCheckpoint()
	self, child, wall = processCPU()-s0, childrenCPU()-c0, time.Since(start)
	if got := sink.events.Load(); got != benchJournalLines {
		b.Fatalf("the sink stored %d events of %d (read %d); journal status %+v", got, benchJournalLines, read.Load(), j.Status())
	}
	return self, child, wall
}

// benchShipFile ships the lines of the file at path through a Tailer (as NewShipper
// makes it: putValid, Idle, a checkpoint directory) and a Batcher to a counting sink,
// and returns the agent's CPU until every line was stored.
func benchShipFile(b *testing.B, path, state string) time.Duration {
	b.Helper()
	sink := &countingLogs{}
	var tl *Tailer
	bt := NewBatcher(BatcherOptions{Client: sink, Acker: ackerFunc(func(src SourceID, off int64) { tl.Ack(src, off) }), Clock: clock.Real{}})
	rctx, stopRead := context.WithCancel(context.Background())
	bctx, stopBatch := context.WithCancel(context.Background())
	var read atomic.Int64
	from := true
	key := StreamKey{Group: "/stackhand/bench", Stream: "i-0123456789abcdef0/app"}
	tl, err := NewTailer(TailerOptions{
		File: config.LogFile{FilePath: path, FromBeginning: &from, Encoding: config.EncodingUTF8,
			LogGroupName: key.Group, LogStreamName: key.Stream, Compression: "gzip"},
		Stream: func(string) StreamKey { return key },
		Put: func(ctx context.Context, k StreamKey, ev Event) error {
			err := bt.putValid(ctx, k, ev)
			if read.Add(1) == benchJournalLines {
				stopRead()
				stopBatch()
			}
			return err
		},
		Idle: bt.Idle, CheckpointDir: state, Clock: clock.Real{}, Log: zap.NewNop(),
	})
	if err != nil {
		b.Fatal(err)
	}
	timeout := time.AfterFunc(benchShipTimeout, func() { stopRead(); stopBatch() })
	defer timeout.Stop()

	runtime.GC()
	s0 := processCPU()
	batched := make(chan error, 1)
	go func() { batched <- bt.Run(bctx) }()
	if err := tl.Run(rctx); err != nil {
		b.Fatal(err)
	}
	if err := <-batched; err != nil {
		b.Fatal(err)
	}
	self := processCPU() - s0
	if got := sink.events.Load(); got != benchJournalLines {
		b.Fatalf("the sink stored %d lines of %d (read %d)", got, benchJournalLines, read.Load())
	}
	return self
}
