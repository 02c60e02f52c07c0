package builtin

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
)

// TestTransformsShareOneReport runs the four model transforms on the digits
// CNN with labelled data and the speed check on (prune: a latency target),
// and reads each report.json: every one has the harness's shared keys, the
// same verification and speed keys, a speed whose interval brackets its
// speedup and medians above zero (times are never asserted), the values
// speedup, speedup_low and speedup_high, and each stage needs the machine
// alone, and has it in its cache key, exactly when it times.
func TestTransformsShareOneReport(t *testing.T) {
	testenv.RequireORT(t)
	model := testenv.Example(t, "models/digits_cnn.onnx")
	data := testenv.Example(t, "data/digits_test.npz")
	runs := []struct {
		stage  string
		params map[string]any
		quiet  map[string]any // the same without timing
	}{
		{"optimize", map[string]any{"model": model, "data": data, "verify_speed": true, "speed_iterations": 5},
			map[string]any{"model": model}},
		{"fp16", map[string]any{"model": model, "data": data, "verify_speed": true, "speed_iterations": 5},
			map[string]any{"model": model}},
		{"quantize", map[string]any{"model": model, "mode": "int8-dynamic", "speed_iterations": 5, "accuracy": map[string]any{"data": data}},
			map[string]any{"model": model, "verify_speed": false}},
		{"prune", map[string]any{"model": model, "strategy": "structured", "data": data, "target": map[string]any{"speedup": 1.01}, "channel_multiple": 1},
			map[string]any{"model": model, "amount": 0.3}},
	}
	shared := []string{"model", "output", "size_before", "size_after", "size_ratio", "verification", "speed", "warnings"}
	verification := []string{"data", "samples", "max_abs_error", "max_rel_error", "nan", "inf", "accuracy_before", "accuracy", "accuracy_drop", "outputs"}
	speed := []string{"batch", "threads", "runs", "before_ms", "before_low_ms", "before_high_ms", "after_ms", "after_low_ms", "after_high_ms",
		"speedup", "speedup_low", "speedup_high", "confidence", "p_faster", "turns", "unstable"}
	ctx, release := runtime.WithWorker(context.Background(), runtime.WorkerOptions{})
	defer release()
	r := Registry()
	for _, run := range runs {
		t.Run(run.stage, func(t *testing.T) {
			s, _ := r.Lookup(run.stage)
			ef, ok := s.(stages.ExclusiveFor)
			if !ok || !s.Spec().Exclusive || !ef.ExclusiveFor(run.params) || ef.ExclusiveFor(run.quiet) {
				t.Errorf("%s: must run alone when it times and only then", run.stage)
			}
			// A timing is never served to another machine.
			if env, ok := s.(stages.EnvironmentalFor); !s.Spec().Environmental && (!ok || !env.EnvironmentalFor(run.params) || env.EnvironmentalFor(run.quiet)) {
				t.Errorf("%s: the machine must be in the cache key when it times and only then", run.stage)
			}
			if run.stage != "prune" { // one speed_iterations rule (stages.Speed)
				bad := maps.Clone(run.params)
				bad["speed_iterations"] = 0
				pc, ok := s.(interface {
					CheckParams(context.Context, map[string]any, bool) stages.ParamErrors
				})
				bp, err := s.Spec().Coerce(bad, stages.CoerceOptions{})
				if err != nil || !ok {
					t.Fatalf("speed_iterations 0: %v (typed: %v)", err, ok)
				}
				if errs := pc.CheckParams(ctx, bp, false); errs.Err() == nil || !strings.Contains(errs.Error(), "speed_iterations") {
					t.Errorf("speed_iterations 0: %v", errs.Err())
				}
			}
			p, err := s.Spec().Coerce(run.params, stages.CoerceOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out, err := s.Run(ctx, &stages.Input{Instance: run.stage, Params: p, WorkDir: t.TempDir(), Log: log.New(io.Discard)})
			if err != nil {
				if run.stage == "prune" {
					t.Skipf("target not reached on a busy machine: %v", err)
				}
				t.Fatal(err)
			}
			b, err := os.ReadFile(out.Files["report"])
			if err != nil {
				t.Fatal(err)
			}
			var rep map[string]any
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			has := func(what string, m map[string]any, keys []string) {
				for _, k := range keys {
					if _, ok := m[k]; !ok {
						t.Errorf("%s has no %q: %v", what, k, slices.Sorted(maps.Keys(m)))
					}
				}
			}
			has("report", rep, shared)
			v, _ := rep["verification"].(map[string]any)
			has("verification", v, verification)
			sp, _ := rep["speed"].(map[string]any)
			has("speed", sp, speed)
			f := func(k string) float64 { x, _ := sp[k].(float64); return x }
			if !(f("before_ms") > 0 && f("after_ms") > 0 && f("before_low_ms") <= f("before_ms") && f("before_ms") <= f("before_high_ms") &&
				f("speedup_low") <= f("speedup") && f("speedup") <= f("speedup_high")) {
				t.Errorf("speed %v", sp)
			}
			for _, k := range []string{"speedup", "speedup_low", "speedup_high"} {
				if out.Values[k] != sp[k] {
					t.Errorf("value %s %v, report %v", k, out.Values[k], sp[k])
				}
			}
			if rep["model"] != model || out.Values["size_before"] != int64(rep["size_before"].(float64)) {
				t.Errorf("model %v, size_before %v (value %v)", rep["model"], rep["size_before"], out.Values["size_before"])
			}
		})
	}
}
