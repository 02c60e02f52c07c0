package prune

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/charmbracelet/log"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/transform"
)

// A latency target replaces amount: structured pruning searches for the
// smallest amount whose model runs Speedup times faster than the original, so
// it loses as little accuracy as the target allows (with data, the channels
// are also allocated by sensitivity). Each candidate prunes the original
// model and is timed side by side with it by the harness (transform.Speed):
// turns of runs alternate between the two sessions and the speedup is the
// ratio of median run times, so a busy machine's noise hits both alike.

// Target is a latency target.
type Target struct {
	// Speedup is the ratio of run times, original over pruned, to reach (> 1).
	Speedup float64 `json:"speedup"`
	// Batch is the batch size timed (default 1).
	Batch int64 `json:"batch"`
}

// Trial is one amount the search timed: the speedup of medians and its
// confidence interval.
type Trial struct {
	Amount      float64 `json:"amount"`
	Speedup     float64 `json:"speedup"`
	SpeedupLow  float64 `json:"speedup_low"`
	SpeedupHigh float64 `json:"speedup_high"`
	Unstable    bool    `json:"unstable,omitempty"`
	// speed is the trial's timing, for the report of the amount chosen.
	speed *transform.SpeedReport
}

// targetGrid are the amounts tried in turn until one reaches the target;
// bisection then narrows the amount between the last two.
var targetGrid = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}

const (
	targetBisections = 3 // down to 0.0125 between grid points
	// timedRuns of each model per trial, in the harness's turns.
	timedRuns = 36
)

// parseTarget reads the `target` map.
func parseTarget(v map[string]any) (*Target, error) {
	t := &Target{Batch: 1}
	for _, k := range slices.Sorted(maps.Keys(v)) {
		switch k {
		case "speedup":
			f, ok := toFloat(v[k])
			if !ok || !(f > 1) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("target.speedup %v: want a number above 1 (1.3: 30%% faster)", v[k])
			}
			t.Speedup = f
		case "batch":
			f, ok := toFloat(v[k])
			if !ok || f < 1 || f != math.Trunc(f) {
				return nil, fmt.Errorf("target.batch %v: want a whole number of at least 1", v[k])
			}
			t.Batch = int64(f)
		default:
			return nil, fmt.Errorf("target: unknown key %q; valid keys: batch, speedup", k)
		}
	}
	if t.Speedup == 0 {
		return nil, fmt.Errorf("target: speedup is required (target: {speedup: 1.3})")
	}
	return t, nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

// searchAmount finds the smallest structured amount whose pruned m reaches
// t.Speedup over the model file orig. m is not changed.
func searchAmount(ctx context.Context, orig string, m *onnxpb.ModelProto, o Options, t *Target, threads int, logger *log.Logger) (float64, []Trial, error) {
	dir, err := os.MkdirTemp("", "szrun-target-")
	if err != nil {
		return 0, nil, fmt.Errorf("target: %w", err)
	}
	defer os.RemoveAll(dir)
	var trials []Trial
	try := func(a float64) (bool, error) {
		c := proto.Clone(m).(*onnxpb.ModelProto)
		o.Amount = a
		if _, err := Apply(ctx, c, o); err != nil {
			return false, err
		}
		path := filepath.Join(dir, "candidate.onnx")
		if err := onnx.Save(&onnx.Model{Proto: c}, path, onnx.SaveOptions{}); err != nil {
			return false, err
		}
		tm, err := transform.Speed(ctx, []string{orig, path}, transform.SpeedOptions{Batch: t.Batch, Threads: threads, Runs: timedRuns, Seed: 1})
		if err != nil {
			return false, err
		}
		r := tm.Report(1)
		s := r.Speedup
		trials = append(trials, Trial{Amount: a, Speedup: s, SpeedupLow: r.SpeedupLow, SpeedupHigh: r.SpeedupHigh, Unstable: r.Unstable, speed: r})
		logger.Info("target: timed", "amount", stepLabel(a), "speedup", fmt.Sprintf("%.3f [%.3f, %.3f]", s, r.SpeedupLow, r.SpeedupHigh), "want", t.Speedup)
		return s >= t.Speedup, nil
	}
	lo, hi := 0.0, -1.0
	for _, a := range targetGrid {
		ok, err := try(a)
		if err != nil {
			return 0, trials, err
		}
		if ok {
			hi = a
			break
		}
		lo = a
	}
	if hi < 0 {
		best := slices.MaxFunc(trials, func(x, y Trial) int { return cmp.Compare(x.Speedup, y.Speedup) })
		return 0, trials, fmt.Errorf("target speedup %.2f not reached: the best, amount %s, ran %.2fx faster", t.Speedup, stepLabel(best.Amount), best.Speedup)
	}
	for range targetBisections {
		mid := math.Round((lo+hi)/2*1e4) / 1e4
		ok, err := try(mid)
		if err != nil {
			return 0, trials, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, trials, nil
}
