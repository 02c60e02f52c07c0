package prune

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/stages"
)

// runStage coerces with against the Spec, as the engine does, and runs the stage.
func runStage(t *testing.T, with map[string]any) (*stages.Output, error) {
	t.Helper()
	out, _, err := runStageIn(t, with)
	return out, err
}

// runStageIn is runStage that also returns the work dir.
func runStageIn(t *testing.T, with map[string]any) (*stages.Output, string, error) {
	t.Helper()
	s := New()
	params, err := s.Spec().Coerce(with, stages.CoerceOptions{})
	if err != nil {
		t.Fatalf("coerce %v: %v", with, err)
	}
	for _, k := range []string{"model", "data"} {
		if v, ok := params[k].(string); ok && !filepath.IsAbs(v) {
			abs, _ := filepath.Abs(v)
			params[k] = abs
		}
	}
	in := &stages.Input{Instance: "prune", Params: params, WorkDir: t.TempDir()}
	out, err := s.Run(context.Background(), in)
	return out, in.WorkDir, err
}

func TestStageMagnitudeDigits(t *testing.T) {
	testenv.RequireORT(t)
	out, err := runStage(t, map[string]any{"model": digitsModel, "amount": 0.3, "data": digitsTest})
	if err != nil {
		t.Fatal(err)
	}
	checkModel(t, out.Files["model"])
	v := out.Values
	if sp := v["sparsity"].(float64); sp < 0.299 || sp > 0.301 {
		t.Errorf("sparsity %v, want 0.3", sp)
	}
	ls := v["layer_sparsity"].(map[string]any)
	if len(ls) != 4 {
		t.Errorf("layer_sparsity %v: want conv1, conv2, fc1, fc2", ls)
	}
	if v["params_before"] != v["params_after"] {
		t.Errorf("magnitude pruning changed the parameter count: %v -> %v", v["params_before"], v["params_after"])
	}
	acc, drop := v["accuracy"].(float64), v["accuracy_drop"].(float64)
	if acc < 0.95 || drop > 0.04 {
		t.Errorf("accuracy %v (drop %v) after 30%% magnitude pruning", acc, drop)
	}
	b, err := os.ReadFile(out.Files["report"])
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report: %v", err)
	}
	if len(rep.Steps) != 1 || rep.Steps[0].Verified != "data" {
		t.Errorf("report steps %+v", rep.Steps)
	}
	// Zeros do not make the file or the run smaller; they compress.
	before, after := v["compressed_size_before"].(int64), v["compressed_size_after"].(int64)
	t.Logf("zstd of the weights: %d -> %d bytes; file %v -> %v", before, after, v["size_before"], v["size_after"])
	if after >= before*9/10 {
		t.Errorf("compressed size %d -> %d: 30%% zeros should compress by more than 10%%", before, after)
	}
	if !strings.Contains(rep.Note, "runs at the original's speed") {
		t.Errorf("report note %q: want it to say zeros buy no speed", rep.Note)
	}
}

func TestStageBadInput(t *testing.T) {
	cases := []struct {
		name string
		with map[string]any
		want string
	}{
		{"amount too big", map[string]any{"amount": 1.0}, "amount 1: must be in [0, 1)"},
		{"amount negative", map[string]any{"amount": -0.1}, "amount -0.1: must be in [0, 1)"},
		{"amount missing", map[string]any{}, "amount: required for strategy magnitude"},
		{"exclude unknown", map[string]any{"amount": 0.1, "exclude": []any{"conv1.weigth"}},
			`exclude: no node or initializer named "conv1.weigth" (did you mean "conv1.weight"?)`},
		{"pattern", map[string]any{"strategy": "n:m", "pattern": "4:2"}, `pattern "4:2": want "N:M" with 0 < N < M`},
		{"pattern text", map[string]any{"strategy": "n:m", "pattern": "2-4"}, `pattern "2-4"`},
		{"schedule decreasing", map[string]any{"schedule": []any{0.2, 0.1}}, "schedule [0.2 0.1]: must be increasing, but schedule[1] = 0.1 follows 0.2"},
		{"schedule range", map[string]any{"schedule": []any{0.5, 1.0}}, "schedule [0.5 1]: schedule[1] 1: must be in [0, 1)"},
		{"schedule and amount", map[string]any{"schedule": []any{0.1}, "amount": 0.2}, "give one of them"},
		{"op type", map[string]any{"amount": 0.1, "op_types": []any{"LSTM"}}, `op_types: "LSTM" is not supported`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			with := map[string]any{"model": digitsModel}
			for k, v := range c.with {
				with[k] = v
			}
			out, dir, err := runStageIn(t, with)
			if err == nil {
				t.Fatalf("no error; outputs %v", out.Files)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, c.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) > 0 {
				t.Errorf("bad input still wrote %d entries into the work dir", len(ents))
			}
		})
	}
}

