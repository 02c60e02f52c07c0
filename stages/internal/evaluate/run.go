package evaluate

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	"github.com/sentinelzer0/szrun/runtime"
)

// DefaultBatch is the batch size Run uses when neither Options nor the model fix one.
const DefaultBatch = 32

// Options controls Run. The zero value runs on CPU in batches of 32.
type Options struct {
	// Batch is the number of samples per run; 0 means the model's static batch
	// dimension when it has one, else DefaultBatch. A value that contradicts a
	// static batch dimension is an error.
	Batch int64
	// Threads bounds ONNX Runtime's intra-op threads; 0 lets it pick.
	Threads int
	// Providers are execution providers in order of preference ("cuda",
	// "tensorrt", "cpu"); CPU is always the fallback.
	Providers []string
	// OptimizationLevel is ONNX Runtime's graph optimization level; "" means "all".
	OptimizationLevel string
	// Progress, when set, is called after each batch with samples done and total.
	Progress func(done, total int64)
}

// Outputs holds a model's outputs over every sample, concatenated along axis 0.
type Outputs struct {
	// Names are the output names in model order.
	Names []string
	// Tensors maps each output name to its [N, ...] tensor.
	Tensors map[string]*runtime.Tensor
	// N is the number of samples.
	N int64
}

// Run loads the model at modelPath and runs it over every sample of d in batches.
func Run(ctx context.Context, modelPath string, d *Data, o Options) (*Outputs, error) {
	s, err := runtime.NewSession(ctx, modelPath, runtime.SessionOptions{
		IntraOpThreads:    o.Threads,
		Providers:         o.Providers,
		OptimizationLevel: o.OptimizationLevel,
		NoPrepack:         true, // a few runs: packed weights would double a big model's memory
	})
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", modelPath, err)
	}
	defer s.Close()
	out, err := RunSession(ctx, s, d, o)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", modelPath, err)
	}
	return out, nil
}

// BatchSize resolves the batch size Run would use for a model with these inputs:
// requested (0 = default) checked against every static first dimension.
func BatchSize(info []runtime.IOInfo, requested int64) (int64, error) {
	if requested < 0 {
		return 0, fmt.Errorf("batch size %d: must be positive", requested)
	}
	fixed := int64(-1)
	for _, in := range info {
		if len(in.Shape) == 0 || in.Shape[0] < 0 {
			continue
		}
		if fixed >= 0 && in.Shape[0] != fixed {
			return 0, fmt.Errorf("inputs disagree on a static batch dimension (%d and %d at input %q)", fixed, in.Shape[0], in.Name)
		}
		fixed = in.Shape[0]
		if requested > 0 && requested != fixed {
			return 0, fmt.Errorf("batch size %d: input %q has a static batch dimension of %d (shape %s)",
				requested, in.Name, fixed, runtime.FormatShape(in.Shape))
		}
	}
	switch {
	case requested > 0:
		return requested, nil
	case fixed > 0:
		return fixed, nil
	}
	return DefaultBatch, nil
}

