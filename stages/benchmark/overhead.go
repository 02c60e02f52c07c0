package benchmark

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/stats"
)

// OverheadResult compares the benchmark loop's wall-clock timings with ONNX
// Runtime's own account of the same runs.
type OverheadResult struct {
	Runs int `json:"runs"`
	// WallMS is the sum of the loop's per-run timings; ProfiledMS the sum of the
	// profiler's model_run durations for the same runs.
	WallMS     float64 `json:"wall_ms"`
	ProfiledMS float64 `json:"profiled_ms"`
	// Overhead is (WallMS - ProfiledMS) / WallMS: the share of each timed run that
	// is the loop's own (cgo call, binding, clock reads) rather than the model's.
	Overhead float64 `json:"overhead"`
}

// Overhead runs the model at path at batch size batch with random inputs, runs times,
// timed exactly as the stage times them, with ONNX Runtime's profiler on, and
// compares the two. dir receives the profiler's trace.
func Overhead(ctx context.Context, path string, batch int64, runs, threads int, dir string) (*OverheadResult, error) {
	prefix := filepath.Join(dir, "ort_profile")
	s, err := runtime.NewSession(ctx, path, runtime.SessionOptions{IntraOpThreads: threads, ProfilePrefix: prefix})
	if err != nil {
		return nil, fmt.Errorf("overhead of %s: %w", path, err)
	}
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()
	d, err := evaluate.RandomData(s.Inputs(), evaluate.RandomOptions{Samples: batch})
	if err != nil {
		return nil, fmt.Errorf("overhead of %s: %w", path, err)
	}
	inputs, err := evaluate.FirstBatch(d, s.Inputs(), batch)
	if err != nil {
		return nil, fmt.Errorf("overhead of %s: %w", path, err)
	}
	r, err := runtime.NewRunner(ctx, s, inputs)
	if err != nil {
		return nil, fmt.Errorf("overhead of %s: %w", path, err)
	}
	t := &target{runner: r, times: make([]time.Duration, 0, runs)}
	err = runBlock(ctx, t, int64(runs))
	r.Close()
	closed = true
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("overhead of %s: %w", path, err)
	}
	traces, _ := filepath.Glob(prefix + "*.json")
	if len(traces) != 1 {
		return nil, fmt.Errorf("overhead of %s: expected one profile %s*.json, found %d", path, prefix, len(traces))
	}
	durs, err := modelRuns(traces[0])
	if err != nil {
		return nil, fmt.Errorf("overhead of %s: %w", path, err)
	}
	if len(durs) < runs {
		return nil, fmt.Errorf("overhead of %s: profile %s has %d model_run events for %d runs", path, traces[0], len(durs), runs)
	}
	// The Runner's first, shape-learning run comes first; keep the timed ones.
	durs = durs[len(durs)-runs:]
	res := &OverheadResult{Runs: runs}
	for i := range runs {
		res.WallMS += ms(t.times[i])
		res.ProfiledMS += float64(durs[i]) / 1000
	}
	res.Overhead = stats.Ratio(res.WallMS-res.ProfiledMS, res.WallMS)
	return res, nil
}

// traceEvent is one event of ONNX Runtime's Chrome-trace profile (times in µs).
type traceEvent struct {
	Name string `json:"name"`
	TS   int64  `json:"ts"`
	Dur  int64  `json:"dur"`
}

// modelRuns returns the durations (µs) of a profile's model_run events in time order.
func modelRuns(path string) ([]int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	var events []traceEvent
	if err := json.Unmarshal(data, &events); err != nil {
		return nil, fmt.Errorf("parse profile %s: %w", path, err)
	}
	slices.SortStableFunc(events, func(a, b traceEvent) int { return cmp.Compare(a.TS, b.TS) })
	var out []int64
	for _, e := range events {
		if e.Name == "model_run" {
			out = append(out, e.Dur)
		}
	}
	return out, nil
}
