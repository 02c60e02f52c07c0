package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/plugins"
	"github.com/sentinelzer0/szrun/plugins/sdk"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

const python = "/usr/bin/python3"

// The plugin's metrics equal scikit-learn's on the same logits, computed
// independently from a plain ONNX Runtime run: on the digits test set, and on
// the same images with every third label wrong (label+1 mod 10), where
// top-k, macro-F1 and accuracy differ and are far from 1.
func TestScoreMatchesScikitLearn(t *testing.T) {
	testenv.RequireORT(t)
	model, data := testenv.Example(t, "models/digits_cnn.onnx"), testenv.Example(t, "data/digits_test.npz")
	relabelled := filepath.Join(t.TempDir(), "relabelled.npz")
	cmd := exec.Command(python, "-c", "import sys, numpy as np; d = np.load(sys.argv[1]); y = d['labels'].copy(); y[::3] = (y[::3] + 1) % 10; np.savez(sys.argv[2], input=d['input'], labels=y)", data, relabelled)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make relabelled labels: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		name, data string
		k          int
	}{{"digits", data, 2}, {"every third label wrong", relabelled, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := sdk.RunLocal(context.Background(), &Score{}, map[string]any{
				"model": model, "data": tc.data, "metric": "macro_f1", "k": tc.k, "batch": 50,
			}, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			want := sklearnMetrics(t, model, tc.data, tc.k)
			got := out.Values
			t.Logf("plugin %v", got)
			for _, k := range []string{"accuracy", "top_k", "macro_f1"} {
				if math.Abs(num(got[k])-num(want[k])) > 1e-12 {
					t.Errorf("%s = %v, scikit-learn %v", k, got[k], want[k])
				}
			}
			if got["score"] != got["macro_f1"] || got["samples"] != int64(360) {
				t.Errorf("values %v", got)
			}
			if tc.name == "digits" && math.Abs(num(got["accuracy"])-357.0/360) > 1e-12 {
				t.Errorf("accuracy %v, want 357/360", got["accuracy"])
			}
			csv, err := os.ReadFile(out.Files["confusion"])
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(csv)), "\n")[1:]
			for i, r := range want["confusion"].([]any) {
				var cells []string
				for _, c := range r.([]any) {
					cells = append(cells, jsonNumber(c))
				}
				if _, got, _ := strings.Cut(lines[i], ","); got != strings.Join(cells, ",") {
					t.Errorf("confusion row %d: %s, scikit-learn %s", i, got, strings.Join(cells, ","))
				}
			}
			var support int64
			for _, c := range got["per_class"].(map[string]any) {
				support += c.(map[string]any)["support"].(int64)
			}
			if support != 360 {
				t.Errorf("per_class supports sum to %d: %v", support, got["per_class"])
			}
		})
	}
}