func TestStageSchedule(t *testing.T) {
	testenv.RequireORT(t)
	cases := []struct {
		strategy string
		data     string
	}{
		{Magnitude, digitsTest},
		{Structured, digitsTest},
		{Random, ""},
	}
	for _, c := range cases {
		t.Run(c.strategy, func(t *testing.T) {
			with := map[string]any{"model": digitsModel, "strategy": c.strategy, "schedule": []any{0.1, 0.2, 0.3}}
			if c.data != "" {
				with["data"] = c.data
			}
			if c.strategy == Structured {
				// The digits CNN's layers have 16 to 64 channels: blocks of
				// 16 would leave a 10% step nothing to remove.
				with["channel_multiple"] = int64(8)
			}
			out, err := runStage(t, with)
			if err != nil {
				t.Fatal(err)
			}
			ents, err := os.ReadDir(out.Files["models"])
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
				checkModel(t, filepath.Join(out.Files["models"], e.Name()))
			}
			if strings.Join(names, " ") != "0.1.onnx 0.2.onnx 0.3.onnx" {
				t.Errorf("models %v", names)
			}
			if filepath.Base(out.Files["model"]) != "0.3.onnx" {
				t.Errorf("model %s: want the last step", out.Files["model"])
			}
			steps := out.Values["steps"].(map[string]any)
			prev := -1.0
			for _, l := range []string{"0.1", "0.2", "0.3"} {
				sv := steps[l].(map[string]any)
				sp := sv["sparsity"].(float64)
				if sp <= prev {
					t.Errorf("step %s: sparsity %v after %v", l, sp, prev)
				}
				prev = sp
				if c.data != "" {
					if _, ok := sv["accuracy"]; !ok {
						t.Errorf("step %s: no accuracy: %v", l, sv)
					}
				}
			}
			if c.strategy == Structured {
				if out.Values["params_after"].(int64) >= out.Values["params_before"].(int64) {
					t.Errorf("structured: params %v -> %v", out.Values["params_before"], out.Values["params_after"])
				}
				if out.Values["size_after"].(int64) >= out.Values["size_before"].(int64) {
					t.Errorf("structured: size %v -> %v", out.Values["size_before"], out.Values["size_after"])
				}
			} else if math.Abs(prev-0.3) > 0.001 {
				t.Errorf("final sparsity %v, want 0.3", prev)
			}
		})
	}
}

func TestStageNM(t *testing.T) {
	testenv.RequireORT(t)
	out, err := runStage(t, map[string]any{"model": resnetModel, "strategy": "n:m", "pattern": "2:4"})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(out.Files["model"]) != "2-4.onnx" {
		t.Errorf("model file %s", out.Files["model"])
	}
	checkModel(t, out.Files["model"])
	// The 3-channel stem stays dense, the rest is exactly half zeros.
	if sp := out.Values["sparsity"].(float64); sp < 0.49 || sp > 0.5 {
		t.Errorf("sparsity %v", sp)
	}
	if s := out.Values["steps"].(map[string]any); s["2:4"] == nil {
		t.Errorf("steps %v: want the label 2:4", s)
	}
}

func TestStageStructuredCompensated(t *testing.T) {
	testenv.RequireORT(t)
	out, err := runStage(t, map[string]any{"model": digitsModel, "strategy": "structured", "amount": 0.3,
		"scope": "layer", "allocation": "uniform", "channel_multiple": int64(1), "data": digitsTest, "calibration": "../../examples/data/digits_calib.npz"})
	if err != nil {
		t.Fatal(err)
	}
	checkModel(t, out.Files["model"])
	b, err := os.ReadFile(out.Files["report"])
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	res := rep.Steps[0].Result
	if res.Compensated != 3 || res.RemovedChannels != 34 || len(res.Groups) != 4 {
		t.Errorf("compensated %d layers, removed %d channels in %d groups: want 3, 34 (5+10+19), 4",
			res.Compensated, res.RemovedChannels, len(res.Groups))
	}
	if acc := out.Values["accuracy"].(float64); acc < 0.95 {
		t.Errorf("accuracy %v after compensated 30%% structured pruning", acc)
	}
	if out.Values["removed_channels"].(int64) != 34 {
		t.Errorf("removed_channels %v", out.Values["removed_channels"])
	}
}

// TestStageSensitivityDefault: structured pruning with data allocates by
// sensitivity unless told otherwise, and the report gives each layer's
// sensitivity and what it lost.
func TestStageSensitivityDefault(t *testing.T) {
	testenv.RequireORT(t)
	out, err := runStage(t, map[string]any{"model": digitsModel, "strategy": "structured", "amount": 0.4,
		"channel_multiple": int64(1), "data": digitsTest, "calibration": digitsCalib})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out.Files["report"])
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	res := rep.Steps[0].Result
	if res.Allocation != Sensitivity {
		t.Errorf("allocation %q with data, want sensitivity", res.Allocation)
	}
	for _, l := range res.Layers {
		if l.Node == "logits" || l.Name == "fc2.weight" {
			continue // the classifier's outputs are the graph's: pinned
		}
		if l.Sensitivity == nil {
			t.Errorf("layer %s: no sensitivity in the report", l.Name)
			continue
		}
		t.Logf("%s: sensitivity %.4g, lost %.1f%% of its weights", l.Name, *l.Sensitivity, 100*l.Sparsity)
	}
	if acc := out.Values["accuracy"].(float64); acc < 0.97 {
		t.Errorf("accuracy %v after 40%% structured pruning by sensitivity", acc)
	}
	if _, err := runStage(t, map[string]any{"model": digitsModel, "strategy": "structured", "amount": 0.4, "allocation": "sensitivity"}); err == nil ||
		!strings.Contains(err.Error(), "allocation sensitivity: give data or calibration") {
		t.Errorf("sensitivity without data: %v", err)
	}
}