// RunSession is Run on an open session; the session stays open. Batched data
// runs size samples at a time and each output is concatenated along axis 0;
// stacked data runs one sample at a time and each output is stacked on a new
// axis 0 (or, where samples give outputs of different shapes, concatenated
// flat).
func RunSession(ctx context.Context, s *runtime.Session, d *Data, o Options) (*Outputs, error) {
	info := s.Inputs()
	perSample, err := d.PerSample(info)
	if err != nil {
		return nil, err
	}
	size := int64(1)
	if !perSample {
		if size, err = BatchSize(info, o.Batch); err != nil {
			return nil, err
		}
	}
	fixed := hasStaticBatch(info)
	parts := map[string][]*runtime.Tensor{}
	var names []string
	for _, out := range s.Outputs() {
		names = append(names, out.Name)
	}
	for b, err := range d.Batches(info, size) {
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("run samples %d-%d: %w", b.Start, b.Start+b.N-1, err)
		}
		inputs := b.Tensors
		if !perSample && fixed && b.N < size {
			// A static batch dimension cannot take the short last batch: pad it with
			// zero rows and keep only the real rows of the outputs.
			for i, t := range inputs {
				if !b.Rows[i] {
					continue
				}
				if inputs[i], err = padRows(t, size); err != nil {
					return nil, err
				}
			}
		}
		outs, err := s.Run(ctx, inputs)
		if err != nil {
			return nil, fmt.Errorf("run samples %d-%d: %w", b.Start, b.Start+b.N-1, err)
		}
		for _, t := range outs {
			if !perSample {
				rows := batchRows(inputs, b.Rows)
				if len(t.Shape) == 0 || t.Shape[0] != rows {
					return nil, fmt.Errorf("output %q: shape %s is not batched along axis 0 (batch of %d)",
						t.Name, runtime.FormatShape(t.Shape), rows)
				}
				if t.Shape[0] != b.N {
					if t, err = runtime.Slice(t, 0, b.N); err != nil {
						return nil, fmt.Errorf("output %q: %w", t.Name, err)
					}
				}
			}
			parts[t.Name] = append(parts[t.Name], t)
		}
		if o.Progress != nil {
			o.Progress(b.Start+b.N, d.N)
		}
	}
	res := &Outputs{Names: names, Tensors: make(map[string]*runtime.Tensor, len(names)), N: d.N}
	for _, name := range names {
		join := concat
		if perSample {
			join = stack
		}
		t, err := join(name, parts[name])
		if err != nil {
			return nil, err
		}
		res.Tensors[name] = t
	}
	return res, nil
}

// batchRows is a batch's size: axis 0 of its first batched input.
func batchRows(inputs []*runtime.Tensor, rows []bool) int64 {
	for i, t := range inputs {
		if rows[i] {
			return t.Shape[0]
		}
	}
	return 1
}

// stack joins one output per sample along a new axis 0; samples whose outputs
// differ in shape (a sequence of another length) are concatenated flat.
func stack(name string, parts []*runtime.Tensor) (*runtime.Tensor, error) {
	same := true
	for _, p := range parts {
		same = same && slices.Equal(p.Shape, parts[0].Shape)
	}
	flat := make([]*runtime.Tensor, len(parts))
	for i, p := range parts {
		shape := append([]int64{1}, p.Shape...)
		if !same {
			shape = []int64{p.Len()}
		}
		flat[i] = &runtime.Tensor{Name: p.Name, DType: p.DType, Shape: shape, Data: p.Data}
	}
	return concat(name, flat)
}

func hasStaticBatch(info []runtime.IOInfo) bool {
	for _, in := range info {
		if len(in.Shape) > 0 && in.Shape[0] >= 0 {
			return true
		}
	}
	return false
}

// padRows returns a copy of t with rows zero rows appended up to rows.
func padRows(t *runtime.Tensor, rows int64) (*runtime.Tensor, error) {
	shape := append([]int64{rows}, t.Shape[1:]...)
	p, err := runtime.NewTensor(t.Name, t.DType, shape)
	if err != nil {
		return nil, fmt.Errorf("pad input %q: %w", t.Name, err)
	}
	reflect.Copy(reflect.ValueOf(p.Data), reflect.ValueOf(t.Data))
	return p, nil
}

// concat joins tensors along axis 0; their other dimensions must agree.
func concat(name string, parts []*runtime.Tensor) (*runtime.Tensor, error) {
	if len(parts) == 1 {
		return parts[0].Clone(), nil
	}
	rows := int64(0)
	for _, p := range parts {
		if p.DType != parts[0].DType || !slices.Equal(p.Shape[1:], parts[0].Shape[1:]) {
			return nil, fmt.Errorf("output %q: batches disagree on shape (%s %s and %s %s): cannot concatenate",
				name, parts[0].DType, runtime.FormatShape(parts[0].Shape), p.DType, runtime.FormatShape(p.Shape))
		}
		rows += p.Shape[0]
	}
	out, err := runtime.NewTensor(name, parts[0].DType, append([]int64{rows}, parts[0].Shape[1:]...))
	if err != nil {
		return nil, fmt.Errorf("output %q: %w", name, err)
	}
	dst := reflect.ValueOf(out.Data)
	off := 0
	for _, p := range parts {
		src := reflect.ValueOf(p.Data)
		reflect.Copy(dst.Slice(off, off+src.Len()), src)
		off += src.Len()
	}
	return out, nil
}
