package optimize

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"

	"github.com/charmbracelet/log"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/normalize"
)

// Run optimizes the model, restores shape information and verifies the
// result. Everything that can be wrong with the input (parameters, a model
// ONNX Runtime rejects, verification data that does not fit) is checked
// before the optimizer runs.
func (s *Stage) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	logger := in.Log
	if logger == nil {
		logger = log.New(io.Discard)
	}
	var p Params
	if err := in.Decode(&p); err != nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	// ONNX Runtime has no kernels for some opset-6 ops: such a model is
	// lifted to opset 7 first, and that is the model optimized and compared.
	src, norm, err := normalize.ForORT(p.Model, in.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	if norm != nil {
		logger.Info("normalized for ONNX Runtime", "model", p.Model, "changes", norm.String())
		p.Model = src
	}
	before, decl, err := original(p.Model)
	if err != nil {
		return nil, err
	}
	// Hand the original's weights back to the system before ONNX Runtime
	// loads the model: memory the Go heap keeps is no use to its allocator.
	debug.FreeOSMemory()
	// "disable" makes the reference the model exactly as written.
	ref, err := runtime.NewSession(ctx, p.Model, runtime.SessionOptions{IntraOpThreads: int(p.Threads), OptimizationLevel: "disable", NoPrepack: true})
	if err != nil {
		return nil, fmt.Errorf("optimize: ONNX Runtime cannot load %s: %w", p.Model, err)
	}
	var data *evaluate.Data
	var want *evaluate.Outputs
	if p.Verify {
		if data, err = verificationData(ref, decl, &p, func(msg string) { logger.Warn(msg) }); err != nil {
			ref.Close()
			return nil, err
		}
		defer data.Close()
		if want, err = reference(ctx, ref, data, &p); err != nil {
			ref.Close()
			return nil, err
		}
	}
	ref.Close() // its outputs are all the comparison needs
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("optimize %s: %w", p.Model, context.Cause(ctx))
	}

	in.Report(0, 3, "optimize")
	ortPath := filepath.Join(in.WorkDir, "ort_optimized.onnx")
	if err := runtime.Optimize(ctx, p.Model, ortPath, p.Level, int(p.Threads)); err != nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	outPath := filepath.Join(in.WorkDir, "model.onnx")
	after, restored, err := finish(ortPath, outPath, decl)
	if err != nil {
		return nil, fmt.Errorf("optimize %s: %w", p.Model, err)
	}
	debug.FreeOSMemory() // the optimized model is saved; verification loads it

	in.Report(1, 3, "verify")

	maxAbs := 0.0
	if p.Verify {
		if maxAbs, err = verify(ctx, want, outPath, data, &p); err != nil {
			return nil, err
		}
	}
	in.Report(3, 3, "done")
	sizeBefore, err := onnx.FileSize(p.Model)
	if err != nil {
		return nil, fmt.Errorf("optimize %s: %w", p.Model, err)
	}
	sizeAfter, err := onnx.FileSize(outPath)
	if err != nil {
		return nil, fmt.Errorf("optimize %s: %w", p.Model, err)
	}
	logger.Info("optimized", "level", p.Level, "nodes_before", before.Nodes, "nodes_after", after.Nodes,
		"value_info_restored", restored, "max_abs_error", maxAbs)
	return &stages.Output{
		Files: map[string]string{"model": outPath},
		Values: map[string]any{
			"nodes_before": int64(before.Nodes), "nodes_after": int64(after.Nodes),
			"size_before": sizeBefore, "size_after": sizeAfter,
			"ops_before": opsMap(before.Ops), "ops_after": opsMap(after.Ops),
			"value_info_restored": int64(restored), "max_abs_error": maxAbs,
		},
	}, nil
}

