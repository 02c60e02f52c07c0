package transform

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/stages/internal/stats"
)

// Speed times the digits CNN beside its extended-optimized form in the
// worker: every median is positive and inside its interval, the first
// model's speedup is exactly 1, and the report of the second brackets its
// speedup. Nothing is asserted about which is faster.
func TestSpeedSideBySide(t *testing.T) {
	testenv.RequireORT(t)
	paths := []string{testenv.Example(t, "models/digits_cnn.onnx"), extendedDigits(t)}
	tm, err := Speed(context.Background(), paths, SpeedOptions{Threads: 1, Runs: 10, BlockRuns: 2, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if tm.Runs != 10 || len(tm.Medians) != 2 || len(tm.Speedups) != 2 {
		t.Fatalf("timing %+v", tm)
	}
	for i, m := range tm.Medians {
		if !(m.Value > 0 && m.Low <= m.Value && m.Value <= m.High) {
			t.Errorf("model %d: median %+v", i, m)
		}
	}
	if s := tm.Speedups[0]; s.Value != 1 || s.Low != 1 || s.High != 1 {
		t.Errorf("the first model against itself: %+v", s)
	}
	r := tm.Report(1)
	if !(r.Speedup > 0 && r.SpeedupLow <= r.Speedup && r.Speedup <= r.SpeedupHigh) || r.Runs != 10 || r.Batch != 1 ||
		r.Confidence != stats.Confidence || r.BeforeMS != tm.Medians[0].Value || r.AfterMS != tm.Medians[1].Value {
		t.Errorf("report %+v", r)
	}
	v := map[string]any{}
	r.Values(v)
	if v["speedup"] != r.Speedup || v["speedup_low"] != r.SpeedupLow || v["speedup_high"] != r.SpeedupHigh {
		t.Errorf("values %v", v)
	}
	var none *SpeedReport
	none.Values(v)
	if v["speedup"] != 0.0 {
		t.Errorf("no timing: values %v", v)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"batch", "threads", "runs", "before_ms", "after_ms", "speedup", "speedup_low", "speedup_high", "unstable"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("speed report has no %q: %s", k, b)
		}
	}
}

// The statistics decide stability: tight, equal blocks are stable; blocks
// spread over a factor of three are not, and say so in a warning, as does a
// slower model.
func TestSpeedUnstable(t *testing.T) {
	tight := stats.Blocks{{1, 1.01}, {0.99, 1}, {1, 1.02}, {1.01, 1}, {1, 0.99}}
	half := stats.Blocks{{0.5, 0.51}, {0.5, 0.49}, {0.5, 0.5}, {0.51, 0.5}, {0.5, 0.5}}
	wild := stats.Blocks{{1, 3}, {0.4, 2}, {3, 1}, {0.5, 0.5}, {2.5, 0.3}}
	if tm := summarize([]stats.Blocks{tight, half}, SpeedOptions{Batch: 1}); tm.Unstable || tm.Report(1).Unstable ||
		tm.Report(1).Speedup < 1.9 || len(tm.Report(1).Warnings("x", "y")) != 0 {
		t.Errorf("tight timing: %+v", tm.Report(1))
	}
	tm := summarize([]stats.Blocks{tight, wild}, SpeedOptions{Batch: 1})
	r := tm.Report(1)
	if !tm.Unstable || !r.Unstable || !slices.ContainsFunc(r.Warnings("x", "y"), func(w string) bool { return strings.Contains(w, "timing unstable") }) {
		t.Errorf("wild timing: %+v", r)
	}
	few := summarize([]stats.Blocks{tight[:2], half[:2]}, SpeedOptions{Batch: 1}).Report(1)
	if w := few.Warnings("x", "y"); !few.Unstable || few.Turns != 2 || len(w) != 1 || !strings.Contains(w[0], "too few") {
		t.Errorf("two turns: %+v, warnings %q", few, w)
	}
	slow := summarize([]stats.Blocks{half, tight}, SpeedOptions{Batch: 1}).Report(1)
	if w := slow.Warnings("pruned model", "original"); len(w) != 1 || !strings.HasPrefix(w[0], "the pruned model is slower than the original at batch 1") {
		t.Errorf("slower model: warnings %q", w)
	}
}
