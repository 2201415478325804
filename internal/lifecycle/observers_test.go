package lifecycle

import (
	"sync"
	"testing"
	"time"
)

type blocking struct {
	started []string
	wait    <-chan struct{} // ShutdownFinished waits on it
	done    chan<- struct{} // closed by ShutdownFinished
	mu      *sync.Mutex
}

func (b *blocking) ShutdownStarted(cause string, _ time.Time) {
	b.mu.Lock()
	b.started = append(b.started, cause)
	b.mu.Unlock()
}

func (b *blocking) ShutdownFinished(bool) {
	if b.wait != nil {
		<-b.wait
	}
	close(b.done)
}

// Every observer hears of the start, in order, and of the end concurrently: an observer
// that waits on AWS (the alarm's deletion) does not hold back another (the lifecycle
// action's completion) — here the first waits for the second to finish.
func TestObserversTellEachAndFinishConcurrently(t *testing.T) {
	var mu sync.Mutex
	secondDone := make(chan struct{})
	firstDone := make(chan struct{})
	first := &blocking{wait: secondDone, done: firstDone, mu: &mu}
	second := &blocking{done: secondDone, mu: &mu}
	obs := Observers{first, second}
	obs.ShutdownStarted("Terminated", time.Time{})
	obs.ShutdownFinished(true)
	<-firstDone
	if len(first.started) != 1 || len(second.started) != 1 || first.started[0] != "Terminated" {
		t.Errorf("started: %v %v", first.started, second.started)
	}
}

type alarm struct{ terminating, waited int }

func (a *alarm) Terminating() { a.terminating++ }
func (a *alarm) Wait()        { a.waited++ }

// The alarm goes on a termination, never on the operating system's shutdown (a reboot:
// the alarm must outlive the agent); the exit waits for the deletion either way.
func TestAlarmRemovalOnTerminationOnly(t *testing.T) {
	for cause, want := range map[string]int{"system": 0, "Terminated": 1, "spot-interruption": 1} {
		a := &alarm{}
		r := AlarmRemoval{Alarm: a}
		r.ShutdownStarted(cause, time.Time{})
		r.ShutdownFinished(true)
		if a.terminating != want || a.waited != 1 {
			t.Errorf("%s: Terminating %d times (want %d), Wait %d times", cause, a.terminating, want, a.waited)
		}
	}
}
