package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/x448/float16"

	"github.com/sentinelzer0/szrun/runtime"
)

// check is the ONNX Runtime side of validation.
type check struct {
	OrtMS       float64
	MaxAbsError float64
	// PerOutput is each output's largest |onnx - torch|.
	PerOutput map[string]float64
}

// validate runs the exported model in ONNX Runtime on PyTorch's inputs,
// compares each output with PyTorch's within atol + rtol*|torch|, and times
// runs runs. It fails on the first output that breaks the tolerance, naming
// it, its worst element and the tolerance.
func validate(ctx context.Context, modelPath, inputsPath, outputsPath string, atol, rtol float64, runs, threads int64) (*check, error) {
	inputs, err := runtime.LoadNPZ(inputsPath)
	if err != nil {
		return nil, fmt.Errorf("torch-export: read PyTorch's inputs: %w", err)
	}
	want, err := runtime.LoadNPZ(outputsPath)
	if err != nil {
		return nil, fmt.Errorf("torch-export: read PyTorch's outputs: %w", err)
	}
	sess, err := runtime.NewSession(ctx, modelPath, runtime.SessionOptions{IntraOpThreads: int(threads)})
	if err != nil {
		return nil, fmt.Errorf("torch-export: load the exported model in ONNX Runtime: %w", err)
	}
	defer sess.Close()
	// The exporter drops inputs the graph does not use; feed only the rest.
	var feed []*runtime.Tensor
	for _, info := range sess.Inputs() {
		t, ok := inputs[info.Name]
		if !ok {
			return nil, fmt.Errorf("torch-export: the exported model has input %q that PyTorch was not given", info.Name)
		}
		feed = append(feed, t)
	}
	got, err := sess.Run(ctx, feed)
	if err != nil {
		return nil, fmt.Errorf("torch-export: run the exported model in ONNX Runtime: %w", err)
	}
	c := &check{PerOutput: map[string]float64{}}
	for i, info := range sess.Outputs() {
		ref, ok := want[info.Name]
		if !ok {
			return nil, fmt.Errorf("torch-export: ONNX output %q has no PyTorch counterpart (PyTorch gave %s)", info.Name, strings.Join(sortedKeys(want), ", "))
		}
		e, err := compareOutput(info.Name, ref, got[i], atol, rtol)
		if err != nil {
			return nil, err
		}
		c.PerOutput[info.Name] = e
		c.MaxAbsError = max(c.MaxAbsError, e)
	}
	c.OrtMS, err = timeORT(ctx, sess, feed, runs)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// compareOutput returns the largest |got - ref| and fails when an element
// breaks |got - ref| <= atol + rtol*|ref| (numpy.allclose; NaN only matches
// NaN, an infinity only itself).
func compareOutput(name string, ref, got *runtime.Tensor, atol, rtol float64) (float64, error) {
	if !slices.Equal(ref.Shape, got.Shape) {
		return 0, fmt.Errorf("torch-export: output %q: ONNX Runtime gave shape %s, PyTorch %s", name, runtime.FormatShape(got.Shape), runtime.FormatShape(ref.Shape))
	}
	a, b := widen(ref), widen(got)
	if a == nil || b == nil {
		return 0, fmt.Errorf("torch-export: output %q: cannot compare %s with %s", name, ref.DType, got.DType)
	}
	var maxErr float64
	var bad, worst int
	worstRatio := -1.0
	for i := range a {
		if a[i] == b[i] || (math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			continue
		}
		d := math.Abs(a[i] - b[i])
		if math.IsNaN(d) || math.IsInf(d, 0) {
			d = math.Inf(1)
		}
		maxErr = max(maxErr, d)
		tol := atol + rtol*math.Abs(a[i])
		if d > tol {
			bad++
			if r := d / tol; r > worstRatio || math.IsNaN(r) {
				worstRatio, worst = r, i
			}
		}
	}
	if bad > 0 {
		return maxErr, fmt.Errorf("torch-export: validation failed: output %q differs from PyTorch: %d of %d elements break |onnx - torch| <= atol %g + rtol %g * |torch|; worst at index %d: onnx %g, torch %g; max abs error %g",
			name, bad, len(a), atol, rtol, worst, b[worst], a[worst], maxErr)
	}
	return maxErr, nil
}

// timeORT returns the median latency of runs runs, in milliseconds, after one
// warm-up run.
func timeORT(ctx context.Context, sess *runtime.Session, feed []*runtime.Tensor, runs int64) (float64, error) {
	if runs == 0 {
		return 0, nil
	}
	r, err := runtime.NewRunner(ctx, sess, feed) // runs once: the warm-up
	if err != nil {
		return 0, fmt.Errorf("torch-export: time ONNX Runtime: %w", err)
	}
	defer r.Close()
	// The worker times the runs, so the pipe's round trip is not in them.
	durs, err := r.Time(ctx, int(runs), make([]time.Duration, 0, runs))
	if err != nil {
		return 0, fmt.Errorf("torch-export: time ONNX Runtime: %w", err)
	}
	times := make([]float64, 0, runs)
	for _, d := range durs {
		times = append(times, float64(d)/float64(time.Millisecond))
	}
	sort.Float64s(times)
	return times[len(times)/2], nil
}

// widen converts a numeric tensor to float64s; nil for other dtypes.
func widen(t *runtime.Tensor) []float64 {
	switch d := t.Data.(type) {
	case []float32:
		return conv(d)
	case []float64:
		return d
	case []int64:
		return conv(d)
	case []int32:
		return conv(d)
	case []int8:
		return conv(d)
	case []uint8:
		return conv(d)
	case []bool:
		out := make([]float64, len(d))
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
		return out
	case []uint16:
		if t.DType != "float16" {
			return nil
		}
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(float16.Frombits(v).Float32())
		}
		return out
	}
	return nil
}

func conv[T float32 | int64 | int32 | int8 | uint8](s []T) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}
