package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sentinelzer0/szrun/plugins/sdk"
	"github.com/sentinelzer0/szrun/runtime"
)

// Run scores the model.
func (*Score) Run(ctx context.Context, in *sdk.Input) (*sdk.Output, error) {
	var p Params
	if err := in.Decode(&p); err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	arrays, err := runtime.LoadInputs(p.Data)
	if err != nil {
		return nil, fmt.Errorf("score: read data: %w", err)
	}
	labels, err := readLabels(arrays, p.Labels, p.Data)
	if err != nil {
		return nil, err
	}
	sess, err := runtime.NewSession(ctx, p.Model, runtime.SessionOptions{IntraOpThreads: int(p.Threads)})
	if err != nil {
		return nil, fmt.Errorf("score: load model: %w", err)
	}
	defer sess.Close()
	output, err := pickOutput(sess.Outputs(), p.Output)
	if err != nil {
		return nil, err
	}
	var inputs []*runtime.Tensor
	for _, info := range sess.Inputs() {
		t, ok := arrays[info.Name]
		if !ok {
			return nil, fmt.Errorf("score: data %s has no array for model input %q (it has %s)", p.Data, info.Name, strings.Join(names(arrays), ", "))
		}
		if t.Shape[0] != int64(len(labels)) {
			return nil, fmt.Errorf("score: data array %q has %d samples, labels %d", info.Name, t.Shape[0], len(labels))
		}
		inputs = append(inputs, t)
	}
	if !fits(sess.Inputs(), inputs) {
		_, err := runtime.Match(sess.Inputs(), inputs) // for its message
		return nil, fmt.Errorf("score: data %s does not fit model %s: %w", p.Data, p.Model, err)
	}
	in.Log.Info("scoring", "samples", len(labels), "output", output.name, "metric", p.Metric)

	scores, err := predict(ctx, sess, inputs, output, p.Batch, in.Report)
	if err != nil {
		return nil, err
	}
	m, err := computeMetrics(scores, output.classes, labels, int(p.K))
	if err != nil {
		return nil, err
	}
	score := map[string]float64{"accuracy": m.Accuracy, "top_k": m.TopK, "macro_f1": m.MacroF1}[p.Metric]
	in.Log.Info("scored", "accuracy", m.Accuracy, "top_k", m.TopK, "macro_f1", m.MacroF1)

	if err := writeFile(filepath.Join(in.WorkDir, "confusion.csv"), []byte(m.confusionCSV())); err != nil {
		return nil, err
	}
	report, _ := json.MarshalIndent(map[string]any{
		"model": p.Model, "data": p.Data, "output": output.name,
		"metric": p.Metric, "score": score, "k": m.K, "metrics": m,
	}, "", "  ")
	if err := writeFile(filepath.Join(in.WorkDir, "score.json"), append(report, '\n')); err != nil {
		return nil, err
	}
	if min := p.MinScore; min >= 0 && score < min {
		return nil, fmt.Errorf("score: %s %.4f is below min_score %.4f (by %.4f) on %d samples of %s",
			p.Metric, score, min, min-score, len(labels), p.Data)
	}
	return &sdk.Output{
		Files: map[string]string{"confusion": "confusion.csv", "report": "score.json"},
		Values: map[string]any{
			"score": score, "accuracy": m.Accuracy, "top_k": m.TopK, "macro_f1": m.MacroF1,
			"samples": len(labels), "per_class": m.perClassValue(),
		},
	}, nil
}

// readLabels returns the label array as int64s and removes it from arrays.
func readLabels(arrays map[string]*runtime.Tensor, name, data string) ([]int64, error) {
	t, ok := arrays[name]
	if !ok {
		return nil, fmt.Errorf("score: data %s has no label array %q (it has %s); set labels", data, name, strings.Join(names(arrays), ", "))
	}
	delete(arrays, name)
	if len(t.Shape) != 1 {
		return nil, fmt.Errorf("score: labels %q: want shape [N], got %s", name, runtime.FormatShape(t.Shape))
	}
	switch d := t.Data.(type) {
	case []int64:
		return d, nil
	case []int32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("score: labels %q: want int64 or int32, got %s", name, t.DType)
}

// scoreOutput is the model output that holds class scores.
type scoreOutput struct {
	index   int
	name    string
	classes int
}

func pickOutput(outs []runtime.IOInfo, want string) (scoreOutput, error) {
	var seen []string
	for i, o := range outs {
		seen = append(seen, fmt.Sprintf("%s %s %s", o.Name, o.DType, runtime.FormatShape(o.Shape)))
		if want != "" && o.Name != want {
			continue
		}
		ok := (o.DType == "float32" || o.DType == "float64") && len(o.Shape) == 2 && o.Shape[1] > 0
		if ok {
			return scoreOutput{index: i, name: o.Name, classes: int(o.Shape[1])}, nil
		}
		if want != "" {
			break
		}
	}
	what := "no float output of shape [N, classes]"
	if want != "" {
		what = fmt.Sprintf("output %q is missing or not a float [N, classes] with static classes", want)
	}
	return scoreOutput{}, fmt.Errorf("score: model has %s; its outputs: %s", what, strings.Join(seen, "; "))
}

// fits checks dtypes, ranks and the static dims after the first; the first
// is the sample axis, which predict cuts to a static batch size itself.
func fits(info []runtime.IOInfo, inputs []*runtime.Tensor) bool {
	for i, t := range inputs {
		if t.DType != info[i].DType || len(t.Shape) != len(info[i].Shape) {
			return false
		}
		for d := 1; d < len(t.Shape); d++ {
			if info[i].Shape[d] > 0 && info[i].Shape[d] != t.Shape[d] {
				return false
			}
		}
	}
	return true
}

func names(m map[string]*runtime.Tensor) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// writeFile writes atomically: a crash leaves no half-written output.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("score: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("score: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("score: sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("score: close %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("score: rename into %s: %w", path, err)
	}
	return nil
}
