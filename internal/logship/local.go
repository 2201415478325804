package logship

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	"github.com/stackhand/stackhand/internal/awsenv"
)

// LocalLogs is mode local's CloudWatch Logs: each stream is a JSON-lines file,
// <Dir>/<group>/<stream>.jsonl (names path-escaped), one {"timestamp","message"} per
// event, so a developer sees what would be shipped.
type LocalLogs struct {
	Dir string
	mu  sync.Mutex
}

var _ LogsClient = (*LocalLogs)(nil)

func (l *LocalLogs) streamPath(group, stream string) string {
	return filepath.Join(l.Dir, url.PathEscape(group), url.PathEscape(stream)+".jsonl")
}

// PutLogEvents appends the batch the Batcher encoded.
func (l *LocalLogs) PutLogEvents(ctx context.Context, in *awsenv.PutLogEventsInput) (*awsenv.PutLogEventsOutput, error) {
	body := PutLogEventsBody(ctx)
	if body == nil {
		return nil, errors.New("local logs: no batch body in the call")
	}
	var b struct {
		LogEvents []struct {
			Message   string `json:"message"`
			Timestamp int64  `json:"timestamp"`
		} `json:"logEvents"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	var out []byte
	for _, e := range b.LogEvents {
		line, err := json.Marshal(map[string]any{"timestamp": e.Timestamp, "message": e.Message})
		if err != nil {
			return nil, err
		}
		out = append(append(out, line...), '\n')
	}
	path := l.streamPath(in.LogGroupName, in.LogStreamName)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	_, err = f.Write(out)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return &awsenv.PutLogEventsOutput{}, nil
}

// CreateLogGroup makes the group's directory.
func (l *LocalLogs) CreateLogGroup(_ context.Context, in *awsenv.CreateLogGroupInput) error {
	return os.MkdirAll(filepath.Join(l.Dir, url.PathEscape(in.LogGroupName)), 0o750)
}

// CreateLogStream needs nothing: the file is made by the first batch.
func (l *LocalLogs) CreateLogStream(context.Context, *awsenv.CreateLogStreamInput) error {
	return nil
}

// PutRetentionPolicy has nothing to expire locally.
func (l *LocalLogs) PutRetentionPolicy(context.Context, *awsenv.PutRetentionPolicyInput) error {
	return nil
}
