// Package logship ships log files to CloudWatch Logs.
//
// The pipeline, one stage per file:
//
//   - tail.go and friends: a Tailer follows one collect_list entry (a glob): it finds the
//     files (fsnotify plus a rescan), reads each from its checkpoint, follows rename
//     rotation, copytruncate and deletion, and turns bytes into Events (multi-line
//     joining, encoding repair, include/exclude filters, timestamps).
//   - checkpoint.go: one checkpoint per file (device, inode, fingerprint of the first
//     bytes, offset), written atomically when the events before it were acknowledged.
//   - batch.go and friends: a Batcher holds one queue per log stream, cuts batches that
//     obey every PutLogEvents rule, sends them (own JSON encoder, gzip), retries, creates
//     missing groups and streams, and acknowledges what was stored.
//
// The files are the buffer: queues are small and block, so a slow or unreachable service
// makes the tailers wait instead of the agent's memory grow.
package logship

// Event is one log event on its way to a stream.
type Event struct {
	// Time is the event's timestamp in milliseconds since the Unix epoch.
	Time int64
	// Message is the event's text: valid UTF-8, without its trailing newline. It may be
	// longer than CloudWatch accepts; the batcher splits it.
	Message []byte
	// Src names the file generation the event was read from and Offset is the position
	// just after the event in it: acknowledging (Src, Offset) means every byte of that
	// file before Offset is stored.
	Src    SourceID
	Offset int64
}

// SourceID names one opened file (one generation of a path: a rotated file and its
// successor have different ids). A Tailer hands them out; zero means "no file" (the event
// needs no acknowledgement).
type SourceID uint64

// Acker is told, after a batch is stored (or its events set aside for good), how far each
// file it came from may be checkpointed. Ack is called in order per source: offsets only
// grow.
type Acker interface {
	Ack(src SourceID, offset int64)
}

// StreamKey names a log stream.
type StreamKey struct {
	Group  string
	Stream string
}

// MaxEventBytes is the largest event CloudWatch Logs accepts, counted as PutLogEvents
// counts it: the message's UTF-8 bytes plus EventOverhead.
const (
	MaxEventBytes   = 1 << 20
	EventOverhead   = 26
	MaxMessageBytes = MaxEventBytes - EventOverhead
)
