// Package report holds the agent's reporters: what it tells the world besides running
// hooks. notify.go publishes event results; in local mode to a JSON-lines file.
package report

import (
	"encoding/json"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/event"
	"github.com/stackhand/stackhand/internal/state"
)

// Notification is one published event result.
type Notification struct {
	Kind     string         `json:"kind"` // "event"
	Time     time.Time      `json:"time"`
	Instance event.Instance `json:"instance"`
	Event    state.Outcome  `json:"event"`
}

// LocalNotifier appends one JSON line per finished event to a file (local mode's sink).
type LocalNotifier struct {
	Path   string
	Logger *zap.Logger
	mu     sync.Mutex
}

// EventDone appends the outcome. A write failure is logged, never fatal.
func (n *LocalNotifier) EventDone(o state.Outcome, in event.Instance) {
	n.mu.Lock()
	defer n.mu.Unlock()
	b, err := json.Marshal(Notification{Kind: "event", Time: o.End, Instance: in, Event: o})
	if err == nil {
		var f *os.File
		f, err = os.OpenFile(n.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err == nil {
			_, err = f.Write(append(b, '\n'))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
	}
	if err != nil && n.Logger != nil {
		n.Logger.Error("cannot write the event notification", zap.String("path", n.Path), zap.Error(err))
	}
}
