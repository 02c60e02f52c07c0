package benchmark

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
)

// StandaloneOptions controls RunStandalone. The zero value writes no files, logs
// nothing and reports no progress.
type StandaloneOptions struct {
	// OutDir, when set, receives metrics.json and table.md (created if missing).
	OutDir string
	// Log receives the stage's log lines; nil discards them.
	Log *log.Logger
	// Progress receives a report per block of timed runs; may be nil.
	Progress stages.Progress
	// JSON prints the metrics as JSON (metrics.json's content) instead of
	// the markdown table.
	JSON bool
}

// RunStandalone runs the benchmark stage without a recipe (`szrun bench`): models
// maps names to model paths, params holds the stage's other parameters as a
// recipe would give them (batch_sizes as []any{1, 8}, duration as "10s", ...;
// relative paths resolve against the working directory). It prints the markdown
// table (or, with JSON, the metrics) to w and returns the metrics. Parameter errors are stages.ParamErrors
// (a usage error for the CLI).
func RunStandalone(ctx context.Context, models map[string]string, params map[string]any, w io.Writer, o StandaloneOptions) (*Metrics, error) {
	// Every model's session in one ONNX Runtime worker, as in a recipe's stage.
	ctx, release := runtime.WithWorker(ctx, runtime.WorkerOptions{})
	defer release()
	st := New()
	values := make(map[string]any, len(params)+1)
	for k, v := range params {
		values[k] = v
	}
	ms := make(map[string]any, len(models))
	for k, v := range models {
		ms[k] = v
	}
	values["models"] = ms
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("benchmark: %w", err)
	}
	coerced, err := st.Spec().Coerce(values, stages.CoerceOptions{BaseDir: cwd, CheckPaths: true})
	if err != nil {
		return nil, err
	}
	// models is a free map for the engine; resolve its relative paths here.
	for k, v := range ms {
		if p, ok := v.(string); ok && p != "" && !filepath.IsAbs(p) {
			ms[k] = filepath.Join(cwd, p)
		}
	}
	coerced["models"] = ms
	if o.Log == nil {
		o.Log = log.New(io.Discard)
	}
	in := &stages.Input{Instance: "bench", Params: coerced, WorkDir: o.OutDir, Log: o.Log, Progress: o.Progress}
	m, err := st.run(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("benchmark: %w", err)
	}
	if o.OutDir != "" {
		if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
			return nil, fmt.Errorf("benchmark: %w", err)
		}
		if err := write(m, o.OutDir); err != nil {
			return nil, fmt.Errorf("benchmark: %w", err)
		}
	}
	if o.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(m); err != nil {
			return nil, fmt.Errorf("benchmark: print metrics: %w", err)
		}
		return m, nil
	}
	if _, err := io.WriteString(w, m.Table()); err != nil {
		return nil, fmt.Errorf("benchmark: print table: %w", err)
	}
	return m, nil
}
