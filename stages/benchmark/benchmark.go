package benchmark

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/internal/atomicfile"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// File names inside the work dir.
const (
	MetricsFile = "metrics.json"
	TableFile   = "table.md"
)

// Run loads and checks every model, warms each up, times them in rotation, and
// writes the metrics and table.
func (s *Stage) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	if in.Log == nil {
		in.Log = log.New(io.Discard)
	}
	m, err := s.run(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("benchmark: %w", err)
	}
	if err := write(m, in.WorkDir); err != nil {
		return nil, fmt.Errorf("benchmark: %w", err)
	}
	return &stages.Output{Files: map[string]string{"metrics": MetricsFile, "table": TableFile}, Values: m.values()}, nil
}

// run does the measuring and returns the metrics; nothing is written.
func (s *Stage) run(ctx context.Context, in *stages.Input) (*Metrics, error) {
	c, err := parse(in)
	if err != nil {
		return nil, &InvalidError{Err: err}
	}
	var data *evaluate.Data
	if c.inputs != "" {
		if data, err = evaluate.LoadData(c.inputs); err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		defer data.Close()
		if err := data.Fix(c.fixed); err != nil {
			return nil, err
		}
	}
	models, err := load(ctx, c, data, in.WorkDir)
	if err != nil {
		return nil, err
	}
	var targets []*target
	defer func() { closeAll(models, targets) }()
	for _, m := range models {
		in.Log.Info("loaded", "model", m.name, "load_ms", fmt.Sprintf("%.1f", ms(m.load)), "size_bytes", m.size)
	}
	if targets, err = prepare(ctx, c, models, data); err != nil {
		return nil, err
	}
	loadBefore := loadAverage()
	if err := measure(ctx, c, targets, in.Report); err != nil {
		return nil, err
	}
	loadAfter := loadAverage()
	gpuName, gpuUse, warn, err := s.sampleGPU(ctx, c, targets)
	if err != nil {
		return nil, err
	}
	m := buildMetrics(c, models, targets, gpuName, gpuUse)
	m.Machine.LoadBefore, m.Machine.LoadAfter = loadBefore, loadAfter
	for _, mm := range models {
		if mm.lifted != "" {
			m.Warnings = append(m.Warnings, mm.lifted)
		}
		if mm.perSample {
			m.Warnings = append(m.Warnings, fmt.Sprintf("models.%s: %s holds complete feeds (the stacked form): each run takes the first as it is, whatever the batch size", mm.name, c.inputs))
		}
	}
	for _, w := range []string{warn, busyWarning(loadBefore, loadAfter, m.Machine.CPUs), governorWarning(m.Machine.Governor)} {
		if w != "" {
			m.Warnings = append(m.Warnings, w)
		}
	}
	for _, w := range m.Warnings {
		in.Log.Warn(w)
	}
	for _, mm := range m.Models {
		for _, r := range mm.Results {
			in.Log.Info("measured", "model", mm.Name, "batch", r.Batch, "p50_ms", fmt.Sprintf("%.3f", r.MedianMS),
				"precision", fmt.Sprintf("±%.1f%%", 100*r.Precision), "p95_ms", fmt.Sprintf("%.3f", r.P95MS), "runs", r.Runs,
				"speedup", SpeedupText(r.Speedup, r.SpeedupLow, r.SpeedupHigh))
		}
	}
	return m, nil
}

// write puts metrics.json and table.md into dir.
func write(m *Metrics, dir string) error {
	if err := atomicfile.WriteJSON(filepath.Join(dir, MetricsFile), m); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, TableFile), []byte(m.Table()))
}

// ErrInvalid marks a parameter problem found before any timing started.
var ErrInvalid = errors.New("invalid benchmark parameters")

// InvalidError wraps a parameter problem; it matches ErrInvalid.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string   { return e.Err.Error() }
func (e *InvalidError) Unwrap() []error { return []error{ErrInvalid, e.Err} }
