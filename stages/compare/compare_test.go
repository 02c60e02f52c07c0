package compare

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages"
)

// input coerces params against the Spec, as the engine does.
func input(tb testing.TB, params map[string]any) *stages.Input {
	tb.Helper()
	p, err := New().Spec().Coerce(params, stages.CoerceOptions{})
	if err != nil {
		tb.Fatalf("coerce: %v", err)
	}
	return &stages.Input{Instance: "compare", Params: p, WorkDir: tb.TempDir()}
}

// perturbed writes a copy of the digits CNN with its first multi-element float
// initializer scaled by 1.5.
func perturbed(tb testing.TB) string {
	tb.Helper()
	m, err := onnx.Load(testenv.Example(tb, "models/digits_cnn.onnx"))
	if err != nil {
		tb.Fatal(err)
	}
	done := false
	for _, init := range m.Proto.GetGraph().GetInitializer() {
		v, err := onnx.Float32s(init)
		if err != nil || len(v) < 8 {
			continue
		}
		for i := range v {
			v[i] *= 1.5
		}
		onnx.SetFloat32s(init, v)
		done = true
		break
	}
	if !done {
		tb.Fatal("no float initializer to perturb")
	}
	path := filepath.Join(tb.TempDir(), "perturbed.onnx")
	if err := onnx.Save(m, path, onnx.SaveOptions{}); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestCompareSelf(t *testing.T) {
	testenv.RequireORT(t)
	model := testenv.Example(t, "models/digits_cnn.onnx")
	in := input(t, map[string]any{
		"reference": model, "candidates": map[string]any{"same": model},
		"data": testenv.Example(t, "data/digits_test.npz"), "atol": 1e-6, "max_accuracy_drop": 0.0,
		"min_cosine": 0.9999, "min_top1_agreement": 1.0, "threads": 1,
	})
	out, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	v := out.Values
	checks := map[string]any{
		"max_abs_error": 0.0, "top1_agreement": 1.0, "accuracy": 357.0 / 360, "accuracy_drop": 0.0, "passed": true,
	}
	for name, want := range checks {
		if got := v[name].(map[string]any)["same"]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if c := v["cosine"].(map[string]any)["same"].(float64); c < 1-1e-9 {
		t.Errorf("cosine = %v", c)
	}
	if v["reference_accuracy"] != 357.0/360 {
		t.Errorf("reference_accuracy = %v", v["reference_accuracy"])
	}
	var rep Report
	data, err := os.ReadFile(filepath.Join(in.WorkDir, out.Files["report"]))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Samples != 360 || len(rep.Candidates) != 1 || rep.ClassifierOutput != "logits" {
		t.Errorf("report: %+v", rep)
	}
}

// TestComparePerturbed compares the digits CNN with a copy whose first weights are
// scaled: the tolerance breaks, the stage fails naming candidate, output, metric
// and limit, and report_only turns the failure into passed=false.
func TestComparePerturbed(t *testing.T) {
	testenv.RequireORT(t)
	params := map[string]any{
		"reference":  testenv.Example(t, "models/digits_cnn.onnx"),
		"candidates": map[string]any{"scaled": perturbed(t)},
		"data":       testenv.Example(t, "data/digits_test.npz"), "atol": 1e-3, "rtol": 1e-3, "min_cosine": 0.99999,
	}
	_, err := New().Run(context.Background(), input(t, params))
	for _, want := range []string{`candidate "scaled" output "logits": elements outside atol + rtol*|ref|:`, "(atol 0.001, rtol 0.001)", "< min_cosine 0.99999"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	}
	params["report_only"] = true
	out, err := New().Run(context.Background(), input(t, params))
	if err != nil {
		t.Fatal(err)
	}
	if out.Values["passed"].(map[string]any)["scaled"] != false {
		t.Errorf("passed = %v", out.Values["passed"])
	}
	if e := out.Values["max_abs_error"].(map[string]any)["scaled"].(float64); e < 1e-3 {
		t.Errorf("max_abs_error = %v, expected a visible difference", e)
	}
}

// TestCompareRandom compares on random inputs (no labels): accuracy maps are empty.
func TestCompareRandom(t *testing.T) {
	testenv.RequireORT(t)
	model := testenv.Example(t, "models/digits_cnn.onnx")
	out, err := New().Run(context.Background(), input(t, map[string]any{
		"reference": model, "candidates": map[string]any{"m": map[string]any{"a": model}}, "samples": 10, "seed": 3,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Values["accuracy"].(map[string]any)) != 0 || out.Values["passed"].(map[string]any)["a"] != true {
		t.Errorf("values: %v", out.Values)
	}
}

func TestCompareBadInput(t *testing.T) {
	testenv.RequireORT(t)
	model := testenv.Example(t, "models/digits_cnn.onnx")
	digits := testenv.Example(t, "data/digits_test.npz")
	tests := []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"unknown provider", map[string]any{"providers": []any{"cpu", "rocm"}}, `providers[1]: unknown execution provider "rocm"`},
		{"data mismatch", map[string]any{"data": testenv.Example(t, "data/encoder_test.npz")}, `input "input": missing from the data (expected float32 [N,1,8,8]; the data has input_ids)`},
		{"missing candidate", map[string]any{"candidates": map[string]any{"x": "/nonexistent.onnx"}}, "candidates.x: stat /nonexistent.onnx"},
		{"drop without labels", map[string]any{"data": nil, "max_accuracy_drop": 0.01}, "max_accuracy_drop: the data has no `labels` array"},
		{"unknown output", map[string]any{"output": "probs"}, `output: the reference has no output "probs"`},
		{"negative atol", map[string]any{"atol": -1.0}, "atol: -1 must be a non-negative number"},
		{"shapes with data", map[string]any{"shapes": map[string]any{"input": []any{1, 1, 8, 8}}}, "shapes: only random inputs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := map[string]any{"reference": model, "candidates": map[string]any{"c": model}, "data": digits}
			for k, v := range tt.params {
				if v == nil {
					delete(p, k)
				} else {
					p[k] = v
				}
			}
			in := input(t, p)
			_, err := New().Run(context.Background(), in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(in.WorkDir); len(entries) != 0 {
				t.Errorf("work dir not empty after a bad input: %v", entries)
			}
		})
	}
}

// TestCompareEncoderRandom compares the encoder with itself on random token ids
// whose sequence length comes from shapes.
func TestCompareEncoderRandom(t *testing.T) {
	testenv.RequireORT(t)
	model := testenv.Example(t, "models/encoder.onnx")
	out, err := New().Run(context.Background(), input(t, map[string]any{
		"reference": model, "candidates": map[string]any{"self": model},
		"shapes": map[string]any{"input_ids": []any{12}}, "samples": 5, "atol": 1e-5,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if out.Values["top1_agreement"].(map[string]any)["self"] != 1.0 {
		t.Errorf("values: %v", out.Values)
	}
	_, err = New().Run(context.Background(), input(t, map[string]any{
		"reference": model, "candidates": map[string]any{"self": model}, "samples": 5,
	}))
	if err == nil || !strings.Contains(err.Error(), "input_ids") {
		t.Errorf("random inputs without shapes for a dynamic sequence axis: %v", err)
	}
}

// TestCompareModelsOfTheZoo compares, on random inputs, a model whose batch
// dimension is fixed at 1 (fed one sample per run), an opset-6 model ONNX
// Runtime 1.30 cannot load as given (run lifted to opset 7, as the model
// stages do), and a stateful model on stacked feeds (one complete feed per
// run), and a model whose inputs share no batch axis (random feeds drawn
// whole, one per run).
func TestCompareModelsOfTheZoo(t *testing.T) {
	testenv.RequireORT(t)
	m, err := onnx.Load(testenv.Example(t, "models/digits_cnn.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	g := m.Proto.GetGraph()
	for _, vi := range append(g.GetInput(), g.GetOutput()...) {
		vi.GetType().GetTensorType().GetShape().GetDim()[0].Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 1}
	}
	g.ValueInfo = nil
	one := filepath.Join(t.TempDir(), "batch1.onnx")
	if err := onnx.Save(m, one, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]map[string]any{
		"batch fixed at 1": {"reference": one, "candidates": map[string]any{"self": one}, "samples": 6},
		"stacked feeds": {"reference": testenv.Example(t, "models/stateful_vad.onnx"), "candidates": map[string]any{"self": testenv.Example(t, "models/stateful_vad.onnx")},
			"data": testenv.Example(t, "data/stateful_vad_feeds.npz")},
	}
	td := "/usr/share/libonnx-testdata/data/"
	if bn, mm := td+"pytorch-converted/test_BatchNorm2d_eval/model.onnx", td+"pytorch-operator/test_operator_mm/model.onnx"; fileExists(bn) {
		cases["opset 6"] = map[string]any{"reference": bn, "candidates": map[string]any{"self": bn}, "samples": 4}
		// [2,3] x [3,4], opset 6: random feeds are drawn whole, one per run.
		cases["no shared batch axis"] = map[string]any{"reference": mm, "candidates": map[string]any{"self": mm}, "samples": 3}
		// A static [3] that Split cuts into [2] and [1] is no batch: random feeds
		// are whole [3] vectors, one per run (batching rows of 3 failed:
		// 'output "1": shape [2] is not batched along axis 0').
		chunk := td + "pytorch-operator/test_operator_chunk/model.onnx"
		cases["static axis 0 that is no batch"] = map[string]any{"reference": chunk, "candidates": map[string]any{"self": chunk}, "samples": 5}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("libonnx-testdata missing (scripts/setup.sh installs it)")
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			p["atol"] = 1e-6
			out, err := New().Run(context.Background(), input(t, p))
			if err != nil {
				t.Fatal(err)
			}
			if out.Values["passed"].(map[string]any)["self"] != true {
				t.Errorf("values: %v", out.Values)
			}
		})
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
