package engine

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Event names.
const (
	EventRunStarted    = "run_started"
	EventStageStarted  = "stage_started"
	EventStageLog      = "stage_log"
	EventStageProgress = "stage_progress"
	EventStageFinished = "stage_finished"
	EventOutput        = "output"
	EventRunFinished   = "run_finished"
)

// Stage and run statuses as reported in events, run.json and JUnit.
const (
	StatusSucceeded   = "succeeded"
	StatusCached      = "cached"
	StatusFailed      = "failed"
	StatusSkipped     = "skipped"
	StatusInterrupted = "interrupted"
)

// Event is one thing that happened during a run. `--json` prints each as
// one line.
type Event struct {
	Event      string         `json:"event"`
	Time       time.Time      `json:"time"`
	RunID      string         `json:"run_id,omitempty"`
	Recipe     string         `json:"recipe,omitempty"`
	Stage      string         `json:"stage,omitempty"` // the instance id
	Uses       string         `json:"uses,omitempty"`
	Status     string         `json:"status,omitempty"`
	DurationMS *int64         `json:"duration_ms,omitempty"`
	Key        string         `json:"key,omitempty"`
	CacheHit   string         `json:"cache_hit,omitempty"` // "local" or "remote", for a cached stage
	Outputs    map[string]any `json:"outputs,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Error      string         `json:"error,omitempty"`
	Level      string         `json:"level,omitempty"`
	Message    string         `json:"message,omitempty"`
	Done       int64          `json:"done,omitempty"`
	Total      int64          `json:"total,omitempty"`
	Attempt    int            `json:"attempt,omitempty"`
	Name       string         `json:"name,omitempty"`  // output name
	Path       string         `json:"path,omitempty"`  // materialized output file
	Value      any            `json:"value,omitempty"` // output value
	Counts     map[string]int `json:"counts,omitempty"`
	Stages     int            `json:"stages,omitempty"`
}

// Reporter receives a run's events. Calls may come from several goroutines;
// implementations serialize as they need.
type Reporter interface {
	Report(e Event)
}

type discard struct{}

func (discard) Report(Event) {}

// JSONReporter writes each event as one JSON line.
type JSONReporter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSONReporter returns a reporter writing JSON lines to w.
func NewJSONReporter(w io.Writer) *JSONReporter { return &JSONReporter{w: w} }

// Report writes e as a line.
func (r *JSONReporter) Report(e Event) {
	b, err := json.Marshal(e)
	if err != nil {
		b, _ = json.Marshal(Event{Event: e.Event, Time: e.Time, Stage: e.Stage, Error: "unencodable event: " + err.Error()})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = r.w.Write(append(b, '\n'))
}

// Reporters fans events out to several reporters.
type Reporters []Reporter

// Report forwards e to each reporter.
func (rs Reporters) Report(e Event) {
	for _, r := range rs {
		r.Report(e)
	}
}
