package quantize

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/transform"
)

// dataset is verification or calibration data (evaluate.Data, read batch by
// batch from its file) matched to the model's inputs.
type dataset struct {
	*evaluate.Data
	info []runtime.IOInfo
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// reference runs the fp32 model at path over ds, batch samples per run
// unless the model fixes its batch, and returns the verifier that runs
// candidates the same way.
func reference(ctx context.Context, path string, ds *dataset, batch int64, threads int) (*transform.Verifier, error) {
	s, err := runtime.NewSession(ctx, path, runtime.SessionOptions{IntraOpThreads: threads, NoPrepack: true})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer s.Close()
	if _, err := evaluate.BatchSize(s.Inputs(), batch); err != nil {
		batch = 0 // a static batch dimension decides
	}
	return transform.Reference(ctx, s, ds.Data, evaluate.Options{Batch: batch, Threads: threads})
}

// outputs32 returns each output's values (float32) concatenated over the
// samples, in output order.
func outputs32(res *evaluate.Outputs) ([][]float32, error) {
	outs := make([][]float32, len(res.Names))
	for i, name := range res.Names {
		r := res.Tensors[name]
		f, ok := r.Data.([]float32)
		if !ok {
			return nil, fmt.Errorf("output %q is %s, not float32", r.Name, r.DType)
		}
		outs[i] = f
	}
	return outs, nil
}

// sameSizes fails unless got has want's outputs, each with as many values:
// what compare needs.
func sameSizes(want, got *evaluate.Outputs) error {
	if !slices.Equal(want.Names, got.Names) {
		return fmt.Errorf("outputs %v, the fp32 model's %v", got.Names, want.Names)
	}
	for _, name := range want.Names {
		if w, g := want.Tensors[name].Shape, got.Tensors[name].Shape; !slices.Equal(w, g) {
			return fmt.Errorf("output %q has shape %v, the fp32 model's %v", name, g, w)
		}
	}
	return nil
}

// metrics compares a candidate's outputs with the reference's.
type metrics struct {
	MaxRelError float64 `json:"max_rel_error"` // evaluate.RelError, worst output
	MeanAbs     float64 `json:"mean_abs_error"`
	Accuracy    float64 `json:"accuracy"` // top-1 of output 0; -1 without labels
	// Agreement is the top-1 agreement with the fp32 model (job.agreeOn);
	// -1 when no output has one.
	Agreement float64 `json:"agreement"`
	NonFinite int     `json:"non_finite"`
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
		m.MaxRelError = max(m.MaxRelError, evaluate.RelError(maxDiff, maxRef))
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
