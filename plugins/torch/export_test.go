package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/plugins/sdk"
	"github.com/sentinelzer0/szrun/runtime"
)

func tinyParams(t *testing.T, extra map[string]any) map[string]any {
	p := map[string]any{
		"model":        "tiny:build",
		"python_path":  []any{modules(t)},
		"inputs":       []any{map[string]any{"name": "x", "shape": []any{2, 1, 8, 8}}},
		"outputs":      []any{"logits"},
		"dynamic_axes": map[string]any{"x": []any{0}, "logits": []any{0}},
		"runs":         3,
	}
	for k, v := range extra {
		if v == nil {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	return p
}

func TestExportTiny(t *testing.T) {
	out, work, err := export(t, tinyParams(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := workFiles(t, work); !slices.Equal(got, []string{inputsFile, modelFile, outputsFile}) {
		t.Errorf("work dir holds %v, want only the outputs", got)
	}
	v := out.Values
	if v["torch_version"] == "" || !slices.Equal(v["output_names"].([]any), []any{"logits"}) {
		t.Errorf("values %v", v)
	}
	if e := v["max_abs_error"].(float64); e > 1e-4 {
		t.Errorf("max_abs_error %g", e)
	}
	if v["torch_ms"].(float64) <= 0 || v["ort_ms"].(float64) <= 0 {
		t.Errorf("latencies %v, %v", v["torch_ms"], v["ort_ms"])
	}
	model := out.Files["model"]
	checkModel(t, model)
	// dynamic_axes made the batch symbolic: another batch size runs.
	got := runORT(t, model, map[string][]int64{"x": {5, 1, 8, 8}})
	if got[0].Name != "logits" || !slices.Equal(got[0].Shape, []int64{5, 4}) {
		t.Errorf("batch 5 gives %s %v", got[0].Name, got[0].Shape)
	}
	// The saved inputs and PyTorch's outputs are usable data files.
	in, err := runtime.LoadNPZ(out.Files["inputs"])
	if err != nil || !slices.Equal(in["x"].Shape, []int64{2, 1, 8, 8}) {
		t.Errorf("inputs: %v %v", in, err)
	}
	ref, err := runtime.LoadNPZ(out.Files["reference"])
	if err != nil || !slices.Equal(ref["logits"].Shape, []int64{2, 4}) {
		t.Errorf("reference: %v %v", ref, err)
	}
}

// Two inputs of different dtypes, two outputs, named dynamic axes.
func TestExportTwoInputsTwoOutputs(t *testing.T) {
	out, _, err := export(t, map[string]any{
		"model":       "tiny:two_heads",
		"python_path": []any{modules(t)},
		"inputs": []any{
			map[string]any{"name": "ids", "shape": []any{2, 5}, "dtype": "int64", "high": 10},
			map[string]any{"name": "mask", "shape": []any{2, 5}, "low": 0, "high": 1},
		},
		"outputs":      []any{"scores", "hidden"},
		"dynamic_axes": map[string]any{"ids": map[string]any{"0": "batch", "1": "seq"}, "mask": map[string]any{"0": "batch", "1": "seq"}},
		"runs":         0,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkModel(t, out.Files["model"])
	got := runORT(t, out.Files["model"], map[string][]int64{"ids": {3, 7}, "mask": {3, 7}})
	if got[0].Name != "scores" || !slices.Equal(got[0].Shape, []int64{3, 3}) || !slices.Equal(got[1].Shape, []int64{3, 7, 6}) {
		t.Errorf("outputs %s %v, %s %v", got[0].Name, got[0].Shape, got[1].Name, got[1].Shape)
	}
	if fmt.Sprint(out.Values["ort_ms"], out.Values["torch_ms"]) != "0 0" { // JSON gives int64 0
		t.Errorf("runs 0 still timed: %v", out.Values)
	}
}

// A real torchvision architecture from Debian's python3-torchvision.
func TestExportTorchvisionResNet18(t *testing.T) {
	out, _, err := export(t, map[string]any{
		"model":        "torchvision.models:resnet18",
		"kwargs":       map[string]any{"num_classes": 10},
		"inputs":       []any{map[string]any{"name": "input", "shape": []any{1, 3, 32, 32}}},
		"outputs":      []any{"logits"},
		"dynamic_axes": map[string]any{"input": []any{0}, "logits": []any{0}},
		"runs":         2,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkModel(t, out.Files["model"])
	if e := out.Values["max_abs_error"].(float64); e <= 0 || e > 1e-3 {
		t.Errorf("max_abs_error %g (0 would mean nothing was compared)", e)
	}
	got := runORT(t, out.Files["model"], map[string][]int64{"input": {2, 3, 32, 32}})
	if !slices.Equal(got[0].Shape, []int64{2, 10}) {
		t.Errorf("logits %v", got[0].Shape)
	}
}

// A state_dict (wrapped, with DataParallel prefixes), a TorchScript file and
// a whole pickled module of the same weights export to the same model, and
// not to the factory's own weights.
func TestExportCheckpointAndTorchScript(t *testing.T) {
	requireTorch(t)
	dir := t.TempDir()
	sd, ts, full := filepath.Join(dir, "sd.pt"), filepath.Join(dir, "m.ts"), filepath.Join(dir, "full.pt")
	python(t, `
import sys, torch, tiny
m = tiny.build()
with torch.no_grad():
    m.fc.weight.fill_(0.25); m.bn.running_mean.fill_(0.1)
m.eval()
torch.save({"epoch": 3, "state_dict": {"module." + k: v for k, v in m.state_dict().items()}}, sys.argv[1])
torch.jit.script(m).save(sys.argv[2])
torch.save(m, sys.argv[3])
`, sd, ts, full)

	outputs := map[string][]float32{}
	for name, p := range map[string]map[string]any{
		"factory":     {},
		"state_dict":  {"checkpoint": sd},
		"torchscript": {"model": nil, "torchscript": ts},
		"full":        {"model": nil, "checkpoint": full},
	} {
		t.Run(name, func(t *testing.T) {
			out, _, err := export(t, tinyParams(t, p))
			if err != nil {
				t.Fatal(err)
			}
			checkModel(t, out.Files["model"])
			ref, err := runtime.LoadNPZ(out.Files["reference"])
			if err != nil {
				t.Fatal(err)
			}
			outputs[name] = ref["logits"].Data.([]float32)
		})
	}
	if t.Failed() {
		return
	}
	for _, name := range []string{"torchscript", "full"} {
		if !slices.Equal(outputs[name], outputs["state_dict"]) {
			t.Errorf("%s gives %v, state_dict %v", name, outputs[name], outputs["state_dict"])
		}
	}
	if slices.Equal(outputs["factory"], outputs["state_dict"]) {
		t.Errorf("the checkpoint changed nothing: %v", outputs["factory"])
	}
}

func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	wrongSD := filepath.Join(dir, "wrong.pt")
	requireTorch(t)
	python(t, "import sys, torch, tiny; torch.save(tiny.build(classes=7).state_dict(), sys.argv[1])", wrongSD)

	for _, tc := range []struct {
		name   string
		params map[string]any
		want   []string
		// early errors come before Python runs: nothing is written.
		early bool
	}{
		{"no interpreter", map[string]any{"python": "/nonexistent/python3"}, []string{`python "/nonexistent/python3": no such executable interpreter`}, true},
		{"model syntax", map[string]any{"model": "tiny.py"}, []string{`model "tiny.py": want package.module:factory`}, true},
		{"model and torchscript", map[string]any{"torchscript": wrongSD}, []string{"set one of them"}, true},
		{"no inputs", map[string]any{"inputs": []any{}}, []string{"inputs: at least one input"}, true},
		{"bad input", map[string]any{"inputs": []any{map[string]any{"name": "x", "shape": []any{1, 0}, "dtype": "complex64", "mean": 1}}},
			[]string{`inputs[0]: unknown key "mean"`, "dtype complex64: want one of bool", "dimension 0 is not a positive integer"}, true},
		{"opset", map[string]any{"opset": 30}, []string{"opset 30: torch 1.13 exports opsets 7 to 17"}, true},
		{"dynamic axis past rank", map[string]any{"dynamic_axes": map[string]any{"x": []any{4}}}, []string{"dynamic_axes.x: axis 4, but the input has rank 4"}, true},
		{"dynamic axes unknown name", map[string]any{"dynamic_axes": map[string]any{"y": []any{0}}},
			[]string{"torch.onnx.export failed: dynamic_axes names y, which is neither an input (x) nor an output (logits)"}, false},
		{"missing module", map[string]any{"model": "no_such_module:build"},
			[]string{"building the model failed: ModuleNotFoundError: No module named 'no_such_module'", "add the module's folder to python_path", "Python traceback (last lines):"}, false},
		{"factory raises", map[string]any{"model": "tiny:broken"},
			[]string{"building the model failed: ValueError: factory refuses to build", `tiny.py", line`}, false},
		{"not a module", map[string]any{"model": "tiny:not_a_module"}, []string{"tiny:not_a_module returned int, not a torch.nn.Module"}, false},
		{"checkpoint does not fit", map[string]any{"checkpoint": wrongSD},
			[]string{"loading the checkpoint failed: RuntimeError: Error(s) in loading state_dict for Tiny", "size mismatch for fc.weight"}, false},
		{"unsupported operator", map[string]any{"model": "tiny:spectrum", "outputs": nil, "dynamic_axes": nil},
			[]string{"torch.onnx.export failed: UnsupportedOperatorError: Exporting the operator 'aten::fft_rfft' to ONNX opset version 13 is not supported"}, false},
		{"validation mismatch", map[string]any{"model": "tiny:stateful", "outputs": []any{"y"}, "dynamic_axes": nil},
			[]string{`validation failed: output "y" differs from PyTorch`, "atol 0.0001 + rtol 0.001", "max abs error"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, work, err := export(t, tinyParams(t, tc.params))
			t.Log(err)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if files := workFiles(t, work); tc.early && len(files) > 0 {
				t.Errorf("a parameter error wrote %v", files)
			}
		})
	}
}

// Cancelling the stage kills Python and returns the context's error.
func TestExportCancel(t *testing.T) {
	requireTorch(t)
	testenv.RequireORT(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel) // Python is still importing torch
	_, err := sdk.RunLocal(ctx, &Export{}, tinyParams(t, nil), t.TempDir())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// Without validate the stage trusts the exporter: the stateful module that
// validation rejects passes, and nothing is compared or timed in ONNX Runtime.
func TestExportNoValidate(t *testing.T) {
	out, _, err := export(t, tinyParams(t, map[string]any{"model": "tiny:stateful", "validate": false, "outputs": nil, "dynamic_axes": nil}))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out.Values["ort_ms"], out.Values["max_abs_error"]) != "0 0" {
		t.Errorf("values %v", out.Values)
	}
	checkModel(t, out.Files["model"])
}
