package logship

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/status"
)

// statusEvery is how often the shipper reports its files and counters for status.
const statusEvery = 10 * time.Second

// DrainGrace bounds how long a stopping shipper goes on reading and sending, so that what
// the last hooks (the shutdown hooks of a terminating instance) wrote is shipped before
// the agent exits.
const DrainGrace = 5 * time.Second

// drainPoll is how often a stopping shipper checks whether everything is shipped.
const drainPoll = 50 * time.Millisecond

// Streams of the agent's own logs.
const (
	AgentStream = "{instance_id}/agent"
	HooksStream = "{instance_id}/hooks"
)

// ShipperOptions configures a Shipper.
type ShipperOptions struct {
	Config   *config.Config
	Instance event.Instance
	// Tags are the instance's tags that {tag:KEY} in a log name reads (read at discovery).
	Tags map[string]string
	// Client is the CloudWatch Logs client (or a stand-in for tests).
	Client LogsClient
	Clock  clock.Clock
	Log    *zap.Logger
	// Status receives the "logs" reporter status every statusEvery; may be nil.
	Status func(status.Component)
	// Hostname is the {hostname} placeholder; os.Hostname when empty.
	Hostname string
	// Location is the time zone of timestamps that name none; time.Local when nil.
	Location *time.Location
	// WinEvents reads the logs.windows_events channels: the host's event log when nil
	// (tests give a fake).
	WinEvents winEventSource
}

// Shipper ships every logs.files entry, plus the agent's own log and the hooks' output
// (log streams {instance_id}/agent and {instance_id}/hooks of the first entry's group),
// through one Batcher.
type Shipper struct {
	o        ShipperOptions
	batcher  *Batcher
	tailers  []*Tailer
	entries  []config.LogFile
	journals []*journalReader
	winev    []*winEventReader

	// comps is each stream's Compression, set by the first entry that reaches it.
	compMu sync.Mutex
	comps  map[StreamKey]streamComp
}

// streamComp is the Compression of a stream and the entry that chose it.
type streamComp struct {
	c      Compression
	entry  string // logs.files[0]
	warned bool   // another entry with another compression was told it loses
}

