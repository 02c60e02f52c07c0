package calib

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	goruntime "runtime"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/onnxb"
)

// ErrNoData means the calibration set holds no sample.
var ErrNoData = errors.New("calibration data is empty")

// RunOptions control Run; zero values are the defaults.
type RunOptions struct {
	// Bins of each tensor's histogram; 0 keeps min and max only.
	Bins int
	// BatchSize is the number of samples per ONNX Runtime run, default 16.
	// It, not the number of samples, bounds the memory calibration uses.
	BatchSize int
	// Samples caps the samples used; 0 uses them all.
	Samples int
	// WorkDir receives the augmented model.
	WorkDir string
	// Threads bounds ONNX Runtime's intra-op threads (0: its default).
	Threads int
	// Progress, when set, is told after each batch.
	Progress func(done, total int64)
}

// Run calibrates tensors of the model at modelPath over data (read batch by
// batch from its file). It writes a copy of the model whose graph outputs
// include every tensor, typed FLOAT with no shape (ONNX Runtime needs only the
// element type), runs it batch by batch and folds each requested output into
// its Stats before the next batch: no activation or input outlives its batch,
// so memory does not grow with the number of samples.
func Run(ctx context.Context, modelPath string, tensors []string, data *evaluate.Data, o RunOptions) (map[string]*Stats, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 16
	}
	if data == nil || data.N == 0 {
		return nil, ErrNoData
	}
	data = data.Head(int64(o.Samples))
	aug, err := augment(modelPath, tensors, o.WorkDir)
	if err != nil {
		return nil, err
	}
	// No prepacking: a packed copy of every MatMul/Gemm weight would sit
	// beside the weights mapped from the file for a few batches' runs (on a
	// 2.4 GB one-MatMul model it doubled the worker's peak).
	s, err := runtime.NewSession(ctx, aug, runtime.SessionOptions{IntraOpThreads: o.Threads, OptimizationLevel: "disable", NoPrepack: true})
	if err != nil {
		return nil, fmt.Errorf("calibrate: load augmented model %s: %w", aug, err)
	}
	defer s.Close()
	index := map[string]int{}
	for i, info := range s.Outputs() {
		index[info.Name] = i
	}
	stats := make(map[string]*Stats, len(tensors))
	for _, t := range tensors {
		stats[t] = NewStats(o.Bins)
	}
	size := int64(o.BatchSize)
	if b, err := evaluate.BatchSize(s.Inputs(), 0); err == nil && b != evaluate.DefaultBatch {
		size = b // a static batch dimension
	}
	for b, err := range data.Batches(s.Inputs(), size) {
		if err != nil {
			return nil, fmt.Errorf("calibrate: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		outs, err := s.Run(ctx, b.Tensors)
		if err != nil {
			return nil, fmt.Errorf("calibrate: run batch at sample %d: %w", b.Start, err)
		}
		for _, t := range tensors {
			out := outs[index[t]]
			vals, ok := out.Data.([]float32)
			if !ok {
				return nil, fmt.Errorf("calibrate: tensor %q is %s, not float32", t, out.DType)
			}
			stats[t].Add(vals)
		}
		if o.Progress != nil {
			o.Progress(b.Start+b.N, data.N)
		}
		// The batch's activations are garbage now; collecting them before the
		// next batch keeps the heap at one batch, so peak memory is the same
		// for 16 samples and 1,000 (the collector would otherwise let garbage
		// of several batches pile up to twice the live heap). It costs far
		// less than the batch's run.
		goruntime.GC()
	}
	return stats, nil
}

// augment writes the model with tensors appended to its graph outputs. The
// weights are not read: those in external files are copied from there.
func augment(modelPath string, tensors []string, dir string) (string, error) {
	m, err := onnx.LoadWith(modelPath, onnx.LoadOptions{KeepExternal: true})
	if err != nil {
		return "", fmt.Errorf("calibrate: load %s: %w", modelPath, err)
	}
	g := m.Proto.Graph
	have := map[string]bool{}
	for _, o := range g.Output {
		have[o.GetName()] = true
	}
	for _, t := range tensors {
		if !have[t] {
			g.Output = append(g.Output, onnxb.UnshapedVI(t, onnxpb.TensorProto_FLOAT))
			have[t] = true
		}
	}
	path := filepath.Join(dir, "calibration_augmented.onnx")
	if err := onnx.Save(m, path, onnx.SaveOptions{}); err != nil {
		return "", fmt.Errorf("calibrate: write augmented model: %w", err)
	}
	return path, nil
}
