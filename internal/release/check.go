package release

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/stackhand/stackhand/internal/clock"
)

// Check polls app.Checks.HTTP until it answers 2xx, for at most Checks.Within, a try
// every Checks.Interval. No check configured passes at once. The error says what the
// last try got.
func (m *Manager) Check(ctx context.Context, app App) error {
	c := app.Checks
	if c.HTTP == "" {
		return nil
	}
	within, interval := c.Within, c.Interval
	if within <= 0 {
		within = DefaultWithin
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	client := m.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	clk := m.clock()
	deadline := clk.Now().Add(within)
	var last string
	for tries := 1; ; tries++ {
		left := deadline.Sub(clk.Now())
		// One try may take the interval, at least 5 s, never past the deadline.
		per := max(interval, 5*time.Second)
		per = max(min(per, left), time.Millisecond)
		last = checkOnce(ctx, client, c.HTTP, per)
		if last == "" {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("app %q: check %s: %w (last try: %s)", app.Name, Redact(c.HTTP), ctx.Err(), last)
		}
		if clk.Now().Add(interval).After(deadline) {
			return fmt.Errorf("app %q: check %s did not pass within %s (%d tries; last: %s)", app.Name, Redact(c.HTTP), within, tries, last)
		}
		if !clock.Sleep(ctx, clk, interval) {
			return fmt.Errorf("app %q: check %s: %w (last try: %s)", app.Name, Redact(c.HTTP), ctx.Err(), last)
		}
	}
}

// checkOnce returns "" when url answered 2xx within timeout, else what it got.
func checkOnce(ctx context.Context, client *http.Client, url string, timeout time.Duration) string {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return stripURLError(err).Error()
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return ""
	}
	return resp.Status
}