// NewShipper checks the entries and builds the tailers; it fails only on a config the
// validation should have refused.
func NewShipper(o ShipperOptions) (*Shipper, error) {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	s := &Shipper{o: o}
	entries := append([]config.LogFile(nil), o.Config.Logs.Files...)
	journals := o.Config.Logs.Journald
	winev := o.Config.Logs.WindowsEvents
	if len(entries) == 0 && len(journals) == 0 && len(winev) == 0 {
		return s, nil
	}
	// The agent's own logs go to the first entry's group.
	var firstGroup string
	var firstRetention int
	switch {
	case len(entries) > 0:
		firstGroup, firstRetention = entries[0].LogGroupName, entries[0].RetentionInDays
	case len(journals) > 0:
		firstGroup, firstRetention = journals[0].LogGroupName, journals[0].RetentionInDays
	default:
		firstGroup, firstRetention = winev[0].LogGroupName, winev[0].RetentionInDays
	}
	own := func(path, stream string) config.LogFile {
		t := true
		return config.LogFile{FilePath: path, LogGroupName: firstGroup, LogStreamName: stream,
			RetentionInDays: firstRetention, Encoding: config.EncodingUTF8, FromBeginning: &t,
			Compression: o.Config.Logs.Compression}
	}
	if o.Config.LogDir != "" {
		entries = append(entries,
			own(filepath.Join(o.Config.LogDir, "agent.log"), AgentStream),
			own(filepath.Join(o.Config.LogDir, "hooks", "*", "*.log"), HooksStream))
	}
	s.entries = entries
	for _, e := range entries {
		for _, name := range []string{e.LogGroupName, e.LogStreamName} {
			if m := s.missingTags(name); len(m) > 0 {
				o.Log.Warn("the instance has no tag this log name asks for: the placeholder expands to nothing until the tag is set and the agent restarts",
					zap.String("name", name), zap.Strings("tags", m), zap.String("file_path", e.FilePath))
			}
		}
	}
	retention := map[string]int{}
	for _, e := range entries {
		g := s.expand(e.LogGroupName, "")
		if e.RetentionInDays > 0 && retention[g] == 0 {
			retention[g] = e.RetentionInDays
		}
	}
	for _, j := range journals {
		g := s.expand(j.LogGroupName, "")
		if j.RetentionInDays > 0 && retention[g] == 0 {
			retention[g] = j.RetentionInDays
		}
	}
	for _, w := range winev {
		g := s.expand(w.LogGroupName, "")
		if w.RetentionInDays > 0 && retention[g] == 0 {
			retention[g] = w.RetentionInDays
		}
	}
	comps := make([]Compression, len(entries))
	for i, e := range entries {
		c, err := ParseCompression(e.Compression)
		if err != nil {
			return nil, fmt.Errorf("logs.files[%d] (%s): %w", i, e.FilePath, err)
		}
		comps[i] = c
	}
	s.comps = map[StreamKey]streamComp{}
	s.batcher = NewBatcher(BatcherOptions{Client: o.Client, Acker: s, Clock: o.Clock, Logger: o.Log.Named("batcher"),
		FlushInterval: o.Config.Logs.ForceFlushInterval.D(), Retention: func(k StreamKey) int { return retention[k.Group] },
		Compression: s.compression})
	ckdir := filepath.Join(o.Config.StateDir, "logs")
	for i, e := range entries {
		// The tailer's messages are valid UTF-8 already: no need for Put's check. The
		// tailer names its file_path in every line itself.
		t, err := NewTailer(TailerOptions{File: e, Put: s.batcher.putValid, Idle: s.batcher.Idle, CheckpointDir: ckdir, Clock: o.Clock,
			Log: o.Log.Named("tail"), Location: o.Location,
			Stream: func(path string) StreamKey {
				k := StreamKey{Group: s.expand(e.LogGroupName, path), Stream: s.expand(e.LogStreamName, path)}
				s.noteStream(k, fmt.Sprintf("logs.files[%d]", i), comps[i])
				return k
			}})
		if err != nil {
			return nil, fmt.Errorf("logs.files[%d] (%s): %w", i, e.FilePath, err)
		}
		s.tailers = append(s.tailers, t)
	}
	for i, j := range journals {
		name := fmt.Sprintf("logs.journald[%d]", i)
		c, err := ParseCompression(j.Compression)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		rc, err := newRecordConfig(config.LogFile{Encoding: config.EncodingUTF8, Filters: j.Filters}, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		k := StreamKey{Group: s.expand(j.LogGroupName, ""), Stream: s.expand(j.LogStreamName, "")}
		s.noteStream(k, name, c)
		jr := &journalReader{name: name, entry: j, key: k, src: SourceID(lastSourceID.Add(1)),
			put: s.batcher.Put, rc: rc, ckp: journalCheckpointFile(ckdir, j), clk: o.Clock, log: o.Log.Named("journal"),
			exe: findJournalctl}
		jr.pos.clk, jr.pos.save = o.Clock, jr.writeCheckpoint
		s.journals = append(s.journals, jr)
	}
	events := o.WinEvents
	if events == nil {
		events = systemWinEvents()
	}
	for i, w := range winev {
		name := fmt.Sprintf("logs.windows_events[%d]", i)
		c, err := ParseCompression(w.Compression)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		k := StreamKey{Group: s.expand(w.LogGroupName, ""), Stream: s.expand(w.LogStreamName, "")}
		s.noteStream(k, name, c)
		r, err := newWinEventReader(name, w, k, s.batcher.Put, ckdir, o.Clock, o.Log.Named("winevent"), events)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		s.winev = append(s.winev, r)
	}
	return s, nil
}

// noteStream records that entry i, which sends with c, ships to the stream k. The first
// entry to reach a stream sets its Compression; validation refuses two entries that name
// the same group and stream with different ones, so a later entry with another one can
// only come from placeholders that meet once expanded: it is told, once, that the
// first one's is used.
func (s *Shipper) noteStream(k StreamKey, entry string, c Compression) {
	s.compMu.Lock()
	defer s.compMu.Unlock()
	sc, ok := s.comps[k]
	switch {
	case !ok:
		s.comps[k] = streamComp{c: c, entry: entry}
	case sc.c != c && !sc.warned:
		sc.warned = true
		s.comps[k] = sc
		s.o.Log.Warn("two logs entries ship to one log stream with different compressions; the first entry's is used for the stream",
			zap.String("group", k.Group), zap.String("stream", k.Stream),
			zap.String("used", fmt.Sprintf("%s: %s", sc.entry, sc.c)),
			zap.String("ignored", fmt.Sprintf("%s: %s", entry, c)))
	}
}

// compression is the Batcher's Compression for stream k: the one noteStream recorded,
// logs.compression for a stream no entry reached.
func (s *Shipper) compression(k StreamKey) Compression {
	s.compMu.Lock()
	sc, ok := s.comps[k]
	s.compMu.Unlock()
	if ok {
		return sc.c
	}
	c, _ := ParseCompression(s.o.Config.Logs.Compression)
	return c
}

// expand resolves the placeholders of a group or stream name for the file at path, in
// one pass: what a placeholder expands to is never read as another placeholder. An
// Auto Scaling group's name and a tag's value may hold characters a log group name
// cannot; each of those becomes _. A placeholder it does not know stays as written
// (validate reports it); a tag the instance does not have expands to nothing (NewShipper
// logs it).
func (s *Shipper) expand(name, path string) string {
	if !strings.Contains(name, "{") {
		return name
	}
	in := s.o.Instance
	var b strings.Builder
	config.SplitLogName(name, func(piece string, placeholder bool) {
		if !placeholder {
			b.WriteString(piece)
			return
		}
		switch piece {
		case "{instance_id}":
			b.WriteString(in.InstanceID)
		case "{hostname}", "{local_hostname}":
			b.WriteString(s.o.Hostname)
		case "{ip_address}":
			b.WriteString(in.PrivateIP)
		case "{file_name}":
			b.WriteString(filepath.Base(path))
		case "{stack}":
			b.WriteString(event.StackName(in.Stack))
		case "{asg}":
			b.WriteString(logNameSafe(in.AutoScalingGroup))
		case "{az}":
			b.WriteString(in.AvailabilityZone)
		case "{instance_type}":
			b.WriteString(in.InstanceType)
		case "{region}":
			b.WriteString(in.Region)
		default:
			if key, ok := config.LogNameTag(piece); ok {
				b.WriteString(logNameSafe(s.o.Tags[key]))
			} else {
				b.WriteString(piece)
			}
		}
	})
	return b.String()
}

// logNameSafe replaces each character a log group name cannot hold (CreateLogGroup takes
// [A-Za-z0-9_\-/.#]) with _.
func logNameSafe(v string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("_-/.#", r):
			return r
		}
		return '_'
	}, v)
}

