package quantize

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/sentinelzer0/szrun/runtime"
)

// dataset is verification or calibration data matched to a model's inputs.
type dataset struct {
	inputs []*runtime.Tensor // model input order, samples on axis 0
	labels []int64           // nil without labels
	n      int64
}

// loadDataset reads path and checks it against the model's inputs: every
// input present with the right element type, rank and static dims, the same
// sample count everywhere, at least one sample, and no unknown arrays (a
// typo'd name would otherwise be silently ignored). param names the
// parameter in errors.
func loadDataset(path, param, labelName string, info, outInfo []runtime.IOInfo) (*dataset, error) {
	arrays, err := runtime.LoadInputs(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", param, path, err)
	}
	want := map[string]bool{}
	for _, in := range info {
		want[in.Name] = true
	}
	// Arrays named after model outputs are reference outputs saved beside
	// the inputs (as in resnet_inputs.npz): known, and not inputs.
	isOutput := map[string]bool{}
	for _, o := range outInfo {
		isOutput[o.Name] = true
	}
	var unknown, missing []string
	var tensors []*runtime.Tensor
	ds := &dataset{}
	for _, name := range sortedKeys(arrays) {
		switch {
		case want[name]:
			tensors = append(tensors, arrays[name])
		case isOutput[name]:
		case labelName != "" && name == labelName:
			if ds.labels, err = labelValues(arrays[name]); err != nil {
				return nil, fmt.Errorf("%s %s: labels %q: %w", param, path, name, err)
			}
		default:
			unknown = append(unknown, name)
		}
	}
	for _, in := range info {
		if arrays[in.Name] == nil {
			missing = append(missing, in.Name)
		}
	}
	if len(missing) > 0 || len(unknown) > 0 {
		return nil, fmt.Errorf("%s %s: arrays do not match the model's inputs: missing %s, unknown %s (model inputs: %s)",
			param, path, list(missing), list(unknown), list(inputNames(info)))
	}
	if ds.inputs, err = runtime.Match(info, tensors); err != nil {
		return nil, fmt.Errorf("%s %s: %w", param, path, err)
	}
	for i, t := range ds.inputs {
		if len(t.Shape) == 0 {
			return nil, fmt.Errorf("%s %s: array %q is a scalar; samples must be on axis 0", param, path, t.Name)
		}
		if i == 0 {
			ds.n = t.Shape[0]
		} else if t.Shape[0] != ds.n {
			return nil, fmt.Errorf("%s %s: array %q has %d samples, %q has %d", param, path, t.Name, t.Shape[0], ds.inputs[0].Name, ds.n)
		}
	}
	if ds.n == 0 {
		return nil, fmt.Errorf("%s %s: %w (0 samples)", param, path, errEmpty)
	}
	if ds.labels != nil && int64(len(ds.labels)) != ds.n {
		return nil, fmt.Errorf("%s %s: %d labels for %d samples", param, path, len(ds.labels), ds.n)
	}
	return ds, nil
}

var errEmpty = errors.New("the data set is empty")

func labelValues(t *runtime.Tensor) ([]int64, error) {
	switch d := t.Data.(type) {
	case []int64:
		return d, nil
	case []int32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	case []uint8:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype %s, want an integer type", t.DType)
}

func inputNames(info []runtime.IOInfo) []string {
	out := make([]string, len(info))
	for i, in := range info {
		out[i] = in.Name
	}
	return out
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// outputs runs the model at path over the whole data set, batch by batch,
// and returns each float output's values concatenated over the samples.
func runOutputs(ctx context.Context, path string, ds *dataset, batch int64, threads int) ([][]float32, error) {
	s, err := runtime.NewSession(path, runtime.SessionOptions{IntraOpThreads: threads})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer s.Close()
	outs := make([][]float32, len(s.Outputs()))
	in := make([]*runtime.Tensor, len(ds.inputs))
	for start := int64(0); start < ds.n; start += batch {
		for i, t := range ds.inputs {
			if in[i], err = runtime.Slice(t, start, batch); err != nil {
				return nil, err
			}
		}
		res, err := s.Run(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("run %s on samples from %d: %w", path, start, err)
		}
		for i, r := range res {
			f, ok := r.Data.([]float32)
			if !ok {
				return nil, fmt.Errorf("run %s: output %q is %s, not float32", path, r.Name, r.DType)
			}
			outs[i] = append(outs[i], f...)
		}
	}
	return outs, nil
}

// metrics compares a candidate's outputs with the reference's.
type metrics struct {
	MaxRelError float64 `json:"max_rel_error"` // max |got-ref| / max |ref|, worst output
	MeanAbs     float64 `json:"mean_abs_error"`
	Accuracy    float64 `json:"accuracy"` // top-1 of output 0; -1 without labels
	NonFinite   int     `json:"non_finite"`
}

func compare(ref, got [][]float32, labels []int64) metrics {
	var m metrics
	m.Accuracy = -1
	var sum float64
	var cnt int
	for o := range ref {
		var maxRef, maxDiff float64
		for i, r := range ref[o] {
			g := got[o][i]
			if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
				m.NonFinite++
				continue
			}
			d := math.Abs(float64(g) - float64(r))
			maxRef = max(maxRef, math.Abs(float64(r)))
			maxDiff = max(maxDiff, d)
			sum += d
			cnt++
		}
		if maxRef > 0 {
			m.MaxRelError = max(m.MaxRelError, maxDiff/maxRef)
		}
	}
	if m.NonFinite > 0 {
		m.MaxRelError = math.Inf(1)
	}
	if cnt > 0 {
		m.MeanAbs = sum / float64(cnt)
	}
	if labels != nil && len(got) > 0 {
		m.Accuracy = top1(got[0], labels)
	}
	return m
}

// top1 is the share of rows of out (len(labels) rows) whose argmax is the label.
func top1(out []float32, labels []int64) float64 {
	n := len(labels)
	if n == 0 || len(out)%n != 0 {
		return -1
	}
	c := len(out) / n
	hits := 0
	for i := range n {
		row := out[i*c : (i+1)*c]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if int64(best) == labels[i] {
			hits++
		}
	}
	return float64(hits) / float64(n)
}
