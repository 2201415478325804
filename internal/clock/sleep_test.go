package clock

import (
	"context"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	start := time.Unix(0, 0)
	tests := []struct {
		name string
		d    time.Duration
		// run advances the clock or ends the context while Sleep waits.
		run  func(c *Fake, cancel context.CancelFunc)
		want bool
	}{
		{"the clock passes d", time.Second, func(c *Fake, _ context.CancelFunc) { c.Advance(time.Second) }, true},
		{"the context ends first", time.Second, func(c *Fake, cancel context.CancelFunc) {
			c.Advance(time.Second - 1)
			cancel()
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewFake(start)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			got := make(chan bool, 1)
			go func() { got <- Sleep(ctx, c, tt.d) }()
			for c.Pending() == 0 {
				time.Sleep(time.Millisecond)
			}
			tt.run(c, cancel)
			select {
			case g := <-got:
				if g != tt.want {
					t.Errorf("Sleep = %v, want %v", g, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Sleep did not return")
			}
			if n := c.Pending(); n != 0 {
				t.Errorf("%d timers left armed after Sleep returned", n)
			}
		})
	}
}

func TestSleepWithoutWaiting(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	live := context.Background()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want bool
	}{
		{"zero", live, 0, true},
		{"negative", live, -time.Second, true},
		{"zero, context ended", ended, 0, false},
		{"context ended before", ended, time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sleep(tt.ctx, c, tt.d); got != tt.want {
				t.Errorf("Sleep(%v) = %v, want %v", tt.d, got, tt.want)
			}
			if n := c.Pending(); n != 0 {
				t.Errorf("%d timers left armed", n)
			}
		})
	}
}
