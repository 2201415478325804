package lifecycle

import (
	"sync"
	"time"

	"github.com/stackhand/stackhand/internal/event"
)

// Observer is told when the shutdown hooks start and when they end (the engine's
// ShutdownObserver). ShutdownStarted gets the cause: the lifecycle state that caused the
// shutdown (Terminated, spot-interruption) or "system" for the operating system going
// down. ShutdownFinished returns before the agent exits.
type Observer interface {
	// ShutdownStarted gets the shutdown's cause and, for a spot interruption, when the
	// instance stops (zero otherwise).
	ShutdownStarted(cause string, deadline time.Time)
	ShutdownFinished(ok bool)
}

// Observers tells each of its observers; the agent builds the list once it knows the
// instance, before the engine starts.
type Observers []Observer

// ShutdownStarted tells every observer, in order.
func (os Observers) ShutdownStarted(cause string, deadline time.Time) {
	for _, o := range os {
		o.ShutdownStarted(cause, deadline)
	}
}

// ShutdownFinished tells every observer, concurrently: each may wait on AWS (the
// lifecycle action's completion, the alarm's deletion), and the agent exits after all.
func (os Observers) ShutdownFinished(ok bool) {
	var wg sync.WaitGroup
	for _, o := range os {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.ShutdownFinished(ok)
		}()
	}
	wg.Wait()
}

// Alarm is the heartbeat reporter's side of its alarm: Terminating stops the heartbeats
// and deletes the alarm in the background; Wait returns when that is done.
type Alarm interface {
	Terminating()
	Wait()
}

// AlarmRemoval deletes the heartbeat alarm when the instance terminates (any shutdown
// but the operating system's: an alarm left behind would fire on the dead instance's
// silence), and holds the agent's exit until the deletion is done. After a reboot the
// alarm must outlive the agent, so a "system" shutdown keeps it.
type AlarmRemoval struct{ Alarm Alarm }

// ShutdownStarted starts the deletion when cause is a termination.
func (a AlarmRemoval) ShutdownStarted(cause string, _ time.Time) {
	if event.ShutdownCause(cause) != event.CauseSystem {
		a.Alarm.Terminating()
	}
}

// ShutdownFinished waits for the deletion, if one started.
func (a AlarmRemoval) ShutdownFinished(bool) { a.Alarm.Wait() }

// Then tells First, and then Rest, that the shutdown hooks ended: the final flush
// (Flush) is done before the lifecycle action is completed (Action), which goes on
// heartbeating meanwhile. Both hear of the start in that order too.
type Then struct {
	First, Rest Observer
}

// ShutdownStarted tells First, then Rest.
func (t Then) ShutdownStarted(cause string, deadline time.Time) {
	t.First.ShutdownStarted(cause, deadline)
	t.Rest.ShutdownStarted(cause, deadline)
}

// ShutdownFinished waits for First before it tells Rest.
func (t Then) ShutdownFinished(ok bool) {
	t.First.ShutdownFinished(ok)
	t.Rest.ShutdownFinished(ok)
}