// num reads a JSON number: values come back as int64 when they are whole.
func num(v any) float64 {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case float64:
		return n
	}
	return math.NaN()
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// sklearnMetrics runs model over data in ONNX Runtime here, then has
// scikit-learn score the logits.
func sklearnMetrics(t *testing.T, model, data string, k int) map[string]any {
	t.Helper()
	if err := exec.Command(python, "-c", "import sklearn, numpy").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s lacks scikit-learn (python3-sklearn): %v", python, err)
		}
		t.Skipf("%s lacks scikit-learn: %v", python, err)
	}
	arrays, err := runtime.LoadNPZ(data)
	if err != nil {
		t.Fatal(err)
	}
	s, err := runtime.NewSession(context.Background(), model, runtime.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	logits, err := s.Run(context.Background(), []*runtime.Tensor{arrays["input"]})
	if err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(t.TempDir(), "logits.f32")
	if err := os.WriteFile(raw, logits[0].Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
import json, sys, numpy as np
from sklearn.metrics import accuracy_score, f1_score, top_k_accuracy_score, confusion_matrix
y = np.load(sys.argv[2])["labels"]
s = np.fromfile(sys.argv[1], dtype="<f4").reshape(len(y), -1)
p = s.argmax(1)
print(json.dumps({"accuracy": accuracy_score(y, p), "macro_f1": f1_score(y, p, average="macro"),
  "top_k": top_k_accuracy_score(y, s, k=int(sys.argv[3]), labels=range(s.shape[1])),
  "confusion": confusion_matrix(y, p, labels=range(s.shape[1])).tolist()}))
`
	b, err := exec.Command(python, "-c", script, raw, data, strconv.Itoa(k)).Output()
	if err != nil {
		t.Fatalf("scikit-learn: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestScoreErrors(t *testing.T) {
	testenv.RequireORT(t)
	model, data := testenv.Example(t, "models/digits_cnn.onnx"), testenv.Example(t, "data/digits_test.npz")
	for _, tc := range []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"below min_score", map[string]any{"min_score": 0.999}, "score: accuracy 0.9917 is below min_score 0.9990 (by 0.0073) on 360 samples"},
		{"no labels", map[string]any{"labels": "y"}, `has no label array "y" (it has input, labels); set labels`},
		{"no such output", map[string]any{"output": "probs"}, `output "probs" is missing or not a float [N, classes] with static classes; its outputs: logits float32 [?,10]`},
		{"unlabelled data", map[string]any{"data": testenv.Example(t, "data/digits_calib.npz")}, `has no label array "labels" (it has input)`},
		{"k", map[string]any{"k": 0}, "k: 0 must be >= 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := map[string]any{"model": model, "data": data}
			for k, v := range tc.params {
				p[k] = v
			}
			_, err := sdk.RunLocal(context.Background(), &Score{}, p, t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// recipe.yaml with the real plugin binary, found by szrun's plugin host,
// beside the built-in quantize and assert stages.
func TestRecipe(t *testing.T) {
	testenv.RequireORT(t)
	dir := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "szrun-plugin-score"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	host := plugins.NewHost(plugins.Options{Dirs: []string{dir}})
	defer host.Close()
	state := t.TempDir()
	res, err := engine.Run(context.Background(), engine.Options{
		Recipe:   "recipe.yaml",
		Catalog:  &engine.StageCatalog{Builtin: builtin.Registry(), Plugins: host},
		CacheDir: filepath.Join(state, "cache"), StateDir: filepath.Join(state, "state"), OutDir: filepath.Join(state, "out"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Stages {
		if s.Status != engine.StatusSucceeded {
			t.Errorf("stage %s %s: %s\n%s", s.Instance, s.Status, s.Error, strings.Join(s.LogTail, "\n"))
		}
	}
	for _, o := range res.Outputs {
		if o.Name == "macro_f1" {
			m := o.Value.(map[string]any)
			if f := num(m["int8"]); !(f >= 0.95) {
				t.Errorf("int8 macro-F1 %v", m)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(state, "out", "confusion.csv")); err != nil || !strings.HasPrefix(string(b), "true\\predicted,0,1,") {
		t.Errorf("confusion output: %q %v", b, err)
	}
}

// A model whose batch dimension is static runs in batches of exactly that
// size, the last one padded (360 samples = 51 batches of 7 + 3), and scores
// as the dynamic model does.
func TestScoreStaticBatch(t *testing.T) {
	testenv.RequireORT(t)
	digits, data := testenv.Example(t, "models/digits_cnn.onnx"), testenv.Example(t, "data/digits_test.npz")
	m, err := onnx.Load(digits)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range append(m.Proto.Graph.Input, m.Proto.Graph.Output...) {
		v.Type.GetTensorType().Shape.Dim[0].Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 7}
	}
	static := filepath.Join(t.TempDir(), "static.onnx")
	if err := onnx.Save(m, static, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	s, err := runtime.NewSession(context.Background(), static, runtime.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if shape := s.Inputs()[0].Shape; shape[0] != 7 {
		t.Fatalf("static model's input is %v", shape)
	}
	s.Close()
	var got []map[string]any
	for _, model := range []string{digits, static} {
		out, err := sdk.RunLocal(context.Background(), &Score{}, map[string]any{"model": model, "data": data, "batch": 64}, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.Values)
	}
	if fmt.Sprint(got[0]) != fmt.Sprint(got[1]) {
		t.Errorf("dynamic %v\nstatic  %v", got[0], got[1])
	}
}
