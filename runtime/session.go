package runtime

import (
	"context"
	"fmt"

	ort "github.com/yalue/onnxruntime_go"
)

// IOInfo describes one model input or output as ONNX Runtime reports it.
type IOInfo struct {
	Name string
	// Kind is "tensor" for tensors; otherwise the ONNX value kind ("sequence", "map",
	// ...), which this package cannot feed or read.
	Kind string
	// DType is the element type, as in Tensor.DType.
	DType string
	// Shape holds the dimensions; -1 marks a dynamic (symbolic or unknown) one.
	Shape []int64
}

// localSession is a model loaded in this process (the worker). Its Run is safe for concurrent use;
// Close it once every Runner made from it is closed.
type localSession struct {
	path    string
	opts    SessionOptions
	inputs  []IOInfo
	outputs []IOInfo
	dyn     *ort.DynamicAdvancedSession
	// inNames and outNames are C copies of the names, for runAllocating.
	inNames, outNames cStrings
}

// newLocalSession loads the model at modelPath (calling Init first).
func newLocalSession(modelPath string, opts SessionOptions) (*localSession, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	so, err := opts.ortOptions()
	if err != nil {
		return nil, fmt.Errorf("open session for %s: %w", modelPath, err)
	}
	defer so.Destroy()
	// Metadata comes from a throwaway session with optimization off: cheaper than a
	// second full load, and it must not write OptimizedModelPath or a profile again.
	ins, outs, err := ioInfo(modelPath)
	if err != nil {
		return nil, err
	}
	names := func(infos []IOInfo) []string {
		n := make([]string, len(infos))
		for i, info := range infos {
			n[i] = info.Name
		}
		return n
	}
	dyn, err := ort.NewDynamicAdvancedSession(modelPath, names(ins), names(outs), so)
	if err != nil {
		return nil, fmt.Errorf("open session for %s: %w", modelPath, err)
	}
	return &localSession{path: modelPath, opts: opts, inputs: ins, outputs: outs, dyn: dyn,
		inNames: newCStrings(names(ins)), outNames: newCStrings(names(outs))}, nil
}

func ioInfo(modelPath string) (ins, outs []IOInfo, err error) {
	so, err := SessionOptions{OptimizationLevel: "disable", NoPrepack: true}.ortOptions()
	if err != nil {
		return nil, nil, fmt.Errorf("read inputs and outputs of %s: %w", modelPath, err)
	}
	defer so.Destroy()
	oi, oo, err := ort.GetInputOutputInfoWithOptions(modelPath, so)
	if err != nil {
		return nil, nil, fmt.Errorf("read inputs and outputs of %s: %w", modelPath, err)
	}
	conv := func(in []ort.InputOutputInfo) []IOInfo {
		out := make([]IOInfo, len(in))
		for i, x := range in {
			out[i] = IOInfo{Name: x.Name, Kind: "tensor", Shape: append([]int64{}, x.Dimensions...)}
			if x.OrtValueType != ort.ONNXTypeTensor {
				out[i].Kind = kindName(x.OrtValueType)
				continue
			}
			out[i].DType = dtypeName(x.DataType)
		}
		return out
	}
	return conv(oi), conv(oo), nil
}

// Path returns the model file the session was loaded from.
func (s *localSession) Path() string { return s.path }

// Options returns the options the session was created with.
func (s *localSession) Options() SessionOptions { return s.opts }

// Inputs describes the model's inputs in model order.
func (s *localSession) Inputs() []IOInfo { return cloneInfo(s.inputs) }

// Outputs describes the model's outputs in model order.
func (s *localSession) Outputs() []IOInfo { return cloneInfo(s.outputs) }

func cloneInfo(in []IOInfo) []IOInfo {
	out := make([]IOInfo, len(in))
	for i, x := range in {
		out[i] = x
		out[i].Shape = append([]int64{}, x.Shape...)
	}
	return out
}

// Close releases the ONNX Runtime session; with profiling on, this writes the profile.
func (s *localSession) Close() error {
	if s.dyn == nil {
		return nil
	}
	err := s.dyn.Destroy()
	s.dyn = nil
	s.inNames.free()
	s.outNames.free()
	s.inNames, s.outNames = nil, nil
	if err != nil {
		return fmt.Errorf("close session for %s: %w", s.path, err)
	}
	return nil
}

// Run checks inputs against the model (matched by name, in any order), runs it once and
// returns fresh output tensors in model order. Cancelling ctx aborts the run. It is
// meant for verification; use a Runner in loops.
func (s *localSession) Run(ctx context.Context, inputs []*Tensor) ([]*Tensor, error) {
	if s.dyn == nil {
		return nil, fmt.Errorf("run %s: session %w", s.path, ErrClosed)
	}
	ordered, err := s.match(inputs)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", s.path, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	inVals := make([]*cTensor, len(ordered))
	defer releaseAll(inVals)
	for i, t := range ordered {
		if inVals[i], err = newCTensor(t); err != nil {
			return nil, fmt.Errorf("run %s: %w", s.path, err)
		}
	}
	ro, err := ort.NewRunOptions()
	if err != nil {
		return nil, fmt.Errorf("run %s: create run options: %w", s.path, err)
	}
	defer ro.Destroy()
	stop := context.AfterFunc(ctx, func() { _ = ro.Terminate() })
	outs, err := runAllocating(s.dyn, ro, s.inNames, inVals, s.outNames, s.outputs)
	stop()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", s.path, err)
	}
	return outs, nil
}

func kindName(t ort.ONNXType) string {
	switch t {
	case ort.ONNXTypeSequence:
		return "sequence"
	case ort.ONNXTypeMap:
		return "map"
	case ort.ONNXTypeOptional:
		return "optional"
	case ort.ONNXTypeSparseTensor:
		return "sparse tensor"
	case ort.ONNXTypeOpaque:
		return "opaque"
	}
	return t.String()
}
