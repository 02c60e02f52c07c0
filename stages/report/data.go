package report

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/sentinelzer0/szrun/stages/selectstage"
)

// Data is everything a report shows; any part may be nil.
type Data struct {
	Title      string
	Batch      int64 // the benchmark batch size plotted; 0 = the first
	Benchmark  *selectstage.Benchmark
	Comparison *selectstage.Comparison
	Selection  *selectstage.Selection
	Run        *RunRecord
}

// RunRecord is the part of a run.json the report shows.
type RunRecord struct {
	RunID      string     `json:"run_id"`
	Name       string     `json:"name"`
	Status     string     `json:"status"`
	Started    time.Time  `json:"started"`
	DurationMS int64      `json:"duration_ms"`
	Stages     []RunStage `json:"stages"`
}

// RunStage is one stage instance of a RunRecord.
type RunStage struct {
	Instance   string `json:"instance"`
	Uses       string `json:"uses"`
	Status     string `json:"status"`
	Cached     bool   `json:"cached"`
	DurationMS int64  `json:"duration_ms"`
	Reason     string `json:"reason"`
	Error      string `json:"error"`
}

// ReadRunRecord reads a run.json.
func ReadRunRecord(path string) (*RunRecord, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var r RunRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if r.RunID == "" {
		return nil, fmt.Errorf("read %s: no run_id: not a run record", path)
	}
	return &r, nil
}

// ReadSelection reads a select stage's selection.json.
func ReadSelection(path string) (*selectstage.Selection, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var s selectstage.Selection
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if s.Selected == "" || len(s.Candidates) == 0 {
		return nil, fmt.Errorf("read %s: no selection: not a select report", path)
	}
	return &s, nil
}

// result returns a benchmark model's result at the report's batch size.
func (d *Data) result(m *selectstage.BenchModel) (selectstage.BenchResult, bool) {
	return m.Result(d.Batch)
}

// batch returns the batch size plotted.
func (d *Data) batch() int64 {
	if d.Batch != 0 || d.Benchmark == nil || len(d.Benchmark.Settings.BatchSizes) == 0 {
		return d.Batch
	}
	return d.Benchmark.Settings.BatchSizes[0]
}
