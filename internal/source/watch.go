package source

import (
	"context"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/stackhand/stackhand/internal/clock"
)

// settle is how long a watcher waits after the last change of a file before reading it,
// so that an editor's several writes are read once, whole.
const settle = 50 * time.Millisecond

// watchDir calls read at once, again shortly after any change to a file in dir whose name
// match accepts, and every interval in any case (a safety net for missed notifications
// and the pace of retries). It returns when ctx ends. If dir cannot be watched, it still
// polls every interval and tries to watch again then.
func watchDir(ctx context.Context, clk clock.Clock, dir string, match func(name string) bool, interval time.Duration, read func()) {
	fire := make(chan struct{}, 1)
	kick := func() {
		select {
		case fire <- struct{}{}:
		default:
		}
	}
	var w *fsnotify.Watcher
	var events chan fsnotify.Event
	var errs chan error
	watch := func() {
		if w != nil {
			return
		}
		nw, err := fsnotify.NewWatcher()
		if err != nil {
			return
		}
		if err := nw.Add(dir); err != nil {
			nw.Close()
			return
		}
		w, events, errs = nw, nw.Events, nw.Errors
	}
	defer func() {
		if w != nil {
			w.Close()
		}
	}()
	watch()
	read()

	var debounce clock.Timer
	tick := clk.AfterFunc(interval, kick)
	defer func() {
		tick.Stop()
		if debounce != nil {
			debounce.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				w, events, errs = nil, nil, nil
				continue
			}
			if ev.Name == dir || !match(filepath.Base(ev.Name)) {
				if ev.Has(fsnotify.Remove) && ev.Name == dir {
					w.Close()
					w, events, errs = nil, nil, nil
				}
				continue
			}
			if debounce != nil {
				debounce.Stop()
			}
			debounce = clk.AfterFunc(settle, kick)
		case <-errs:
			// An overflow or a read error: read everything again.
			kick()
		case <-fire:
			watch()
			read()
			tick.Stop()
			tick = clk.AfterFunc(interval, kick)
		}
	}
}

func isName(names ...string) func(string) bool {
	return func(n string) bool { return slices.Contains(names, n) }
}