// original reads the model's statistics and its declarations: the graph's
// inputs, outputs and value_info without nodes or weights, which is all that
// RestoreValueInfo and random inputs read. Weights in external files are not
// read at all, and inline ones are dropped on return, so a big model is not
// held while ONNX Runtime optimizes it too.
func original(path string) (*onnx.Stats, *onnxpb.GraphProto, error) {
	m, err := onnx.LoadWith(path, onnx.LoadOptions{KeepExternal: true})
	if err != nil {
		return nil, nil, fmt.Errorf("optimize: %w", err)
	}
	st, err := m.Stats()
	if err != nil {
		return nil, nil, fmt.Errorf("optimize %s: %w", path, err)
	}
	g := m.Proto.GetGraph()
	return st, &onnxpb.GraphProto{Input: g.GetInput(), Output: g.GetOutput(), ValueInfo: g.GetValueInfo()}, nil
}

// finish reads ONNX Runtime's output, restores the original's shape
// information (decl), saves the result to outPath and returns its statistics;
// the model is dropped on return (verification loads the file). Weights in
// ONNX Runtime's data file are copied to outPath's in a stream, never held.
func finish(ortPath, outPath string, decl *onnxpb.GraphProto) (*onnx.Stats, int, error) {
	opt, err := onnx.LoadWith(ortPath, onnx.LoadOptions{KeepExternal: true})
	if err != nil {
		return nil, 0, fmt.Errorf("read ONNX Runtime's output: %w", err)
	}
	restored := RestoreValueInfo(decl, opt.Proto.GetGraph())
	if err := onnx.Save(opt, outPath, onnx.SaveOptions{}); err != nil {
		return nil, 0, fmt.Errorf("save: %w", err)
	}
	os.Remove(ortPath)
	os.Remove(ortPath + ".data")
	after, err := opt.Stats()
	if err != nil {
		return nil, 0, err
	}
	return after, restored, nil
}

// RestoreValueInfo copies shape information from the original graph into
// the optimized one and returns how many declarations it added or replaced:
// every value_info of orig naming a value that opt's nodes still produce and
// opt does not declare, and the original declaration of each graph input and
// output whose element type is unchanged. Only the main graph is handled.
func RestoreValueInfo(orig, opt *onnxpb.GraphProto) int {
	produced := map[string]bool{}
	for _, n := range opt.GetNode() {
		for _, o := range n.GetOutput() {
			produced[o] = true
		}
	}
	declared := map[string]bool{}
	for _, vis := range [][]*onnxpb.ValueInfoProto{opt.GetInput(), opt.GetOutput(), opt.GetValueInfo()} {
		for _, vi := range vis {
			declared[vi.GetName()] = true
		}
	}
	count := 0
	for _, vi := range orig.GetValueInfo() {
		if produced[vi.GetName()] && !declared[vi.GetName()] && vi.GetType() != nil {
			opt.ValueInfo = append(opt.ValueInfo, proto.Clone(vi).(*onnxpb.ValueInfoProto))
			declared[vi.GetName()] = true
			count++
		}
	}
	origIO := map[string]*onnxpb.ValueInfoProto{}
	for _, vi := range append(slices.Clone(orig.GetInput()), orig.GetOutput()...) {
		origIO[vi.GetName()] = vi
	}
	for _, vi := range append(slices.Clone(opt.GetInput()), opt.GetOutput()...) {
		o := origIO[vi.GetName()]
		if o == nil || o.GetType() == nil || proto.Equal(o.GetType(), vi.GetType()) {
			continue
		}
		ot, nt := o.GetType().GetTensorType(), vi.GetType().GetTensorType()
		if ot == nil || nt == nil || ot.GetElemType() != nt.GetElemType() {
			continue
		}
		vi.Type = proto.Clone(o.GetType()).(*onnxpb.TypeProto)
		count++
	}
	return count
}

func opsMap(ops map[string]int) map[string]any {
	out := make(map[string]any, len(ops))
	for k, v := range ops {
		out[k] = int64(v)
	}
	return out
}
