package report

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/stackhand/stackhand/internal/atomicfile"
)

// LocalSink is mode local's sink: JSON-lines files in local.dir that a developer (or a
// test) reads.
//
//	events.jsonl          one contract.Detail per line (events, health verdicts, alarm changes)
//	metrics.jsonl         one line per datum: {"namespace", "name", "unit", "dims", "time", ...}
//	instance-health.jsonl one line per "mark Unhealthy" call
//	alarm.json            the heartbeat alarm as it would be in CloudWatch; absent when deleted
type LocalSink struct {
	Dir string
	mu  sync.Mutex
}

// LocalDatum is a metrics.jsonl line.
type LocalDatum struct {
	Namespace      string            `json:"namespace"`
	Name           string            `json:"name"`
	Unit           string            `json:"unit"`
	Dims           map[string]string `json:"dims,omitempty"`
	Time           time.Time         `json:"time"`
	Value          *float64          `json:"value,omitempty"`
	Min            *float64          `json:"min,omitempty"`
	Max            *float64          `json:"max,omitempty"`
	Sum            *float64          `json:"sum,omitempty"`
	Count          *float64          `json:"count,omitempty"`
	HighResolution bool              `json:"high_resolution,omitempty"`
}

// LocalAlarm is alarm.json.
type LocalAlarm struct {
	Name              string            `json:"name"`
	Description       string            `json:"description"`
	Namespace         string            `json:"namespace"`
	Metric            string            `json:"metric"`
	Dims              map[string]string `json:"dims"`
	PeriodSeconds     int               `json:"period_seconds"`
	EvaluationPeriods int               `json:"evaluation_periods"`
	TreatMissingData  string            `json:"treat_missing_data"`
	Actions           []string          `json:"actions"`
}

func dimMap(ds []Dim) map[string]string {
	if len(ds) == 0 {
		return nil
	}
	m := make(map[string]string, len(ds))
	for _, d := range ds {
		m[d.Name] = d.Value
	}
	return m
}

// PutMetrics appends the data to metrics.jsonl.
func (s *LocalSink) PutMetrics(_ context.Context, namespace string, data []Datum) error {
	lines := make([]any, 0, len(data))
	for _, d := range data {
		l := LocalDatum{Namespace: namespace, Name: d.Name, Unit: d.Unit, Dims: dimMap(d.Dims), Time: d.Time.UTC(),
			HighResolution: d.HighResolution}
		if d.Count > 0 {
			l.Min, l.Max, l.Sum, l.Count = &d.Min, &d.Max, &d.Sum, &d.Count
		} else {
			l.Value = &d.Value
		}
		lines = append(lines, l)
	}
	return s.appendLines("metrics.jsonl", lines)
}

// EnsureAlarm writes alarm.json when it differs from spec.
func (s *LocalSink) EnsureAlarm(_ context.Context, spec AlarmSpec) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := LocalAlarm{Name: spec.Name, Description: spec.Description, Namespace: spec.Namespace, Metric: spec.Metric,
		Dims: dimMap(spec.Dims), PeriodSeconds: int(spec.Period / time.Second), EvaluationPeriods: spec.EvaluationPeriods,
		TreatMissingData: "breaching", Actions: spec.Actions}
	if want.Actions == nil {
		want.Actions = []string{}
	}
	path := filepath.Join(s.Dir, "alarm.json")
	change := "created"
	if b, err := os.ReadFile(path); err == nil {
		var have LocalAlarm
		if json.Unmarshal(b, &have) == nil && reflect.DeepEqual(have, want) {
			return "", nil
		}
		change = "updated"
	}
	b, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		return "", err
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o640); err != nil {
		return "", err
	}
	return change, nil
}

// DeleteAlarm removes alarm.json.
func (s *LocalSink) DeleteAlarm(context.Context, string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := os.Remove(filepath.Join(s.Dir, "alarm.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// SetUnhealthy appends the call to instance-health.jsonl.
func (s *LocalSink) SetUnhealthy(_ context.Context, instanceID string) error {
	return s.appendLines("instance-health.jsonl", []any{map[string]any{
		"time": time.Now().UTC(), "instance_id": instanceID, "health_status": "Unhealthy", "should_respect_grace_period": true}})
}

// Publish appends the notifications' details to events.jsonl.
func (s *LocalSink) Publish(_ context.Context, ns []Notification) error {
	lines := make([]any, len(ns))
	for i := range ns {
		lines[i] = ns[i].Detail()
	}
	return s.appendLines("events.jsonl", lines)
}

// appendLines writes every line in one write, so a reader never sees half a batch.
func (s *LocalSink) appendLines(name string, lines []any) error {
	var buf []byte
	for _, l := range lines {
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		buf = append(append(buf, b...), '\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(s.Dir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