// missingTags returns the {tag:KEY} keys of name the instance has no tag for.
func (s *Shipper) missingTags(name string) []string {
	var missing []string
	for _, k := range config.TagsInLogNames(name) {
		if _, ok := s.o.Tags[k]; !ok {
			missing = append(missing, k)
		}
	}
	return missing
}

// Ack hands the batcher's acknowledgements to the tailer that owns the source; each
// tailer ignores the sources that are not its own.
func (s *Shipper) Ack(src SourceID, offset int64) {
	for _, t := range s.tailers {
		t.Ack(src, offset)
	}
	for _, j := range s.journals {
		j.Ack(src, offset)
	}
	for _, r := range s.winev {
		r.Ack(src, offset)
	}
}

// Run ships until ctx ends. Then the tailers stop reading, the batcher sends what it has
// within its grace, and the checkpoints are written: a restart resumes after the last
// batch the service stored.
func (s *Shipper) Run(ctx context.Context) error {
	if len(s.tailers) == 0 && len(s.journals) == 0 && len(s.winev) == 0 {
		return nil
	}
	batchCtx, stopBatcher := context.WithCancel(context.Background())
	defer stopBatcher()
	batchDone := make(chan error, 1)
	go func() { batchDone <- s.batcher.Run(batchCtx) }()

	tailCtx, stopTailers := context.WithCancel(context.Background())
	defer stopTailers()
	var wg sync.WaitGroup
	errs := make([]error, len(s.tailers))
	for i, t := range s.tailers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = t.Run(tailCtx)
			if errs[i] != nil {
				s.o.Log.Error("cannot follow a logs.files entry", zap.String("file_path", s.entries[i].FilePath), zap.Error(errs[i]))
			}
		}()
	}
	for _, j := range s.journals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = j.Run(tailCtx)
		}()
	}
	for _, r := range s.winev {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.Run(tailCtx)
		}()
	}
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		s.reportUntil(ctx)
	}()
	<-ctx.Done()
	s.drain()
	stopTailers()
	wg.Wait()
	stopBatcher()
	err := <-batchDone
	for _, t := range s.tailers {
		t.SyncCheckpoints()
	}
	for _, j := range s.journals {
		j.SyncCheckpoint()
	}
	for _, r := range s.winev {
		r.SyncCheckpoint()
	}
	<-statusDone
	s.report()
	return errors.Join(append(errs, err)...)
}