// TestStageTarget: target replaces amount; the stage times candidates side
// by side and keeps the smallest amount that reached the speedup. Times are
// not asserted (a shared machine), only the search's own logic: the chosen
// amount's trial reached the target, every smaller trial did not, and an
// unreachable target fails with what was reached.
func TestStageTarget(t *testing.T) {
	testenv.RequireORT(t)
	out, err := runStage(t, map[string]any{"model": resnetModel, "strategy": "structured",
		"target": map[string]any{"speedup": 1.1}, "threads": int64(2)})
	if err != nil {
		t.Fatal(err)
	}
	checkModel(t, out.Files["model"])
	b, err := os.ReadFile(out.Files["report"])
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	amount, speedup := out.Values["amount"].(float64), out.Values["speedup"].(float64)
	t.Logf("chose amount %v at %.2fx; trials %+v", amount, speedup, rep.Trials)
	if rep.Target == nil || rep.Target.Speedup != 1.1 || speedup < 1.1 || amount <= 0 {
		t.Errorf("target %+v: chose amount %v at speedup %v", rep.Target, amount, speedup)
	}
	// The chosen amount's timing: structure, never times.
	if s := rep.Speed; s == nil || !(s.BeforeMS > 0 && s.AfterMS > 0 && s.SpeedupLow <= s.Speedup && s.Speedup <= s.SpeedupHigh) ||
		s.Speedup != speedup || out.Values["speedup_low"] != s.SpeedupLow || out.Values["speedup_high"] != s.SpeedupHigh || s.Runs != 36 {
		t.Errorf("speed %+v, values %v", rep.Speed, out.Values)
	}
	if !New().ExclusiveFor(map[string]any{"model": resnetModel, "strategy": "structured", "target": map[string]any{"speedup": 1.1}}) ||
		New().ExclusiveFor(map[string]any{"model": resnetModel, "strategy": "structured", "amount": 0.3}) {
		t.Error("prune needs the machine alone with a target and only then")
	}
	for _, tr := range rep.Trials {
		if !(tr.SpeedupLow <= tr.Speedup && tr.Speedup <= tr.SpeedupHigh) {
			t.Errorf("trial %+v: interval does not bracket the speedup", tr)
		}
		if tr.Amount < amount && tr.Speedup >= 1.1 {
			t.Errorf("amount %v reached %.2fx but %v was chosen", tr.Amount, tr.Speedup, amount)
		}
	}
	if _, err := runStage(t, map[string]any{"model": digitsModel, "strategy": "structured",
		"target": map[string]any{"speedup": 1000}, "channel_multiple": int64(8)}); err == nil || !strings.Contains(err.Error(), "target speedup 1000.00 not reached") {
		t.Errorf("unreachable target: %v", err)
	}
	for _, c := range []struct {
		with map[string]any
		want string
	}{
		{map[string]any{"strategy": "structured", "target": map[string]any{"speedup": 0.9}}, "target.speedup 0.9: want a number above 1"},
		{map[string]any{"strategy": "structured", "target": map[string]any{"speed": 1.3}}, `target: unknown key "speed"`},
		{map[string]any{"strategy": "structured", "amount": 0.3, "target": map[string]any{"speedup": 1.3}}, "give target or amount/schedule, not both"},
		{map[string]any{"strategy": "magnitude", "target": map[string]any{"speedup": 1.3}}, "only strategy structured makes a model faster"},
	} {
		c.with["model"] = digitsModel
		if _, err := runStage(t, c.with); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.with, err, c.want)
		}
	}
}

// TestStageChecksDataFiles: data and calibration files are checked against
// the model before any pruning, naming the parameter and the arrays, and
// nothing is written (the transform harness's transform.Data).
func TestStageChecksDataFiles(t *testing.T) {
	testenv.RequireORT(t)
	encoder := "../../examples/data/encoder_inputs.npz"
	for _, c := range []struct {
		param string
		with  map[string]any
	}{
		{"data", map[string]any{"data": encoder}},
		{"calibration", map[string]any{"data": digitsTest, "calibration": encoder}},
	} {
		with := map[string]any{"model": digitsModel, "strategy": "structured", "amount": 0.2, "channel_multiple": int64(1)}
		for k, v := range c.with {
			with[k] = v
		}
		_, dir, err := runStageIn(t, with)
		if ents, _ := os.ReadDir(dir); len(ents) > 0 {
			t.Errorf("%s: work dir holds %d entries after failing", c.param, len(ents))
		}
		for _, w := range []string{"parameter " + c.param, "encoder_inputs.npz", `missing "input"`, `unknown "input_ids"`} {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v does not say %q", c.param, err, w)
			}
		}
	}
}