// drain waits, at most DrainGrace, until every followed file is acknowledged to its end.
func (s *Shipper) drain() {
	deadline := s.o.Clock.Now().Add(DrainGrace)
	for !s.shipped() && s.o.Clock.Now().Before(deadline) {
		clock.Sleep(context.Background(), s.o.Clock, drainPoll)
	}
}

// shipped reports whether every file the tailers follow is acknowledged up to its
// current size on disk, and every journal entry read is stored.
func (s *Shipper) shipped() bool { return s.unshipped() == 0 && s.journalPending() == 0 }

// journalPending is how many journal entries and Windows events were read and not
// stored yet.
func (s *Shipper) journalPending() int64 {
	var n int64
	for _, j := range s.journals {
		n += j.unshipped()
	}
	for _, r := range s.winev {
		n += r.unshipped()
	}
	return n
}

// unshipped is how many bytes of the followed files are not acknowledged yet, up to
// their current size on disk.
func (s *Shipper) unshipped() int64 {
	var left int64
	for _, t := range s.tailers {
		for _, f := range t.Status() {
			size := f.Size
			if fi, err := os.Stat(f.Path); err == nil && fi.Size() > size {
				size = fi.Size()
			}
			left += max(size-f.Shipped, 0)
		}
	}
	return left
}

// Flush waits while Run goes on, until every followed file is acknowledged up to its
// size on disk or ctx ends, and returns how many bytes were left unshipped: a
// terminating instance's last lines (its shutdown hooks' output, the agent's own log)
// reach CloudWatch Logs before the lifecycle action lets the instance go. A stream that
// is throttled or failing is retried by the batcher meanwhile.
func (s *Shipper) Flush(ctx context.Context) int64 {
	// Files the last hooks created a moment ago are followed first.
	for _, t := range s.tailers {
		t.Rescan(ctx)
	}
	for {
		left := s.unshipped()
		if (left == 0 && s.journalPending() == 0) || !clock.Sleep(ctx, s.o.Clock, drainPoll) {
			s.report()
			return left
		}
	}
}

func (s *Shipper) reportUntil(ctx context.Context) {
	for {
		s.report()
		if !clock.Sleep(ctx, s.o.Clock, statusEvery) {
			return
		}
	}
}

// Status returns the "logs" reporter status: every followed file, the batcher's totals
// and its streams' last errors.
func (s *Shipper) Status() status.Component {
	var h status.Component
	for _, t := range s.tailers {
		h.Files = append(h.Files, t.Status()...)
	}
	sort.SliceStable(h.Files, func(i, j int) bool { return h.Files[i].Path < h.Files[j].Path })
	for _, j := range s.journals {
		h.Journals = append(h.Journals, j.Status())
	}
	for _, r := range s.winev {
		h.WinEvents = append(h.WinEvents, r.Status())
	}
	if s.batcher == nil {
		return h
	}
	c := map[string]int64{}
	var errs []string
	for key, st := range s.batcher.Stats() {
		c["sent"] += st.Sent
		c["batches"] += st.Batches
		c["retries"] += st.Retries
		c["throttled"] += st.Throttled
		c["rejected"] += st.Rejected
		c["set_aside"] += st.SetAside
		c["split"] += st.Split
		c["dropped"] += st.Dropped
		c["pending"] += int64(st.Pending)
		if st.LastError != "" && st.LastErrorAt.After(st.LastOK) {
			errs = append(errs, key.Group+"/"+key.Stream+": "+st.LastError)
			if st.LastErrorAt.After(h.ErrorAt) {
				h.ErrorAt = st.LastErrorAt
			}
		}
		if st.LastOK.After(h.LastOK) {
			h.LastOK = st.LastOK
		}
	}
	var rotated int64
	for _, t := range s.tailers {
		rotated += t.Dropped()
	}
	c["rotated_files_dropped"] = rotated
	sort.Strings(errs)
	h.LastError = strings.Join(errs, "; ")
	h.Counters = c
	return h
}

func (s *Shipper) report() {
	if s.o.Status != nil {
		s.o.Status(s.Status())
	}
}
